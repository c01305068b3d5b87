"""Approve requests: the site's pending access requests, newest first, with the
requesters' details and justifications; Grant (a business justification if the
request gave none, role and privileges with the same matrix and preview) or Deny
with exactly one of the three reasons. The requester is told by the workflow's
message either way. A request someone else decided meanwhile is shown as decided,
with who and when, not as an error."""

from __future__ import annotations

import urllib.parse

import falcon

from api.console.members import chosen_levels, field_errors
from api.console.page import Page, Visitor, site_path
from authz.contract.access_requests import DENY_REASON_TEXT, AccessRequest, AccessRequestQuery, Denial, Grant
from authz.contract.common import AssignableRole
from authz.contract.members import ChangePreview, PrivilegeMatrix, Standing
from authz.contract.parsing import convert
from authz.errors import Conflict, DomainError, Forbidden, NotFound

PAGE_SIZE = 50


def request_id_of(text: str) -> int:
    """A request id from the path; anything else is a request that does not exist."""
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18):
        raise NotFound("no such request")
    return int(text)


def decided_text(request: AccessRequest) -> str:
    return (
        f"This request was already {request.status} by {request.decided_by} at {request.decided_at}"
        + (f" ({request.deny_reason_text})" if request.deny_reason_text else "")
        + "."
    )


class Requests(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        after = req.get_param("after") or ""
        query = AccessRequestQuery(
            status="pending", order="newest", after=int(after) if after.isdigit() else 0, limit=PAGE_SIZE
        )
        page = self.service.access_requests.page(visitor.actor, site, query)
        done = {name: req.get_param(name) for name in ("granted", "denied") if req.get_param(name)}
        notice = " ".join(f"The request of {who} was {how}; they are told." for how, who in done.items())
        self.render(
            resp,
            "requests.html",
            "Approve requests",
            visitor=visitor,
            standing=standing,
            current="requests",
            page=page,
            can_decide="decide_access_requests" in standing.allowed_actions,
            following=site_path(site, "requests") + f"?after={page.next_after}" if page.next_after else None,
            notice=notice,
        )


class GrantRequest(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str, request_id: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        request = self.service.access_requests.get(visitor.actor, site, request_id_of(request_id))
        matrix = self.service.members.privilege_matrix(visitor.actor, site, "user")
        self._show(resp, visitor, standing, request, "user", matrix, chosen_levels(matrix, {}, {}), "")

    def on_post(self, req: falcon.Request, resp: falcon.Response, site: str, request_id: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        form = self.form(req, visitor)
        number = request_id_of(request_id)
        request = self.service.access_requests.get(visitor.actor, site, number)
        role: AssignableRole = "secondary" if form.get("role") == "secondary" else "user"
        matrix = self.service.members.privilege_matrix(visitor.actor, site, role)
        levels = chosen_levels(matrix, form.prefixed("level."), {})
        justification = form.get("business_justification")
        args = (resp, visitor, standing, request, role, matrix, levels, justification)
        if form.get("role") not in ("secondary", "user"):
            self._show(*args, errors={"role": "Choose a role."}, status=422)
            return
        if form.get("do") == "save":
            try:
                decision = convert(
                    {"role": role, "levels": levels, "business_justification": justification or None}, Grant
                )
                self.service.access_requests.grant(visitor.actor, site, number, decision)
            except Conflict as exc:
                request = self.service.access_requests.get(visitor.actor, site, number)
                if request.status != "pending":  # decided meanwhile, by someone else
                    self._show(resp, visitor, standing, request, role, matrix, levels, justification, status=409)
                    return
                self._show(*args, errors={"form": exc.message}, status=409)
                return
            except DomainError as exc:
                self._show(*args, errors=field_errors(exc), status=422)
                return
            query = urllib.parse.urlencode({"granted": request.requester.login_id})
            self.redirect(resp, site_path(site, "requests") + "?" + query)
            return
        preview = self.service.members.preview(visitor.actor, site, None, role, levels)
        self._show(*args, preview=preview)

    def _show(
        self,
        resp: falcon.Response,
        visitor: Visitor,
        standing: Standing,
        request: AccessRequest,
        role: AssignableRole,
        matrix: PrivilegeMatrix,
        levels: dict[str, str],
        justification: str,
        *,
        preview: ChangePreview | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> None:
        pending = request.status == "pending"
        self.render(
            resp,
            "request_grant.html",
            "Grant access",
            visitor=visitor,
            standing=standing,
            current="requests",
            status=status,
            request=request,
            pending=pending,
            role=role,
            matrix=matrix,
            selected=levels,
            justification=justification,
            preview=preview,
            errors=errors or {},
            action=site_path(standing.site, f"requests/{request.id}/grant"),
            notice="" if pending else decided_text(request),
            problem=(errors or {}).get("form", ""),
        )


class DenyRequest(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response, site: str, request_id: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        request = self.service.access_requests.get(visitor.actor, site, request_id_of(request_id))
        self._show(resp, visitor, standing, request, "")

    def on_post(self, req: falcon.Request, resp: falcon.Response, site: str, request_id: str) -> None:
        visitor = self.visitor(req)
        standing = self.standing(visitor, site)
        form = self.form(req, visitor)
        number = request_id_of(request_id)
        reasons = form.all("reason")
        try:
            denial = convert({"reason": reasons[0]} if len(reasons) == 1 else {}, Denial)
            denied = self.service.access_requests.deny(visitor.actor, site, number, denial)
        except Conflict:
            request = self.service.access_requests.get(visitor.actor, site, number)
            self._show(resp, visitor, standing, request, "", status=409)
            return
        except (Forbidden, NotFound):
            raise  # not theirs to decide: the error page
        except DomainError as exc:
            request = self.service.access_requests.get(visitor.actor, site, number)
            errors = {"reason": "Choose exactly one reason."} if exc.field == "reason" else field_errors(exc)
            self._show(resp, visitor, standing, request, "", errors=errors, status=422)
            return
        query = urllib.parse.urlencode({"denied": denied.requester.login_id})
        self.redirect(resp, site_path(site, "requests") + "?" + query)

    def _show(
        self,
        resp: falcon.Response,
        visitor: Visitor,
        standing: Standing,
        request: AccessRequest,
        chosen: str,
        *,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> None:
        pending = request.status == "pending"
        self.render(
            resp,
            "request_deny.html",
            "Deny access",
            visitor=visitor,
            standing=standing,
            current="requests",
            status=status,
            request=request,
            pending=pending,
            reasons=DENY_REASON_TEXT,
            chosen=chosen,
            errors=errors or {},
            action=site_path(standing.site, f"requests/{request.id}/deny"),
            notice="" if pending else decided_text(request),
            problem=(errors or {}).get("form", ""),
        )
