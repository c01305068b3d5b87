"""Access requests: a person asks; a primary or a secondary with manage-access
update grants or denies with one of three reasons."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from msgspec import UNSET, Meta, Struct, UnsetType

from authz.contract.common import (
    MAX_ROW_ID,
    AssignableRole,
    ChangeSeq,
    DomainRecord,
    Levels,
    LoginId,
    PageLimit,
    Timestamp,
    identifiers_accepted,
)
from authz.contract.members import Member
from models.access_requests import DENY_REASONS

DENY_REASON_TEXT = DENY_REASONS  # reason id -> the words the requester reads
DenyReason = Literal["requestor_unknown", "access_not_necessary", "no_business_relationship"]
assert set(get_args(DenyReason)) == set(DENY_REASONS), "the reasons the table accepts"
RequestStatus = Literal["pending", "granted", "denied"]
OptionalJustification = Annotated[str, Meta(max_length=2000, description="Optional; blank counts as none")]


class AccessRequestInput(Struct, forbid_unknown_fields=True):
    business_justification: OptionalJustification | None = None
    login_id: (
        Annotated[
            LoginId,
            Meta(
                description="Operator scope only: the person asking. With an admin "
                "key the acting person asks for themselves"
            ),
        ]
        | UnsetType
    ) = UNSET

    def __post_init__(self) -> None:
        identifiers_accepted(self, "login_id")


class AccessRequestQuery(Struct, forbid_unknown_fields=True):
    status: RequestStatus | Literal["all"] = "pending"
    after: Annotated[int, Meta(ge=0, le=MAX_ROW_ID, description="next_after of the previous page")] = 0
    limit: PageLimit = 100
    order: Annotated[
        Literal["oldest", "newest"],
        Meta(description="oldest first (after: ids above it) or newest first (after: ids below it)"),
    ] = "oldest"


class Requester(Struct):
    login_id: str
    first_name: str
    last_name: str
    email: str
    phone: str


class AccessRequest(Struct):
    id: int
    site: str
    status: RequestStatus
    business_justification: str | None
    requested_at: Timestamp | None
    requester: Requester
    decided_at: Timestamp | None
    decided_by: str | None
    deny_reason: DenyReason | None
    deny_reason_text: str | None
    granted_role: AssignableRole | None
    granted_levels: Levels | None


class AccessRequestPage(Struct):
    site: str
    status: RequestStatus | Literal["all"]
    requests: list[AccessRequest]
    next_after: Annotated[int | None, Meta(description="Pass as ?after= for the next page; null on the last")]


class Grant(Struct, forbid_unknown_fields=True):
    role: AssignableRole
    levels: Levels | UnsetType = UNSET
    business_justification: Annotated[
        OptionalJustification | None, Meta(description="Required when the request gave none")
    ] = None


class Granted(Struct):
    request: AccessRequest
    member: Member
    change_seq: ChangeSeq


class Denial(DomainRecord):
    reason: DenyReason
