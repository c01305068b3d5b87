"""The policy decision point: find the member's role and levels, and let the
compiled table decide."""

from __future__ import annotations

from collections.abc import Iterable

from authz import metrics
from authz.contract.checks import BatchItem, CheckRequest, Decision, Reason
from authz.decisions.member_cache import Absent, MemberCache
from authz.engine.table import DecisionTable
from authz.ids import unique_id
from models.identifiers import login_key

# One reason per kind of absence, shared by every answer (they are immutable).
_ABSENT_REASONS = {
    code: Reason(code) for code in ("unknown_user", "identity_inactive", "unknown_site", "no_membership")
}


class DecisionPoint:
    def __init__(self, members: MemberCache):
        self._members = members

    def decide(self, table: DecisionTable, check: CheckRequest | BatchItem, change_seq: int) -> Decision:
        """The answer to one well-formed check. Every path that is not a table
        verdict for a real member is a denial."""
        answer = self._answer(table, check, change_seq)
        metrics.TALLY.count(metrics.ALLOWED if answer.allowed else metrics.DENIED)
        return answer

    def decide_all(self, table: DecisionTable, checks: Iterable[BatchItem], change_seq: int) -> list[Decision]:
        """The answers to a batch, in order. The outcome counters move once per
        batch, by the same totals as one `decide` per check would."""
        answers = [self._answer(table, check, change_seq) for check in checks]
        allowed = sum(1 for answer in answers if answer.allowed)
        if allowed:
            metrics.TALLY.count(metrics.ALLOWED, allowed)
        if len(answers) > allowed:
            metrics.TALLY.count(metrics.DENIED, len(answers) - allowed)
        return answers

    def _answer(self, table: DecisionTable, check: CheckRequest | BatchItem, change_seq: int) -> Decision:
        entry = self._members.get(login_key(check.user), check.site)
        if isinstance(entry, Absent):
            return Decision(False, unique_id(), table.version, change_seq, _ABSENT_REASONS[entry.code])
        verdict = table.decide(entry.role, entry.levels, check.action)
        return Decision(verdict.allowed, unique_id(), table.version, change_seq, verdict.reason)
