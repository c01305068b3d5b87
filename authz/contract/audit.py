"""A site's audit trail as its administrators read it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from authz.contract.common import MAX_ROW_ID, Timestamp


class AuditQuery(Struct, forbid_unknown_fields=True):
    limit: Annotated[int, Meta(ge=1, le=500)] = 100
    before: Annotated[int, Meta(ge=1, le=MAX_ROW_ID, description="next_before of the previous page")] | None = None
    actor: (
        Annotated[str, Meta(max_length=320, description="Only records by this actor (exactly as recorded)")] | None
    ) = None
    action: Annotated[str, Meta(max_length=64, description="Only records of this action")] | None = None


class AuditEntry(Struct):
    seq: int
    at: Timestamp
    actor: str
    site_number: str | None
    action: str
    target: str | None
    outcome: Literal["done", "refused"]
    before: Any
    after: Any
    detail: str | None


class AuditPage(Struct):
    site: str
    records: list[AuditEntry]
    next_before: int | None
