"""Contact updates: a site's contact records and their monthly review."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from authz.contract.common import SOME_TEXT, SPACE, DomainRecord, Timestamp

ContactType = Literal["primary", "technical", "administrative", "renewal", "media_shipping", "billing"]
CONTACT_TYPE_LABELS: dict[ContactType, str] = {
    "primary": "Primary contact",
    "technical": "Site technical contact",
    "administrative": "Administrative / proof-of-entitlement contact",
    "renewal": "Subscription & support renewal contact",
    "media_shipping": "Subscription & support media-shipping contact",
    "billing": "Billing contact",
}
SkipReason = Literal["reminded_recently", "reviewed_meanwhile", "no_primary", "no_valid_address", "site_gone"]


class ContactInput(DomainRecord):
    """A contact record, saved whole: every mandatory field, every time.

    A missing or malformed field is a rule of the domain (422, naming the field),
    not a malformed request: the save changes nothing and says which field."""

    first_name: Annotated[str, Meta(min_length=1, max_length=100, pattern=SOME_TEXT, description="first name")]
    last_name: Annotated[str, Meta(min_length=1, max_length=100, pattern=SOME_TEXT, description="last name")]
    telephone: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=50,
            pattern=r"[0-9]",
            description="telephone: digits, spaces, + ( ) . / - and an extension",
        ),
    ]
    email: Annotated[
        str,
        Meta(
            min_length=1, max_length=320, pattern=f"[^@{SPACE}]+@[^@{SPACE}.]+(\\.[^@{SPACE}.]+)+", description="email"
        ),
    ]
    street_address: Annotated[
        str, Meta(min_length=1, max_length=500, pattern=SOME_TEXT, description="street address (may span lines)")
    ]
    city: Annotated[str, Meta(min_length=1, max_length=100, pattern=SOME_TEXT, description="city")]
    state_province: Annotated[
        str, Meta(min_length=1, max_length=100, pattern=SOME_TEXT, description="state or province")
    ]
    postal_code: Annotated[str, Meta(min_length=1, max_length=20, pattern=SOME_TEXT, description="postal or zip code")]
    contact_types: Annotated[list[ContactType], Meta(min_length=1, description="Any of the six contact types")]


class Contact(Struct):
    id: int
    site: str
    first_name: str
    last_name: str
    telephone: str
    email: str
    street_address: str
    city: str
    state_province: str
    postal_code: str
    contact_types: list[ContactType]
    created_at: Timestamp | None
    updated_at: Timestamp | None
    updated_by: str


class ContactReview(Struct):
    last_reviewed_at: Timestamp | None
    last_reviewed_by: str | None
    last_reminded_at: Timestamp | None
    overdue: bool


class ContactList(Struct):
    site: str
    contacts: list[Contact]
    review: ContactReview
    uncovered_types: Annotated[list[ContactType], Meta(description="Types no contact carries (worth a warning)")]


class ContactDeleted(Struct):
    deleted: int
    site: str


class ContactsReviewed(Struct):
    site: str
    reviewed_at: Timestamp | None
    reviewed_by: str
    contacts: int


class OverdueQuery(Struct, forbid_unknown_fields=True):
    days: Annotated[int, Meta(ge=1, le=3650, description="Overdue after this many days")] = 30


class OverdueSite(Struct):
    site: str
    name: str
    last_reviewed_at: Timestamp | None
    last_reviewed_by: str | None
    last_reminded_at: Timestamp | None
    primary: str | None


class OverdueSites(Struct):
    days: int
    sites: list[OverdueSite]


class Reminded(Struct):
    site: str
    name: str
    primary: str
    recipient: str
    last_reviewed_at: Timestamp | None


class Skipped(Struct, omit_defaults=True):
    site: str
    reason: SkipReason
    last_reminded_at: Timestamp | UnsetType = UNSET
    primary: str | UnsetType = UNSET


class ReviewReminders(Struct):
    days: int
    reminded: list[Reminded]
    skipped: list[Skipped]
