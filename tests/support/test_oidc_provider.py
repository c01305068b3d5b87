"""The test OpenID Connect provider (tests/support/oidc) does what the API and console tests
will rely on: discovery, the code + PKCE flow, tokens that verify against its JWKS with a
maintained library (PyJWT), key rotation, minted tokens, single sign-on and logout."""

from __future__ import annotations

import time
import urllib.parse

import jwt
import pytest

from tests.support.oidc_provider import (
    DEFAULT_ACCOUNTS,
    HttpSession,
    OidcProvider,
    OidcProviderError,
)

pytestmark = pytest.mark.integration

ALICE, BOB = DEFAULT_ACCOUNTS
# No preferred_username: the API must fall back to email.
CAROL = {"sub": "c4r0l", "email": "carol@acme.example", "name": "Carol Example"}


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    with OidcProvider.start(tmp_path_factory.mktemp("oidc"), accounts=[ALICE, BOB, CAROL]) as provider:
        yield provider


@pytest.fixture
def own_idp(tmp_path):
    """For tests that change keys or clients."""
    with OidcProvider.start(tmp_path) as provider:
        yield provider


def verify(provider: OidcProvider, token: str, audience: str, **options) -> dict:
    """What the API will do: key by kid from the JWKS, then signature, iss, aud, exp, nbf."""
    key = jwt.PyJWKClient(provider.jwks_uri, cache_keys=False).get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=audience,
        issuer=provider.issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        **options,
    )


def test_discovery_describes_a_loopback_code_flow_provider(idp):
    doc = idp.discovery
    assert doc["issuer"] == f"http://127.0.0.1:{idp.port}" == idp.issuer
    assert idp.jwks_uri == f"{idp.issuer}/jwks"
    for endpoint in ("authorization_endpoint", "token_endpoint", "end_session_endpoint"):
        assert doc[endpoint].startswith(idp.issuer + "/")
    assert "code" in doc["response_types_supported"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"openid", "email", "profile"} <= set(doc["scopes_supported"])

    [key] = idp.jwks()["keys"]
    assert (key["kty"], key["alg"], key["kid"]) == ("RSA", "RS256", idp.current_kid)
    assert not {"d", "p", "q"} & key.keys(), "the JWKS must not publish private parts"


def test_id_token_from_code_flow_verifies_against_jwks(idp):
    token = idp.token_for("alice@acme.example", kind="id")

    claims = verify(idp, token, audience=idp.client["client_id"])
    assert claims["sub"] == ALICE["sub"]
    assert claims["preferred_username"] == "alice@acme.example"
    assert claims["email"] == "alice@acme.example"
    assert jwt.get_unverified_header(token)["kid"] == idp.current_kid
    with pytest.raises(jwt.InvalidAudienceError):
        verify(idp, token, audience=idp.audience)


def test_access_token_is_a_jwt_for_the_api_audience(idp):
    token = idp.token_for("bob@acme.example")  # login by email works as well

    claims = verify(idp, token, audience=idp.audience)
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    assert claims["sub"] == BOB["sub"]
    assert claims["preferred_username"] == "bob@acme.example"
    assert claims["client_id"] == idp.client["client_id"]
    assert claims["scope"] == "authz:admin"
    with pytest.raises(jwt.InvalidAudienceError):
        verify(idp, token, audience="urn:some:other-api")


def test_account_without_preferred_username_has_email_only(idp):
    claims = verify(idp, idp.token_for("carol@acme.example"), audience=idp.audience)
    assert claims["email"] == "carol@acme.example"
    assert "preferred_username" not in claims


def test_unknown_login_is_refused(idp):
    with pytest.raises(OidcProviderError, match=r"Unknown login: mallory@acme\.example"):
        idp.token_for("mallory@acme.example")


def test_authorization_without_pkce_is_rejected(idp):
    params = {
        "client_id": idp.client["client_id"],
        "redirect_uri": idp.client["redirect_uris"][0],
        "response_type": "code",
        "scope": "openid",
        "state": "s1",
    }
    resp = HttpSession().request(f"{idp.discovery['authorization_endpoint']}?{urllib.parse.urlencode(params)}")
    assert resp.status in (302, 303)
    answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(resp.location).query))
    assert answer["error"] == "invalid_request"
    assert "PKCE" in answer["error_description"]


def test_session_gives_single_sign_on_until_logout(idp):
    session = HttpSession()
    first = idp.tokens_for("alice@acme.example", session=session)
    again = idp.tokens_for(None, session=session)  # no login form this time
    assert verify(idp, again["id_token"], audience=idp.client["client_id"])["sub"] == ALICE["sub"]

    back_to = idp.client["post_logout_redirect_uris"][0]
    resp = idp.logout(session, first["id_token"], back_to)
    assert (resp.status, resp.location) == (303, back_to)
    with pytest.raises(OidcProviderError, match="asked for a login"):
        idp.tokens_for(None, session=session)


def test_rotation_keeping_old_key(own_idp):
    old_kid = own_idp.current_kid
    old_token = own_idp.token_for("alice@acme.example")

    new_kid = own_idp.rotate_keys(keep_old=True)

    assert new_kid != old_kid and own_idp.current_kid == new_kid
    assert [k["kid"] for k in own_idp.jwks()["keys"]] == [new_kid, old_kid]
    new_token = own_idp.token_for("alice@acme.example")
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert verify(own_idp, new_token, audience=own_idp.audience)["sub"] == ALICE["sub"]
    assert verify(own_idp, old_token, audience=own_idp.audience)["sub"] == ALICE["sub"]


def test_rotation_dropping_old_key(own_idp):
    old_kid = own_idp.current_kid
    old_token = own_idp.token_for("alice@acme.example", kind="id")

    new_kid = own_idp.rotate_keys(keep_old=False)

    assert [k["kid"] for k in own_idp.jwks()["keys"]] == [new_kid]
    with pytest.raises(jwt.PyJWKClientError, match="Unable to find a signing key"):
        verify(own_idp, old_token, audience=own_idp.client["client_id"])
    # The provider can still sign with the dropped key, for "unknown kid" tests.
    stale = own_idp.mint({"sub": "x"}, kid=old_kid)
    assert jwt.get_unverified_header(stale)["kid"] == old_kid
    with pytest.raises(jwt.PyJWKClientError):
        verify(own_idp, stale, audience=own_idp.audience)


def test_minted_token_verifies_with_current_key(idp):
    token = idp.mint({"sub": ALICE["sub"], "preferred_username": "alice@acme.example"})
    assert jwt.get_unverified_header(token)["kid"] == idp.current_kid
    assert verify(idp, token, audience=idp.audience)["preferred_username"] == "alice@acme.example"


@pytest.mark.parametrize(
    "claims, error",
    [
        ({"exp": -120}, jwt.ExpiredSignatureError),
        ({"nbf": +600}, jwt.ImmatureSignatureError),
        ({"aud": "urn:some:other-api"}, jwt.InvalidAudienceError),
        ({"iss": "http://127.0.0.1:1"}, jwt.InvalidIssuerError),
    ],
    ids=["expired", "not-yet-valid", "wrong-aud", "wrong-iss"],
)
def test_minted_bad_tokens_are_rejected(idp, claims, error):
    now = int(time.time())
    # Times are relative to now; everything else is taken as given.
    claims = {k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    token = idp.mint({"sub": ALICE["sub"], **claims})
    with pytest.raises(error):
        verify(idp, token, audience=idp.audience)


def test_expired_token_is_genuine_within_leeway(idp):
    now = int(time.time())
    token = idp.mint({"sub": ALICE["sub"], "iat": now - 600, "exp": now - 120})
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(idp, token, audience=idp.audience)
    assert verify(idp, token, audience=idp.audience, leeway=300)["sub"] == ALICE["sub"]


def test_client_added_after_start(own_idp):
    client = {
        **own_idp.client,
        "client_id": "late-console",
        "client_secret": "late-secret",
        "redirect_uris": ["http://127.0.0.1:9/late/callback"],
    }
    own_idp.add_client(client)

    token = own_idp.token_for("bob@acme.example", kind="id", audience="late-console")
    assert verify(own_idp, token, audience="late-console")["sub"] == BOB["sub"]
    with pytest.raises(OidcProviderError, match="redirect_uris"):
        own_idp.add_client({"client_id": "broken", "client_secret": "s", "redirect_uris": ["not a uri"]})
    # A refused client leaves the provider as it was.
    assert own_idp.token_for("bob@acme.example", kind="id", audience="late-console")
