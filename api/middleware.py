"""What every request needs: a request id, the caller's identity, metrics."""

from __future__ import annotations

import time
from typing import Any

from authz.contract.actors import Actor, acting_headers_problem
from authz.errors import Forbidden
from authz.ids import unique_id
from authz.metrics import REQUEST_SECONDS, TALLY
from authz.service import Service


class RequestTrace:
    """Every request gets an id (the caller's X-Request-Id, or a new one), echoed
    in the answer, and its duration goes to the request histogram by (route,
    method, status). One middleware for both: each one Falcon calls costs a call."""

    def __init__(self) -> None:
        # labels() validates and takes a lock on every call; a child never changes
        # once made, so each worker looks up each (route, method, status) once.
        self._children: dict[tuple[str, str, str], Any] = {}

    def process_request(self, req: Any, resp: Any) -> None:
        req.context.request_id = req.env.get("HTTP_X_REQUEST_ID") or unique_id()  # get_header costs 3x
        req.context.started = time.perf_counter()

    def process_response(self, req: Any, resp: Any, resource: Any, req_succeeded: bool) -> None:
        resp.set_header("X-Request-Id", req.context.request_id)
        route = req.uri_template or "unmatched"
        status = resp.status[:3] if isinstance(resp.status, str) else str(int(resp.status))
        key = (route, req.method, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = REQUEST_SECONDS.labels(*key)
        TALLY.observe(child, time.perf_counter() - req.context.started)


def header_text(value: str | None) -> str | None:
    """A header's text. WSGI hands a header over as its bytes read as Latin-1 (PEP 3333);
    clients send a login id such as "zoë" in UTF-8, so bytes that are UTF-8 are read as
    UTF-8, and any others as the Latin-1 they came as."""
    if value is None or value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class Authenticate:
    """Resources declare `scopes` (who may call them) or `public = True`."""

    def __init__(self, service: Service):
        self._service = service

    def process_resource(self, req: Any, resp: Any, resource: Any, params: Any) -> None:
        if resource is None or resource.public:
            return
        caller = self._service.callers.authenticate(req.env.get("HTTP_AUTHORIZATION"))
        if caller.scope not in resource.scopes:
            raise Forbidden(
                f"this key's scope '{caller.scope}' may not call this route "
                f"(needs one of: {', '.join(sorted(resource.scopes))})"
            )
        req.context.caller = caller
        acting_user = header_text(req.env.get("HTTP_X_ACTING_USER"))
        if "admin" in resource.scopes:  # the route declares the acting headers: malformed ones are 400
            problem = acting_headers_problem(acting_user, req.env.get("HTTP_X_ACTING_TOKEN"))
            if problem is not None:
                raise problem
        if caller.scope == "admin":
            req.context.actor = self._service.callers.acting_person(acting_user, req.env.get("HTTP_X_ACTING_TOKEN"))
        elif caller.scope == "operator":
            req.context.actor = Actor.operator_key(caller.key_id)
        elif caller.scope == "scim":
            req.context.actor = Actor.identity_provider(caller.key_id)
