"""Values into the contract's types, with errors the doors answer alike.

A value that does not fit its type is InvalidInput (400) naming the field in
our notation (`checks[3].action`); in a DomainRecord body (a contact saved
whole, a denial's reason), a missing or malformed field is RuleViolation (422),
as the domain's own rules are, and every problem of the record is named."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import msgspec

from authz.contract.common import DomainRecord
from authz.errors import DomainError, InvalidInput, RuleViolation

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`")
_OWN = re.compile(r"^(?P<name>\w+): ")  # what the contract's __post_init__ hooks raise
_ENCODER = msgspec.json.Encoder()


@cache
def _decoder(kind: Any) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(kind)


def decode(raw: bytes, kind: Any) -> Any:
    """RAW JSON as KIND."""
    try:
        return _decoder(kind).decode(raw)
    except msgspec.ValidationError as error:
        if "got `float`" in str(error):  # rare: decoded again only on this path
            whole = _whole_numbers(msgspec.json.decode(raw))
            try:
                return msgspec.convert(whole, kind)
            except msgspec.ValidationError:
                pass
        if _is_record(kind):
            raise _record_refusal(msgspec.json.decode(raw), kind) from None
        raise refusal(str(error), kind) from None
    except msgspec.DecodeError as error:
        raise InvalidInput(f"the body is not valid JSON: {error}") from None


def _whole_numbers(value: Any) -> Any:
    """VALUE with every float that is a whole number (`3.0`) as an int: JSON Schema counts
    them as integers, and the document promises integers, so they are accepted as such."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def convert(value: Any, kind: Any, *, field: str | None = None, strict: bool = True) -> Any:
    """VALUE (built in Python: a command's arguments, query parameters) as KIND;
    with STRICT False, strings are coerced to numbers where KIND wants them."""
    try:
        return msgspec.convert(value, kind, strict=strict)
    except msgspec.ValidationError as error:
        if _is_record(kind):
            raise _record_refusal(value, kind) from None
        raise refusal(str(error), kind, field=field) from None


def _is_record(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, DomainRecord)


def _record_refusal(value: Any, kind: type[DomainRecord]) -> DomainError:
    """Every problem of a record, field by field, each checked against the field's
    own type: a form shows them all at once. Unknown fields (or no object at all)
    are a malformed request (400); missing or malformed ones a rule (422), the
    first named as the field."""
    if not isinstance(value, dict):
        return InvalidInput(f"the body must be a JSON object with the whole {kind.__name__} record")
    fields = {f.encode_name: f for f in msgspec.structs.fields(kind)}
    unknown = sorted(name for name in value if name not in fields)
    if unknown:
        return InvalidInput(f"unknown field(s): {', '.join(repr(name) for name in unknown)}", field=unknown[0])
    problems = record_problems(value, kind)
    if not problems:  # a rule of the whole record (its __post_init__)
        return refusal("", kind)
    more = f" (also: {'; '.join(message for _, message in problems[1:])})" if len(problems) > 1 else ""
    return RuleViolation(problems[0][1] + more, field=problems[0][0])


def record_problems(value: dict[str, Any], kind: type[DomainRecord]) -> list[tuple[str, str]]:
    """Every missing or malformed field of VALUE as a KIND record, in the record's
    order: (field, message), each checked against the field's own type."""
    problems: list[tuple[str, str]] = []
    for info in msgspec.structs.fields(kind):
        name = info.encode_name
        if name not in value:
            if info.required:
                problems.append((name, f"'{name}' is required"))
            continue
        try:
            msgspec.convert(value[name], info.type)
        except msgspec.ValidationError as error:
            problems.append((name, refusal(str(error), info.type, field=name).message))
    return problems


encode = _ENCODER.encode  # a value of the contract as JSON bytes (bound: one call per answer)


def refusal(message: str, kind: Any, *, field: str | None = None) -> DomainError:
    """msgspec's MESSAGE as our error, naming the field in our notation."""
    at = _AT.search(message)
    path = at.group("path") if at else ""
    text = message[: at.start()] if at else message
    named = _MISSING.match(text) or _UNKNOWN.match(text) or _OWN.match(text)
    if named:
        path += f".{named.group('name')}"
        if named.re is _OWN:
            text = text[named.end() :]
    where = field or path.lstrip(".") or None
    explained = f"'{where}': {text[0].lower()}{text[1:]}" if where else text
    return InvalidInput(explained, field=where)
