"""Every error of the SCIM door as a SCIM Error body (RFC 7644 §3.12), in one
place: the protocol's own (scim2-models' exceptions and validation errors),
the domain's and the storage layer's, falcon's (unknown route, wrong method,
too large), and the authentication the middleware refuses. api/errors.py
hands over every error raised under /scim/v2."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import falcon
import msgspec
from pydantic import ValidationError
from scim2_models import Error, SCIMException

from api.scim.schema import MEDIA_TYPE, PREFIX
from authz import errors
from models.errors import StorageError, StoreConflict

log = logging.getLogger("authz.api.scim")
RETRY_AFTER_SECONDS = 1

# A domain error's HTTP status and scimType (None: the status says it all).
_DOMAIN: list[tuple[type[errors.DomainError], int, str | None]] = [
    (errors.AlreadyExists, 409, "uniqueness"),
    (errors.Conflict, 409, None),
    (errors.PreconditionFailed, 412, None),
    (errors.NotFound, 404, None),
    (errors.Unauthenticated, 401, None),
    (errors.Forbidden, 403, None),
    (errors.RuleViolation, 400, "invalidValue"),
    (errors.InvalidInput, 400, "invalidValue"),
]


def is_scim(req: falcon.Request) -> bool:
    path = req.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def as_error(exc: BaseException) -> Error:
    """EXC as the SCIM Error a client reads."""
    if isinstance(exc, SCIMException):
        return exc.to_error()
    if isinstance(exc, ValidationError):
        return Error.from_validation_error(exc.errors()[0])
    if isinstance(exc, errors.DomainError):
        return _domain(exc)
    if isinstance(exc, StorageError):
        if isinstance(exc, StoreConflict):
            return Error(status=409, detail="the change conflicts with another one; try again")
        return Error(status=503, detail="the database is unavailable; nothing was changed; try again")
    if isinstance(exc, falcon.HTTPError):
        scim_type = "invalidSyntax" if exc.status_code in (400, 415) else None
        return Error(status=exc.status_code, scim_type=scim_type, detail=exc.description or exc.title)
    return Error(status=500, detail="internal error; nothing was changed")


def _domain(exc: errors.DomainError) -> Error:
    for kind, status, scim_type in _DOMAIN:
        if isinstance(exc, kind):
            if kind is errors.InvalidInput and exc.field == "filter":
                scim_type = "invalidFilter"
            return Error(status=status, scim_type=scim_type, detail=exc.message)
    return Error(status=400, detail=exc.message)


def respond(req: falcon.Request, resp: falcon.Response, exc: BaseException) -> None:
    """Answer EXC as a SCIM error."""
    error = as_error(exc)
    status = int(error.status or 500)
    if status >= 500:
        log.error(
            "%s on %s %s (request %s): %s",
            status,
            req.method,
            req.path,
            getattr(req.context, "request_id", "-"),
            exc,
            exc_info=status == 500,
        )
    if status == 503:
        resp.set_header("Retry-After", str(RETRY_AFTER_SECONDS))
    if status == 401:
        resp.set_header("WWW-Authenticate", "Bearer")
    if isinstance(exc, falcon.HTTPError):
        headers = exc.headers or {}
        for name, value in headers.items() if isinstance(headers, Mapping) else headers:  # Allow on 405, ...
            resp.set_header(name, value)
    write(resp, falcon.code_to_http_status(status), error.model_dump())


def write(resp: falcon.Response, status: str, body: Any) -> None:
    resp.status = status
    resp.data = msgspec.json.encode(body)
    resp.content_type = MEDIA_TYPE
