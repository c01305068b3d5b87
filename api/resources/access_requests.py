"""Access requests: a person asks for access to a site; a decider reviews, grants
or denies. Asking is open to any known identity (admin scope: the acting person
asks for themselves); listing and deciding are policy-checked."""

import falcon

from api.resources import ADMIN_SCOPES
from authz.accounts import access_requests
from authz.errors import InvalidInput
from authz.service.facade import AuthzService


def _whole_param(req, name: str, default: int | None) -> int | None:
    """A whole-number query parameter; malformed: 400 naming it."""
    value = req.get_param(name)
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise InvalidInput(f"'{name}' must be a whole number", field=name)
    return int(value)


class AccessRequests:
    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp, site):
        resp.media = access_requests.list_requests(
            self._service.table, req.context.actor, site,
            status=req.get_param("status", default="pending"),
            after=_whole_param(req, "after", None), limit=_whole_param(req, "limit", 100))

    def on_post(self, req, resp, site):
        body = req.get_media(default_when_empty=None)
        resp.media = access_requests.request_access(self._service.table, req.context.actor, site, body)
        resp.status = falcon.HTTP_201


class AccessRequestGrant:
    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_post(self, req, resp, site, request_id):
        resp.media = access_requests.grant(self._service.table, req.context.actor, site, request_id,
                                           req.get_media())


class AccessRequestDeny:
    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_post(self, req, resp, site, request_id):
        resp.media = access_requests.deny(self._service.table, req.context.actor, site, request_id,
                                          req.get_media())
