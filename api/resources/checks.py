"""The check API: the contract other services code against."""

from __future__ import annotations

from typing import Any

from api.endpoint import endpoint
from api.resources import AUTH_ERRORS, BODY_ERRORS, CHECK_SCOPES, STORE_ERRORS, Resource
from authz.contract.checks import (
    BatchCheckRequest,
    BatchResult,
    CheckRequest,
    Decision,
    Permissions,
    WhoCan,
    WhoCanQuery,
)


class Check(Resource):
    scopes = CHECK_SCOPES

    @endpoint(
        "May this person do this action on this site?",
        body=CheckRequest,
        returns=Decision,
        errors={
            **BODY_ERRORS,
            **AUTH_ERRORS,
            **STORE_ERRORS,
            400: "Malformed request or unknown action",
            409: "min_change_seq is ahead of the database (a number this database never answered)",
        },
    )
    def on_post(self, req: Any, resp: Any, body: CheckRequest) -> Decision:
        return self.service.decisions.check(body)


class CheckBatch(Resource):
    scopes = CHECK_SCOPES

    @endpoint(
        "Up to 1000 checks, answered in order, under one policy version",
        body=BatchCheckRequest,
        returns=BatchResult,
        errors={
            **BODY_ERRORS,
            **AUTH_ERRORS,
            **STORE_ERRORS,
            400: "A malformed check (its index is named)",
            409: "min_change_seq is ahead of the database (a number this database never answered)",
        },
    )
    def on_post(self, req: Any, resp: Any, body: BatchCheckRequest) -> BatchResult:
        return self.service.decisions.check_batch(body)


class MemberPermissions(Resource):
    scopes = CHECK_SCOPES

    @endpoint(
        "Effective permissions of a member on a site",
        returns=Permissions,
        errors={**AUTH_ERRORS, **STORE_ERRORS, 400: "A malformed site or login id", 404: "Not a member of that site"},
    )
    def on_get(self, req: Any, resp: Any, site: str, login_id: str) -> Permissions:
        return self.service.decisions.permissions(site, login_id)


class ActionMembers(Resource):
    scopes = CHECK_SCOPES

    @endpoint(
        "Who on a site may perform an action (paged by login id)",
        query=WhoCanQuery,
        returns=WhoCan,
        errors={**AUTH_ERRORS, **STORE_ERRORS, 400: "Unknown action or bad paging"},
    )
    def on_get(self, req: Any, resp: Any, site: str, action: str, query: WhoCanQuery) -> WhoCan:
        return self.service.decisions.who_can(site, action, query)
