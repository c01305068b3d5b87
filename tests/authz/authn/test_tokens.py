"""The token verifier against a real OpenID Connect provider on loopback: real tokens
accepted, every kind of bad token refused, the login id read from the configured claims."""

from __future__ import annotations

import time

import pytest

from authz.authn.tokens import TokenRefused, TokenVerifier
from tests.authz.authn import forge
from tests.conftest import OIDC_CLIENT, identity_settings
from tests.support.oidc_provider import DEFAULT_AUDIENCE

pytestmark = pytest.mark.integration

CLIENT_ID = OIDC_CLIENT["client_id"]
API = DEFAULT_AUDIENCE


@pytest.fixture
def verifier(oidc) -> TokenVerifier:
    return TokenVerifier.configured(identity_settings(oidc))


def person(verifier: TokenVerifier, token: str) -> str:
    """The login id TOKEN proves as an access token for the API."""
    return verifier.login_id(verifier.claims(token, [API]))


def test_access_token_from_the_code_flow_proves_its_person(verifier, oidc):
    token = oidc.token_for("alice@acme.example")
    claims = verifier.claims(token, [API])
    assert claims["sub"] == "7f1c2a9e-alice"
    assert verifier.login_id(claims) == "alice@acme.example"


def test_id_token_proves_its_person_for_the_client_audience(verifier, oidc):
    token = oidc.token_for("bob@acme.example", kind="id")
    assert verifier.login_id(verifier.claims(token, [CLIENT_ID])) == "bob@acme.example"
    with pytest.raises(TokenRefused, match="InvalidAudience"):
        verifier.claims(token, [API])


def test_login_id_falls_back_to_email(verifier, oidc):
    assert person(verifier, oidc.token_for("carol@acme.example")) == "carol@acme.example"


def test_the_configured_claim_is_read_first(oidc):
    by_email = TokenVerifier.configured(identity_settings(oidc, login_claims=("email",)))
    token = oidc.token_for("Dana.Diaz")
    assert person(by_email, token) == "dana@consult.example"
    by_sub = TokenVerifier.configured(identity_settings(oidc, login_claims=("sub",)))
    assert person(by_sub, token) == "d4n4"


def test_a_token_without_any_login_claim_is_refused(oidc):
    verifier = TokenVerifier.configured(identity_settings(oidc, login_claims=("upn",)))
    with pytest.raises(TokenRefused, match="none of the claims upn"):
        person(verifier, oidc.token_for("alice@acme.example"))


def test_an_email_marked_unverified_is_not_taken(verifier, oidc):
    token = oidc.mint({"sub": "x", "email": "alice@acme.example", "email_verified": False})
    with pytest.raises(TokenRefused, match="unverified"):
        person(verifier, token)


def test_a_claim_that_is_no_acceptable_login_id_is_refused(verifier, oidc):
    token = oidc.mint({"sub": "x", "preferred_username": " alice@acme.example"})
    with pytest.raises(TokenRefused, match="space"):
        person(verifier, token)


# change to the claims (times relative to now; None leaves the claim out) -> why it is refused
BAD_MINTED = {
    "expired": ({"exp": -120}, "ExpiredSignature"),
    "not yet valid": ({"nbf": +600}, r"ImmatureSignature.*nbf"),
    "issued in the future": ({"iat": +600}, r"ImmatureSignature.*iat"),
    "wrong issuer": ({"iss": "http://127.0.0.1:1"}, "InvalidIssuer"),
    "wrong audience": ({"aud": "urn:some:other-api"}, "InvalidAudience"),
    "no expiry": ({"exp": None}, r"missing the \"exp\""),
    "no subject": ({"sub": None}, r"missing the \"sub\""),
}


@pytest.mark.parametrize("change, why", BAD_MINTED.values(), ids=BAD_MINTED.keys())
def test_genuinely_signed_but_bad_tokens_are_refused(verifier, oidc, change, why):
    now = int(time.time())
    claims = {"sub": "x", "preferred_username": "alice@acme.example"}
    claims.update({k: now + v if k in ("exp", "nbf", "iat") and v is not None else v for k, v in change.items()})
    token = oidc.mint(claims)
    with pytest.raises(TokenRefused, match=why):
        person(verifier, token)


# (how the token is made from a good one, why it is refused)
FORGED = {
    "unsigned (alg none)": (lambda idp, good: forge.unsigned(idp, "bob@acme.example"), "'none' is not accepted"),
    "HS256 with the public key": (
        lambda idp, good: forge.hmac_with_public_key(idp, "bob@acme.example"),
        "'HS256' is not accepted",
    ),
    "unknown key id": (lambda idp, good: forge.random_kid(idp, "bob@acme.example"), "no signing key"),
    "payload changed": (lambda idp, good: forge.tampered(good, preferred_username="bob@acme.example"), "Signature"),
    "signature changed": (lambda idp, good: good[:-8] + ("A" if good[-8] != "A" else "B") + good[-7:], "Signature"),
    "signature dropped": (lambda idp, good: good.rsplit(".", 1)[0] + ".", "Signature"),
    "not a JWT": (lambda idp, good: "not-a-token", "not a JWT"),
    "empty": (lambda idp, good: "", "not a JWT"),
    "a logout token": (lambda idp, good: idp.mint({"sub": "x"}, typ="logout+jwt"), "does not assert a person"),
    "too long": (lambda idp, good: good + "A" * 20_000, "longer than"),
}


@pytest.mark.parametrize("make, why", FORGED.values(), ids=FORGED.keys())
def test_forged_and_tampered_tokens_are_refused(verifier, oidc, make, why):
    good = oidc.token_for("alice@acme.example")
    assert person(verifier, good) == "alice@acme.example"
    with pytest.raises(TokenRefused, match=why):
        person(verifier, make(oidc, good))


def test_a_key_is_bound_to_its_algorithm_even_if_hmac_were_allowed(oidc):
    """Defence in depth: the settings refuse HS* (tests/authz/test_config_identity.py), and
    even a verifier told to allow HS256 never lets an RSA public key serve as its secret."""
    verifier = TokenVerifier.configured(identity_settings(oidc, algorithms=("RS256", "HS256")))
    with pytest.raises(TokenRefused, match="does not match the key's algorithm"):
        person(verifier, forge.hmac_with_public_key(oidc, "bob@acme.example"))


def test_clock_skew_within_the_leeway_is_tolerated(oidc):
    now = int(time.time())
    expired_30s_ago = oidc.mint({"sub": "x", "preferred_username": "alice@acme.example", "exp": now - 30})
    assert person(TokenVerifier.configured(identity_settings(oidc, leeway_s=60)), expired_30s_ago)
    with pytest.raises(TokenRefused, match="ExpiredSignature"):
        person(TokenVerifier.configured(identity_settings(oidc, leeway_s=0)), expired_30s_ago)
    expired_90s_ago = oidc.mint({"sub": "x", "preferred_username": "alice@acme.example", "exp": now - 90})
    with pytest.raises(TokenRefused, match="ExpiredSignature"):
        person(TokenVerifier.configured(identity_settings(oidc, leeway_s=60)), expired_90s_ago)


def test_an_algorithm_outside_the_allow_list_is_refused_before_any_key_is_fetched(oidc):
    verifier = TokenVerifier.configured(identity_settings(oidc, algorithms=("ES256",)))
    with pytest.raises(TokenRefused, match="algorithm 'RS256' is not accepted"):
        person(verifier, oidc.token_for("alice@acme.example"))
    assert verifier.provider.key_fetches == 0


def test_nonce_must_be_the_one_sent(verifier, oidc):
    token = oidc.mint({"sub": "x", "aud": CLIENT_ID, "nonce": "n-123"})
    assert verifier.claims(token, [CLIENT_ID], nonce="n-123")["nonce"] == "n-123"
    with pytest.raises(TokenRefused, match="nonce"):
        verifier.claims(token, [CLIENT_ID], nonce="n-456")
    with pytest.raises(TokenRefused, match="nonce"):
        verifier.claims(oidc.mint({"sub": "x", "aud": CLIENT_ID}), [CLIENT_ID], nonce="n-123")


def test_signing_keys_are_fetched_once_for_many_tokens(verifier, oidc):
    for login in ("alice@acme.example", "bob@acme.example", "carol@acme.example"):
        person(verifier, oidc.token_for(login))
    assert verifier.provider.key_fetches == 1
