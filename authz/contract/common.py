"""Building blocks of the bodies: identifiers, names the policy defines, text,
pages and the error body.

A type that names something the policy defines (an action, an application, a
map of levels) carries `x-catalogue` in its JSON schema: the OpenAPI document
replaces it with the active policy's values (api/openapi.py), because those
change with the policy, not with the code."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from models.identifiers import DESCRIPTION as LOGIN_ID_DESCRIPTION
from models.identifiers import MAX_LENGTH as LOGIN_ID_MAX
from models.identifiers import is_acceptable, login_id_problem

# The character rule of login ids and site numbers (models.identifiers) is checked
# by each struct's __post_init__ (identifiers_accepted): cheaper than msgspec's
# regular expressions, and it covers NFC, which no pattern can. The OpenAPI
# document carries the pattern (api/openapi.py turns these formats into one
# shared schema each).
LoginId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=LOGIN_ID_MAX,
        description=LOGIN_ID_DESCRIPTION,
        extra_json_schema={"format": "login-id"},
    ),
]
SiteNumber = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description="A site number: printable characters, no space at either end, NFC; compared exactly",
        extra_json_schema={"format": "site-number"},
    ),
]
ActionId = Annotated[
    str,
    Meta(
        min_length=1, max_length=64, description="An action of the policy", extra_json_schema={"x-catalogue": "actions"}
    ),
]
Levels = Annotated[
    dict[str, str],
    Meta(description="Application -> level, as the policy names them", extra_json_schema={"x-catalogue": "levels"}),
]
Role = Literal["primary", "secondary", "user"]
# The primary role moves only by a transfer: it is never assigned.
AssignableRole = Literal["secondary", "user"]
# Sequence numbers and row ids are BIGINT in the database (64-bit signed): a larger number
# is a malformed request (400), never a database error.
MAX_ROW_ID = 2**63 - 1
ChangeSeq = Annotated[
    int,
    Meta(
        ge=0,
        le=MAX_ROW_ID,
        description="A change sequence number: pass one seen in an answer "
        "as min_change_seq to get an answer at least that fresh",
    ),
]
Timestamp = Annotated[str, Meta(description="ISO 8601, UTC")]
# Whitespace as the server trims it (Python's str.isspace), spelled out: `\s` means other
# characters in Python than in the document's patterns (ECMA-262: U+001C..U+001F and U+0085
# are not spaces there, U+FEFF is), so a pattern with `\s` or `\S` lets the two disagree.
SPACE = r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_SPACE = f"[^{SPACE}\\u0000]"
# Free text: something that is not a space, and no NUL anywhere (PostgreSQL's text cannot hold it:
# a site named with one was a 500 there).
SOME_TEXT = f"^[^\\u0000]*{NOT_SPACE}[^\\u0000]*$"
# Free text with something in it; surrounding whitespace is trimmed.
PersonName = Annotated[str, Meta(min_length=1, max_length=100, pattern=SOME_TEXT)]
EmailAddress = Annotated[str, Meta(min_length=1, max_length=320, pattern=SOME_TEXT)]
PhoneNumber = Annotated[str, Meta(min_length=1, max_length=50, pattern=SOME_TEXT)]
SiteName = Annotated[str, Meta(min_length=1, max_length=255, pattern=SOME_TEXT)]
Justification = Annotated[str, Meta(min_length=1, max_length=2000, pattern=SOME_TEXT)]
PageLimit = Annotated[int, Meta(ge=1, le=1000, description="At most this many (default 100)")]


class DomainRecord(Struct, forbid_unknown_fields=True):
    """A body whose every field is a rule of the domain (a contact saved whole, a
    denial's one reason): a missing or malformed field is answered 422 naming it,
    as the domain's own rules are; an unknown field or a body that is not an
    object is still a malformed request (400)."""


class Error(Struct, omit_defaults=True):
    """Every error answer: a code, a message, and the field at fault where there is one."""

    error: str
    message: str
    field: str | UnsetType = UNSET
    problems: list[str] | UnsetType = UNSET


def identifiers_accepted(struct: Struct, *fields: str) -> None:
    """For a Struct's __post_init__: the login-id rule (models.identifiers) on FIELDS.
    Raises ValueError("FIELD: ...") as msgspec expects; contract.parsing turns it
    into InvalidInput naming the field."""
    for name in fields:
        value = getattr(struct, name)
        if isinstance(value, str) and not is_acceptable(value):
            raise ValueError(f"{name}: {login_id_problem(value)}")
