"""Add new user, in a browser: the User check for a known, an unknown, an inactive
identity and one already a member; the submit; the welcome message followed out of the
outbox to a real SMTP server on loopback (`authz notify deliver`)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.integration.console.conftest import Console
from tests.integration.console.steps import ACME, go_to, notice, sign_in_to_site
from tests.support.browser import check_page

pytestmark = pytest.mark.integration

NEWCOMER = "nora@partner.example"
GONE = "olaf@partner.example"
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(scope="module", autouse=True)
def identities(console: Console) -> None:
    """NEWCOMER: a known identity, member of no site. GONE: provisioned by the identity
    provider and deactivated there (SCIM)."""
    console.add_people(NEWCOMER)
    scim_key = console.cli("keys", "create", "--name", "idp", "--scope", "scim").stdout.strip()
    user = {
        "schemas": [SCIM_USER],
        "userName": GONE,
        "active": False,
        "emails": [{"value": GONE, "primary": True}],
        "name": {"givenName": "Olaf", "familyName": "Gone"},
    }
    headers = {"Authorization": f"Bearer {scim_key}", "Content-Type": "application/scim+json"}
    status, body = console.server.call("POST", "/scim/v2/Users", user, headers)
    assert status == 201, body
    assert json.loads(body)["active"] is False


def user_check(page: Page, login_id: str) -> None:
    page.get_by_label(re.compile("^Login id")).fill(login_id)
    page.get_by_label(re.compile("^Email address")).fill(login_id)
    page.get_by_role("button", name="User check").click()


@pytest.mark.parametrize(
    ("login_id", "answer"),
    [
        ("nobody@nowhere.example", "Not a known identity"),
        (GONE, "deactivated by the identity provider"),
        ("carol@acme.example", "Already a member of this site"),
    ],
    ids=["unknown", "inactive", "already-a-member"],
)
def test_the_user_check_stops_what_cannot_be_added(page: Page, console: Console, login_id: str, answer: str):
    sign_in_to_site(page, "alice@acme.example", ACME)
    go_to(page, "Add new user")
    user_check(page, login_id)
    login = page.get_by_label(re.compile("^Login id"))
    expect(login).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("main").get_by_role("alert").filter(has_text=answer)).to_be_visible()
    # Going on anyway is stopped at the same place: no preview, nothing to submit.
    page.get_by_label(re.compile("^Business justification")).fill("Trying anyway.")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_label(re.compile("^Login id"))).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name=re.compile("^Submit"))).to_have_count(0)


def test_add_a_known_identity_and_the_welcome_goes_out(page: Page, console: Console, mailbox):
    inbox, smtp_port = mailbox
    sign_in_to_site(page, "bob@acme.example", ACME)  # a secondary with manage-access update
    go_to(page, "Add new user")
    check_page(page, "add-user")
    user_check(page, NEWCOMER)
    expect(page.get_by_role("main").get_by_role("status")).to_have_text("Known identity: they can be added.")

    page.get_by_label(re.compile("^Business justification")).fill("Joins Acme's purchasing team.")
    page.get_by_role("radio", name=re.compile("^User")).check()
    page.get_by_role("group", name="Purchase & Download").get_by_role("radio", name="Software downloads only").check()
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="What this change does")
    expect(preview).to_contain_text("Download software")
    check_page(page, "add-user-preview")
    page.get_by_role("button", name=f"Submit: add {NEWCOMER}").click()
    expect(notice(page)).to_have_text("Added; they get a welcome message.")

    status, member = console.api("GET", f"/v1/sites/{ACME}/members/{NEWCOMER}", acting="alice@acme.example")
    assert status == 200 and member["role"] == "user"
    assert member["levels"]["purchase_download"] == "downloads"

    sent = console.cli("notify", "deliver", AUTHZ_SMTP_HOST="127.0.0.1", AUTHZ_SMTP_PORT=str(smtp_port))
    assert sent.stdout.startswith("sent ")
    [welcome] = inbox.to(NEWCOMER)
    assert ACME in welcome["Subject"] + welcome.get_content()
