"""Requests into the contract's types, and answers out of them (msgspec).

A body, a query string or a path parameter that does not fit its type is
answered 400 naming the field (`checks[3].action`); a body of a DomainRecord
type (a contact saved whole, a denial's reason) answers a missing or malformed
field with 422, as the domain's own rules do. Nothing is decoded by hand."""

from __future__ import annotations

from typing import Annotated, Any

import falcon
from msgspec import Meta

from authz.contract.common import MAX_ROW_ID, ActionId, LoginId, SiteNumber
from authz.contract.parsing import convert, decode, encode
from authz.errors import InvalidInput, NotFound
from models.identifiers import is_acceptable, login_id_problem

__all__ = ["PATH_PARAMETERS", "decode", "encode", "path_parameter", "query", "read_body"]

RequestId = Annotated[int, Meta(ge=1, le=MAX_ROW_ID, description="An access request's id")]
ContactId = Annotated[int, Meta(ge=1, le=MAX_ROW_ID, description="A contact record's id")]

# Every path parameter of every route, with its type (the OpenAPI document reads this too).
PATH_PARAMETERS: dict[str, Any] = {
    "site": SiteNumber,
    "login_id": LoginId,
    "action": ActionId,
    "request_id": RequestId,
    "contact_id": ContactId,
}
_IDENTIFIERS = {"site", "login_id"}  # their rule goes beyond any pattern (models.identifiers)
# A malformed id: the request's is a malformed request (400); a contact's is a
# contact that does not exist (404), as it always was.
_MALFORMED_IDS = {
    "request_id": lambda text: InvalidInput("the request id must be a positive whole number", field="request_id"),
    "contact_id": lambda text: NotFound(f"no contact '{text[:40]}' on this site"),
}


def read_body(req: falcon.Request, kind: type, *, limit: int, optional: bool = False) -> Any:
    """The JSON body of REQ as KIND. An absent body is KIND's defaults when OPTIONAL,
    else 400; another media type is 415; more than LIMIT bytes is 413, refused
    before anything is read when the length is announced."""
    env = req.env
    media_type = env.get("CONTENT_TYPE")
    if media_type != falcon.MEDIA_JSON:  # the common case costs one comparison
        media_type = (media_type or "").partition(";")[0].strip().lower()
    length = req.content_length if media_type != falcon.MEDIA_JSON else _length(env.get("CONTENT_LENGTH"))
    if not length and optional and not media_type:
        return kind()
    if media_type != falcon.MEDIA_JSON:
        raise falcon.HTTPUnsupportedMediaType(description="the body must be JSON (Content-Type: application/json)")
    if length is not None:
        if length > limit:
            raise _too_large(limit)
        raw = env["wsgi.input"].read(length) if length else b""  # exactly the announced bytes
    else:  # chunked: read at most one byte past the limit
        raw = req.bounded_stream.read(limit + 1)
        if len(raw) > limit:
            raise _too_large(limit)
    if not raw:
        if optional:
            return kind()
        raise InvalidInput("the body is empty: a JSON object is expected")
    return decode(raw, kind)


def _length(header: str | None) -> int | None:
    """CONTENT_LENGTH as a number (None if absent); a malformed one is 400, as Falcon has it."""
    if not header:
        return None
    if not header.isdigit():
        raise falcon.HTTPInvalidHeader("The value of the header must be a positive number.", "Content-Length")
    return int(header)


def _too_large(limit: int) -> falcon.HTTPPayloadTooLarge:
    return falcon.HTTPPayloadTooLarge(title="Payload Too Large", description=f"the body is larger than {limit} bytes")


def path_parameter(name: str, value: str) -> Any:
    """A path parameter of a route, checked against its type (PATH_PARAMETERS)."""
    if name in _MALFORMED_IDS:
        if not (value.isascii() and value.isdigit() and len(value) <= 19 and 1 <= int(value) <= MAX_ROW_ID):
            raise _MALFORMED_IDS[name](value)
        return int(value)
    typed = convert(value, PATH_PARAMETERS[name], field=name, strict=False)
    if name in _IDENTIFIERS and not is_acceptable(typed):
        raise InvalidInput(f"'{name}' {login_id_problem(typed)}", field=name)
    return typed


def query(req: falcon.Request, kind: type) -> Any:
    return convert(req.params, kind, strict=False)
