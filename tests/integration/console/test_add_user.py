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
    page.get_by_label(re.compile("^Email")).fill(login_id)
    page.get_by_role("button", name=re.compile("user check", re.I)).click()


@pytest.mark.parametrize(
    ("login_id", "answer"),
    [
        ("nobody@nowhere.example", re.compile("not a known identity|unknown", re.I)),
        (GONE, re.compile("inactive|deactivated", re.I)),
        ("carol@acme.example", re.compile("already a member", re.I)),
    ],
    ids=["unknown", "inactive", "already-a-member"],
)
def test_the_user_check_stops_what_cannot_be_added(page: Page, login_id: str, answer):
    sign_in_to_site(page, "alice@acme.example", ACME)
    go_to(page, "Add new user")
    user_check(page, login_id)
    expect(page.get_by_role("main")).to_contain_text(answer)
    # Nothing to submit yet: the rest of the form waits for an identity that may be added.
    expect(page.get_by_role("button", name=re.compile("^submit", re.I))).to_have_count(0)


def test_add_a_known_identity_and_the_welcome_goes_out(page: Page, console: Console, mailbox):
    inbox, smtp_port = mailbox
    sign_in_to_site(page, "bob@acme.example", ACME)  # a secondary with manage-access update
    go_to(page, "Add new user")
    check_page(page, "add-user")
    user_check(page, NEWCOMER)
    expect(page.get_by_role("main")).to_contain_text(re.compile("known identity|may be added", re.I))

    page.get_by_label(re.compile("^Business justification")).fill("Joins Acme's purchasing team.")
    page.get_by_role("radio", name=re.compile("^User")).check()
    page.get_by_role("radiogroup", name=re.compile("purchase", re.I)).get_by_role(
        "radio", name="Software downloads only"
    ).check()
    check_page(page, "add-user-checked")
    page.get_by_role("button", name=re.compile("^submit", re.I)).click()
    expect(notice(page)).to_contain_text(re.compile("added", re.I))

    status, member = console.api("GET", f"/v1/sites/{ACME}/members/{NEWCOMER}", acting="alice@acme.example")
    assert status == 200 and member["role"] == "user"
    assert member["levels"]["purchase_download"] == "downloads"

    sent = console.cli("notify", "deliver", AUTHZ_SMTP_HOST="127.0.0.1", AUTHZ_SMTP_PORT=str(smtp_port))
    assert sent.stdout.startswith("sent ")
    [welcome] = inbox.to(NEWCOMER)
    assert ACME in welcome["Subject"] + welcome.get_content()
