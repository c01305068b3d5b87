"""Operations of account management: members, access requests, contacts, sites,
a person's own profile, and a site's audit trail. Each takes the acting party
and typed input, and returns typed output; the workflows (authz/accounts) hold
the rules."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

from authz.accounts import access_requests, contacts, members, people, previews, site_audit, sites, standing
from authz.contract.access_requests import (
    AccessRequest,
    AccessRequestInput,
    AccessRequestPage,
    AccessRequestQuery,
    Denial,
    Grant,
    Granted,
)
from authz.contract.actors import Actor
from authz.contract.audit import AuditPage, AuditQuery
from authz.contract.common import AssignableRole
from authz.contract.contacts import (
    Contact,
    ContactDeleted,
    ContactInput,
    ContactList,
    ContactsReviewed,
    OverdueSites,
    ReviewReminders,
)
from authz.contract.members import (
    ChangePreview,
    Member,
    MemberChange,
    MemberPage,
    MemberQuery,
    MemberRemoved,
    MySites,
    NewMember,
    NewSite,
    NotificationEmail,
    PrimaryTransfer,
    PrimaryTransferred,
    PrivilegeMatrix,
    Profile,
    SiteCreated,
    SiteList,
    Standing,
    UserCheck,
)
from authz.service.operation import operation
from authz.service.runtime import Runtime
from models.errors import DRIVER_ERRORS, classify


class MemberService:
    """Manage access: a site's members."""

    def __init__(self, runtime: Runtime):
        self._rt = runtime

    @operation
    def page(self, actor: Actor, site: str, query: MemberQuery) -> MemberPage:
        return members.list_members(self._rt.table, actor, site, query)

    @operation
    def get(self, actor: Actor, site: str, login_id: str) -> Member:
        return members.get_member(self._rt.table, actor, site, login_id)

    @operation
    def export_csv(self, actor: Actor, site: str) -> Iterator[bytes]:
        """Authorized now, and the first rows read now, so a database that fails
        before the answer starts fails the operation (a 503, not a broken file);
        the other rows stream as the caller reads them."""
        chunks = members.export_csv(self._rt.table, actor, site)
        first = next(chunks)  # the header line and the first batch of rows
        return _classified(itertools.chain((first,), chunks))

    @operation
    def user_check(self, actor: Actor, site: str, login_id: str) -> UserCheck:
        return members.user_check(self._rt.table, actor, site, login_id)

    @operation
    def add(self, actor: Actor, site: str, new: NewMember) -> Member:
        return members.add_member(self._rt.table, actor, site, new)

    @operation
    def update(self, actor: Actor, site: str, login_id: str, change: MemberChange) -> Member:
        return members.update_member(self._rt.table, actor, site, login_id, change)

    @operation
    def remove(self, actor: Actor, site: str, login_id: str) -> MemberRemoved:
        return members.remove_member(self._rt.table, actor, site, login_id)

    @operation
    def preview(
        self, actor: Actor, site: str, login_id: str | None, role: AssignableRole, levels: Mapping[str, str]
    ) -> ChangePreview:
        """What giving LOGIN_ID (None: someone not yet a member) ROLE and LEVELS would
        do: the actions gained and lost, and the refusal the change would meet. Changes nothing."""
        return previews.preview_change(self._rt.table, actor, site, login_id, role, levels)

    @operation
    def privilege_matrix(
        self, actor: Actor, site: str, role: AssignableRole, current: Mapping[str, str] | None = None
    ) -> PrivilegeMatrix:
        """The levels the acting person may give a member in ROLE holding CURRENT, and why not the others."""
        return previews.privilege_matrix(self._rt.table, actor, site, role, current)


class AccessRequestService:
    def __init__(self, runtime: Runtime):
        self._rt = runtime

    @operation
    def ask(self, actor: Actor, site: str, asked: AccessRequestInput) -> AccessRequest:
        return access_requests.request_access(self._rt.table, actor, site, asked)

    @operation
    def page(self, actor: Actor, site: str, query: AccessRequestQuery) -> AccessRequestPage:
        return access_requests.list_requests(self._rt.table, actor, site, query)

    @operation
    def get(self, actor: Actor, site: str, request_id: int) -> AccessRequest:
        """One of the site's requests, whatever its status (another site's: NotFound)."""
        return access_requests.get_request(self._rt.table, actor, site, request_id)

    @operation
    def grant(self, actor: Actor, site: str, request_id: int, decision: Grant) -> Granted:
        return access_requests.grant(self._rt.table, actor, site, request_id, decision)

    @operation
    def deny(self, actor: Actor, site: str, request_id: int, denial: Denial) -> AccessRequest:
        return access_requests.deny(self._rt.table, actor, site, request_id, denial)


class ContactService:
    def __init__(self, runtime: Runtime):
        self._rt = runtime

    @operation
    def of_site(self, actor: Actor, site: str) -> ContactList:
        return contacts.list_contacts(self._rt.table, actor, site)

    @operation
    def create(self, actor: Actor, site: str, contact: ContactInput) -> Contact:
        return contacts.create_contact(self._rt.table, actor, site, contact)

    @operation
    def replace(self, actor: Actor, site: str, contact_id: int, contact: ContactInput) -> Contact:
        return contacts.replace_contact(self._rt.table, actor, site, contact_id, contact)

    @operation
    def delete(self, actor: Actor, site: str, contact_id: int) -> ContactDeleted:
        return contacts.delete_contact(self._rt.table, actor, site, contact_id)

    @operation
    def mark_reviewed(self, actor: Actor, site: str) -> ContactsReviewed:
        return contacts.mark_reviewed(self._rt.table, actor, site)

    @operation
    def overdue(self, days: int) -> OverdueSites:
        """Every site overdue for its review: for operators (the doors check the scope)."""
        return OverdueSites(days, contacts.overdue_sites(days))

    @operation
    def send_reminders(self, actor: Actor, days: int) -> ReviewReminders:
        return contacts.send_review_reminders(actor, days)


class SiteService:
    def __init__(self, runtime: Runtime):
        self._rt = runtime

    @operation
    def all(self) -> SiteList:
        return sites.list_sites()

    @operation
    def create(self, actor: Actor, new: NewSite) -> SiteCreated:
        return sites.create_site(self._rt.table, actor, new)

    @operation
    def transfer_primary(self, actor: Actor, site: str, transfer: PrimaryTransfer) -> PrimaryTransferred:
        return sites.transfer_primary(self._rt.table, actor, site, transfer)


class PeopleService:
    """A person's own profile, sites and standing."""

    def __init__(self, runtime: Runtime):
        self._rt = runtime

    @operation
    def sites(self, actor: Actor) -> MySites:
        """The sites the acting person belongs to, with their role on each."""
        return standing.my_sites(actor)

    @operation
    def standing(self, actor: Actor, site: str) -> Standing:
        """What the acting person holds on SITE and may do there (NotFound: not a member)."""
        return standing.standing(self._rt.table, actor, site)

    @operation
    def profile(self, actor: Actor) -> Profile:
        return people.my_profile(actor)

    @operation
    def set_notification_email(self, actor: Actor, change: NotificationEmail) -> Profile:
        return people.set_notification_email(actor, change)


class SiteAuditService:
    def __init__(self, runtime: Runtime):
        self._rt = runtime

    @operation
    def trail(self, actor: Actor, site: str, query: AuditQuery) -> AuditPage:
        return site_audit.read_trail(self._rt.table, actor, site, query)


def _classified(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """CHUNKS, with a database failure while streaming classified like any other.
    The status and headers are sent by then, so the failure cannot become a 503:
    the server ends the connection without the chunked body's last chunk, and
    the client sees a transfer cut short, never a complete-looking file."""
    try:
        yield from chunks
    except DRIVER_ERRORS as error:
        raise classify(error) from error
