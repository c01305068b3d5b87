"""The policy decision point: parse a check, find the member's role and level,
and look the answer up in the compiled table."""

from __future__ import annotations

import itertools
import os
from typing import Any, Iterable, NamedTuple

from authz import metrics
from authz.errors import InvalidInput, UnknownAction
from authz.decisions.member_cache import Absent, MemberCache
from authz.engine.table import DecisionTable
from models.schema import login_key

MAX_LENGTH = {"user": 320, "site": 64, "action": 64}
MAX_BATCH = 1000
_FIELDS = tuple(MAX_LENGTH.items())
# The keys a check may have, by whether it is an item of a batch (whose
# min_change_seq belongs to the batch) or stands alone.
_KNOWN_KEYS = {True: frozenset(MAX_LENGTH), False: frozenset(MAX_LENGTH) | {"min_change_seq"}}


class _UniqueIds:
    """Ids for decisions and requests: 32 hex digits, a random half drawn once per
    process and a counter. Unique across workers, restarts and replicas (64
    random bits per process); not secret, so no randomness is drawn per id. A
    forked child draws its own random half."""

    def __init__(self):
        self._renew()
        os.register_at_fork(after_in_child=self._renew)

    def _renew(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


unique_id = _UniqueIds().next


class CheckRequest(NamedTuple):  # a tuple: built once per check, a frozen dataclass costs 3x
    user: str
    site: str
    action: str


def parse_check(body: Any, table: DecisionTable, where: str = "") -> CheckRequest:
    """Validate one check; raise InvalidInput naming the offending field."""
    if not isinstance(body, dict):
        raise InvalidInput(f"{where or 'the body'} must be a JSON object", field=where or None)
    known = _KNOWN_KEYS[bool(where)]
    if not body.keys() <= known:  # a batch parses many: no set is built unless one is wrong
        extra = sorted(set(body) - known)
        raise InvalidInput(f"unknown field '{where}{extra[0]}'", field=f"{where}{extra[0]}")
    values = []
    for name, limit in _FIELDS:
        value = body.get(name)
        stripped = value.strip() if isinstance(value, str) else ""
        if not stripped:
            raise InvalidInput(f"'{where}{name}' is required and must be a non-empty string", field=f"{where}{name}")
        if len(value) > limit:
            raise InvalidInput(f"'{where}{name}' is longer than {limit} characters", field=f"{where}{name}")
        values.append(stripped)
    user, site, action = values
    if table.application_of(action) is None:
        raise UnknownAction(f"unknown action '{action}' (GET /v1/policy lists them)", field=f"{where}action")
    return CheckRequest(user, site, action)


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
        answer = self._answer(table, check, change_seq)
        metrics.TALLY.count(metrics.ALLOWED if answer["allowed"] else metrics.DENIED)
        return answer

    def decide_all(self, table: DecisionTable, checks: Iterable[CheckRequest], change_seq: int) -> list[dict]:
        """The answers to a batch, in order. The outcome counters move once per
        batch, by the same totals as one `decide` per check would."""
        answers = [self._answer(table, check, change_seq) for check in checks]
        allowed = sum(1 for answer in answers if answer["allowed"])
        if allowed:
            metrics.TALLY.count(metrics.ALLOWED, allowed)
        if len(answers) > allowed:
            metrics.TALLY.count(metrics.DENIED, len(answers) - allowed)
        return answers

    def _answer(self, table: DecisionTable, check: CheckRequest, change_seq: int) -> dict:
        entry = self._members.get(login_key(check.user), check.site)
        if isinstance(entry, Absent):
            allowed, reason = False, {"code": entry.code}
        else:
            application = table.application_of(check.action)
            level = entry.levels.get(application) or table.lowest_level(application)
            verdict = table.verdict(entry.role, check.action, level)
            allowed, reason = verdict.allowed, verdict.reason
        return {
            "allowed": allowed,
            "decision_id": unique_id(),
            "policy_version": table.version,
            "change_seq": change_seq,
            "reason": reason,
        }
