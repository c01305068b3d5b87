"""SCIM's shapes into the contract's and back: a User resource and an
identity (authz.contract.identities), a SCIM filter (parsed by scim2-models)
and an IdentityFilter, an identity's version and its ETag."""

from __future__ import annotations

import re
from typing import Any

from scim2_models import Meta, ScimFilter
from scim2_models.path import (
    AttrPath,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from api.scim.schema import USER_TYPE, Email, Name, PhoneNumber, User
from authz.contract import identities as contract
from authz.contract.parsing import convert
from authz.errors import InvalidInput, PreconditionFailed

# -- resources ---------------------------------------------------------------


def to_user(identity: contract.Identity, location: str) -> User:
    name = None
    if identity.first_name or identity.last_name:
        name = Name(given_name=identity.first_name or None, family_name=identity.last_name or None)
    return User(
        id=identity.id,
        external_id=identity.external_id,
        user_name=identity.login_id,
        name=name,
        emails=[_entry(Email, e) for e in identity.emails],
        phone_numbers=[_entry(PhoneNumber, p) for p in identity.phones] or None,
        active=identity.active,
        meta=Meta(
            resource_type=USER_TYPE.name,
            created=identity.created,
            last_modified=identity.last_modified,
            location=location,
            version=etag(identity.version),
        ),
    )


def _entry(model: type[Email] | type[PhoneNumber], entry: contract.Email | contract.Phone) -> Any:
    return model.model_validate({"value": entry.value, "type": entry.type, "primary": entry.primary})


# Contract field -> the SCIM attribute a client knows it by, for error messages.
_SCIM_NAMES = {
    "login_id": "userName",
    "first_name": "name.givenName",
    "last_name": "name.familyName",
    "phones": "phoneNumbers",
    "external_id": "externalId",
}


def to_input(user: User, *, active: bool | None) -> contract.IdentityInput:
    """What USER asserts, whole. ACTIVE is the value when USER leaves it out."""
    asserted = {
        "login_id": user.user_name,
        "emails": [_address(e) for e in user.emails or []],
        "first_name": (user.name.given_name if user.name else None) or "",
        "last_name": (user.name.family_name if user.name else None) or "",
        "phones": [_address(p) for p in user.phone_numbers or []],
        "active": active if user.active is None else user.active,
        "external_id": user.external_id,
    }
    try:
        return convert(asserted, contract.IdentityInput)
    except InvalidInput as exc:
        raise InvalidInput(_in_scim_words(exc.message), field=_in_scim_words(exc.field or "")) from None


def _address(entry: Email | PhoneNumber) -> dict[str, Any]:
    kind = None if entry.type is None else str(entry.type)  # a canonical value or another
    return {"value": entry.value, "type": kind, "primary": entry.primary}


def _in_scim_words(text: str) -> str:
    for ours, theirs in _SCIM_NAMES.items():
        text = re.sub(rf"\b{ours}\b", theirs, text)
    return text


# -- versions ----------------------------------------------------------------


def etag(version: int) -> str:
    return f'W/"{version}"'


_TAG = re.compile(r'\s*(?:W/)?"([^"]*)"\s*')


def expected_version(if_match: str | None, current: int) -> int | None:
    """The version a write must find, from the If-Match header: None without
    one (or with "*"); CURRENT when one of its tags is the current version;
    else PreconditionFailed (weak comparison, RFC 9110 §13.1.1)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tags = {match.group(1) for match in _TAG.finditer(if_match)}
    if str(current) not in tags:
        raise PreconditionFailed(f"If-Match {if_match.strip()[:80]} does not match the current version {etag(current)}")
    return current


# -- filters -----------------------------------------------------------------

_ATTRIBUTES: dict[tuple[str, str | None], contract.FilterAttribute] = {
    ("id", None): "id",
    ("username", None): "userName",
    ("externalid", None): "externalId",
    ("active", None): "active",
    ("emails", None): "emails.value",
    ("emails", "value"): "emails.value",
    ("name", "givenname"): "name.givenName",
    ("name", "familyname"): "name.familyName",
    ("meta", "created"): "meta.created",
    ("meta", "lastmodified"): "meta.lastModified",
}


def to_filter(scim_filter: ScimFilter[Any]) -> contract.IdentityFilter:
    """A filter scim2-models parsed and checked against User, as the contract's."""
    return _Translation().visit(scim_filter.ast)


class _Translation(FilterVisitor[contract.IdentityFilter]):
    def __init__(self, within: str | None = None):
        self._within = within  # the multi-valued attribute of a value path: emails[...]

    def visit_comparison(self, node: Comparison) -> contract.IdentityFilter:
        return contract.Compare(self._attribute(node.attr_path), node.op.value, node.value)

    def visit_present(self, node: Present) -> contract.IdentityFilter:
        return contract.Present(self._attribute(node.attr_path))

    def visit_not(self, node: Not) -> contract.IdentityFilter:
        return contract.Negation(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> contract.IdentityFilter:
        terms = tuple(self.visit(term) for term in node.terms)
        return contract.AllOf(terms) if node.op == LogicalOperator.and_ else contract.AnyOf(terms)

    def visit_value_path(self, node: ValuePath) -> contract.IdentityFilter:
        if node.attr_path.attr.lower() != "emails" or node.attr_path.sub_attr:
            raise _unsupported(str(node))
        return _Translation(within="emails").visit(node.val_filter)

    def _attribute(self, path: AttrPath) -> contract.FilterAttribute:
        attr, sub = path.attr.lower(), path.sub_attr.lower() if path.sub_attr else None
        if self._within is not None:  # inside emails[...]: only its value can be compared
            attr, sub = (self._within, attr) if sub is None else (attr, sub)
        if path.uri and path.uri.lower() != str(User.__schema__).lower():
            raise _unsupported(str(path))
        try:
            return _ATTRIBUTES[(attr, sub)]
        except KeyError:
            raise _unsupported(str(path)) from None


def _unsupported(what: str) -> InvalidInput:
    names = ", ".join(sorted({f"{a}.{s}" if s else a for a, s in _ATTRIBUTES}))
    return InvalidInput(f"cannot filter on '{what}' (filterable, case aside: {names})", field="filter")
