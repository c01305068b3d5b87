"""A filter over identities (authz.contract.identities.IdentityFilter) as the
WHERE clause of a query on person, run by the database, on both databases.

How values compare follows SCIM's attribute definitions: userName as login
ids match (models.identifiers.login_key); emails and names case-insensitively;
externalId and id exactly. A comparison the attribute cannot take (ordering a
boolean, a text operator on a date) is InvalidInput naming the filter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import reduce
from typing import Any

from peewee import Expression, fn

from authz.contract.identities import AllOf, AnyOf, Compare, IdentityFilter, Negation, Present
from authz.errors import InvalidInput
from models.identifiers import login_key
from models.identities import IdentityEmail, email_key
from models.schema import Person

_NEVER = Person.id < 0  # a comparison nothing can satisfy (ids are positive)


def matching(node: IdentityFilter) -> Expression:
    """The condition on Person that NODE states."""
    if isinstance(node, AllOf):
        return reduce(lambda a, b: a & b, (matching(t) for t in node.terms))
    if isinstance(node, AnyOf):
        return reduce(lambda a, b: a | b, (matching(t) for t in node.terms))
    if isinstance(node, Negation):
        return ~matching(node.term)
    if isinstance(node, Present):
        return _PRESENT[node.attribute]()
    return _COMPARE[node.attribute](node)


def _refuse(node: Compare, why: str) -> InvalidInput:
    return InvalidInput(f"{node.attribute} {node.op} {node.value!r}: {why}", field="filter")


# -- by kind of attribute ------------------------------------------------------


def _text(column: Any, fold: Callable[[str], str], *, case_exact: bool = False) -> Callable[[Compare], Expression]:
    """A string attribute stored in COLUMN (already folded by FOLD when not case-exact)."""

    def compare(node: Compare) -> Expression:
        if node.value is None:
            return _null(column, node)
        if not isinstance(node.value, str):
            raise _refuse(node, "compares with a string")
        value = fold(node.value)
        if node.op in _ORDER:
            return _ORDER[node.op](column, value)
        if case_exact:
            return _exact_text(column, node.op, value)
        return {
            "co": column.contains,
            "sw": column.startswith,
            "ew": column.endswith,
        }[node.op](value)

    return compare


def _exact_text(column: Any, op: str, value: str) -> Expression:
    """Text operators that respect case on both databases (LIKE does not)."""
    if op == "sw":
        return fn.SUBSTR(column, 1, len(value)) == value
    if op == "ew":
        return fn.SUBSTR(column, fn.LENGTH(column) - len(value) + 1) == value
    return fn.REPLACE(column, value, "") != column  # co: removing it changes the text


def _null(column: Any, node: Compare) -> Expression:
    if node.op == "eq":
        return column.is_null()
    if node.op == "ne":
        return column.is_null(False)
    raise _refuse(node, "only eq and ne compare with null")


_ORDER: dict[str, Callable[[Any, Any], Expression]] = {
    "eq": lambda c, v: c == v,
    "ne": lambda c, v: c != v,
    "gt": lambda c, v: c > v,
    "ge": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "le": lambda c, v: c <= v,
}


def _external_id(node: Compare) -> Expression:
    expression = _text(Person.external_id, str, case_exact=True)(node)
    if node.op == "ne" and node.value is not None:  # an absent externalId is not equal either
        return expression | Person.external_id.is_null()
    return expression


def _identity_id(node: Compare) -> Expression:
    if node.op not in ("eq", "ne"):
        raise _refuse(node, "ids compare with eq and ne")
    text = str(node.value)
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return _NEVER if node.op == "eq" else ~_NEVER
    return (Person.id == int(text)) if node.op == "eq" else (Person.id != int(text))


def _active(node: Compare) -> Expression:
    if not isinstance(node.value, bool) or node.op not in ("eq", "ne"):
        raise _refuse(node, "active compares with true or false, by eq or ne")
    active = fn.COALESCE(Person.active, True)  # not asserted counts as active
    return (active == node.value) if node.op == "eq" else (active != node.value)


def _email(node: Compare) -> Expression:
    """Any of the person's emails: the primary one is the person's email (see
    models/identities.py), the others are rows of identity_email."""
    compare = _text(fn.LOWER(Person.email), email_key)
    others = _text(IdentityEmail.value_key, email_key)
    if node.op == "ne":  # none of them equals it
        return ~_email(Compare(node.attribute, "eq", node.value))
    other = IdentityEmail.select(IdentityEmail.person).where(
        (IdentityEmail.person == Person.id) & ~IdentityEmail.is_primary & others(node)
    )
    return compare(node) | fn.EXISTS(other)


def _moment(column: Any) -> Callable[[Compare], Expression]:
    def compare(node: Compare) -> Expression:
        if node.op not in _ORDER:
            raise _refuse(node, "dates compare with eq, ne, gt, ge, lt and le")
        value = node.value
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise _refuse(node, "not a date and time (RFC 3339)") from None
        if not isinstance(value, datetime):
            raise _refuse(node, "compares with a date and time")
        if value.tzinfo is not None:  # stored as naive UTC
            value = value.astimezone(UTC).replace(tzinfo=None)
        return _ORDER[node.op](column, value)

    return compare


_LAST_MODIFIED = fn.COALESCE(Person.updated_at, Person.created_at)

_COMPARE: dict[str, Callable[[Compare], Expression]] = {
    "id": _identity_id,
    "userName": _text(Person.login_key, login_key),
    "externalId": _external_id,
    "active": _active,
    "emails.value": _email,
    "name.givenName": _text(fn.LOWER(Person.first_name), str.lower),
    "name.familyName": _text(fn.LOWER(Person.last_name), str.lower),
    "meta.created": _moment(Person.created_at),
    "meta.lastModified": _moment(_LAST_MODIFIED),
}

_PRESENT: dict[str, Callable[[], Expression]] = {
    "id": lambda: ~_NEVER,
    "userName": lambda: ~_NEVER,
    "active": lambda: Person.active.is_null(False),
    "emails.value": lambda: ~_NEVER,  # every identity has an email
    "meta.created": lambda: ~_NEVER,
    "meta.lastModified": lambda: ~_NEVER,
    "externalId": lambda: Person.external_id.is_null(False),
    "name.givenName": lambda: Person.first_name != "",
    "name.familyName": lambda: Person.last_name != "",
}
