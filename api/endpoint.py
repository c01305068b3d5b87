"""One decorator per responder: what it takes and gives, for the server and for
the OpenAPI document alike.

    @endpoint("List the site's members (list_users)", query=MemberQuery, returns=MemberPage,
              errors=ADMIN_ERRORS)
    def on_get(self, req, resp, site, query):
        return self._service.members.page(req.context.actor, site, query)

The wrapper decodes the path parameters, the query string and the body into
their types (api/decoding.py), calls the responder, and encodes what it returns
with the declared status. A responder that answers in another media type (CSV,
metrics) sets `resp` itself and returns None."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import falcon

from api import decoding


@dataclass(frozen=True)
class Endpoint:
    summary: str
    returns: Any = None  # the type of a 2xx JSON answer
    status: int = 200
    body: type | None = None
    body_optional: bool = False
    query: type | None = None
    # status -> when it is answered (and, for an answer that is not an Error body, its type)
    errors: Mapping[int, str | tuple[str, Any]] = field(default_factory=dict)
    media_type: str | None = None  # a non-JSON answer (text/csv, text/plain)
    description: str | None = None


def endpoint(
    summary: str,
    *,
    returns: Any = None,
    status: int = 200,
    body: type | None = None,
    body_optional: bool = False,
    query: type | None = None,
    errors: Mapping[int, str | tuple[str, Any]] | None = None,
    media_type: str | None = None,
    description: str | None = None,
) -> Callable[[Callable], Callable]:
    spec = Endpoint(summary, returns, status, body, body_optional, query, dict(errors or {}), media_type, description)
    http_status = falcon.code_to_http_status(status)

    def wrap(responder: Callable) -> Callable:
        @functools.wraps(responder)
        def respond(resource: Any, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
            typed = {name: decoding.path_parameter(name, value) for name, value in params.items()} if params else {}
            if query is not None:
                typed["query"] = decoding.query(req, query)
            if body is not None:
                typed["body"] = decoding.read_body(req, body, limit=resource.body_limit, optional=body_optional)
            resp.status = http_status  # the responder may answer another status for this outcome
            result = responder(resource, req, resp, **typed)
            if result is not None:
                resp.data = decoding.encode(result)
                resp.content_type = falcon.MEDIA_JSON

        respond.endpoint = spec  # type: ignore[attr-defined]  # read by api/openapi.py
        return respond

    return wrap
