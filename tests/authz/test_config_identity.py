"""The OpenID Connect and session settings: off by default, defaults that fit together,
and every setting that cannot work refused at start-up with its name."""

from __future__ import annotations

import pytest

from authz.config import ConfigError, IdentitySettings, Settings

ISSUER = "https://login.example/realms/acme"
SECRET = "s" * 32
SIGN_IN = {
    "AUTHZ_OIDC_ISSUER": ISSUER,
    "AUTHZ_OIDC_CLIENT_ID": "authz-console",
    "AUTHZ_OIDC_CLIENT_SECRET": "client-secret",
    "AUTHZ_SESSION_SECRET": SECRET,
}


def test_off_unless_an_issuer_is_set():
    identity = Settings.from_env({}).identity
    assert identity == IdentitySettings()
    assert not identity.enabled and not identity.sign_in_enabled and not identity.require_acting_token


def test_defaults_once_on():
    identity = IdentitySettings.from_env(SIGN_IN)
    assert identity.enabled and identity.sign_in_enabled
    assert identity.audiences == ("authz-console",)  # the client's own ID tokens, unless told otherwise
    assert identity.login_claims == ("preferred_username", "email")
    assert (identity.leeway_s, identity.jwks_cache_s, identity.jwks_refresh_min_s) == (60, 600, 30)
    assert identity.algorithms == ("RS256", "PS256", "ES256")
    assert identity.session_max_age_s == 8 * 3600
    assert identity.public_url == ""


def test_every_setting_is_read():
    identity = IdentitySettings.from_env(
        {
            **SIGN_IN,
            "AUTHZ_OIDC_AUDIENCE": "urn:authz:api, authz-console",
            "AUTHZ_OIDC_LOGIN_CLAIM": "upn,email",
            "AUTHZ_OIDC_LEEWAY_S": "0",
            "AUTHZ_OIDC_ALGORITHMS": "ES256",
            "AUTHZ_OIDC_JWKS_CACHE_S": "300",
            "AUTHZ_OIDC_JWKS_REFRESH_MIN_S": "10",
            "AUTHZ_REQUIRE_ACTING_TOKEN": "true",
            "AUTHZ_PUBLIC_URL": "https://authz.example/",
            "AUTHZ_SESSION_SECRET": f"{SECRET}, {'o' * 40}",
            "AUTHZ_SESSION_MAX_AGE_S": "3600",
        }
    )
    assert identity.audiences == ("urn:authz:api", "authz-console")
    assert identity.login_claims == ("upn", "email")
    assert (identity.leeway_s, identity.algorithms) == (0, ("ES256",))
    assert (identity.jwks_cache_s, identity.jwks_refresh_min_s) == (300, 10)
    assert identity.require_acting_token is True
    assert identity.public_url == "https://authz.example"
    assert identity.session_secrets == (SECRET, "o" * 40)
    assert identity.session_max_age_s == 3600


def test_an_api_only_setup_needs_no_client():
    identity = IdentitySettings.from_env({"AUTHZ_OIDC_ISSUER": ISSUER, "AUTHZ_OIDC_AUDIENCE": "urn:authz:api"})
    assert identity.enabled and not identity.sign_in_enabled


@pytest.mark.parametrize(
    "env, named",
    [
        ({"AUTHZ_REQUIRE_ACTING_TOKEN": "true"}, "AUTHZ_REQUIRE_ACTING_TOKEN needs AUTHZ_OIDC_ISSUER"),
        ({"AUTHZ_OIDC_CLIENT_ID": "c"}, "AUTHZ_OIDC_CLIENT_ID needs AUTHZ_OIDC_ISSUER"),
        ({"AUTHZ_OIDC_ISSUER": ISSUER}, "AUTHZ_OIDC_AUDIENCE"),
        ({**SIGN_IN, "AUTHZ_OIDC_CLIENT_SECRET": ""}, "AUTHZ_OIDC_CLIENT_SECRET"),
        ({**SIGN_IN, "AUTHZ_SESSION_SECRET": ""}, "AUTHZ_SESSION_SECRET"),
        ({**SIGN_IN, "AUTHZ_SESSION_SECRET": "short"}, "at least 32"),
        ({**SIGN_IN, "AUTHZ_OIDC_ISSUER": "http://idp.example"}, "AUTHZ_OIDC_ISSUER must be an https"),
        ({**SIGN_IN, "AUTHZ_OIDC_ISSUER": "idp.example"}, "AUTHZ_OIDC_ISSUER must be an https"),
        ({**SIGN_IN, "AUTHZ_PUBLIC_URL": "ftp://authz.example"}, "AUTHZ_PUBLIC_URL"),
        ({**SIGN_IN, "AUTHZ_OIDC_ALGORITHMS": "RS256,HS256"}, "AUTHZ_OIDC_ALGORITHMS: HS256 not accepted"),
        ({**SIGN_IN, "AUTHZ_OIDC_ALGORITHMS": "none"}, "AUTHZ_OIDC_ALGORITHMS: none not accepted"),
        ({**SIGN_IN, "AUTHZ_REQUIRE_ACTING_TOKEN": "maybe"}, "AUTHZ_REQUIRE_ACTING_TOKEN must be true or false"),
        ({**SIGN_IN, "AUTHZ_OIDC_LEEWAY_S": "-1"}, "AUTHZ_OIDC_LEEWAY_S must be zero or more"),
        ({**SIGN_IN, "AUTHZ_OIDC_JWKS_CACHE_S": "0"}, "AUTHZ_OIDC_JWKS_CACHE_S must be positive"),
        ({**SIGN_IN, "AUTHZ_SESSION_MAX_AGE_S": "8h"}, "AUTHZ_SESSION_MAX_AGE_S must be a whole number"),
        ({**SIGN_IN, "AUTHZ_DEMO_SIGN_IN": "true"}, "AUTHZ_DEMO_SIGN_IN .* refused with OpenID Connect"),
        ({"AUTHZ_OIDC_ISSUER": ISSUER, "AUTHZ_OIDC_AUDIENCE": "a", "AUTHZ_DEMO_SIGN_IN": "true"}, "AUTHZ_DEMO_SIGN_IN"),
        ({"AUTHZ_DEMO_SIGN_IN": "true"}, "AUTHZ_DEMO_SIGN_IN needs AUTHZ_SESSION_SECRET"),
        ({"AUTHZ_DEMO_SIGN_IN": "maybe", "AUTHZ_SESSION_SECRET": "s" * 32}, "AUTHZ_DEMO_SIGN_IN must be true or false"),
        ({"AUTHZ_SESSION_SECRET": "short"}, "at least 32"),
    ],
)
def test_settings_that_cannot_work_are_refused_by_name(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_plain_http_is_accepted_on_loopback_only():
    local = {**SIGN_IN, "AUTHZ_OIDC_ISSUER": "http://127.0.0.1:8081", "AUTHZ_PUBLIC_URL": "http://localhost:8080"}
    identity = IdentitySettings.from_env(local)
    assert (identity.issuer, identity.public_url) == ("http://127.0.0.1:8081", "http://localhost:8080")


def test_demo_sign_in_is_off_unless_asked_for():
    assert not IdentitySettings.from_env({"AUTHZ_SESSION_SECRET": "s" * 32}).demo_sign_in
    on = IdentitySettings.from_env({"AUTHZ_DEMO_SIGN_IN": "true", "AUTHZ_SESSION_SECRET": "s" * 32})
    assert on.demo_sign_in and not on.enabled
