"""Login ids: which strings are accepted, and the one form in which they match.

A login id is accepted only as it will be kept: already in Unicode NFC, with
no control, format, surrogate or line/paragraph-separator character and no
whitespace at either end. Nothing is repaired: a login id that would need
trimming or normalising is refused, so two different spellings can never be
taken for one person after a silent repair.

Two accepted login ids name the same person exactly when they are equal after
folding the case of ASCII letters (`login_key`). Nothing else is folded: no
Unicode case mapping, no compatibility decomposition, so `K` (KELVIN SIGN, not
NFC anyway) or `ﬁ` never match `K` or `fi`.

The rule lives here, with the storage that keys on it (person.login_key), and
is applied by every door through the contract's LoginId type (authz/contract)."""

from __future__ import annotations

import sys
import unicodedata

MAX_LENGTH = 320
# Character categories a login id may not hold anywhere: control (Cc), format
# (Cf: invisible joiners, bidirectional overrides, BOM...), surrogates (Cs),
# line and paragraph separators (Zl, Zp).
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _ranges(categories: frozenset[str]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) in categories:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return ranges


def _escape(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


_FORBIDDEN_CLASS = "".join(_escape(a) if a == b else f"{_escape(a)}-{_escape(b)}"
                           for a, b in _ranges(_FORBIDDEN_CATEGORIES))
# The same rule as a regular expression (all but NFC, which no pattern can say):
# the OpenAPI document publishes it, and msgspec checks it in C while decoding.
LOGIN_ID_PATTERN = f"^[^\\s{_FORBIDDEN_CLASS}]([^{_FORBIDDEN_CLASS}]*[^\\s{_FORBIDDEN_CLASS}])?$"
DESCRIPTION = ("A login id: 1 to 320 characters, in Unicode NFC, without control, format or "
               "line-separator characters and without whitespace at either end. Login ids match "
               "when equal after folding the case of ASCII letters, and in no other way.")

_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def login_id_problem(value: str) -> str | None:
    """What makes VALUE unacceptable as a login id, or None when it is accepted."""
    if not value:
        return "must not be empty"
    if len(value) > MAX_LENGTH:
        return f"is longer than {MAX_LENGTH} characters"
    if value != value.strip():
        return "has whitespace at the start or end"
    bad = next((c for c in value if unicodedata.category(c) in _FORBIDDEN_CATEGORIES), None)
    if bad is not None:
        return f"holds a control, format or line-separator character (U+{ord(bad):04X})"
    if not unicodedata.is_normalized("NFC", value):
        return "is not in Unicode normalization form C (NFC)"
    return None


def passes_beyond_pattern(value: str) -> bool:
    """The part of the rule LOGIN_ID_PATTERN cannot say, for a VALUE that matched it:
    NFC, and no newline at the end (Python's `$` matches before one)."""
    return not value.endswith("\n") and (value.isascii() or unicodedata.is_normalized("NFC", value))


def login_key(login_id: str) -> str:
    """The form in which accepted login ids are matched and stored (person.login_key)."""
    return login_id.lower() if login_id.isascii() else login_id.translate(_ASCII_LOWER)
