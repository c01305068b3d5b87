"""Login ids: which strings are accepted, and the one form in which they match.

A login id is accepted only as it will be kept: already in Unicode NFC, made of
printable characters only (no control, format, surrogate, private-use or
unassigned code point, no line or paragraph separator, no space but the ASCII
space) and without a space at either end. Nothing is repaired: a login id that
would need trimming or normalising is refused, so two different spellings can
never be taken for one person after a silent repair.

Two accepted login ids name the same person exactly when they are equal after
folding the case of ASCII letters (`login_key`). Nothing else is folded: no
Unicode case mapping, no compatibility decomposition, so U+212A (KELVIN SIGN,
not NFC anyway) or U+FB01 (the fi ligature) never match `K` or `fi`.

The rule lives here, with the storage that keys on it (person.login_key), and
is applied by every door through the contract's LoginId type (authz/contract)
and by the importer. Site numbers follow the same character rule."""

from __future__ import annotations

import sys
import unicodedata

MAX_LENGTH = 320


def _not_printable() -> str:
    """The characters str.isprintable() refuses, as a regular-expression class body."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if not chr(code).isprintable():
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(_escape(a) if a == b else f"{_escape(a)}-{_escape(b)}" for a, b in ranges)


def _escape(code: int) -> str:
    """BMP code points as \\uXXXX, which Python and ECMA-262 (JSON Schema's dialect)
    both read; others as themselves, since the two escape them differently (\\U, \\u{})."""
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


_NOT_PRINTABLE = _not_printable()
# The rule as a regular expression, all but NFC (which no pattern can say), for the
# OpenAPI document; the server checks it with is_acceptable, which is cheaper.
LOGIN_ID_PATTERN = f"^[^ {_NOT_PRINTABLE}]([^{_NOT_PRINTABLE}]*[^ {_NOT_PRINTABLE}])?$"
DESCRIPTION = (
    "A login id: 1 to 320 printable characters, in Unicode NFC, without a space at either end. "
    "Login ids match when equal after folding the case of ASCII letters, and in no other way."
)

_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def is_acceptable(value: str) -> bool:
    """Whether VALUE (of an allowed length) follows the rule. Cheap: it runs on every check."""
    return (
        value.isprintable()
        and value[:1] != " "
        and value[-1:] != " "
        and (value.isascii() or unicodedata.is_normalized("NFC", value))
    )


def login_id_problem(value: str) -> str | None:
    """What makes VALUE unacceptable as a login id, or None when it is accepted."""
    if not value:
        return "must not be empty"
    if len(value) > MAX_LENGTH:
        return f"is longer than {MAX_LENGTH} characters"
    if value != value.strip(" "):
        return "has a space at the start or end"
    bad = next((c for c in value if not c.isprintable()), None)
    if bad is not None:
        return f"holds a character that is not printable (U+{ord(bad):04X}: control, format, separator, ...)"
    if not unicodedata.is_normalized("NFC", value):
        return "is not in Unicode normalization form C (NFC)"
    return None


def login_key(login_id: str) -> str:
    """The form in which accepted login ids are matched and stored (person.login_key)."""
    return login_id.lower() if login_id.isascii() else login_id.translate(_ASCII_LOWER)
