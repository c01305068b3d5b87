"""Contact updates: a site's contact records and their monthly review, on behalf
of the acting person; the operators' view of overdue reviews and reminders."""

import falcon

from api.resources import ADMIN_SCOPES, OPERATOR_SCOPES
from authz.accounts import contacts
from authz.service.facade import AuthzService


def _days(req) -> int:
    return req.get_param_as_int("days", min_value=1, max_value=contacts.MAX_DAYS,
                                default=contacts.REVIEW_PERIOD_DAYS)


class Contacts:
    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp, site):
        resp.media = contacts.list_contacts(self._service.table, req.context.actor, site)

    def on_post(self, req, resp, site):
        resp.media = contacts.create_contact(self._service.table, req.context.actor, site, req.get_media())
        resp.status = falcon.HTTP_201
        resp.location = f"/v1/sites/{site}/contacts/{resp.media['id']}"


class Contact:
    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_put(self, req, resp, site, contact_id):
        resp.media = contacts.replace_contact(self._service.table, req.context.actor, site, contact_id,
                                              req.get_media())

    def on_delete(self, req, resp, site, contact_id):
        resp.media = contacts.delete_contact(self._service.table, req.context.actor, site, contact_id)


class ContactsReview:
    """Mark the site's contacts reviewed (the monthly review)."""

    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_post(self, req, resp, site):
        resp.media = contacts.mark_reviewed(self._service.table, req.context.actor, site)


class OverdueContacts:
    scopes = OPERATOR_SCOPES

    def on_get(self, req, resp):
        days = _days(req)
        resp.media = {"days": days, "sites": contacts.overdue_sites(days)}


class ReviewReminders:
    scopes = OPERATOR_SCOPES

    def on_post(self, req, resp):
        resp.media = contacts.send_review_reminders(req.context.actor, _days(req))
