"""The site's audit trail, for those the policy lets read it (view_audit): newest
first, a page at a time, filtered by actor and by action."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import falcon

from api.console.page import Page, site_path
from authz.contract.audit import AuditQuery
from authz.contract.parsing import convert
from authz.errors import InvalidInput

PAGE_SIZE = 50


def shown(value: Any) -> str:
    """A record's before or after, as compact JSON text (escaped by the template)."""
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


class Audit(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        filters = {name: (req.get_param(name) or "").strip() for name in ("actor", "action", "before")}
        try:
            query = convert(
                {
                    "limit": PAGE_SIZE,
                    "before": int(filters["before"]) if filters["before"].isdigit() else None,
                    "actor": filters["actor"] or None,
                    "action": filters["action"] or None,
                },
                AuditQuery,
            )
        except InvalidInput:
            query, filters = AuditQuery(limit=PAGE_SIZE), {"actor": "", "action": "", "before": ""}
        page = self.service.site_audit.trail(visitor.actor, site, query)
        kept = {k: v for k, v in filters.items() if v and k != "before"}
        older = None
        if page.next_before is not None:
            older = site_path(site, "audit") + "?" + urllib.parse.urlencode({**kept, "before": page.next_before})
        self.render(
            resp,
            "audit.html",
            "Audit trail",
            visitor=visitor,
            standing=standing,
            current="audit",
            page=page,
            filters=filters,
            older=older,
            newest=site_path(site, "audit") + "?" + urllib.parse.urlencode(kept) if filters["before"] else None,
            shown=shown,
        )
