"""Contact updates through the pages: the list with its review, a contact as a form
saved whole or not at all (every missing field shown at its field), Mark contacts
reviewed; view-only for a secondary with contact-updates view."""

from __future__ import annotations

from authz.audit import trail
from authz.contract.actors import Actor
from authz.contract.contacts import ContactInput
from models.contacts import ContactReview, SiteContact
from tests.api.console.conftest import text_of

CONTACTS = "/console/sites/1001/contacts"
TESS = {
    "first_name": "Tess",
    "last_name": "Tech",
    "telephone": "+1 555 0300",
    "email": "tess@acme.example",
    "street_address": "1 Main St",
    "city": "Springfield",
    "state_province": "IL",
    "postal_code": "62701",
}


def make_contact(service, site: str = "1001", as_login: str = "alice@acme.example", **changes) -> int:
    record = ContactInput(**{**TESS, "contact_types": ["technical"], **changes})
    return service.contacts.create(Actor.person(as_login), site, record).id


def test_the_list_says_when_contacts_were_reviewed_and_why_they_matter(browser, service):
    make_contact(service)
    alice = browser("alice@acme.example")
    page = alice.get(CONTACTS)
    text = text_of(page)
    assert page.status_code == 200
    assert "Tess Tech tess@acme.example +1 555 0300 Site technical contact" in text
    assert "never been reviewed" in text and "due for their monthly review" in text
    assert "renewal quotes" in text and "does not change where that person's own notifications go" in text
    assert "No contact is named for: Primary contact" in text


def test_a_contact_form_marks_the_mandatory_fields_and_offers_the_six_types(browser, service):
    number = make_contact(service)
    alice = browser("alice@acme.example")
    page = alice.get(f"{CONTACTS}/{number}")
    marks = page.text.count('<span class="mandatory" aria-hidden="true">*</span>')
    assert marks == 10  # the legend's explanation, the 8 fields, the contact types
    assert page.text.count('aria-required="true"') == 8
    assert page.text.count('type="checkbox" name="contact_types"') == 6
    assert 'id="type-technical" value="technical" checked' in page.text
    assert "does not change where that person's own notifications go" in page.text


def test_save_replaces_the_record_whole(browser, service):
    number = make_contact(service)
    alice = browser("alice@acme.example")
    alice.get(f"{CONTACTS}/{number}")
    changed = {**TESS, "email": "tess.new@acme.example", "city": "Shelbyville"}
    resp = alice.post(
        f"{CONTACTS}/{number}", [*changed.items(), ("contact_types", "technical"), ("contact_types", "billing")]
    )
    assert resp.status_code == 303
    saved = SiteContact.get_by_id(number)
    assert (saved.email, saved.city) == ("tess.new@acme.example", "Shelbyville")
    assert trail.page("1001", limit=1)[0]["action"] == "update_contact"


def test_a_save_with_missing_fields_shows_each_at_its_field_and_changes_nothing(browser, service):
    number = make_contact(service)
    alice = browser("alice@acme.example")
    alice.get(f"{CONTACTS}/{number}")
    broken = {**TESS, "first_name": "", "postal_code": "  ", "email": "Tess at Acme"}
    resp = alice.post(f"{CONTACTS}/{number}", broken)
    assert resp.status_code == 422
    for name in ("first_name", "postal_code", "email", "contact_types"):
        assert f'id="f-{name}-error" role="alert"' in resp.text, name
    assert (
        'id="f-first_name" name="first_name" value="" autocomplete="off" aria-required="true" aria-invalid="true" aria-describedby="f-first_name-error"'
        in resp.text
    )
    assert "First name is required." in resp.text and "Choose at least one contact type." in resp.text
    assert 'value="Tess at Acme"' in resp.text  # what was typed stays in the form
    saved = SiteContact.get_by_id(number)
    assert (saved.first_name, saved.postal_code, saved.email) == ("Tess", "62701", "tess@acme.example")


def test_add_a_contact(browser):
    alice = browser("alice@acme.example")
    alice.get(f"{CONTACTS}/new")
    resp = alice.post(f"{CONTACTS}/new", [*TESS.items(), ("contact_types", "primary")])
    assert resp.status_code == 303
    assert SiteContact.select().count() == 1
    assert "Contact added." in alice.get(resp.headers["location"]).text


def test_mark_contacts_reviewed(browser):
    alice = browser("alice@acme.example")
    alice.get(CONTACTS)
    resp = alice.post(f"{CONTACTS}/review")
    assert resp.status_code == 303
    review = ContactReview.get()
    assert review.reviewed_by == "alice@acme.example"
    page = text_of(alice.get(CONTACTS))
    assert "Last reviewed" in page and "due for their monthly review" not in page


def test_a_secondary_with_view_sees_contacts_but_cannot_change_them(browser, service):
    number = make_contact(service)
    bob = browser("bob@acme.example")  # contact_updates: view
    page = bob.get(CONTACTS)
    assert page.status_code == 200 and "Tess Tech" in page.text
    assert "Mark contacts reviewed" not in page.text and "Add a contact" not in page.text
    form = bob.get(f"{CONTACTS}/{number}")
    assert form.status_code == 200 and '<form method="post" action="/console/sites/1001/contacts/' not in form.text
    refused = bob.post(f"{CONTACTS}/{number}", [*{**TESS, "city": "Elsewhere"}.items(), ("contact_types", "technical")])
    assert refused.status_code == 403
    assert SiteContact.get_by_id(number).city == "Springfield"
    assert bob.post(f"{CONTACTS}/review").status_code == 403
    assert ContactReview.select().count() == 0


def test_a_secondary_with_update_edits_their_sites_contacts(browser, service):
    number = make_contact(service, site="2002", as_login="erin@globex.example")
    dana = browser("Dana.Diaz")  # secondary of 2002 with contact_updates: update
    dana.get(f"/console/sites/2002/contacts/{number}")
    resp = dana.post(
        f"/console/sites/2002/contacts/{number}",
        [*{**TESS, "city": "Capital City"}.items(), ("contact_types", "technical")],
    )
    assert resp.status_code == 303 and SiteContact.get_by_id(number).city == "Capital City"


def test_users_and_outsiders_see_no_contacts(browser, service):
    number = make_contact(service)
    carol = browser("carol@acme.example")
    assert carol.get(CONTACTS).status_code == 403
    frank = browser("frank@globex.example")
    assert frank.get(CONTACTS).text == frank.get("/console/sites/9999/contacts").text
    assert frank.get(f"{CONTACTS}/{number}").status_code == 404
    theirs = make_contact(service, site="2002", as_login="erin@globex.example")
    alice = browser("alice@acme.example")
    assert alice.get(f"{CONTACTS}/{theirs}").text == alice.get(f"{CONTACTS}/99999").text  # another site's contact
    alice.get(CONTACTS)
    resp = alice.post(f"{CONTACTS}/{theirs}", [*TESS.items(), ("contact_types", "billing")])
    assert resp.status_code == 404 and SiteContact.get_by_id(theirs).contact_types != "billing"


def test_delete_a_contact_after_a_confirmation(browser, service):
    number = make_contact(service)
    alice = browser("alice@acme.example")
    form = alice.get(f"{CONTACTS}/{number}")
    assert f'href="{CONTACTS}/{number}/delete">Delete this contact</a>' in form.text
    confirm = alice.get(f"{CONTACTS}/{number}/delete")
    assert confirm.status_code == 200
    assert "Delete the contact Tess Tech (tess@acme.example; Site technical contact) from site 1001?" in text_of(
        confirm
    )
    assert SiteContact.select().count() == 1  # nothing deleted before the confirmation
    done = alice.post(f"{CONTACTS}/{number}/delete")
    assert done.status_code == 303 and done.headers["location"] == f"{CONTACTS}?done=deleted"
    assert SiteContact.select().count() == 0
    assert trail.page("1001", limit=1)[0]["action"] == "delete_contact"
    assert "Contact deleted." in alice.get(done.headers["location"]).text


def test_a_contact_is_deleted_only_with_the_form_token_and_the_right(browser, service):
    number = make_contact(service)
    alice = browser("alice@acme.example")
    alice.get(f"{CONTACTS}/{number}/delete")
    assert alice.post(f"{CONTACTS}/{number}/delete", token=False).status_code == 403
    bob = browser("bob@acme.example")  # contact_updates: view
    assert "Delete this contact" not in bob.get(f"{CONTACTS}/{number}").text
    assert bob.get(f"{CONTACTS}/{number}/delete").status_code == 403
    assert bob.post(f"{CONTACTS}/{number}/delete").status_code == 403
    assert SiteContact.select().count() == 1


def test_another_sites_contact_cannot_be_deleted_through_this_site(browser, service):
    elsewhere = make_contact(service, site="2002", as_login="erin@globex.example")
    alice = browser("alice@acme.example")
    assert alice.get(f"{CONTACTS}/{elsewhere}/delete").status_code == 404
    alice.get(CONTACTS)  # a page with this session's form token
    assert alice.post(f"{CONTACTS}/{elsewhere}/delete").status_code == 404
    assert SiteContact.get_by_id(elsewhere).site.number == "2002"
