"""Browser sign-in (authorization code + PKCE) against the real provider: the app's
login redirect is followed through the provider's login form the way a browser would
(tests/support/oidc_provider.py), the code comes back to the app's callback, and the
session cookie it sets says who is signed in, until logout."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from api.resources.sign_in import FLOW_COOKIE, SESSION_COOKIE
from authz.authn.sessions import SIGN_IN, Seal
from tests.conftest import OIDC_CLIENT, OIDC_PUBLIC_URL, OIDC_TLS_URL, SESSION_SECRET
from tests.support.oidc_provider import HttpSession

pytestmark = pytest.mark.integration


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite only. Sign-in reads and writes no table; the operations reached run on both
    backends in their own tests."""
    return f"sqlite:///{tmp_path}/authz.db"


CALLBACK = f"{OIDC_PUBLIC_URL}/console/auth/callback"


@pytest.fixture
def app(oidc_app):
    return oidc_app()


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class Browser:
    """The app (falcon's test client) and the provider (over HTTP) seen by one browser."""

    def __init__(self, app, idp):
        self.app, self.idp, self.provider = app, idp, HttpSession()
        self.cookies: dict[str, str] = {}

    def get(self, path: str, **params):
        return self._keep(self.app.simulate_get(path, params=params or None, cookies=self.cookies))

    def post(self, path: str, form: dict[str, str] | None = None):
        body = urllib.parse.urlencode(form or {})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self._keep(self.app.simulate_post(path, body=body, headers=headers, cookies=self.cookies))

    def sign_out(self, with_token: bool = True):
        """The console's sign-out form, with the CSRF token of its page (or without)."""
        page = self.get("/console/").text
        token = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
        return self.post("/console/auth/logout", {"csrf_token": token} if with_token else {})

    def _keep(self, resp):
        for name, cookie in resp.cookies.items():
            if cookie.max_age == 0 or not cookie.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = cookie.value
        return resp

    def login(self, login: str | None, next_path: str | None = None):
        """Login at the app, then at the provider: the provider's answer (the redirect to
        the callback, not yet followed)."""
        start = self.get("/console/auth/login", **({"next": next_path} if next_path else {}))
        assert start.status_code == 302, start.text
        return self.idp.authorize(start.headers["Location"], CALLBACK, login, self.provider)

    def callback(self, answer_location: str):
        return self.get("/console/auth/callback", **query(answer_location))

    def sign_in(self, login: str, next_path: str | None = None):
        return self.callback(self.login(login, next_path).location)


def test_login_sends_the_browser_to_the_provider_with_pkce(app, oidc):
    resp = app.simulate_get("/console/auth/login")
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(oidc.discovery["authorization_endpoint"] + "?")
    params = query(location)
    assert params["response_type"] == "code"
    assert params["client_id"] == OIDC_CLIENT["client_id"]
    assert params["redirect_uri"] == CALLBACK
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43  # base64url of a SHA-256
    assert set(params["scope"].split()) == {"openid", "email", "profile"}
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    flow = resp.cookies[FLOW_COOKIE]
    assert (flow.http_only, flow.same_site, flow.path, flow.max_age, flow.secure) == (
        True,
        "Lax",
        "/console/auth",
        600,
        False,
    )
    assert params["state"] not in flow.value  # the state is signed, and opaque to the page
    again = query(app.simulate_get("/console/auth/login").headers["Location"])
    assert again["state"] != params["state"] and again["code_challenge"] != params["code_challenge"]


def test_the_whole_flow_signs_the_person_in_with_a_session_cookie(app, oidc):
    browser = Browser(app, oidc)
    answer = browser.login("bob@acme.example", next_path="/console/sites/1001")
    assert set(query(answer.location)) >= {"code", "state", "iss"}

    done = browser.callback(answer.location)
    assert done.status_code == 303, done.text
    assert done.headers["Location"] == "/console/sites/1001"
    session = done.cookies[SESSION_COOKIE]
    assert (session.http_only, session.same_site, session.path, session.max_age, session.secure) == (
        True,
        "Lax",
        "/console",
        8 * 3600,
        False,
    )
    assert FLOW_COOKIE not in browser.cookies  # one use

    who = browser.get("/console/auth/session")
    assert who.status_code == 200
    assert who.json["login_id"] == "bob@acme.example"
    assert who.headers["Cache-Control"] == "no-store"


def test_the_code_is_redeemed_with_this_flows_pkce_verifier(app, oidc):
    """The verifier lives in the signed flow cookie: the same flow re-signed (with the
    test's copy of the secret) around another verifier gets the code refused by the
    provider, so the app sends the verifier and the provider checks it against S256."""
    browser = Browser(app, oidc)
    answer = browser.login("alice@acme.example")
    seal = Seal([SESSION_SECRET])
    flow = seal.open(SIGN_IN, browser.cookies[FLOW_COOKIE])
    browser.cookies[FLOW_COOKIE] = seal.close(SIGN_IN, {**flow, "verifier": "x" * 64}, 600)
    resp = browser.callback(answer.location)
    assert resp.status_code == 401
    assert SESSION_COOKIE not in resp.cookies


def test_each_sign_in_makes_a_new_session(app, oidc):
    browser = Browser(app, oidc)
    browser.sign_in("alice@acme.example")
    first = browser.get("/console/auth/session").json
    browser.sign_in("alice@acme.example")  # single sign-on at the provider: no form this time
    second = browser.get("/console/auth/session").json
    assert first["login_id"] == second["login_id"] == "alice@acme.example"
    assert first["session_id"] != second["session_id"]


def test_a_session_fixed_before_sign_in_is_replaced(app, oidc):
    """An attacker's session cookie planted in the browser does not survive the sign-in."""
    planted = Browser(app, oidc)
    planted.sign_in("mallory@evil.example")
    victim = Browser(app, oidc)
    victim.cookies[SESSION_COOKIE] = planted.cookies[SESSION_COOKIE]
    victim.sign_in("bob@acme.example")
    assert victim.cookies[SESSION_COOKIE] != planted.cookies[SESSION_COOKIE]
    assert victim.get("/console/auth/session").json["login_id"] == "bob@acme.example"


def test_logout_clears_the_session_and_signs_out_at_the_provider(app, oidc):
    browser = Browser(app, oidc)
    browser.sign_in("bob@acme.example")
    assert browser.get("/console/auth/session").status_code == 200

    refused = browser.sign_out(with_token=False)  # as a page of another site would post it
    assert refused.status_code == 403 and SESSION_COOKIE in browser.cookies
    assert browser.get("/console/auth/session").status_code == 200

    out = browser.sign_out()
    assert out.status_code == 303
    cleared = out.cookies[SESSION_COOKIE]
    assert cleared.value == "" and cleared.path == "/console"
    assert SESSION_COOKIE not in browser.cookies
    location = out.headers["Location"]
    assert location.startswith(oidc.discovery["end_session_endpoint"] + "?")
    assert query(location) == {
        "client_id": OIDC_CLIENT["client_id"],
        "post_logout_redirect_uri": f"{OIDC_PUBLIC_URL}/console/",
    }
    back = oidc.end_session(browser.provider, location)
    assert (back.status, back.location) == (303, f"{OIDC_PUBLIC_URL}/console/")

    assert browser.get("/console/auth/session").status_code == 401
    # The provider's session is gone too: signing in again asks for the login.
    assert _asks_for_login(browser)


def _asks_for_login(browser: Browser) -> bool:
    start = browser.get("/console/auth/login")
    page = browser.provider.request(start.headers["Location"])
    while page.status in (302, 303) and page.location and page.location.startswith(browser.idp.issuer):
        page = browser.provider.request(page.location)
    return page.status == 200 and 'id="login"' in page.body


def test_not_signed_in_is_401(app):
    resp = app.simulate_get("/console/auth/session")
    assert resp.status_code == 401
    assert resp.json["error"] == "unauthenticated"


@pytest.mark.parametrize(
    "change",
    [lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"), lambda v: "x" + v, lambda v: v.split(".")[0]],
    ids=["mac", "payload", "unsigned"],
)
def test_a_tampered_session_cookie_signs_nobody_in(app, oidc, change):
    browser = Browser(app, oidc)
    browser.sign_in("bob@acme.example")
    browser.cookies[SESSION_COOKIE] = change(browser.cookies[SESSION_COOKIE])
    assert browser.get("/console/auth/session").status_code == 401


def test_the_callback_without_this_browsers_flow_is_refused(app, oidc):
    """A code delivered to a browser that did not start the sign-in (login CSRF): no
    flow cookie, or another sign-in's state."""
    attacker = Browser(app, oidc)
    answer = attacker.login("mallory@evil.example")
    victim = Browser(app, oidc)
    resp = victim.callback(answer.location)
    assert resp.status_code == 400
    assert resp.json["field"] == "state"
    assert SESSION_COOKIE not in resp.cookies

    victim.get("/console/auth/login")  # the victim's own sign-in in progress
    resp = victim.callback(answer.location)
    assert resp.status_code == 400
    assert resp.json["field"] == "state"
    assert SESSION_COOKIE not in resp.cookies


def test_a_code_is_redeemed_once(app, oidc):
    browser = Browser(app, oidc)
    answer = browser.login("bob@acme.example")
    flow = browser.cookies[FLOW_COOKIE]
    assert browser.callback(answer.location).status_code == 303
    browser.cookies[FLOW_COOKIE] = flow  # replayed with its flow cookie
    browser.cookies.pop(SESSION_COOKIE)
    resp = browser.callback(answer.location)
    assert resp.status_code == 401
    assert resp.json["error"] == "invalid_token"
    assert SESSION_COOKIE not in resp.cookies


def test_an_answer_from_another_issuer_is_refused(app, oidc):
    browser = Browser(app, oidc)
    answer = query(browser.login("bob@acme.example").location)
    resp = browser.get("/console/auth/callback", **{**answer, "iss": "https://idp.evil.example"})
    assert resp.status_code == 401
    assert SESSION_COOKIE not in resp.cookies


def test_a_cancelled_sign_in_says_so(app, oidc):
    browser = Browser(app, oidc)
    start = browser.get("/console/auth/login")
    page = browser.provider.request(start.headers["Location"])
    while page.status in (302, 303):
        page = browser.provider.request(page.location)
    cancel = urllib.parse.urljoin(page.url, page.body.split('id="abort" method="post" action="')[1].split('"')[0])
    answer = browser.provider.request(cancel, {})
    while not answer.location.startswith(CALLBACK):
        answer = browser.provider.request(answer.location)
    resp = browser.callback(answer.location)
    assert resp.status_code == 401
    assert "access_denied" in resp.json["message"]


@pytest.mark.parametrize(
    "next_path",
    ["https://evil.example/", "//evil.example/x", "/v1/sites", "/console/../v1/sites", "/consolex", "javascript:x"],
)
def test_next_never_leaves_the_console(app, oidc, next_path):
    browser = Browser(app, oidc)
    done = browser.sign_in("bob@acme.example", next_path=next_path)
    assert done.headers["Location"] == "/console/"


def test_cookies_are_secure_when_served_over_tls(oidc_app, oidc):
    app = oidc_app(public_url=OIDC_TLS_URL)
    start = app.simulate_get("/console/auth/login")
    assert start.cookies[FLOW_COOKIE].secure is True
    assert query(start.headers["Location"])["redirect_uri"] == f"{OIDC_TLS_URL}/console/auth/callback"
    browser = Browser(app, oidc)
    browser.cookies[FLOW_COOKIE] = start.cookies[FLOW_COOKIE].value
    answer = oidc.authorize(
        start.headers["Location"], f"{OIDC_TLS_URL}/console/auth/callback", "bob@acme.example", browser.provider
    )
    done = browser.callback(answer.location)
    assert done.status_code == 303, done.text
    assert done.cookies[SESSION_COOKIE].secure is True


def test_sign_in_not_configured_is_404(client):
    assert client.simulate_get("/console/auth/login").status_code == 404
    assert client.simulate_get("/console/auth/session").status_code == 401


def test_the_browser_routes_are_not_in_the_api_document(client):
    paths = client.simulate_get("/openapi.json").json["paths"]
    assert not [path for path in paths if path.startswith("/console")]
