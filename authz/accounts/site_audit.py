"""Reading a site's audit trail: for its primary and for secondaries with
manage-access view (policy action view_audit)."""

from __future__ import annotations

import msgspec

from authz.accounts.authority import Authority, run
from authz.audit import trail
from authz.contract.actors import Actor
from authz.contract.audit import AuditEntry, AuditPage, AuditQuery
from authz.engine.table import DecisionTable


def read_trail(table: DecisionTable, actor: Actor, site_number: str, query: AuditQuery) -> AuditPage:
    """A page of the site's audit records, newest first, of one actor or action when asked."""

    def work(authority: Authority) -> AuditPage:
        records = trail.page(
            site_number, limit=query.limit + 1, before_seq=query.before, actor=query.actor, action=query.action
        )
        page = msgspec.convert(records[: query.limit], list[AuditEntry])
        return AuditPage(site_number, page, page[-1].seq if len(records) > query.limit else None)

    return run(table, actor, site_number, "view_audit", work, writes=False)
