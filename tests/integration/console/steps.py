"""What a site administrator does in the console again and again, in browser steps
(accessible locators: a field found by its label, a button by its name)."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

# The demo data's sites (deploy/demo-data.yaml).
ACME, GLOBEX = "1001", "2002"
NAVIGATION = ("Overview", "Contact updates", "Manage access", "Approve requests", "Add new user", "Audit trail")


def demo_sign_in(page: Page, login_id: str) -> None:
    """Signed in as LOGIN_ID through the demo sign-in (`make run`'s demo mode); on the
    list of the person's sites."""
    page.goto("/console/")
    page.get_by_role("radio", name=re.compile(re.escape(f"({login_id})"))).check()
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Your sites")).to_be_visible()


def open_site(page: Page, site: str) -> None:
    """From the list of the person's sites, the site's overview."""
    page.get_by_role("main").get_by_role("link", name=site, exact=True).click()
    expect(site_navigation(page)).to_be_visible()


def sign_in_to_site(page: Page, login_id: str, site: str) -> None:
    demo_sign_in(page, login_id)
    open_site(page, site)


def site_navigation(page: Page) -> Locator:
    return page.get_by_role("navigation", name=re.compile(r"^Site "))


def go_to(page: Page, entry: str) -> None:
    """One of the site's entries, through the site's navigation."""
    site_navigation(page).get_by_role("link", name=entry, exact=True).click()
    expect(site_navigation(page).get_by_role("link", name=entry, exact=True)).to_have_attribute("aria-current", "page")


def navigation_entries(page: Page) -> list[str]:
    """The site entries the navigation offers, in order."""
    return [name.strip() for name in site_navigation(page).get_by_role("link").all_inner_texts()]


def notice(page: Page) -> Locator:
    """The page's message after a change (role=status), or its problem (role=alert)."""
    return page.get_by_role("main").get_by_role("status").or_(page.get_by_role("main").get_by_role("alert")).first
