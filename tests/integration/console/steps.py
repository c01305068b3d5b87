"""What a site administrator does in the console again and again, in browser steps
(accessible locators: a field found by its label, a button by its name)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

# The demo data's sites (deploy/demo-data.yaml).
ACME, GLOBEX = "Acme Manufacturing", "Globex Logistics"
NAVIGATION = ("Overview", "Contact updates", "Manage access", "Approve requests", "Add new user")


def demo_sign_in(page: Page, login_id: str) -> None:
    """Signed in as LOGIN_ID through the demo sign-in (`make run`'s demo mode)."""
    page.goto("/console/")
    page.get_by_label(re.compile("person", re.I)).select_option(login_id)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page.get_by_role("button", name=re.compile("sign out", re.I))).to_be_visible()


def open_site(page: Page, site_name: str) -> None:
    """From the site choice, the site's area."""
    page.get_by_role("link", name=site_name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(site_name)


def go_to(page: Page, entry: str) -> None:
    """One of the site's five entries, through the navigation."""
    page.get_by_role("navigation").get_by_role("link", name=entry, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(entry, re.I)).first).to_be_visible()


def navigation_entries(page: Page) -> list[str]:
    """The site entries the navigation offers, in order."""
    links = page.get_by_role("navigation").get_by_role("link")
    return [name for name in (t.strip() for t in links.all_inner_texts()) if name in NAVIGATION]
