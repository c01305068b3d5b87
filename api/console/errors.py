"""The console's errors as pages: whatever goes wrong under /console (but the JSON
sign-in routes under /console/auth) is answered with an HTML page of the base
layout, never a JSON body or a traceback. A site the person is not a member of,
a missing site and a missing record get the same 404 page, word for word."""

from __future__ import annotations

import falcon

from api.console import render
from authz import errors
from models.errors import StorageError, StoreConflict

AUTH_PREFIX = "/console/auth/"
TITLES = {
    400: "The request could not be read",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    409: "Changed meanwhile",
    413: "Too large",
    415: "Not a form",
    422: "Not saved",
    500: "Something went wrong",
    503: "Try again in a moment",
}
NOT_FOUND = "There is no such page, site or record, or it is not yours to see."
UNAVAILABLE = "The service cannot reach its database just now. Nothing was changed. Try again in a moment."
INTERNAL = "An unexpected error happened. Nothing was changed."


def is_console(req: falcon.Request) -> bool:
    path = req.path
    return (path == "/console" or path.startswith("/console/")) and not path.startswith(AUTH_PREFIX)


def _status_of(exc: BaseException) -> int:
    if isinstance(exc, falcon.HTTPError):
        return exc.status_code
    if isinstance(exc, StorageError):
        return 409 if isinstance(exc, StoreConflict) else 503
    table = [
        (errors.InvalidInput, 400),
        (errors.Unauthenticated, 401),
        (errors.Forbidden, 403),
        (errors.NotFound, 404),
        (errors.Conflict, 409),
        (errors.RuleViolation, 422),
        (errors.ProviderUnavailable, 503),
    ]
    fallback = 400 if isinstance(exc, errors.DomainError) else 500
    return next((status for cls, status in table if isinstance(exc, cls)), fallback)


def _message(status: int, exc: BaseException) -> str:
    if status == 404:
        return NOT_FOUND  # the same for a missing site and another site's: nothing to tell them apart
    if status == 503:
        return UNAVAILABLE
    if status == 500:
        return INTERNAL
    if isinstance(exc, errors.DomainError):
        return exc.message
    if isinstance(exc, falcon.HTTPError):
        return exc.description or exc.title or TITLES.get(status, "Error")
    return TITLES.get(status, "Error")


def respond(req: falcon.Request, resp: falcon.Response, exc: BaseException) -> None:
    """EXC as an HTML error page of the console."""
    status = _status_of(exc)
    if status == 401:
        status = 403
    if status == 503:
        resp.set_header("Retry-After", "1")
    render.page(
        resp,
        "error.html",
        status=status,
        page_title=TITLES.get(status, "Error"),
        message=_message(status, exc),
        status_code=status,
        visitor=getattr(req.context, "visitor", None),
        standing=None,
        nav=[],
        current=None,
        csrf_token="",
    )
