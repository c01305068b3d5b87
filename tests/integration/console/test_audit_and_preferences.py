"""The site's audit trail (filtered), a person's own notification preference, and the
refusals a secondary meets: what their levels do not allow is not offered, and asked for
anyway by its address, is refused."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.integration.console.conftest import Console
from tests.integration.console.steps import ACME, GLOBEX, demo_sign_in, go_to, navigation_entries, notice, open_site
from tests.support.browser import check_page

pytestmark = pytest.mark.integration


def test_the_audit_trail_filters_by_actor_and_action(page: Page, console: Console):
    status, body = console.api(
        "PATCH", f"/v1/sites/{ACME}/members/carol@acme.example", {"phone": "+1 555 0999"}, acting="alice@acme.example"
    )
    assert status == 200, body
    demo_sign_in(page, "alice@acme.example")
    open_site(page, ACME)
    go_to(page, "Audit trail")
    trail = page.get_by_role("table", name="Audit records, newest first")
    newest = trail.get_by_role("row").nth(1)
    expect(newest).to_contain_text("update_user")
    expect(newest).to_contain_text("+1 555 0999")
    check_page(page, "audit")

    page.get_by_label("Actor").fill("alice@acme.example")
    page.get_by_label("Action").fill("update_user")
    page.get_by_role("button", name="Show").click()
    rows = trail.get_by_role("row")
    expect(rows).to_have_count(2)  # the header and the one change
    expect(rows.nth(1)).to_contain_text("carol@acme.example")

    page.get_by_label("Actor").fill("bob@acme.example")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("main")).to_contain_text("No record matches.")


def test_my_notification_email_is_mine_to_set(page: Page, console: Console):
    demo_sign_in(page, "carol@acme.example")
    page.get_by_role("link", name="My preferences").click()
    field = page.get_by_label(re.compile("^Notification email"))
    field.fill("not an address")
    page.get_by_role("button", name="Save").click()
    # The browser itself holds the form back (an email field) and says why.
    assert field.evaluate("el => !el.validity.valid && el.validationMessage.length > 0")
    assert console.api("GET", "/v1/me", acting="carol@acme.example")[1]["notification_email"] is None

    page.get_by_label(re.compile("^Notification email")).fill("carol.alerts@acme.example")
    page.get_by_role("button", name="Save").click()
    expect(notice(page)).to_have_text("Saved.")
    check_page(page, "preferences")
    status, body = console.api("GET", "/v1/me", acting="carol@acme.example")
    assert status == 200 and body["notification_email"] == "carol.alerts@acme.example"


def test_a_secondary_is_offered_only_what_their_levels_allow_and_refused_the_rest(page: Page, console: Console):
    demo_sign_in(page, "Dana.Diaz")  # Globex: manage access view, contact updates update
    open_site(page, GLOBEX)
    assert "Add new user" not in navigation_entries(page)
    go_to(page, "Approve requests")  # to see, not to decide
    expect(page.get_by_role("link", name=re.compile("^(Grant|Deny) access"))).to_have_count(0)

    # Asked for by its address anyway, adding a user is refused, and nobody is added.
    page.goto(f"/console/sites/{GLOBEX}/add-user")
    page.get_by_label(re.compile("^Login id")).fill("alice@acme.example")
    page.get_by_label(re.compile("^Email address")).fill("alice@acme.example")
    page.get_by_label(re.compile("^Business justification")).fill("Helps with Globex.")
    page.get_by_role("radio", name=re.compile("^User")).check()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Preview").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_role("main")).to_contain_text("needs manage_access update, holds view")
    check_page(page, "refused")
    status, _ = console.api("GET", f"/v1/sites/{GLOBEX}/members/alice@acme.example", acting="erin@globex.example")
    assert status == 404

    page.goto(f"/console/sites/{GLOBEX}/")
    go_to(page, "Manage access")
    page.get_by_role("main").get_by_role("link", name="Erin Evans").click()
    # A secondary may not act on the primary, and view-only access management changes nothing.
    expect(page.get_by_role("main").get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("link", name="Remove this user from the site")).to_have_count(0)

    answer = page.goto(f"/console/sites/{ACME}/members")  # Acme: Dana is a plain user there
    assert answer is not None and answer.status in (403, 404)


def test_another_site_is_not_there_for_a_non_member(page: Page):
    demo_sign_in(page, "frank@globex.example")
    answer = page.goto(f"/console/sites/{ACME}/")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_be_visible()
