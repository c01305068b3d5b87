"""What every request needs: a request id, the caller's identity, metrics."""

from __future__ import annotations

import time

from prometheus_client import Histogram

from authz.admin import Actor
from authz.audit import actor_for_key
from authz.decisions import random_id
from authz.errors import Forbidden
from authz.service import AuthzService

REQUEST_SECONDS = Histogram(
    "authz_http_request_duration_seconds", "HTTP requests, by route, method and status",
    ["route", "method", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


class RequestId:
    def process_request(self, req, resp):
        req.context.request_id = req.get_header("X-Request-Id") or random_id()
        req.context.started = time.perf_counter()

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header("X-Request-Id", req.context.request_id)


ACTING_USER_HEADER = "X-Acting-User"


class Authenticate:
    """Resources declare `scopes` (who may call them) or `public = True`."""

    def __init__(self, service: AuthzService):
        self._service = service

    def process_resource(self, req, resp, resource, params):
        if resource is None or getattr(resource, "public", False):
            return
        caller = self._service.authenticate(req.get_header("Authorization"))
        if caller.scope not in resource.scopes:
            raise Forbidden(f"this key's scope '{caller.scope}' may not call this route "
                            f"(needs one of: {', '.join(sorted(resource.scopes))})")
        req.context.caller = caller
        if caller.scope == "admin":
            req.context.actor = Actor.person(req.get_header(ACTING_USER_HEADER) or "")
        elif caller.scope == "operator":
            req.context.actor = Actor.operator(actor_for_key(caller.key_id))


class Metrics:
    def __init__(self):
        # labels() validates and takes a lock on every call; a child never changes
        # once made, so each worker looks up each (route, method, status) once.
        self._children: dict[tuple[str, str, str], object] = {}

    def process_response(self, req, resp, resource, req_succeeded):
        route = req.uri_template or "unmatched"
        status = resp.status[:3] if isinstance(resp.status, str) else str(int(resp.status))
        key = (route, req.method, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = REQUEST_SECONDS.labels(*key)
        child.observe(time.perf_counter() - req.context.started)
