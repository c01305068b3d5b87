"""Contact updates and the overview, as Acme's primary contact does them in a browser:
the overview's reminder and advice, a contact opened as a form, a save with a mandatory
field missing (marked next to the field, nothing saved), a save, the review marked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.integration.console.conftest import Console
from tests.integration.console.data import CONTACT
from tests.integration.console.steps import ACME, GLOBEX, go_to, notice, sign_in_to_site
from tests.support.browser import check_page

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def contact_id(console: Console) -> int:
    status, body = console.api("POST", "/v1/sites/1001/contacts", CONTACT, acting="alice@acme.example")
    assert status == 201, body
    return body["id"]


def test_overview_says_what_the_area_is_for_and_reminds_the_primary(page: Page):
    sign_in_to_site(page, "alice@acme.example", ACME)
    main = page.get_by_role("main")
    expect(main).to_contain_text("grant access to the site, assign roles and application privileges")
    where_to_go = main.get_by_role("list").first
    for entry in ("Contact updates", "Manage access", "Approve requests", "Add new user"):
        expect(where_to_go.get_by_role("link", name=entry, exact=True)).to_be_visible()
    # Never reviewed: the monthly contact review is due. Acme has a secondary (Bob): no advice.
    expect(main.get_by_role("status").filter(has_text="monthly review")).to_be_visible()
    expect(main).not_to_contain_text("no secondary contact")
    check_page(page, "overview")


def test_overview_advises_a_secondary_when_the_site_has_none(page: Page, console: Console):
    # Globex's only secondary, Dana, becomes a plain user: the site now has none.
    status, body = console.api(
        "PATCH",
        "/v1/sites/2002/members/Dana.Diaz",
        {"role": "user", "levels": {"manage_access": "none", "contact_updates": "none"}},
        acting="erin@globex.example",
    )
    assert status == 200, body
    sign_in_to_site(page, "erin@globex.example", GLOBEX)
    expect(page.get_by_role("main").get_by_role("status").filter(has_text="no secondary contact")).to_be_visible()
    check_page(page, "overview-no-secondary")


def open_contact(page: Page, name: str) -> None:
    go_to(page, "Contact updates")
    page.get_by_role("main").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def saved_contact(console: Console, contact_id: int) -> dict:
    _, body = console.api("GET", f"/v1/sites/{ACME}/contacts", acting="alice@acme.example")
    [saved] = [c for c in body["contacts"] if c["id"] == contact_id]
    return saved


def test_a_save_with_a_missing_field_marks_it_and_changes_nothing(page: Page, console: Console, contact_id: int):
    sign_in_to_site(page, "alice@acme.example", ACME)
    go_to(page, "Contact updates")
    main = page.get_by_role("main")
    expect(main).to_contain_text("does not change where that person's own notifications go")
    expect(main).to_contain_text("renewal quotes")
    check_page(page, "contacts")
    open_contact(page, "Rita Renewals")

    city = page.get_by_label(re.compile("^City"))
    expect(city).to_have_value("Springfield")
    expect(page.get_by_role("checkbox", name="Billing contact")).to_be_checked()
    check_page(page, "contact-form")
    city.fill("")
    page.get_by_label(re.compile("^Telephone")).fill("+1 555 0100")
    page.get_by_role("button", name="Save").click()

    city = page.get_by_label(re.compile("^City"))
    expect(city).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-city-error")).to_have_text("City is required.")  # next to the field
    expect(city).to_have_accessible_description(re.compile("City is required"))
    expect(page.get_by_label(re.compile("^Telephone"))).to_have_value("+1 555 0100")  # the form is kept
    check_page(page, "contact-form-missing-field")
    saved = saved_contact(console, contact_id)
    assert (saved["city"], saved["telephone"]) == ("Springfield", "+1 555 0199")  # nothing saved


def test_a_contact_saved_from_the_keyboard_then_the_review_marked(page: Page, console: Console, contact_id: int):
    sign_in_to_site(page, "alice@acme.example", ACME)
    open_contact(page, "Rita Renewals")

    page.get_by_label(re.compile("^First name")).focus()
    assert _focus_is_visible(page)
    page.keyboard.press("Tab")  # to Last name
    page.keyboard.press("Tab")  # to Telephone
    page.keyboard.press("Tab")  # to Email
    page.keyboard.press("Tab")  # to Street address
    page.keyboard.press("Tab")  # to City
    expect(page.get_by_label(re.compile("^City"))).to_be_focused()
    assert _focus_is_visible(page)
    page.keyboard.press("Control+A")
    page.keyboard.type("Shelbyville")
    technical = page.get_by_role("checkbox", name="Site technical contact")
    for _ in range(10):  # Tab on to the technical-contact checkbox; Space ticks it
        page.keyboard.press("Tab")
        if technical.evaluate("el => el === document.activeElement"):
            break
    expect(technical).to_be_focused()
    assert _focus_is_visible(page)
    page.keyboard.press("Space")
    save = page.get_by_role("button", name="Save")
    for _ in range(10):
        page.keyboard.press("Tab")
        if save.evaluate("el => el === document.activeElement"):
            break
    expect(save).to_be_focused()
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(notice(page)).to_have_text("Saved.")

    saved = saved_contact(console, contact_id)
    assert saved["city"] == "Shelbyville"
    assert set(saved["contact_types"]) == {"renewal", "billing", "technical"}

    page.get_by_role("button", name="Mark contacts reviewed").click()
    expect(notice(page)).to_have_text("Marked reviewed.")
    _, body = console.api("GET", f"/v1/sites/{ACME}/contacts", acting="alice@acme.example")
    assert body["review"]["last_reviewed_by"] == "alice@acme.example"
    assert body["review"]["overdue"] is False


def test_deleting_a_contact_asks_for_confirmation(page: Page, console: Console):
    doomed = {**CONTACT, "first_name": "Dora", "last_name": "Departed", "email": "dora@acme.example"}
    status, body = console.api("POST", f"/v1/sites/{ACME}/contacts", doomed, acting="alice@acme.example")
    assert status == 201, body
    sign_in_to_site(page, "alice@acme.example", ACME)
    open_contact(page, "Dora Departed")
    page.get_by_role("link", name="Delete this contact").click()

    # Nothing is deleted before the confirmation.
    assert any(c["id"] == body["id"] for c in contacts_of_acme(console))
    check_page(page, "contact-delete-confirm")
    page.get_by_role("button", name="Delete this contact").click()
    expect(notice(page)).to_have_text("Contact deleted.")
    assert all(c["id"] != body["id"] for c in contacts_of_acme(console))


def contacts_of_acme(console: Console) -> list[dict]:
    _, body = console.api("GET", f"/v1/sites/{ACME}/contacts", acting="alice@acme.example")
    return body["contacts"]


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
