"""Sign-in, the choice of site, preferences and asking for access; what every console
answer carries (security headers, error pages, CSRF)."""

from __future__ import annotations

import dataclasses

import pytest
from falcon import testing

from api.app import create_app
from api.console.render import CONTENT_SECURITY_POLICY
from authz.audit import trail
from authz.config import IdentitySettings
from authz.service import Service
from models.access_requests import AccessRequest
from models.identifiers import login_key
from models.schema import Person
from tests.api.console.conftest import Browser, text_of
from tests.conftest import SESSION_SECRET


def test_a_browser_without_a_session_is_sent_to_sign_in(browser):
    anonymous = browser()
    resp = anonymous.get("/console/sites/1001/")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fsites%2F1001"
    assert anonymous.get("/console/").status_code == 303


def test_demo_sign_in_then_the_sites_with_the_role_on_each(browser):
    dana = browser("Dana.Diaz")
    assert dana.cookies["authz_session"]
    page = dana.get("/console/")
    assert page.status_code == 200
    text = text_of(page)
    assert "Signed in as Dana.Diaz" in text
    assert "1001 Acme Manufacturing User" in text
    assert "2002 Globex Logistics Secondary Contact" in text
    assert 'href="/console/sites/2002/"' in page.text


def test_demo_sign_in_lands_on_the_page_asked_for(browser):
    alice = browser()
    alice.get("/console/sign-in", next="/console/sites/1001/")
    resp = alice.post("/console/sign-in", {"login_id": "alice@acme.example", "next": "/console/sites/1001/"})
    assert resp.headers["location"] == "/console/sites/1001/"
    resp = alice.post(
        "/console/sign-in",
        {"login_id": "alice@acme.example", "next": "https://evil.example/"},
        token_from="/console/sign-in",
    )
    assert resp.headers["location"] == "/console/"  # never another site


def test_demo_sign_in_takes_only_demo_people_and_only_its_own_form(browser):
    b = browser()
    b.get("/console/sign-in")
    refused = b.post("/console/sign-in", {"login_id": "mallory@evil.example"})
    assert refused.status_code == 422 and "pick one of the demo people" in refused.text
    assert "authz_session" not in b.cookies
    forged = b.post("/console/sign-in", {"login_id": "alice@acme.example"}, token=False)
    assert forged.status_code == 403 and "authz_session" not in b.cookies
    stranger = browser()  # a token made for another browser's sign-in page
    stranger.get("/console/sign-in")
    stranger.cookies["authz_form"] = "another-browser"
    assert stranger.post("/console/sign-in", {"login_id": "alice@acme.example"}).status_code == 403


@pytest.fixture
def plain_console(demo, settings):
    """The console with a session secret but no demo sign-in (production without OIDC)."""
    configured = dataclasses.replace(settings, identity=IdentitySettings(session_secrets=(SESSION_SECRET,)))
    return testing.TestClient(create_app(Service.start(configured)))


def test_without_the_setting_there_is_no_demo_sign_in(plain_console):
    b = Browser(plain_console)
    page = b.get("/console/sign-in")
    assert page.status_code == 200 and "Demo sign-in" not in page.text
    assert "Sign-in is not configured" in page.text
    resp = b.post("/console/sign-in", {"login_id": "alice@acme.example", "csrf_token": "x"}, token=False)
    assert resp.status_code == 404 and "authz_session" not in b.cookies


def test_every_console_answer_carries_a_strict_content_security_policy(browser):
    alice = browser("alice@acme.example")
    answers = [
        alice.get("/console/"),
        alice.get("/console/sites/1001/"),
        alice.get("/console/sites/9999/"),
        alice.get("/console/static/console.css"),
        alice.get("/console/no-such-page"),
        browser().get("/console/sign-in"),
        browser().get("/console/sites/1001/"),  # the redirect to sign in
        alice.post("/console/preferences", {"notification_email": ""}, token_from="/console/preferences"),
    ]
    assert [r.status_code for r in answers[-2:]] == [303, 303]
    for resp in answers:
        assert resp.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    for resp in answers:
        if resp.headers["content-type"].startswith("text/html"):
            assert "<script" not in resp.text and "style=" not in resp.text and "<style" not in resp.text
            assert '<html lang="en">' in resp.text and "<main" in resp.text and "<title>" in resp.text
    assert answers[3].headers["content-type"].startswith("text/css")


def test_an_error_is_an_html_page_of_the_console(browser):
    alice = browser("alice@acme.example")
    missing = alice.get("/console/no-such-page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in missing.text
    assert alice.get("/console/static/secrets.txt").status_code == 404


def test_preferences_set_the_notification_email_only_on_save(browser):
    dana = browser("Dana.Diaz")
    page = dana.get("/console/preferences")
    assert 'value="dana.alerts@consult.example"' in page.text
    resp = dana.post("/console/preferences", {"notification_email": "dana.new@consult.example"})
    assert resp.status_code == 303
    assert Person.by_key(login_key("Dana.Diaz")).notification_email == "dana.new@consult.example"
    assert "Saved." in dana.get(resp.headers["location"]).text


def test_a_bad_notification_email_is_shown_at_its_field_and_nothing_changes(browser):
    dana = browser("Dana.Diaz")
    dana.get("/console/preferences")
    resp = dana.post("/console/preferences", {"notification_email": "not an address"})
    assert resp.status_code == 422
    assert 'aria-invalid="true"' in resp.text and 'aria-describedby="f-notification_email-error' in resp.text
    assert 'id="f-notification_email-error" role="alert"' in resp.text
    assert Person.by_key(login_key("Dana.Diaz")).notification_email == "dana.alerts@consult.example"


def test_a_form_without_the_session_token_is_refused_and_changes_nothing(browser):
    dana = browser("Dana.Diaz")
    dana.get("/console/preferences")
    resp = dana.post("/console/preferences", {"notification_email": "evil@evil.example"}, token=False)
    assert resp.status_code == 403 and resp.headers["content-type"].startswith("text/html")
    other = browser("carol@acme.example")  # another session's token is no better
    other.get("/console/preferences")
    resp = dana.post(
        "/console/preferences", {"notification_email": "evil@evil.example", "csrf_token": other.token()}, token=False
    )
    assert resp.status_code == 403
    assert Person.by_key(login_key("Dana.Diaz")).notification_email == "dana.alerts@consult.example"


def test_a_person_asks_for_access_to_a_site_they_do_not_belong_to(browser):
    frank = browser("frank@globex.example")
    page = frank.get("/console/request-access")
    assert page.status_code == 200
    resp = frank.post("/console/request-access", {"site": "1001", "business_justification": "Supports Acme's rollout"})
    assert resp.status_code == 200 and "Your request for access to site 1001 was sent" in resp.text
    asked = AccessRequest.get()
    assert (asked.person.login_id, asked.justification) == ("frank@globex.example", "Supports Acme's rollout")
    again = frank.post("/console/request-access", {"site": "1001"})
    assert again.status_code == 422 and 'aria-invalid="true"' in again.text
    nowhere = frank.post("/console/request-access", {"site": "9999"})
    assert nowhere.status_code == 422 and "There is no site with this number." in nowhere.text
    assert AccessRequest.select().count() == 1
    assert trail.page("1001", limit=1)[0]["action"] == "request_access"


def test_sign_out_from_the_console_ends_the_session(browser):
    dana = browser("Dana.Diaz")
    page = dana.get("/console/")
    assert 'action="/console/auth/logout"' in page.text
    resp = dana.post("/console/auth/logout")
    assert resp.status_code == 303 and resp.headers["location"] == "/console/"
    assert "authz_session" not in dana.cookies
    assert dana.get("/console/").status_code == 303  # back to sign-in


def test_a_page_names_itself_and_its_site(browser):
    alice = browser("alice@acme.example")
    page = alice.get("/console/sites/1001/")
    assert "<title>Overview · Acme Manufacturing · Account Management</title>" in page.text
    assert '<a class="skip" href="#main">' in page.text and '<main id="main"' in page.text
