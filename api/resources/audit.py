"""A site's audit trail."""

from api.resources import ADMIN_SCOPES
from authz.service.facade import AuthzService
from authz.accounts.site_audit import read_trail


class SiteAudit:
    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp, site):
        resp.media = read_trail(self._service.table, req.context.actor, site,
                                limit=req.get_param_as_int("limit", min_value=1, max_value=500, default=100),
                                before_seq=req.get_param_as_int("before", min_value=1))
