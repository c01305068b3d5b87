"""OpenID Connect end to end: gunicorn (two sync workers) and the real provider, both on
loopback, talked to over HTTP by one cookie-keeping client as a browser would: sign-in
through the provider's login form, the session across workers, logout at both ends;
and the API taking only tokens (AUTHZ_REQUIRE_ACTING_TOKEN) through a key rotation."""

from __future__ import annotations

import json
import re

import pytest

from authz.accounts.importer import import_file
from authz.authn.keys import create_key
from authz.config import PROJECT_ROOT
from tests.conftest import OIDC_ACCOUNTS, SESSION_SECRET
from tests.integration.server import free_port, gunicorn
from tests.support.oidc_provider import DEFAULT_AUDIENCE, DEFAULT_CLIENT, HttpSession, OidcProvider

pytestmark = pytest.mark.integration


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite only: what is tested here is the HTTP and the provider, not the storage."""
    return f"sqlite:///{tmp_path}/authz.db"


@pytest.fixture
def workers() -> int:
    return 2


@pytest.fixture
def live(tmp_path, database, database_url, policy_table, workers):
    """(server, provider, admin-key headers): the demo data, sign-in configured, tokens required."""
    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)
    admin = {"Authorization": f"Bearer {create_key('console', 'admin')[0]}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = {
        **DEFAULT_CLIENT,
        "client_id": "authz-live",
        "redirect_uris": [f"{base}/console/auth/callback"],
        "post_logout_redirect_uris": [f"{base}/console/"],
    }
    (tmp_path / "idp").mkdir()
    with OidcProvider.start(tmp_path / "idp", accounts=OIDC_ACCOUNTS, clients=[client]) as idp:
        settings = {
            "PORT": str(port),
            "AUTHZ_OIDC_ISSUER": idp.issuer,
            "AUTHZ_OIDC_AUDIENCE": DEFAULT_AUDIENCE,
            "AUTHZ_OIDC_CLIENT_ID": client["client_id"],
            "AUTHZ_OIDC_CLIENT_SECRET": client["client_secret"],
            "AUTHZ_SESSION_SECRET": SESSION_SECRET,
            "AUTHZ_REQUIRE_ACTING_TOKEN": "true",
        }
        with gunicorn(tmp_path, database_url, workers, **settings) as server:
            assert server.base == base
            yield server, idp, admin


def test_browser_signs_in_is_known_to_every_worker_and_signs_out(live):
    server, idp, _ = live
    browser = HttpSession()

    start = browser.request(f"{server.base}/console/auth/login?next=/console/sites/1001")
    assert start.status == 302 and start.location.startswith(idp.discovery["authorization_endpoint"])
    answer = idp.authorize(start.location, f"{server.base}/console/auth/callback", "bob@acme.example", browser)
    done = browser.request(answer.location)  # the provider's redirect, followed to the app
    assert (done.status, done.location) == (303, f"{server.base}/console/sites/1001")
    [session_cookie] = [c for c in done.headers.get_all("Set-Cookie") if c.startswith("authz_session=")]
    assert {"HttpOnly", "SameSite=Lax", "Path=/console", "Max-Age=28800"} <= set(session_cookie.split("; "))

    for _ in range(10):  # whichever worker answers, the cookie is good: the secret is shared
        who = browser.request(f"{server.base}/console/auth/session")
        assert who.status == 200, who.body
        assert json.loads(who.body)["login_id"] == "bob@acme.example"

    home = browser.request(f"{server.base}/console/").body
    token = re.search(r'name="csrf_token" value="([^"]*)"', home).group(1)
    out = browser.request(f"{server.base}/console/auth/logout", form={"csrf_token": token})
    assert out.status == 303 and out.location.startswith(idp.discovery["end_session_endpoint"])
    back = idp.end_session(browser, out.location)
    assert (back.status, back.location) == (303, f"{server.base}/console/")
    assert browser.request(f"{server.base}/console/auth/session").status == 401


# One worker: the kernel does not spread ten requests over two workers, and a worker
# that has not yet met the new key id holds the old keys until jwks_cache_s runs out.
@pytest.mark.parametrize("workers", [1])
def test_the_api_takes_tokens_only_and_follows_a_key_rotation(live):
    server, idp, admin = live
    members = "/v1/sites/1001/members"
    old = idp.token_for("alice@acme.example")
    for _ in range(10):
        status, body = server.call("GET", members, headers={**admin, "X-Acting-Token": old})
        assert status == 200, body
    status, body = server.call("GET", members, headers={**admin, "X-Acting-User": "alice@acme.example"})
    assert status == 401 and json.loads(body)["error"] == "invalid_token"

    idp.rotate_keys(keep_old=False)
    new = idp.token_for("bob@acme.example")
    for _ in range(10):  # the worker meets the new kid and fetches the keys again
        status, body = server.call("GET", members, headers={**admin, "X-Acting-Token": new})
        assert status == 200, body
    for _ in range(10):  # the dropped key's tokens are refused
        status, body = server.call("GET", members, headers={**admin, "X-Acting-Token": old})
        assert status == 401 and json.loads(body)["error"] == "invalid_token"
