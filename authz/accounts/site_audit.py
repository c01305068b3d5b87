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
        chosen = {"actor": query.actor, "action": query.action}
        records = trail.page(site_number, limit=query.limit, before_seq=query.before, **chosen)
        page = msgspec.convert(records, list[AuditEntry])
        # A full page: is there an older record? (Not limit + 1 above: a page of the most
        # records trail.page returns, MAX_PAGE, must be answerable too.)
        more = len(page) == query.limit and trail.page(site_number, limit=1, before_seq=page[-1].seq, **chosen)
        return AuditPage(site_number, page, page[-1].seq if more else None)

    return run(table, actor, site_number, "view_audit", work, writes=False)
