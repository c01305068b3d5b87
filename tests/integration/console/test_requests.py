"""Approve requests, in a browser: a person asks for access (the console's own form),
Acme's primary grants one with the matrix and denies another with one reason; a request
decided meanwhile by someone else is not decided twice; the requester hears either way."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.integration.console.conftest import Console
from tests.integration.console.steps import ACME, demo_sign_in, go_to, notice, sign_in_to_site
from tests.support.browser import check_page

pytestmark = pytest.mark.integration


def ask(console: Console, login_id: str, justification: str | None = None) -> int:
    body = {"business_justification": justification} if justification else {}
    status, answer = console.api("POST", f"/v1/sites/{ACME}/access-requests", body, acting=login_id)
    assert status == 201, answer
    return answer["id"]


@pytest.fixture(scope="module", autouse=True)
def people(console: Console) -> None:
    console.add_people("gina@partner.example", "hank@partner.example", "ivan@partner.example")


def open_request(page: Page, decision: str, login_id: str) -> None:
    """From Approve requests, the Grant or Deny of LOGIN_ID's request."""
    go_to(page, "Approve requests")
    page.get_by_role("link", name=f"{decision} access to {login_id}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{decision} access")
    expect(page.get_by_role("main")).to_contain_text(login_id)  # the requester's details


def test_a_person_asks_for_access_from_the_console(page: Page, console: Console):
    demo_sign_in(page, "frank@globex.example")
    page.get_by_role("link", name="Request access").first.click()
    page.get_by_label(re.compile("^Site number")).fill(ACME)
    page.get_by_label(re.compile("^Business justification")).fill("I run Globex's shipments for Acme.")
    check_page(page, "request-access")
    page.get_by_role("button", name="Send the request").click()
    expect(notice(page)).to_be_visible()
    _, pending = console.api("GET", f"/v1/sites/{ACME}/access-requests", acting="alice@acme.example")
    mine = [r for r in pending["requests"] if r["requester"]["login_id"] == "frank@globex.example"]
    assert [r["business_justification"] for r in mine] == ["I run Globex's shipments for Acme."]


def test_grant_with_the_matrix(page: Page, console: Console):
    ask(console, "gina@partner.example")  # no justification: the approver must add one
    sign_in_to_site(page, "alice@acme.example", ACME)
    go_to(page, "Approve requests")
    check_page(page, "requests")
    open_request(page, "Grant", "gina@partner.example")

    page.get_by_role("radio", name=re.compile("^User")).check()
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Submit: grant access").click()  # no justification yet: refused
    expect(page.get_by_label(re.compile("^Business justification"))).to_have_attribute("aria-invalid", "true")
    assert console.api("GET", f"/v1/sites/{ACME}/members/gina@partner.example", acting="alice@acme.example")[0] == 404

    page.get_by_label(re.compile("^Business justification")).fill("Ships Acme's media.")
    page.get_by_role("radio", name=re.compile("^User")).check()
    page.get_by_role("group", name="Reporting").get_by_role("radio", name="View").check()
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("region", name="What this change does")).to_contain_text("View reports")
    check_page(page, "grant")
    page.get_by_role("button", name="Submit: grant access").click()
    expect(notice(page)).to_contain_text("granted")

    status, member = console.api("GET", f"/v1/sites/{ACME}/members/gina@partner.example", acting="alice@acme.example")
    assert status == 200 and member["role"] == "user" and member["levels"]["reporting"] == "view"
    assert console.outbox("request_granted", "gina@partner.example")


def test_deny_with_exactly_one_reason(page: Page, console: Console):
    ask(console, "hank@partner.example", "Consulting.")
    sign_in_to_site(page, "alice@acme.example", ACME)
    open_request(page, "Deny", "hank@partner.example")
    reasons = page.get_by_role("group", name=re.compile("^Reason")).get_by_role("radio")
    expect(reasons).to_have_count(3)
    page.get_by_role("button", name="Submit: deny access").click()  # no reason chosen
    expect(page.get_by_role("main").get_by_role("alert")).to_contain_text("Choose exactly one reason.")
    page.get_by_role("radio", name=re.compile("no business relationship", re.I)).check()
    check_page(page, "deny")
    page.get_by_role("button", name="Submit: deny access").click()
    expect(notice(page)).to_contain_text("denied")
    assert console.outbox("request_denied", "hank@partner.example")


def test_a_request_decided_meanwhile_is_not_decided_twice(page: Page, console: Console):
    request_id = ask(console, "ivan@partner.example", "Second try.")
    sign_in_to_site(page, "alice@acme.example", ACME)
    open_request(page, "Deny", "ivan@partner.example")
    page.get_by_role("radio", name=re.compile("not necessary", re.I)).check()

    # Bob, the secondary, denies it first.
    status, body = console.api(
        "POST",
        f"/v1/sites/{ACME}/access-requests/{request_id}/deny",
        {"reason": "requestor_unknown"},
        acting="bob@acme.example",
    )
    assert status == 200, body
    page.get_by_role("button", name="Submit: deny access").click()
    expect(page.get_by_role("main")).to_contain_text("This request was already denied by bob@acme.example")
    expect(page.get_by_role("button", name="Submit: deny access")).to_have_count(0)
    check_page(page, "request-decided-meanwhile")
    _, decided = console.api("GET", f"/v1/sites/{ACME}/access-requests?status=all", acting="alice@acme.example")
    [mine] = [r for r in decided["requests"] if r["id"] == request_id]
    assert (mine["decided_by"], mine["deny_reason"]) == ("bob@acme.example", "requestor_unknown")
