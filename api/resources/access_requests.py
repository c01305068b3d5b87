"""Access requests: a person asks for access to a site; a decider reviews, grants
or denies. Asking is open to any known identity (admin scope: the acting person
asks for themselves); listing and deciding are policy-checked."""

from __future__ import annotations

from typing import Any

from api.endpoint import endpoint
from api.resources import ADMIN_ERRORS, ADMIN_SCOPES, BODY_ERRORS, CONFLICT, RULE, Resource
from authz.contract.access_requests import (
    AccessRequest,
    AccessRequestInput,
    AccessRequestPage,
    AccessRequestQuery,
    Denial,
    Grant,
    Granted,
)

_DECIDED = {
    409: "The request was already decided, or granting conflicts with the site's state "
    "(already a member, at most four secondaries)"
}


class AccessRequests(Resource):
    scopes = ADMIN_SCOPES

    @endpoint(
        "The site's access requests with the requesters' details, oldest first (view_access_requests)",
        query=AccessRequestQuery,
        returns=AccessRequestPage,
        errors=ADMIN_ERRORS,
    )
    def on_get(self, req: Any, resp: Any, site: str, query: AccessRequestQuery) -> AccessRequestPage:
        return self.service.access_requests.page(req.context.actor, site, query)

    @endpoint(
        "Ask for access to a site: the acting person for themselves (an operator key names the "
        "person); the one operation a non-member may do",
        body=AccessRequestInput,
        body_optional=True,
        returns=AccessRequest,
        status=201,
        errors={
            **BODY_ERRORS,
            **ADMIN_ERRORS,
            **CONFLICT,
            **RULE,
            403: "A person asks only for themselves (or the key's scope)",
            404: "No such site",
        },
    )
    def on_post(self, req: Any, resp: Any, site: str, body: AccessRequestInput) -> AccessRequest:
        return self.service.access_requests.ask(req.context.actor, site, body)


class AccessRequestGrant(Resource):
    scopes = ADMIN_SCOPES

    @endpoint(
        "Grant a pending request: the requester becomes a member (decide_access_requests)",
        body=Grant,
        returns=Granted,
        errors={**BODY_ERRORS, **ADMIN_ERRORS, **_DECIDED, **RULE},
    )
    def on_post(self, req: Any, resp: Any, site: str, request_id: int, body: Grant) -> Granted:
        return self.service.access_requests.grant(req.context.actor, site, request_id, body)


class AccessRequestDeny(Resource):
    scopes = ADMIN_SCOPES

    @endpoint(
        "Deny a pending request with exactly one reason (decide_access_requests)",
        body=Denial,
        returns=AccessRequest,
        errors={**BODY_ERRORS, **ADMIN_ERRORS, **_DECIDED, 422: "Not exactly one of the three reasons"},
    )
    def on_post(self, req: Any, resp: Any, site: str, request_id: int, body: Denial) -> AccessRequest:
        return self.service.access_requests.deny(req.context.actor, site, request_id, body)
