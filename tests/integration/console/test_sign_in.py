"""Signing in to the console, in a real browser: through the real OpenID Connect
provider (its login form, the code flow, back to the console) and through the demo
sign-in of `make run`; then the site choice, and what each person's navigation offers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import OIDC_ACCOUNTS, SESSION_SECRET
from tests.integration.console.conftest import Console, fresh_page, start_console
from tests.integration.console.steps import ACME, GLOBEX, NAVIGATION, demo_sign_in, navigation_entries, open_site
from tests.integration.server import free_port
from tests.support.browser import check_page
from tests.support.oidc_provider import DEFAULT_AUDIENCE, DEFAULT_CLIENT, OidcProvider

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def oidc_console(tmp_path_factory) -> Iterator[tuple[Console, OidcProvider]]:
    """The console on the demo data, signed in through the real provider (no demo sign-in)."""
    workdir = tmp_path_factory.mktemp("oidc-console")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = {
        **DEFAULT_CLIENT,
        "client_id": "authz-console-e2e",
        "redirect_uris": [f"{base}/console/auth/callback"],
        "post_logout_redirect_uris": [f"{base}/console/"],
    }
    (workdir / "idp").mkdir()
    with OidcProvider.start(workdir / "idp", accounts=OIDC_ACCOUNTS, clients=[client]) as idp:
        database_url, admin_key, server = start_console(
            workdir,
            PORT=str(port),
            AUTHZ_OIDC_ISSUER=idp.issuer,
            AUTHZ_OIDC_AUDIENCE=DEFAULT_AUDIENCE,
            AUTHZ_OIDC_CLIENT_ID=client["client_id"],
            AUTHZ_OIDC_CLIENT_SECRET=client["client_secret"],
            AUTHZ_SESSION_SECRET=SESSION_SECRET,
        )
        with server as running:
            yield Console(running, workdir, database_url, admin_key), idp


@pytest.fixture
def oidc_page(browser: Browser, oidc_console) -> Iterator[Page]:
    with fresh_page(browser, oidc_console[0].base) as tab:
        yield tab


def test_sign_in_through_the_provider_choose_a_site_and_sign_out(oidc_page: Page, oidc_console):
    console, idp = oidc_console
    page = oidc_page
    page.goto("/console/")
    expect(page.get_by_role("heading", name="Demo sign-in")).to_have_count(0)  # never with OpenID Connect
    check_page(page, "sign-in-oidc")
    page.get_by_role("link", name=re.compile("sign in", re.I)).click()

    expect(page).to_have_url(re.compile("^" + re.escape(idp.issuer)))  # the provider's own page
    page.get_by_label("Login (username or email)").fill("Dana.Diaz")
    page.get_by_role("button", name="Sign in").click()

    # Dana belongs to two sites, with a different role on each: the console asks which.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your sites")
    sites = page.get_by_role("table")
    expect(sites.get_by_role("row", name=re.compile(f"{ACME}.*User"))).to_be_visible()
    expect(sites.get_by_role("row", name=re.compile(f"{GLOBEX}.*Secondary Contact"))).to_be_visible()
    check_page(page, "site-choice")
    open_site(page, GLOBEX)
    assert "Manage access" in navigation_entries(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("^" + re.escape(console.base + "/console/")))
    assert page.request.get("/console/auth/session").status == 401  # with the browser's cookies


def test_demo_sign_in_shows_a_warning_and_leads_to_the_site(page: Page):
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?"))
    expect(page.get_by_role("main")).to_contain_text("Never use it with real data")
    check_page(page, "sign-in")
    demo_sign_in(page, "alice@acme.example")
    open_site(page, ACME)
    assert navigation_entries(page) == list(NAVIGATION)  # the primary sees every entry


def test_a_plain_user_sees_no_administration_entry(page: Page):
    demo_sign_in(page, "carol@acme.example")
    open_site(page, ACME)
    assert navigation_entries(page) == []
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")


def test_a_secondary_sees_only_what_their_levels_allow(page: Page):
    demo_sign_in(page, "Dana.Diaz")
    open_site(page, GLOBEX)
    entries = navigation_entries(page)
    assert "Contact updates" in entries and "Manage access" in entries
    # View-only access management: the requests are there to see, adding users is not.
    assert "Approve requests" in entries and "Add new user" not in entries
