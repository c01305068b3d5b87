"""Manage access: members of a site, on behalf of the acting person; sites and
the primary role, for operators."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from api.endpoint import endpoint
from api.resources import (
    ADMIN_ERRORS,
    ADMIN_SCOPES,
    AUTH_ERRORS,
    BODY_ERRORS,
    CONFLICT,
    OPERATOR_SCOPES,
    RULE,
    STORE_ERRORS,
    Resource,
)
from authz.contract.members import (
    Member,
    MemberChange,
    MemberPage,
    MemberQuery,
    MemberRemoved,
    NewMember,
    NewSite,
    PrimaryTransfer,
    PrimaryTransferred,
    SiteCreated,
    SiteList,
    UserCheck,
)


class Members(Resource):
    scopes = ADMIN_SCOPES

    @endpoint("List the site's members (list_users)", query=MemberQuery, returns=MemberPage, errors=ADMIN_ERRORS)
    def on_get(self, req: Any, resp: Any, site: str, query: MemberQuery) -> MemberPage:
        return self.service.members.page(req.context.actor, site, query)

    @endpoint(
        "Add a known identity to the site (add_user); they get a welcome message",
        body=NewMember,
        returns=Member,
        status=201,
        errors={**BODY_ERRORS, **ADMIN_ERRORS, **CONFLICT, **RULE},
    )
    def on_post(self, req: Any, resp: Any, site: str, body: NewMember) -> Member:
        member = self.service.members.add(req.context.actor, site, body)
        resp.location = f"/v1/sites/{site}/members/{member.login_id}"
        return member


class OneMember(Resource):
    scopes = ADMIN_SCOPES

    @endpoint("One member (list_users)", returns=Member, errors=ADMIN_ERRORS)
    def on_get(self, req: Any, resp: Any, site: str, login_id: str) -> Member:
        return self.service.members.get(req.context.actor, site, login_id)

    @endpoint(
        "Change a member's details, role and levels (update_user)",
        body=MemberChange,
        returns=Member,
        errors={**BODY_ERRORS, **ADMIN_ERRORS, **CONFLICT, **RULE},
    )
    def on_patch(self, req: Any, resp: Any, site: str, login_id: str, body: MemberChange) -> Member:
        return self.service.members.update(req.context.actor, site, login_id, body)

    @endpoint("Remove a member from the site (remove_user)", returns=MemberRemoved, errors={**ADMIN_ERRORS, **RULE})
    def on_delete(self, req: Any, resp: Any, site: str, login_id: str) -> MemberRemoved:
        return self.service.members.remove(req.context.actor, site, login_id)


class MembersCsv(Resource):
    scopes = ADMIN_SCOPES

    @endpoint(
        "Download the complete user list as spreadsheet-safe CSV (export_users)",
        media_type="text/csv",
        errors=ADMIN_ERRORS,
    )
    def on_get(self, req: Any, resp: Any, site: str) -> None:
        chunks: Iterator[bytes] = self.service.members.export_csv(req.context.actor, site)
        resp.stream = chunks
        resp.content_type = "text/csv; charset=utf-8"
        resp.downloadable_as = f"site-{site}-users.csv"


class Identity(Resource):
    """User check: is a login id a known identity (before adding it)?"""

    scopes = ADMIN_SCOPES

    @endpoint(
        "User check: is the login id a known identity, and already a member? (check_user)",
        returns=UserCheck,
        errors=ADMIN_ERRORS,
    )
    def on_get(self, req: Any, resp: Any, site: str, login_id: str) -> UserCheck:
        return self.service.members.user_check(req.context.actor, site, login_id)


class Sites(Resource):
    scopes = OPERATOR_SCOPES

    @endpoint(
        "All sites with their primary contact (operator scope)",
        returns=SiteList,
        errors={**AUTH_ERRORS, **STORE_ERRORS},
    )
    def on_get(self, req: Any, resp: Any) -> SiteList:
        return self.service.sites.all()

    @endpoint(
        "Create a site with its primary contact (operator scope)",
        body=NewSite,
        returns=SiteCreated,
        status=201,
        errors={**BODY_ERRORS, **AUTH_ERRORS, **STORE_ERRORS, **CONFLICT},
    )
    def on_post(self, req: Any, resp: Any, body: NewSite) -> SiteCreated:
        return self.service.sites.create(req.context.actor, body)


class SitePrimary(Resource):
    scopes = OPERATOR_SCOPES

    @endpoint(
        "Move the primary role to another member, atomically (operator scope)",
        body=PrimaryTransfer,
        returns=PrimaryTransferred,
        errors={
            **BODY_ERRORS,
            **AUTH_ERRORS,
            **STORE_ERRORS,
            **CONFLICT,
            **RULE,
            404: "No such site, or the new primary is not a member",
        },
    )
    def on_post(self, req: Any, resp: Any, site: str, body: PrimaryTransfer) -> PrimaryTransferred:
        return self.service.sites.transfer_primary(req.context.actor, site, body)
