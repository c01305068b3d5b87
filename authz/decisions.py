"""The policy decision point: parse a check, find the member's role and level,
and look the answer up in the compiled table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from authz import metrics
from authz.errors import InvalidInput, UnknownAction
from authz.member_cache import Absent, MemberCache
from authz.table import DecisionTable
from models.schema import login_key

MAX_LENGTH = {"user": 320, "site": 64, "action": 64}
MAX_BATCH = 1000


@dataclass(frozen=True)
class CheckRequest:
    user: str
    site: str
    action: str


def parse_check(body: Any, table: DecisionTable, where: str = "") -> CheckRequest:
    """Validate one check; raise InvalidInput naming the offending field."""
    if not isinstance(body, dict):
        raise InvalidInput(f"{where or 'the body'} must be a JSON object", field=where or None)
    extra = sorted(set(body) - set(MAX_LENGTH) - ({"min_change_seq"} if not where else set()))
    if extra:
        raise InvalidInput(f"unknown field '{where}{extra[0]}'", field=f"{where}{extra[0]}")
    values = {}
    for name, limit in MAX_LENGTH.items():
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"'{where}{name}' is required and must be a non-empty string", field=f"{where}{name}")
        if len(value) > limit:
            raise InvalidInput(f"'{where}{name}' is longer than {limit} characters", field=f"{where}{name}")
        values[name] = value.strip()
    if table.application_of(values["action"]) is None:
        raise UnknownAction(f"unknown action '{values['action']}' (GET /v1/policy lists them)", field=f"{where}action")
    return CheckRequest(**values)


def parse_min_change_seq(body: dict) -> int | None:
    value = body.get("min_change_seq")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput("'min_change_seq' must be a non-negative integer", field="min_change_seq")
    return value


class DecisionPoint:
    def __init__(self, members: MemberCache):
        self._members = members

    def decide(self, table: DecisionTable, check: CheckRequest, change_seq: int) -> dict:
        """The answer to one well-formed check. Every path that is not a table
        verdict for a real member is a denial."""
        entry = self._members.get(login_key(check.user), check.site)
        if isinstance(entry, Absent):
            allowed, reason = False, {"code": entry.code}
        else:
            application = table.application_of(check.action)
            level = entry.levels.get(application) or table.lowest_level(application)
            verdict = table.verdict(entry.role, check.action, level)
            allowed, reason = verdict.allowed, verdict.reason
        (metrics.ALLOWED if allowed else metrics.DENIED).inc()
        return {
            "allowed": allowed,
            "decision_id": uuid.uuid4().hex,
            "policy_version": table.version,
            "change_seq": change_seq,
            "reason": reason,
        }
