"""The provider's signing keys, against a real provider that rotates them: cached, fetched
again on an unknown key id (the provider rotated), never more than once per interval
however many made-up key ids arrive, and kept while the provider is down."""

from __future__ import annotations

import pytest

from authz.authn.provider import OpenIdProvider
from authz.authn.tokens import TokenRefused, TokenVerifier
from authz.errors import ProviderUnavailable
from tests.authz.authn import forge
from tests.conftest import OIDC_ACCOUNTS, OIDC_CLIENT, identity_settings
from tests.integration.server import free_port
from tests.support.oidc_provider import DEFAULT_AUDIENCE, OidcProvider

pytestmark = pytest.mark.integration


class Clock:
    """Monotonic seconds that move only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idp(tmp_path):
    with OidcProvider.start(tmp_path, accounts=OIDC_ACCOUNTS, clients=[OIDC_CLIENT]) as provider:
        yield provider


def verifier_for(idp, clock: Clock, cache_s: float = 600, refresh_min_s: float = 30) -> TokenVerifier:
    provider = OpenIdProvider(idp.issuer, jwks_cache_s=cache_s, jwks_refresh_min_s=refresh_min_s, clock=clock)
    return TokenVerifier(provider, identity_settings(idp))


def person(verifier: TokenVerifier, token: str) -> str:
    return verifier.login_id(verifier.claims(token, [DEFAULT_AUDIENCE]))


def test_rotation_keeping_the_old_key_accepts_both(idp):
    verifier = verifier_for(idp, Clock())
    old = idp.token_for("alice@acme.example")
    assert person(verifier, old) == "alice@acme.example"

    idp.rotate_keys(keep_old=True)
    new = idp.token_for("bob@acme.example")

    assert person(verifier, new) == "bob@acme.example"  # unknown kid: fetched again at once
    assert person(verifier, old) == "alice@acme.example"
    assert verifier.provider.key_fetches == 2


def test_rotation_dropping_the_old_key_refuses_its_tokens(idp):
    clock = Clock()
    verifier = verifier_for(idp, clock)
    old = idp.token_for("alice@acme.example")
    assert person(verifier, old)

    idp.rotate_keys(keep_old=False)
    assert person(verifier, idp.token_for("bob@acme.example")) == "bob@acme.example"
    clock.now += 31  # even once another fetch is allowed, the dropped key is gone
    with pytest.raises(TokenRefused, match="no signing key"):
        person(verifier, old)
    assert verifier.provider.key_fetches == 3


def test_made_up_key_ids_fetch_at_most_once_per_interval(oidc):
    idp = oidc
    clock = Clock()
    verifier = verifier_for(idp, clock, refresh_min_s=30)
    assert person(verifier, idp.token_for("alice@acme.example"))
    assert verifier.provider.key_fetches == 1

    for _ in range(200):
        with pytest.raises(TokenRefused, match="no signing key"):
            person(verifier, forge.random_kid(idp, "alice@acme.example"))
    assert verifier.provider.key_fetches == 2  # the first made-up kid; the others wait

    clock.now += 29
    with pytest.raises(TokenRefused):
        person(verifier, forge.random_kid(idp, "alice@acme.example"))
    assert verifier.provider.key_fetches == 2
    clock.now += 1
    with pytest.raises(TokenRefused):
        person(verifier, forge.random_kid(idp, "alice@acme.example"))
    assert verifier.provider.key_fetches == 3


def test_a_genuine_new_key_waits_out_an_interval_spent_on_made_up_ones(idp):
    """The price of the limit: right after a made-up kid was looked up, a key the provider
    has just started using is known only once the interval has passed."""
    clock = Clock()
    verifier = verifier_for(idp, clock, refresh_min_s=30)
    assert person(verifier, idp.token_for("alice@acme.example"))
    with pytest.raises(TokenRefused):
        person(verifier, forge.random_kid(idp, "alice@acme.example"))

    idp.rotate_keys(keep_old=True)
    new = idp.token_for("bob@acme.example")
    with pytest.raises(TokenRefused, match="no signing key"):
        person(verifier, new)
    clock.now += 30
    assert person(verifier, new) == "bob@acme.example"


def test_keys_are_fetched_again_when_the_cache_expires(oidc):
    idp = oidc
    clock = Clock()
    verifier = verifier_for(idp, clock, cache_s=600)
    token = idp.token_for("alice@acme.example")
    person(verifier, token)
    clock.now += 599
    person(verifier, token)
    assert verifier.provider.key_fetches == 1
    clock.now += 1
    person(verifier, token)
    assert verifier.provider.key_fetches == 2


def test_keys_held_are_kept_while_the_provider_is_down(tmp_path):
    clock = Clock()
    with OidcProvider.start(tmp_path, accounts=OIDC_ACCOUNTS, clients=[OIDC_CLIENT]) as idp:
        verifier = verifier_for(idp, clock, cache_s=60)
        token = idp.token_for("alice@acme.example")
        person(verifier, token)
    clock.now += 120  # the cache has expired and the provider is gone
    assert person(verifier, token) == "alice@acme.example"
    assert verifier.provider.key_fetches == 2  # it tried


def test_no_keys_and_no_provider_is_unavailable_not_refused(oidc):
    clock = Clock()
    provider = OpenIdProvider(f"http://127.0.0.1:{free_port()}", jwks_cache_s=600, jwks_refresh_min_s=30, clock=clock)
    verifier = TokenVerifier(provider, identity_settings(oidc))
    token = oidc.token_for("alice@acme.example")
    with pytest.raises(ProviderUnavailable):
        person(verifier, token)
    for _ in range(50):  # not retried sooner than a second later, whatever the kid
        with pytest.raises(ProviderUnavailable):
            person(verifier, forge.random_kid(oidc, "alice@acme.example"))
    assert provider.key_fetches == 1
    clock.now += 1
    with pytest.raises(ProviderUnavailable):
        person(verifier, token)
    assert provider.key_fetches == 2


def test_discovery_naming_another_issuer_is_not_trusted(oidc):
    """OpenID Connect Discovery 4.3: an issuer URL whose document names another issuer
    (here: the same provider reached by another spelling) is not used."""
    other_spelling = oidc.issuer.replace("127.0.0.1", "localhost")
    provider = OpenIdProvider(other_spelling, jwks_cache_s=600, jwks_refresh_min_s=30)
    with pytest.raises(ProviderUnavailable):
        provider.signing_key(oidc.current_kid)
