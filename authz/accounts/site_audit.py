"""Reading a site's audit trail: for its primary and for secondaries with
manage-access view (policy action view_audit)."""

from __future__ import annotations

from authz.audit import trail
from authz.accounts.authority import Actor, run
from authz.engine.table import DecisionTable


def read_trail(table: DecisionTable, actor: Actor, site_number: str, *, limit: int,
               before_seq: int | None = None) -> dict:
    """A page of the site's audit records, newest first."""
    def work(authority) -> dict:
        records = trail.page(site_number, limit=limit + 1, before_seq=before_seq)
        page = records[:limit]
        return {"site": site_number, "records": page,
                "next_before": page[-1]["seq"] if len(records) > limit else None}
    return run(table, actor, site_number, "view_audit", work, writes=False)
