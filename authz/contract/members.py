"""Manage access: a site's members, the user check, sites and the primary role,
and a person's own profile."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from authz.contract.common import (
    NOT_SPACE,
    SPACE,
    AssignableRole,
    ChangeSeq,
    EmailAddress,
    Justification,
    Levels,
    LoginId,
    PageLimit,
    PersonName,
    PhoneNumber,
    Role,
    SiteName,
    SiteNumber,
    Timestamp,
    identifiers_accepted,
)


class Member(Struct):
    login_id: str
    email: str
    first_name: str
    last_name: str
    phone: str
    role: Role
    levels: Levels  # effective: a primary holds the highest of each
    added_at: Timestamp
    added_by: str | None
    active: Annotated[
        bool,
        Meta(description="False: deactivated by the identity provider; checks deny them, the membership is kept"),
    ] = True
    change_seq: (
        Annotated[ChangeSeq, Meta(description="On changes: pass as min_change_seq to see it in checks")] | UnsetType
    ) = UNSET


class MemberQuery(Struct, forbid_unknown_fields=True):
    role: Role | None = None
    q: Annotated[str | None, Meta(description="Search login id, names and email")] = None
    after: Annotated[str, Meta(max_length=320, description="next_after of the previous page")] = ""
    limit: PageLimit = 100


class MemberPage(Struct):
    site: str
    members: list[Member]
    next_after: str | None


class NewMember(Struct, forbid_unknown_fields=True):
    """A known identity added directly: they get a welcome message."""

    login_id: LoginId
    email: EmailAddress
    business_justification: Justification
    role: AssignableRole
    levels: Levels | UnsetType = UNSET

    def __post_init__(self) -> None:
        identifiers_accepted(self, "login_id")


class MemberChange(Struct, forbid_unknown_fields=True):
    """What to change; levels given are merged into the current ones."""

    json_schema_extra: ClassVar[dict[str, Any]] = {"minProperties": 1}  # read by api/openapi.py

    email: EmailAddress | UnsetType = UNSET
    first_name: PersonName | UnsetType = UNSET
    last_name: PersonName | UnsetType = UNSET
    phone: PhoneNumber | UnsetType = UNSET
    role: AssignableRole | UnsetType = UNSET
    levels: Levels | UnsetType = UNSET

    def __post_init__(self) -> None:
        if all(getattr(self, name) is UNSET for name in self.__struct_fields__):
            raise ValueError("the body must name at least one thing to change")


class MemberRemoved(Struct):
    removed: str
    site: str
    change_seq: ChangeSeq


IdentityStatus = Literal["known", "unknown", "inactive"]


class UserCheck(Struct):
    """Is a login id a known identity of the identity source (provisioned by the
    identity provider), and already a member here?"""

    login_id: str
    known: Annotated[bool, Meta(description="An active identity: one that may be added")]
    member: bool
    status: Annotated[
        IdentityStatus,
        Meta(description="known (active), inactive (deactivated by the identity provider: cannot be added), unknown"),
    ]


class NewPrimary(Struct, forbid_unknown_fields=True):
    login_id: LoginId
    email: EmailAddress
    first_name: PersonName | UnsetType = UNSET
    last_name: PersonName | UnsetType = UNSET
    phone: PhoneNumber | UnsetType = UNSET

    def __post_init__(self) -> None:
        identifiers_accepted(self, "login_id")


class NewSite(Struct, forbid_unknown_fields=True):
    """A site with its primary contact (an existing identity, or one made from these details)."""

    number: SiteNumber
    name: SiteName
    primary: NewPrimary

    def __post_init__(self) -> None:
        identifiers_accepted(self, "number")


class SiteCreated(Struct):
    number: str
    name: str
    primary: str
    change_seq: ChangeSeq


class SiteSummary(Struct):
    number: str
    name: str
    primary: str | None
    secondaries: int
    users: int
    needs_new_primary: Annotated[
        bool, Meta(description="The primary contact is an inactive identity: transfer the role to another member")
    ] = False


class SiteList(Struct):
    sites: list[SiteSummary]


class PrimaryTransfer(Struct, forbid_unknown_fields=True):
    to: Annotated[LoginId, Meta(description="Login id of a member of the site")]
    former_primary_role: AssignableRole = "secondary"

    def __post_init__(self) -> None:
        identifiers_accepted(self, "to")


class PrimaryTransferred(Struct):
    site: str
    primary: str
    former_primary: str
    former_primary_role: AssignableRole
    change_seq: ChangeSeq


class Profile(Struct):
    login_id: str
    email: str
    first_name: str
    last_name: str
    phone: str
    notification_email: Annotated[str | None, Meta(description="Where messages go; null: the email")]


class NotificationEmail(Struct, forbid_unknown_fields=True):
    """Set (or, with null, clear: messages then go to the login email) one's own notification email."""

    notification_email: (
        Annotated[str, Meta(max_length=320, pattern=f"^[{SPACE}]*{NOT_SPACE}*@{NOT_SPACE}*[{SPACE}]*$")] | None
    )


class MySite(Struct):
    """A site the acting person belongs to, with their role there."""

    number: str
    name: str
    role: Role


class MySites(Struct):
    login_id: str
    known: Annotated[bool, Meta(description="False: not a known identity (never provisioned)")]
    active: bool
    sites: list[MySite]


class Standing(Struct):
    """What the acting person holds on a site and may do there (the decision table's
    cells for their role and levels)."""

    site: str
    name: str
    role: Role
    levels: Levels  # effective
    allowed_actions: list[str]


class ActionChange(Struct):
    action: str
    label: str
    application: str


class ChangePreview(Struct):
    """What a change of a member's role and levels would do, before it is made:
    the actions gained and lost (decided by the policy in force), and the refusal
    the change would meet, if any (the same rules the change runs)."""

    login_id: str | None
    role: AssignableRole
    levels: Levels  # every application, after the change
    gained: list[ActionChange]
    lost: list[ActionChange]
    refusal: str | None
    refusal_field: str | None


RefusalKind = Literal["role_may_not_hold", "above_own_level"]


class MatrixLevel(Struct):
    level: str
    label: str
    refusal: Annotated[
        RefusalKind | None,
        Meta(description="Why the acting person may not give this level here; null: they may"),
    ]


class MatrixRow(Struct):
    application: str
    label: str
    account_management: bool
    levels: list[MatrixLevel]
    held: Annotated[str, Meta(description="The acting person's own level")]


class PrivilegeMatrix(Struct):
    """The applications and levels a person may be given, as the acting person may give them."""

    role: AssignableRole
    rows: list[MatrixRow]
    secondaries: Annotated[int, Meta(description="Secondary contacts the site has now")]
    max_secondaries: int
