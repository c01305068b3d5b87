"""Domain and storage errors mapped to HTTP, in one place. Every error body has
the same shape (authz.contract.common.Error): {"error": code, "message": text,
"field": name where there is one}. Under /scim/v2 every error is the SCIM
door's, answered as a SCIM Error (api/scim/errors.py)."""

from __future__ import annotations

import logging
from typing import Any

import falcon

from api.console import errors as console_errors
from api.decoding import encode
from api.scim import errors as scim_errors
from authz import errors
from authz.contract.common import Error
from authz.printable import printable
from models.errors import StorageError, StoreConflict

log = logging.getLogger("authz.api")

STATUS = {
    errors.InvalidInput: falcon.HTTP_400,
    errors.ProblemsFound: falcon.HTTP_400,
    errors.Unauthenticated: falcon.HTTP_401,
    errors.Forbidden: falcon.HTTP_403,
    errors.NotFound: falcon.HTTP_404,
    errors.Conflict: falcon.HTTP_409,
    errors.PreconditionFailed: falcon.HTTP_412,
    errors.RuleViolation: falcon.HTTP_422,
    errors.ProviderUnavailable: falcon.HTTP_503,
}
# How long a client should wait before retrying when the database is unavailable.
RETRY_AFTER_SECONDS = 1


def ask_to_retry(resp: falcon.Response) -> None:
    """Tell the client when to try again (a 503: the database is unavailable)."""
    resp.set_header("Retry-After", str(RETRY_AFTER_SECONDS))


def _answer(resp: falcon.Response, status: str, body: Error) -> None:
    resp.status = status
    resp.data = encode(body)
    resp.content_type = falcon.MEDIA_JSON


def domain_error(req: falcon.Request, resp: falcon.Response, exc: errors.DomainError, params: Any) -> None:
    if scim_errors.is_scim(req):
        scim_errors.respond(req, resp, exc)
        return
    if console_errors.is_console(req):
        console_errors.respond(req, resp, exc)
        return
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), falcon.HTTP_400)
    body = Error(exc.code, exc.message)
    if exc.field:
        body.field = exc.field
    if isinstance(exc, errors.ProblemsFound):
        body.problems = [str(p) for p in exc.problems]
    if isinstance(exc, errors.InvalidToken):  # the key was good; the person's token was not
        resp.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
    elif isinstance(exc, errors.Unauthenticated):
        resp.set_header("WWW-Authenticate", "Bearer")
    if isinstance(exc, errors.ProviderUnavailable):
        resp.set_header("Retry-After", str(RETRY_AFTER_SECONDS))
    _answer(resp, status, body)


def storage_error(req: falcon.Request, resp: falcon.Response, exc: StorageError, params: Any) -> None:
    """The database refused a conflicting write (409), or cannot serve now (503:
    never a decision, retry after Retry-After; the storage layer has dropped the
    connection and reconnects on the next request). "Nothing was decided", not
    "nothing was changed": a connection lost while a COMMIT was under way leaves
    the client unable to know whether it took effect (README: Errors)."""
    if scim_errors.is_scim(req):
        scim_errors.respond(req, resp, exc)
        return
    if console_errors.is_console(req):
        if not isinstance(exc, StoreConflict):
            log.error(
                "database unavailable on %s %s: %s", printable(req.method), printable(req.path), printable(str(exc))
            )
        console_errors.respond(req, resp, exc)
        return
    if isinstance(exc, StoreConflict):
        _answer(resp, falcon.HTTP_409, Error("conflict", "the change conflicts with another one; try again"))
        return
    log.error(
        "database unavailable on %s %s (request %s): %s",
        printable(req.method),
        printable(req.path),  # decoded from the URL: may hold %0A
        printable(str(getattr(req.context, "request_id", "-"))),
        printable(str(exc)),
    )
    ask_to_retry(resp)
    _answer(resp, falcon.HTTP_503, Error("unavailable", "the database is unavailable; nothing was decided; try again"))


def unexpected_error(req: falcon.Request, resp: falcon.Response, exc: Exception, params: Any) -> None:
    if isinstance(exc, falcon.HTTPError):  # falcon's own (404 route, 405, 413, 415)
        raise exc
    if scim_errors.is_scim(req):  # also the protocol's own errors (scim2-models)
        scim_errors.respond(req, resp, exc)
        return
    if console_errors.is_console(req):
        log.exception("unexpected error on %s %s", printable(req.method), printable(req.path))
        console_errors.respond(req, resp, exc)
        return
    log.exception(
        "unexpected error on %s %s (request %s)",
        printable(req.method),
        printable(req.path),  # decoded from the URL: may hold %0A
        printable(str(getattr(req.context, "request_id", "-"))),
    )
    _answer(resp, falcon.HTTP_500, Error("internal", "internal error; nothing was decided or changed"))


def serialize_http_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon's own errors (unknown route, wrong method, too large, not JSON) in our shape."""
    if scim_errors.is_scim(req):
        scim_errors.respond(req, resp, exc)
        return
    if console_errors.is_console(req):
        console_errors.respond(req, resp, exc)
        return
    title = (exc.title or "error").lstrip("0123456789 ")  # "404 Not Found" -> "Not Found"
    resp.data = encode(Error(title.lower().replace(" ", "_"), exc.description or exc.title or "error"))
    resp.content_type = falcon.MEDIA_JSON


def register(app: falcon.App) -> None:
    app.add_error_handler(Exception, unexpected_error)
    app.add_error_handler(StorageError, storage_error)
    app.add_error_handler(errors.DomainError, domain_error)
    app.set_error_serializer(serialize_http_error)
