"""Contact updates: a site's contact records and their monthly review, on behalf
of the acting person; the operators' view of overdue reviews and reminders."""

from __future__ import annotations

from typing import Any

from api.endpoint import endpoint
from api.resources import (
    ADMIN_ERRORS,
    ADMIN_SCOPES,
    AUTH_ERRORS,
    BODY_ERRORS,
    OPERATOR_SCOPES,
    STORE_ERRORS,
    Resource,
)
from authz.contract.contacts import (
    Contact,
    ContactDeleted,
    ContactInput,
    ContactList,
    ContactsReviewed,
    OverdueQuery,
    OverdueSites,
    ReviewReminders,
)

_CONTACT_RULE = {
    422: "A mandatory field is missing or malformed, or a contact type is unknown "
    "(the field is named; nothing is saved)"
}
_NO_CONTACT = {404: "No such site or contact (another site's contact is not found either)"}


class Contacts(Resource):
    scopes = ADMIN_SCOPES

    @endpoint("The site's contacts and their last review (view_contacts)", returns=ContactList, errors=ADMIN_ERRORS)
    def on_get(self, req: Any, resp: Any, site: str) -> ContactList:
        return self.service.contacts.of_site(req.context.actor, site)

    @endpoint(
        "Add a contact, whole (edit_contacts)",
        body=ContactInput,
        returns=Contact,
        status=201,
        errors={
            **BODY_ERRORS,
            **ADMIN_ERRORS,
            **_CONTACT_RULE,
            409: "The site already keeps the most contacts allowed",
        },
    )
    def on_post(self, req: Any, resp: Any, site: str, body: ContactInput) -> Contact:
        contact = self.service.contacts.create(req.context.actor, site, body)
        resp.location = f"/v1/sites/{site}/contacts/{contact.id}"
        return contact


class OneContact(Resource):
    scopes = ADMIN_SCOPES

    @endpoint(
        "Save a contact, whole: every field is replaced, or none (edit_contacts)",
        body=ContactInput,
        returns=Contact,
        errors={**BODY_ERRORS, **ADMIN_ERRORS, **_CONTACT_RULE, **_NO_CONTACT},
    )
    def on_put(self, req: Any, resp: Any, site: str, contact_id: int, body: ContactInput) -> Contact:
        return self.service.contacts.replace(req.context.actor, site, contact_id, body)

    @endpoint("Delete a contact (edit_contacts)", returns=ContactDeleted, errors={**ADMIN_ERRORS, **_NO_CONTACT})
    def on_delete(self, req: Any, resp: Any, site: str, contact_id: int) -> ContactDeleted:
        return self.service.contacts.delete(req.context.actor, site, contact_id)


class ContactsReview(Resource):
    """Mark the site's contacts reviewed (the monthly review)."""

    scopes = ADMIN_SCOPES

    @endpoint(
        "Mark the site's contacts reviewed now, by the acting person (mark_contacts_reviewed)",
        returns=ContactsReviewed,
        errors=ADMIN_ERRORS,
    )
    def on_post(self, req: Any, resp: Any, site: str) -> ContactsReviewed:
        return self.service.contacts.mark_reviewed(req.context.actor, site)


class OverdueContacts(Resource):
    scopes = OPERATOR_SCOPES

    @endpoint(
        "Sites whose contacts were never reviewed or not in the last DAYS days (operator scope)",
        query=OverdueQuery,
        returns=OverdueSites,
        errors={**AUTH_ERRORS, **STORE_ERRORS, 400: "Bad days"},
    )
    def on_get(self, req: Any, resp: Any, query: OverdueQuery) -> OverdueSites:
        return self.service.contacts.overdue(query.days)


class ReminderRuns(Resource):
    scopes = OPERATOR_SCOPES

    @endpoint(
        "Queue a review reminder to the primary contact of each overdue site, at most once per 7 days "
        "per site (operator scope)",
        query=OverdueQuery,
        returns=ReviewReminders,
        errors={**AUTH_ERRORS, **STORE_ERRORS, 400: "Bad days"},
    )
    def on_post(self, req: Any, resp: Any, query: OverdueQuery) -> ReviewReminders:
        return self.service.contacts.send_reminders(req.context.actor, query.days)
