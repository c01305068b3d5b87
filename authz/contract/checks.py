"""The check API: the contract other services code against (DESIGN.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from authz.contract.common import ActionId, ChangeSeq, LoginId, Role, SiteNumber, identifiers_accepted
from models.identifiers import is_acceptable

MAX_BATCH = 1000

ReasonCode = Literal[
    "allowed",
    "unknown_user",
    "identity_inactive",
    "unknown_site",
    "no_membership",
    "role_may_not_hold",
    "level_too_low",
    "not_permitted_for_role",
    "unknown_level",
    "unknown_role",
]


class CheckRequest(Struct, forbid_unknown_fields=True, frozen=True):
    """May USER do ACTION on SITE?"""

    user: LoginId
    site: SiteNumber
    action: ActionId
    min_change_seq: ChangeSeq | None = None

    def __post_init__(self) -> None:
        # Decoded on every check: the rule is asked directly, the explaining helper only on a refusal.
        if not (is_acceptable(self.user) and is_acceptable(self.site)):
            identifiers_accepted(self, "user", "site")


class BatchItem(Struct, forbid_unknown_fields=True, frozen=True):
    """One check of a batch (the batch's min_change_seq covers them all)."""

    user: LoginId
    site: SiteNumber
    action: ActionId

    def __post_init__(self) -> None:
        # Decoded on every check: the rule is asked directly, the explaining helper only on a refusal.
        if not (is_acceptable(self.user) and is_acceptable(self.site)):
            identifiers_accepted(self, "user", "site")


class BatchCheckRequest(Struct, forbid_unknown_fields=True, frozen=True):
    checks: Annotated[list[BatchItem], Meta(min_length=1, max_length=MAX_BATCH)]
    min_change_seq: ChangeSeq | None = None


class Reason(Struct, omit_defaults=True, frozen=True):
    """Why a decision came out as it did."""

    code: ReasonCode
    role: str | None = None
    application: str | None = None
    level: Annotated[str | None, Meta(description="The level that counted")] = None
    required_level: Annotated[str | None, Meta(description="The lowest level that would allow it")] = None
    rule: Annotated[str | None, Meta(description="The Casbin rule that allowed it")] = None
    source: Annotated[str | None, Meta(description="file:line of that rule")] = None


class Decision(Struct, frozen=True):
    allowed: bool
    decision_id: str
    policy_version: Annotated[str, Meta(description="Content hash of the policy files that decided")]
    change_seq: Annotated[int, Meta(description="The latest data change this answer reflects")]
    reason: Reason


class BatchResult(Struct):
    results: list[Decision]


class ApplicationPermissions(Struct):
    application: str
    level: Annotated[str, Meta(description="The level that counts")]
    allowed_actions: list[str]


class Permissions(Struct):
    user: str
    site: str
    role: Role
    policy_version: str
    change_seq: int
    applications: list[ApplicationPermissions]


class WhoCanQuery(Struct, forbid_unknown_fields=True):
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100
    after: Annotated[str, Meta(max_length=320, description="next_after of the previous page")] = ""


class Holder(Struct):
    user: str
    email: str
    role: Role
    level: str


class WhoCan(Struct):
    site: str
    action: str
    policy_version: str
    change_seq: int
    members: list[Holder]
    next_after: str | None
