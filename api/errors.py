"""Domain errors mapped to HTTP, in one place. Every error body has the same
shape: {"error": code, "message": text, "field": name or absent}."""

from __future__ import annotations

import logging
import sqlite3

import falcon
import peewee
import psycopg2

from authz import errors

log = logging.getLogger("authz.api")

STATUS = {
    errors.InvalidInput: falcon.HTTP_400,
    errors.ProblemsFound: falcon.HTTP_400,
    errors.Unauthenticated: falcon.HTTP_401,
    errors.Forbidden: falcon.HTTP_403,
    errors.NotFound: falcon.HTTP_404,
    errors.Conflict: falcon.HTTP_409,
    errors.RuleViolation: falcon.HTTP_422,
}


def _body(code: str, message: str, field: str | None = None) -> dict:
    body = {"error": code, "message": message}
    if field:
        body["field"] = field
    return body


def domain_error(req, resp, exc: errors.DomainError, params):
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), falcon.HTTP_400)
    resp.status = status
    resp.media = _body(exc.code, exc.message, exc.field)
    if isinstance(exc, errors.ProblemsFound):
        resp.media["problems"] = [str(p) for p in exc.problems]
    if isinstance(exc, errors.Unauthenticated):
        resp.set_header("WWW-Authenticate", "Bearer")


def database_error(req, resp, exc: Exception, params):
    """The database failed: answer 503 (never a decision) and reconnect next time."""
    log.error("database error on %s %s (request %s): %s", req.method, req.path,
              getattr(req.context, "request_id", "-"), exc)
    from models.db import db
    if not db.is_closed():
        db.close()
    resp.status = falcon.HTTP_503
    resp.media = _body("unavailable", "the database is unavailable; try again")


def unexpected_error(req, resp, exc: Exception, params):
    if isinstance(exc, falcon.HTTPError):  # falcon's own (404 route, 405, bad JSON)
        raise exc
    log.exception("unexpected error on %s %s (request %s)", req.method, req.path,
                  getattr(req.context, "request_id", "-"))
    resp.status = falcon.HTTP_500
    resp.media = _body("internal", "internal error; nothing was decided or changed")


def serialize_http_error(req, resp, exc: falcon.HTTPError):
    """Falcon's own errors (malformed JSON, unknown route, wrong method) in our shape."""
    title = (exc.title or "error").lstrip("0123456789 ")  # "404 Not Found" -> "Not Found"
    code = title.lower().replace(" ", "_")
    resp.media = _body(code, exc.description or exc.title or "error")
    resp.content_type = falcon.MEDIA_JSON


def register(app: falcon.App) -> None:
    app.add_error_handler(Exception, unexpected_error)
    app.add_error_handler(peewee.PeeweeException, database_error)
    app.add_error_handler((sqlite3.Error, psycopg2.Error), database_error)  # the hot path's raw queries
    app.add_error_handler(errors.DomainError, domain_error)
    app.set_error_serializer(serialize_http_error)
