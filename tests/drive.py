"""The domain's workflows driven as the doors drive them: bodies given as the
JSON a client would send are decoded into the contract's types first (so a
malformed one raises InvalidInput, as it is answered 400), and answers come
back as plain data."""

from __future__ import annotations

from typing import Any

import msgspec

from api.decoding import path_parameter
from authz.accounts import access_requests as _ar
from authz.accounts import contacts as _contacts
from authz.accounts import sites as _sites
from authz.contract.access_requests import AccessRequestInput, AccessRequestQuery, Denial, Grant
from authz.contract.contacts import ContactInput
from authz.contract.members import NewSite, PrimaryTransfer
from authz.contract.parsing import convert


def plain(value: Any) -> Any:
    return msgspec.to_builtins(value)


class access_requests:
    @staticmethod
    def request_access(table, actor, site, body=None):
        return plain(_ar.request_access(table, actor, site, convert(body or {}, AccessRequestInput)))

    @staticmethod
    def list_requests(table, actor, site, *, status="pending", after=None, limit=100):
        query = convert({"status": status, "after": 0 if after is None else after, "limit": limit}, AccessRequestQuery)
        return plain(_ar.list_requests(table, actor, site, query))

    @staticmethod
    def grant(table, actor, site, request_id, body):
        return plain(_ar.grant(table, actor, site, _ar.parse_request_id(request_id), convert(body, Grant)))

    @staticmethod
    def deny(table, actor, site, request_id, body):
        return plain(_ar.deny(table, actor, site, _ar.parse_request_id(request_id), convert(body, Denial)))


class contacts:
    @staticmethod
    def create_contact(table, actor, site, body):
        return plain(_contacts.create_contact(table, actor, site, convert(body, ContactInput)))

    @staticmethod
    def replace_contact(table, actor, site, contact_id, body):
        return plain(
            _contacts.replace_contact(
                table, actor, site, path_parameter("contact_id", str(contact_id)), convert(body, ContactInput)
            )
        )

    @staticmethod
    def delete_contact(table, actor, site, contact_id):
        return plain(_contacts.delete_contact(table, actor, site, path_parameter("contact_id", str(contact_id))))

    @staticmethod
    def list_contacts(table, actor, site, **kwargs):
        return plain(_contacts.list_contacts(table, actor, site, **kwargs))

    @staticmethod
    def mark_reviewed(table, actor, site, **kwargs):
        return plain(_contacts.mark_reviewed(table, actor, site, **kwargs))

    @staticmethod
    def overdue_sites(*args, **kwargs):
        return plain(_contacts.overdue_sites(*args, **kwargs))

    @staticmethod
    def send_review_reminders(*args, **kwargs):
        return plain(_contacts.send_review_reminders(*args, **kwargs))

    @staticmethod
    def parse_contact(body):
        return _contacts.parse_contact(convert(body, ContactInput))


class sites:
    @staticmethod
    def create_site(table, actor, body):
        return plain(_sites.create_site(table, actor, convert(body, NewSite)))

    @staticmethod
    def transfer_primary(table, actor, site, body):
        return plain(_sites.transfer_primary(table, actor, site, convert(body, PrimaryTransfer)))
