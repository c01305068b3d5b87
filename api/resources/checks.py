"""The check API: the contract other services code against."""

from api.bodies import read_json, write_json
from authz.service.facade import AuthzService

CHECK_SCOPES = frozenset({"check"})


class Check:
    scopes = CHECK_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_post(self, req, resp):
        write_json(resp, self._service.check(read_json(req)))


class CheckBatch:
    scopes = CHECK_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_post(self, req, resp):
        write_json(resp, self._service.check_batch(read_json(req)))


class MemberPermissions:
    scopes = CHECK_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp, site, login_id):
        resp.media = self._service.permissions(site, login_id)


class ActionMembers:
    scopes = CHECK_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp, site, action):
        limit = req.get_param_as_int("limit", min_value=1, max_value=1000, default=100)
        after = req.get_param("after", default="")
        resp.media = self._service.who_can(site, action, limit, after)
