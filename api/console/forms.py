"""The console's forms: an HTML form's body (application/x-www-form-urlencoded) read
within the body limit, and its CSRF token checked against the session.

Every form carries `csrf_token`, an HMAC of the session's id under the session
secret (SignInService.form_token): a page of another origin cannot read it, so it
cannot post a form that passes. A form without it, or with another session's, is
refused 403 before anything is done."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

import falcon

from authz.errors import Forbidden, InvalidInput

FORM_MEDIA = "application/x-www-form-urlencoded"
CSRF_FIELD = "csrf_token"
_MAX_FIELDS = 500


class FormRefused(Forbidden):
    """A form without the session's CSRF token."""

    code = "form_refused"


class Form:
    """A form's fields: name -> values, in the order sent."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self._fields: dict[str, list[str]] = {}
        for name, value in pairs:
            self._fields.setdefault(name, []).append(value)

    def get(self, name: str, default: str = "") -> str:
        """The first value of NAME, trimmed (DEFAULT when absent)."""
        values = self._fields.get(name)
        return values[0].strip() if values else default

    def all(self, name: str) -> list[str]:
        return list(self._fields.get(name, ()))

    def has(self, name: str) -> bool:
        return name in self._fields

    def prefixed(self, prefix: str) -> dict[str, str]:
        """Fields named PREFIX<key>, as key -> first value (e.g. level.<application>)."""
        return {name[len(prefix) :]: values[0] for name, values in self._fields.items() if name.startswith(prefix)}


def _too_large(limit: int) -> falcon.HTTPContentTooLarge:
    return falcon.HTTPContentTooLarge(title="Too large", description=f"the form is larger than {limit} bytes")


def read_form(req: falcon.Request, limit: int) -> Form:
    """REQ's form body: 415 unless urlencoded, 413 over LIMIT bytes, 400 if it is not UTF-8."""
    media = (req.content_type or "").partition(";")[0].strip().lower()
    if media != FORM_MEDIA:
        raise falcon.HTTPUnsupportedMediaType(description="a form is expected")
    length = req.content_length
    if length is not None and length > limit:
        raise _too_large(limit)  # refused before anything is read
    raw = req.bounded_stream.read(limit + 1)
    if len(raw) > limit:
        raise _too_large(limit)
    try:
        text = raw.decode("utf-8")
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, max_num_fields=_MAX_FIELDS, encoding="utf-8", errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form could not be read") from None
    return Form(pairs)
