"""Manage access, as Acme's primary contact does it in a browser: the user list (search,
filter, paging, the CSV download), a user opened, the privilege matrix with its disabled
levels and their reasons, the preview of what a change gains and loses, a save, a
removal with confirmation; and a form driven by the keyboard alone."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.integration.console.conftest import Console
from tests.integration.console.steps import ACME, go_to, notice, sign_in_to_site
from tests.support.browser import check_page

pytestmark = pytest.mark.integration

EXTRA_MEMBERS = 60  # more than a page of the list
PAGE_SIZE = 50  # users a page of the list shows


@pytest.fixture(scope="module", autouse=True)
def many_members(console: Console) -> None:
    """Acme gets EXTRA_MEMBERS more users (imported)."""
    logins = [f"temp{i:02d}@acme.example" for i in range(EXTRA_MEMBERS)]
    console.import_data(
        {
            "people": [
                {"login_id": login, "email": login, "first_name": login[:6].title(), "last_name": "Worker"}
                for login in logins
            ],
            "memberships": [
                {"site": ACME, "user": login, "role": "user", "levels": {"reporting": "view"}} for login in logins
            ],
        }
    )


def search(page: Page, text: str = "", role: str = "Any role") -> None:
    page.get_by_role("searchbox", name="Search").fill(text)
    page.get_by_label("Role").select_option(label=role)
    page.get_by_role("button", name="Show").click()


def users_table(page: Page):
    return page.get_by_role("table", name=re.compile("^Users of site"))


def test_the_list_searches_filters_pages_and_downloads(page: Page):
    sign_in_to_site(page, "alice@acme.example", ACME)
    go_to(page, "Manage access")
    table = users_table(page)
    for column in ("Name", "Login id", "Email", "Role"):
        expect(table.get_by_role("columnheader", name=column)).to_be_visible()
    check_page(page, "manage-access")

    search(page, "carol")
    expect(users_table(page).get_by_role("row")).to_have_count(2)  # the header and Carol
    expect(users_table(page)).to_contain_text("carol@acme.example")

    search(page, role="Secondary Contact")
    expect(users_table(page)).to_contain_text("bob@acme.example")
    expect(users_table(page).get_by_role("row")).to_have_count(2)

    search(page)  # everybody: more than a page
    first_page = users_table(page).get_by_role("row").all_inner_texts()
    assert len(first_page) == 1 + PAGE_SIZE
    page.get_by_role("navigation", name="Pages of the user list").get_by_role("link", name="Next page").click()
    second_page = users_table(page).get_by_role("row").all_inner_texts()
    assert len(second_page) == 1 + (4 + EXTRA_MEMBERS - PAGE_SIZE)
    assert not set(first_page[1:]) & set(second_page[1:])

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the complete list of users").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 4 + EXTRA_MEMBERS  # a header, the demo's four, the extra ones
    assert any("carol@acme.example" in row for row in rows)


def open_member(page: Page, login_id: str) -> None:
    go_to(page, "Manage access")
    search(page, login_id)
    users_table(page).get_by_role("row").filter(has_text=login_id).get_by_role("link").click()
    expect(page.get_by_role("main")).to_contain_text(login_id)


def level(page: Page, application: str, name: str):
    return page.get_by_role("group", name=application, exact=True).get_by_role("radio", name=name, exact=True)


def test_the_matrix_disables_what_may_not_be_given_and_previews_the_change(page: Page, console: Console):
    sign_in_to_site(page, "bob@acme.example", ACME)  # a secondary: manage access update, media downloads
    open_member(page, "carol@acme.example")
    check_page(page, "member-form")

    # Carol is a User: the account-management rows are at None and disabled, with the reason.
    manage_update = level(page, "Account management: manage access", "Update")
    expect(manage_update).to_be_disabled()
    expect(manage_update).to_have_accessible_description(re.compile("contacts only"))
    expect(level(page, "Account management: manage access", "None")).to_be_checked()
    # Bob holds "software downloads and media access": the level above it is not his to give.
    full = level(
        page, "Purchase & Download", "Software downloads, media access, quotes, product catalogs and license renewals"
    )
    expect(full).to_be_disabled()
    expect(full).to_have_accessible_description(re.compile("cannot grant a higher level"))
    expect(
        page.get_by_role("radio", name=re.compile(r"^Secondary Contact \(up to 4; the site has 1 of 4\)"))
    ).to_be_visible()

    level(page, "Reporting", "None").check()
    level(page, "Entitlements (entitlement inventory and deployments)", "Update").check()
    page.get_by_role("button", name="Preview the change").click()
    preview = page.get_by_role("region", name="What this change does")
    expect(preview.get_by_role("list").first).to_be_visible()
    expect(preview).to_contain_text("Update deployments")  # gained
    expect(preview).to_contain_text("View reports")  # lost
    check_page(page, "member-preview")
    # Nothing is saved by a preview.
    _, before = console.api("GET", f"/v1/sites/{ACME}/members/carol@acme.example", acting="alice@acme.example")
    assert before["levels"]["reporting"] == "view"

    page.get_by_role("button", name="Save this change").click()
    expect(notice(page)).to_have_text("Saved.")
    _, body = console.api("GET", f"/v1/sites/{ACME}/members/carol@acme.example", acting="alice@acme.example")
    assert body["levels"]["entitlements"] == "update"
    assert body["levels"].get("reporting", "none") == "none"


def test_removing_a_user_asks_for_confirmation(page: Page, console: Console):
    sign_in_to_site(page, "alice@acme.example", ACME)
    open_member(page, "temp00@acme.example")
    page.get_by_role("link", name="Remove this user from the site").click()

    # Nothing is removed before the confirmation.
    assert console.api("GET", f"/v1/sites/{ACME}/members/temp00@acme.example", acting="alice@acme.example")[0] == 200
    check_page(page, "member-delete-confirm")
    page.get_by_role("button", name="Remove temp00@acme.example").click()
    expect(notice(page)).to_have_text("temp00@acme.example was removed from the site.")
    assert console.api("GET", f"/v1/sites/{ACME}/members/temp00@acme.example", acting="alice@acme.example")[0] == 404
