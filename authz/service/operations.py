"""Operations of the people who run the service: API keys, the outbox, data
loads, and the audit chain as a whole."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from authz.accounts import bulk_export, bulk_import, importer, notifications
from authz.audit import trail
from authz.authn import keys
from authz.authn.acting import acting_person
from authz.authn.keys import Caller, KeyInfo
from authz.contract.actors import CLI_OPERATOR, Actor
from authz.contract.audit import AuditEntry
from authz.contract.bulk import BulkFormat, ImportProgress, ImportReport
from authz.service.operation import classified_stream, operation
from authz.service.runtime import Runtime
from models.errors import DRIVER_ERRORS, classify
from models.schema import Site


class CallerService:
    """Who calls: API keys, verified on every request; under an admin key, the acting
    person (a signed token, or the login id the front end names)."""

    def __init__(self, runtime: Runtime):
        self._rt = runtime

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller of an `Authorization` header, or Unauthenticated. Also where a
        worker catches up with policy files and the change log (at most once per
        interval), before anything of the request is decided. On every request:
        classified inline, not through @operation's extra call."""
        try:
            self._rt.policy.maybe_reload()
            self._rt.feed.refresh()
            return self._rt.keys.verify(authorization)
        except DRIVER_ERRORS as error:
            raise classify(error) from error

    def catch_up(self) -> None:
        """For a door without API keys (the console's pages): catch up with policy
        files and the change log, as authenticate does."""
        try:
            self._rt.policy.maybe_reload()
            self._rt.feed.refresh()
        except DRIVER_ERRORS as error:
            raise classify(error) from error

    @operation
    def acting_person(self, acting_user: str | None, acting_token: str | None) -> Actor:
        """The person an admin key acts for, from X-Acting-User and X-Acting-Token (None:
        not sent); InvalidToken (401) if the token proves nothing, names another person
        than X-Acting-User, or is required and absent (authz/authn/acting.py)."""
        identity = self._rt.settings.identity
        return acting_person(
            self._rt.tokens, identity.audiences, identity.require_acting_token, acting_user, acting_token
        )

    @operation
    def create_key(self, name: str, scope: str, actor: str = CLI_OPERATOR.audit_name) -> tuple[str, KeyInfo]:
        """A new key: its plaintext (shown once, never stored) and what is kept of it."""
        return keys.create_key(name, scope, actor)

    @operation
    def list_keys(self) -> list[KeyInfo]:
        return keys.list_keys()

    @operation
    def revoke_key(self, key_id: str, actor: str = CLI_OPERATOR.audit_name) -> KeyInfo:
        return keys.revoke_key(key_id, actor)


class OutboxService:
    def __init__(self, runtime: Runtime):
        self._rt = runtime

    @operation
    def present(self) -> bool:
        return notifications.outbox_present()

    @operation
    def deliver(self, limit: int) -> notifications.DeliveryReport:
        s = self._rt.settings
        return notifications.deliver(s.smtp_host, s.smtp_port, s.mail_from, limit=limit)

    @operation
    def messages(self, status: str | None, limit: int) -> list[notifications.OutboxEntry]:
        return notifications.list_messages(status=status, limit=limit)


class DataService:
    def __init__(self, runtime: Runtime):
        self._rt = runtime

    @operation
    def import_file(self, path: Path, actor: Actor = CLI_OPERATOR) -> dict[str, int]:
        """Sites, people and memberships from a YAML file, all or nothing, audited."""
        return importer.import_file(path, self._rt.table, actor.audit_name)

    @operation
    def import_bulk(
        self,
        path: Path,
        fmt: BulkFormat,
        actor: Actor = CLI_OPERATOR,
        progress: Callable[[ImportProgress], None] | None = None,
        batch_rows: int = bulk_import.BATCH_ROWS,
    ) -> ImportReport:
        """Memberships from a CSV or JSON-lines file, streamed, all or nothing
        (ImportInvalid lists every problem by line). PROGRESS hears how far it is."""
        kwargs = {"progress": progress} if progress is not None else {}
        return bulk_import.import_bulk(path, fmt, self._rt.table, actor.audit_name, batch_rows=batch_rows, **kwargs)

    @operation
    def export_memberships(self, site: str | None, fmt: BulkFormat, actor: Actor = CLI_OPERATOR) -> Iterator[bytes]:
        """A site's memberships (None: every site's) as FMT, streamed in chunks; audited
        now, and the first rows read now (a failing database fails the operation, not
        the file half-way)."""
        chunks = bulk_export.export_memberships(self._rt.table, actor.audit_name, site, fmt)
        first = next(chunks)
        return classified_stream(itertools.chain((first,), chunks))

    @operation
    def load_demo(self, path: Path) -> bool:
        """Load PATH into an empty database; False (nothing loaded) if it has sites."""
        if Site.select().exists():
            return False
        importer.import_file(path, self._rt.table, CLI_OPERATOR.audit_name)
        return True


class AuditService:
    """The whole trail, for operators (a site's own trail: SiteAuditService)."""

    @operation
    def verify(self, checkpoint: str | None = None) -> trail.VerifyReport:
        """Walk the chain; CHECKPOINT (SEQ:HASH, kept outside the database) must
        still be on it. A malformed CHECKPOINT is InvalidInput. The report's head
        is the next checkpoint to keep."""
        return trail.verify(trail.Checkpoint.parse(checkpoint) if checkpoint is not None else None)

    @operation
    def records(self, site: str | None, limit: int, before: int | None) -> list[AuditEntry]:
        rows = (
            trail.page(site, limit=limit, before_seq=before) if site else trail.page_all(limit=limit, before_seq=before)
        )
        return msgspec.convert(rows, list[AuditEntry])
