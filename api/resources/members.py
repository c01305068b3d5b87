"""Manage access: members of a site, on behalf of the acting person."""

import falcon

from api.resources import ADMIN_SCOPES, OPERATOR_SCOPES
from authz.accounts import members
from authz.accounts import sites
from authz.service.facade import AuthzService


class Members:
    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp, site):
        resp.media = members.list_members(
            self._service.table, req.context.actor, site,
            role=req.get_param("role"), search=req.get_param("q"),
            after=req.get_param("after", default=""),
            limit=req.get_param_as_int("limit", min_value=1, max_value=1000, default=100))

    def on_post(self, req, resp, site):
        resp.media = members.add_member(self._service.table, req.context.actor, site, req.get_media())
        resp.status = falcon.HTTP_201
        resp.location = f"/v1/sites/{site}/members/{resp.media['login_id']}"


class Member:
    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp, site, login_id):
        resp.media = members.get_member(self._service.table, req.context.actor, site, login_id)

    def on_patch(self, req, resp, site, login_id):
        resp.media = members.update_member(self._service.table, req.context.actor, site, login_id, req.get_media())

    def on_delete(self, req, resp, site, login_id):
        resp.media = members.remove_member(self._service.table, req.context.actor, site, login_id)


class MembersCsv:
    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp, site):
        resp.stream = members.export_csv(self._service.table, req.context.actor, site)
        resp.content_type = "text/csv; charset=utf-8"
        resp.downloadable_as = f"site-{site}-users.csv"


class Identity:
    """User check: is a login id a known identity (before adding it)?"""

    scopes = ADMIN_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp, site, login_id):
        resp.media = members.user_check(self._service.table, req.context.actor, site, login_id)


class Sites:
    scopes = OPERATOR_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp):
        resp.media = {"sites": sites.list_sites()}

    def on_post(self, req, resp):
        resp.media = sites.create_site(self._service.table, req.context.actor, req.get_media())
        resp.status = falcon.HTTP_201


class PrimaryTransfer:
    scopes = OPERATOR_SCOPES

    def __init__(self, service: AuthzService):
        self._service = service

    def on_post(self, req, resp, site):
        resp.media = sites.transfer_primary(self._service.table, req.context.actor, site, req.get_media())
