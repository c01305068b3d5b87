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

EXTRA_MEMBERS = 30  # more than a page of the list


@pytest.fixture(scope="module", autouse=True)
def many_members(console: Console) -> None:
    """Acme gets EXTRA_MEMBERS more users, added through the API as Alice."""
    people = "\n".join(
        f"  - {{login_id: temp{i:02d}@acme.example, email: temp{i:02d}@acme.example, first_name: Temp{i:02d}, "
        f"last_name: Worker, phone: '+1 555 10{i:02d}'}}"
        for i in range(EXTRA_MEMBERS)
    )
    memberships = "\n".join(
        f"  - {{site: '1001', user: temp{i:02d}@acme.example, role: user, levels: {{reporting: view}}}}"
        for i in range(EXTRA_MEMBERS)
    )
    data = console.workdir / "extra.yaml"
    data.write_text(f"people:\n{people}\nmemberships:\n{memberships}\n")
    console.cli("import", str(data))


def test_the_list_searches_filters_pages_and_downloads(page: Page):
    sign_in_to_site(page, "alice@acme.example", ACME)
    go_to(page, "Manage access")
    table = page.get_by_role("table")
    expect(table.get_by_role("columnheader", name=re.compile("login id", re.I))).to_be_visible()
    check_page(page, "manage-access")

    page.get_by_role("searchbox").or_(page.get_by_label(re.compile("search", re.I))).first.fill("carol")
    page.get_by_role("button", name=re.compile("search", re.I)).click()
    expect(table.get_by_role("row")).to_have_count(2)  # the header and Carol
    expect(table).to_contain_text("carol@acme.example")

    page.get_by_role("searchbox").or_(page.get_by_label(re.compile("search", re.I))).first.fill("")
    page.get_by_label(re.compile("role", re.I)).select_option(label="Secondary Contact")
    page.get_by_role("button", name=re.compile("search|filter", re.I)).first.click()
    expect(table).to_contain_text("bob@acme.example")
    expect(table).not_to_contain_text("carol@acme.example")

    page.get_by_label(re.compile("role", re.I)).select_option(index=0)  # any role
    page.get_by_role("button", name=re.compile("search|filter", re.I)).first.click()
    first_page = table.inner_text()
    page.get_by_role("link", name=re.compile("next", re.I)).click()
    expect(table).not_to_have_text(first_page)

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("download", re.I)).click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1 + 4 + EXTRA_MEMBERS  # a header, the demo's four, the extra ones
    assert any("carol@acme.example" in row for row in rows)


def test_the_matrix_disables_what_a_user_cannot_hold_and_previews_the_change(page: Page, console: Console):
    sign_in_to_site(page, "bob@acme.example", ACME)  # a secondary: manage access update, media downloads
    go_to(page, "Manage access")
    page.get_by_role("link", name=re.compile("carol@acme.example|Carol Chen")).first.click()
    check_page(page, "member-form")

    # Carol is a User: the account-management rows are at None and disabled, with the reason.
    manage_update = page.get_by_role("radiogroup", name=re.compile("manage access", re.I)).get_by_role(
        "radio", name="Update"
    )
    expect(manage_update).to_be_disabled()
    expect(page.get_by_role("main")).to_contain_text(re.compile("contacts only|secondary|primary", re.I))
    # Bob holds "software downloads and media access": the level above it is not his to give.
    full = page.get_by_role("radiogroup", name=re.compile("purchase", re.I)).get_by_role(
        "radio", name=re.compile("quotes", re.I)
    )
    expect(full).to_be_disabled()

    page.get_by_role("radiogroup", name=re.compile("reporting", re.I)).get_by_role("radio", name="None").check()
    page.get_by_role("radiogroup", name=re.compile("^entitlements", re.I)).get_by_role("radio", name="Update").check()
    page.get_by_role("button", name=re.compile("preview", re.I)).click()
    preview = page.get_by_role("region", name=re.compile("preview", re.I)).or_(page.get_by_role("main")).first
    expect(preview).to_contain_text(re.compile("Update deployments", re.I))  # gained
    expect(preview).to_contain_text(re.compile("View reports", re.I))  # lost
    check_page(page, "member-preview")

    page.get_by_role("button", name=re.compile("submit|save", re.I)).first.click()
    _, body = console.api("GET", "/v1/sites/1001/members/carol@acme.example", acting="alice@acme.example")
    assert body["levels"]["entitlements"] == "update"
    assert body["levels"].get("reporting", "none") == "none"


def test_removing_a_user_asks_for_confirmation(page: Page, console: Console):
    sign_in_to_site(page, "alice@acme.example", ACME)
    go_to(page, "Manage access")
    page.get_by_role("searchbox").or_(page.get_by_label(re.compile("search", re.I))).first.fill("temp00")
    page.get_by_role("button", name=re.compile("search", re.I)).click()
    page.get_by_role("link", name=re.compile("temp00@acme.example|Temp00 Worker")).first.click()
    page.get_by_role("button", name=re.compile("delete|remove", re.I)).first.click()

    # Nothing is removed before the confirmation.
    assert console.api("GET", "/v1/sites/1001/members/temp00@acme.example", acting="alice@acme.example")[0] == 200
    check_page(page, "member-delete-confirm")
    page.get_by_role("button", name=re.compile("confirm|yes|delete|remove", re.I)).last.click()
    expect(notice(page)).to_contain_text(re.compile("removed|deleted", re.I))
    assert console.api("GET", "/v1/sites/1001/members/temp00@acme.example", acting="alice@acme.example")[0] == 404


def test_a_member_form_works_from_the_keyboard_with_visible_focus(page: Page, console: Console):
    sign_in_to_site(page, "alice@acme.example", ACME)
    go_to(page, "Manage access")
    page.get_by_role("link", name=re.compile("temp01@acme.example|Temp01 Worker")).first.focus()
    page.keyboard.press("Enter")
    phone = page.get_by_label(re.compile("^(tele)?phone", re.I))
    phone.focus()
    assert _focus_is_visible(page)
    page.keyboard.press("Control+a")
    page.keyboard.type("+1 555 7777")
    # Tab on to the submit button, then Enter.
    submit = page.get_by_role("button", name=re.compile("submit|save", re.I)).first
    for _ in range(60):
        page.keyboard.press("Tab")
        assert _focus_is_visible(page)
        if submit.evaluate("b => b === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the submit button")
    page.keyboard.press("Enter")
    expect(notice(page)).to_be_visible()
    _, body = console.api("GET", "/v1/sites/1001/members/temp01@acme.example", acting="alice@acme.example")
    assert body["phone"] == "+1 555 7777"


def _focus_is_visible(page: Page) -> bool:
    """The focused element shows it: an outline or a box shadow under :focus-visible."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            if (!el || el === document.body || !el.matches(':focus-visible')) return false;
            const s = getComputedStyle(el);
            return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
        }"""
    )
