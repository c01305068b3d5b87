"""A site's audit trail."""

from __future__ import annotations

from typing import Any

from api.endpoint import endpoint
from api.resources import ADMIN_ERRORS, ADMIN_SCOPES, Resource
from authz.contract.audit import AuditPage, AuditQuery


class SiteAudit(Resource):
    scopes = ADMIN_SCOPES

    @endpoint(
        "The site's audit trail, newest first (view_audit)", query=AuditQuery, returns=AuditPage, errors=ADMIN_ERRORS
    )
    def on_get(self, req: Any, resp: Any, site: str, query: AuditQuery) -> AuditPage:
        return self.service.site_audit.trail(req.context.actor, site, query)
