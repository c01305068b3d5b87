"""Identities as the identity provider keeps them (provisioning, SCIM 2.0):
who a person is (login id, emails, names, phones, an external id) and whether
they are active. The SCIM door (api/scim) turns SCIM resources, filters and
paging into these types and back; nothing here knows SCIM's wire format."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from authz.contract.common import NOT_SPACE, ChangeSeq, LoginId, identifiers_accepted

MAX_PAGE = 200  # identities per page at most (SCIM: ServiceProviderConfig filter.maxResults)
MAX_ADDRESSES = 20  # emails, and phone numbers, per identity

# Not `.`: it stops at U+2028 and U+2029 in the document's patterns (ECMA-262), not in Python.
_TRIMMED = f"^{NOT_SPACE}([^\\n\\u0000]*{NOT_SPACE})?$"
EmailValue = Annotated[str, Meta(min_length=1, max_length=320, pattern=_TRIMMED)]
PhoneValue = Annotated[str, Meta(min_length=1, max_length=50, pattern=_TRIMMED)]
AddressType = Annotated[str, Meta(min_length=1, max_length=32)]
NamePart = Annotated[str, Meta(max_length=100)]
ExternalId = Annotated[str, Meta(min_length=1, max_length=255)]


class Email(Struct, forbid_unknown_fields=True, omit_defaults=True):
    value: EmailValue
    type: AddressType | None = None
    primary: bool | None = None  # None: not said (not primary)


class Phone(Struct, forbid_unknown_fields=True, omit_defaults=True):
    value: PhoneValue
    type: AddressType | None = None
    primary: bool | None = None


class IdentityInput(Struct, forbid_unknown_fields=True):
    """Everything the identity provider asserts about a person, whole (a create
    or a replacement). The primary email (the one marked primary, else the
    first) is the person's email; likewise the primary phone."""

    login_id: LoginId
    emails: Annotated[list[Email], Meta(min_length=1, max_length=MAX_ADDRESSES)]
    first_name: NamePart = ""
    last_name: NamePart = ""
    phones: Annotated[list[Phone], Meta(max_length=MAX_ADDRESSES)] = []
    active: Annotated[bool | None, Meta(description="null: not asserted, which counts as active")] = True
    external_id: ExternalId | None = None

    def __post_init__(self) -> None:
        identifiers_accepted(self, "login_id")
        for name in ("emails", "phones"):
            if sum(1 for entry in getattr(self, name) if entry.primary) > 1:
                raise ValueError(f"{name}: at most one may be primary")


class Identity(Struct):
    id: str
    login_id: str
    emails: list[Email]
    first_name: str
    last_name: str
    phones: list[Phone]
    active: bool | None  # None: not asserted (counts as active)
    external_id: str | None
    created: datetime
    last_modified: datetime
    version: Annotated[int, Meta(description="Changes with every change of the identity (ETag)")]
    change_seq: (
        Annotated[ChangeSeq, Meta(description="On changes: pass as min_change_seq to see it in checks")] | UnsetType
    ) = UNSET


class IdentityRemoved(Struct):
    id: str
    login_id: str
    change_seq: ChangeSeq


# -- finding identities ------------------------------------------------------

# What a filter may name: the identity's attributes, in SCIM's words.
FilterAttribute = Literal[
    "id",
    "userName",
    "externalId",
    "active",
    "emails.value",
    "name.givenName",
    "name.familyName",
    "meta.created",
    "meta.lastModified",
]
CompareOperator = Literal["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


class Compare(Struct, tag="compare", frozen=True):
    attribute: FilterAttribute
    op: CompareOperator
    value: str | bool | int | float | datetime | None


class Present(Struct, tag="present", frozen=True):
    attribute: FilterAttribute


class AllOf(Struct, tag="all", frozen=True):
    terms: tuple[IdentityFilter, ...]


class AnyOf(Struct, tag="any", frozen=True):
    terms: tuple[IdentityFilter, ...]


class Negation(Struct, tag="not", frozen=True):
    term: IdentityFilter


IdentityFilter = Compare | Present | AllOf | AnyOf | Negation


class IdentityQuery(Struct, forbid_unknown_fields=True):
    """A page of the identities that match FILTER (all without one), ordered by id."""

    filter: IdentityFilter | None = None
    start_index: Annotated[int, Meta(ge=1, description="1-based, as SCIM counts")] = 1
    count: Annotated[int, Meta(ge=0, le=MAX_PAGE)] = MAX_PAGE


class IdentityPage(Struct):
    total: int
    start_index: int
    identities: list[Identity]
