"""Contact updates: the site's contact records, each opening as a form with the eight
mandatory fields marked and the six contact types as checkboxes; Save replaces the
record whole or changes nothing; a record deleted after a confirmation page; the
monthly review ("Mark contacts reviewed").

Every problem of a record is shown at its field at once, each found by the
contract's own type of that field (ContactInput, authz.contract.parsing); the
service then applies its own rules on Save."""

from __future__ import annotations

import falcon

from api.console.forms import Form
from api.console.page import Page, Visitor, site_path
from authz.contract.contacts import CONTACT_TYPE_LABELS, Contact, ContactInput
from authz.contract.members import Standing
from authz.contract.parsing import convert, record_problems
from authz.errors import DomainError, Forbidden, NotFound

FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "telephone": "Telephone",
    "email": "Email",
    "street_address": "Street address",
    "city": "City",
    "state_province": "State or province",
    "postal_code": "Postal or zip code",
}
TYPES_FIELD = "contact_types"


def contact_id_of(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18):
        raise NotFound("no such contact")
    return int(text)


def problems_of(values: dict[str, str], types: list[str]) -> dict[str, str]:
    """Every missing or malformed field, by field, as the contract's types find them."""
    record = {**values, TYPES_FIELD: types}
    problems = {}
    for field, message in record_problems(record, ContactInput):
        if field == TYPES_FIELD:
            problems[field] = "Choose at least one contact type."
        elif not values.get(field, "").strip():
            problems[field] = f"{FIELDS.get(field, field)} is required."
        else:
            problems[field] = message
    return problems


class Contacts(Page):
    """Every contact of the site, the last review, and Mark contacts reviewed."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        listing = self.service.contacts.of_site(visitor.actor, site)
        done = {
            "reviewed": "Marked reviewed.",
            "saved": "Saved.",
            "added": "Contact added.",
            "deleted": "Contact deleted.",
        }
        allowed = set(standing.allowed_actions)
        self.render(
            resp,
            "contacts.html",
            "Contact updates",
            visitor=visitor,
            standing=standing,
            current="contacts",
            listing=listing,
            types=CONTACT_TYPE_LABELS,
            can_edit="edit_contacts" in allowed,
            can_review="mark_contacts_reviewed" in allowed,
            notice=done.get(req.get_param("done") or "", ""),
        )


class Review(Page):
    def on_post(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        self.standing(visitor, site)
        self.form(req, visitor)
        self.service.contacts.mark_reviewed(visitor.actor, site)
        self.redirect(resp, site_path(site, "contacts") + "?done=reviewed")


class _OneContactPage(Page):
    def _contact(self, visitor: Visitor, site: str, number: int) -> Contact:
        """The site's contact NUMBER, as its list shows it (NotFound: no such contact here)."""
        listing = self.service.contacts.of_site(visitor.actor, site)
        contact = next((c for c in listing.contacts if c.id == number), None)
        if contact is None:
            raise NotFound("no such contact")
        return contact


class _ContactForm(_OneContactPage):
    def _values(self, form: Form) -> tuple[dict[str, str], list[str]]:
        return {name: form.get(name) for name in FIELDS}, form.all(TYPES_FIELD)

    def _save(
        self, req: falcon.Request, resp: falcon.Response, site: str, contact_id: int | None
    ) -> tuple[Visitor, Standing, dict[str, str], list[str], dict[str, str]] | None:
        """Save the posted record whole; None when saved (the browser is redirected),
        else what to show again with the problems by field (nothing was changed)."""
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        values, types = self._values(self.form(req, visitor))
        errors = problems_of(values, types)
        if not errors:
            try:
                record = convert({**values, TYPES_FIELD: types}, ContactInput)
                if contact_id is None:
                    self.service.contacts.create(visitor.actor, site, record)
                else:
                    self.service.contacts.replace(visitor.actor, site, contact_id, record)
            except (Forbidden, NotFound):
                raise  # not theirs to change: the error page
            except DomainError as exc:
                errors = {exc.field or "form": exc.message}
            else:
                self.redirect(
                    resp, site_path(site, "contacts") + ("?done=added" if contact_id is None else "?done=saved")
                )
                return None
        return visitor, standing, values, types, errors

    def _post(
        self, req: falcon.Request, resp: falcon.Response, site: str, contact_id: int | None, title: str, action: str
    ) -> None:
        """Save the posted record, or show it again (422) with its problems, titled TITLE."""
        again = self._save(req, resp, site, contact_id)
        if again is not None:
            visitor, standing, values, types, errors = again
            self._show(resp, visitor, standing, title, action, values, types, errors=errors, status=422)

    def _show(
        self,
        resp: falcon.Response,
        visitor: Visitor,
        standing: Standing,
        title: str,
        action: str,
        values: dict[str, str],
        types: list[str],
        *,
        contact: Contact | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> None:
        self.render(
            resp,
            "contact.html",
            title,
            visitor=visitor,
            standing=standing,
            current="contacts",
            status=status,
            fields=FIELDS,
            values=values,
            chosen=set(types),
            types=CONTACT_TYPE_LABELS,
            contact=contact,
            can_edit="edit_contacts" in standing.allowed_actions,
            errors=errors or {},
            action=action,
            problem=(errors or {}).get("form", "")
            or ("Nothing was saved: correct the fields marked below." if errors else ""),
        )


class OneContact(_ContactForm):
    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str, contact_id: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        number = contact_id_of(contact_id)
        contact = self._contact(visitor, site, number)
        values = {name: getattr(contact, name) for name in FIELDS}
        title = f"Contact: {contact.first_name} {contact.last_name}"
        self._show(
            resp,
            visitor,
            standing,
            title,
            self._action(site, number),
            values,
            list(contact.contact_types),
            contact=contact,
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response, site: str, contact_id: str) -> None:
        number = contact_id_of(contact_id)
        self._post(req, resp, site, number, "Edit a contact", self._action(site, number))

    @staticmethod
    def _action(site: str, number: int) -> str:
        return site_path(site, f"contacts/{number}")


class NewContact(_ContactForm):
    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        self._show(
            resp, visitor, standing, "Add a contact", site_path(site, "contacts/new"), dict.fromkeys(FIELDS, ""), []
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        self._post(req, resp, site, None, "Add a contact", site_path(site, "contacts/new"))


class DeleteContact(_OneContactPage):
    """Delete a contact record, after a confirmation page (nothing changes on GET)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str, contact_id: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        number = contact_id_of(contact_id)
        contact = self._contact(visitor, site, number)
        if "edit_contacts" not in standing.allowed_actions:
            raise Forbidden("you may not change this site's contacts")
        self.render(
            resp,
            "contact_delete.html",
            "Delete a contact",
            visitor=visitor,
            standing=standing,
            current="contacts",
            contact=contact,
            types=CONTACT_TYPE_LABELS,
            action=site_path(site, f"contacts/{number}/delete"),
            back=site_path(site, f"contacts/{number}"),
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response, site: str, contact_id: str) -> None:
        visitor = self.visitor(req)
        self.standing(visitor, site)
        self.form(req, visitor)
        self.service.contacts.delete(visitor.actor, site, contact_id_of(contact_id))
        self.redirect(resp, site_path(site, "contacts") + "?done=deleted")
