"""Two replicas sharing one PostgreSQL, and the round that measures how soon a
revoke committed through one is honoured by every worker of the other. Used by
tests/integration/test_replicas.py (correctness, a few hundred rounds) and by
bench/replicas.py (the latency distribution, a thousand).

A round, writes through one replica (`writer`) and checks on the other
(`reader`), alternating direction round by round:

1. Grant two users of site 1001 `downloads` in purchase_download (so
   `download_software` is allowed), and make every worker of the reader answer
   "allowed" for both: each worker then holds both members in its cache.
2. Revoke the first (level `none`). From the moment the writer's answer arrives
   (the change is committed by then), check on the reader without a token,
   from several connections at once, until every worker (told apart by the
   first half of the decision id, drawn once per process) has answered
   "denied". The round's latency is the last worker's first denial (an upper
   bound: it includes the wait until a poll reaches that worker); the last
   "allowed" seen is a lower bound; an "allowed" that a worker gave after
   its own "denied" (in the order of its decision ids' counter) is a
   regression.
3. Revoke the second, and ask the reader with `min_change_seq` at once, from
   every connection: any "allowed" is a stale answer the token promised never
   to give."""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass

from tests.integration.server import Server

SITE = "1001"
ACTION = "download_software"
UNTOKENED = "carol@acme.example"  # honoured without a token: the latency
TOKENED = "Dana.Diaz"  # honoured with the token: stale answers
CONNECTIONS = 4  # client threads polling the reader (2 workers: both kept busy)


class RoundFailed(AssertionError):
    pass


@dataclass
class Round:
    writer: str  # the replica the changes went through ("a" or "b")
    latency_ms: float  # revoke committed -> every worker of the reader answers "denied", no token
    stale_ms: float  # revoke committed -> the last "allowed" seen from a reader worker (0: none): a lower bound
    polls: int  # checks sent until then
    regressions: int  # "allowed" from a worker after its own "denied"
    stale_with_token: int  # "allowed" answered to a check carrying the revoke's change seq
    tokened_checks: int


class Replicas:
    def __init__(self, a: Server, b: Server, admin: dict, check: dict, workers: int, deadline_s: float = 10.0):
        self.servers = {"a": a, "b": b}
        self.admin, self.check_headers = admin, check
        self.workers = workers  # per replica
        self.deadline_s = deadline_s  # a round that takes longer fails: never measured as a number

    def round(self, number: int) -> Round:
        writer, reader = ("a", "b") if number % 2 == 0 else ("b", "a")
        source, target = self.servers[writer], self.servers[reader]
        granted = max(self._set_level(source, user, "downloads") for user in (UNTOKENED, TOKENED))
        for user in (UNTOKENED, TOKENED):
            self._every_worker(target, user, granted, allowed=True)
        seq, committed = self._revoke(source, UNTOKENED)
        latency, last_stale, polls, regressions = self._until_every_worker_denies(target, UNTOKENED, seq, committed)
        seq, _ = self._revoke(source, TOKENED)
        stale, asked = self._tokened(target, TOKENED, seq)
        return Round(writer, latency * 1000, last_stale * 1000, polls, regressions, stale, asked)

    # -- writes -----------------------------------------------------------------

    def _set_level(self, server: Server, user: str, level: str) -> int:
        status, raw = server.call(
            "PATCH",
            f"/v1/sites/{SITE}/members/{user}",
            {"levels": {"purchase_download": level}},
            {**self.admin, "X-Acting-User": "alice@acme.example"},
        )
        if status != 200:
            raise RoundFailed(f"setting {user}'s level: {status} {raw[:300]!r}")
        return json.loads(raw)["change_seq"]

    def _revoke(self, server: Server, user: str) -> tuple[int, float]:
        seq = self._set_level(server, user, "none")
        return seq, time.monotonic()  # the answer is in: the change is committed

    # -- reads ------------------------------------------------------------------

    def _ask(self, server: Server, user: str, min_change_seq: int | None = None) -> tuple[str, bool, int, int]:
        """(worker, allowed, change seq, the worker's answer number). A decision id is
        a random half drawn once per process and a counter (authz/ids.py): the first
        names the worker, the second orders its answers as it gave them (client
        threads may read them in another order)."""
        body: dict = {"user": user, "site": SITE, "action": ACTION}
        if min_change_seq is not None:
            body["min_change_seq"] = min_change_seq
        status, raw = server.call("POST", "/v1/check", body, self.check_headers)
        if status != 200:
            raise RoundFailed(f"check of {user}: {status} {raw[:300]!r}")
        answer = json.loads(raw)
        decision = answer["decision_id"]
        return decision[:16], answer["allowed"], answer["change_seq"], int(decision[16:], 16)

    def _every_worker(self, server: Server, user: str, seq: int, allowed: bool) -> None:
        """Until each worker has answered ALLOWED about USER (asked with the token, so at once)."""
        seen: set[str] = set()

        def ask() -> bool:
            worker, answer, _, _ = self._ask(server, user, seq)
            if answer != allowed:
                raise RoundFailed(f"{user} answered {answer} with min_change_seq {seq}")
            seen.add(worker)
            return len(seen) >= self.workers

        self._in_parallel(ask, f"every worker to answer {allowed} for {user}")

    def _until_every_worker_denies(self, server: Server, user: str, seq: int, committed: float):
        first_denial: dict[str, float] = {}
        last_allowed = [committed]
        answers: list[tuple[str, int, bool]] = []  # (worker, answer number, allowed)
        lock = threading.Lock()

        def ask() -> bool:
            worker, allowed, _, number = self._ask(server, user)
            at = time.monotonic()
            with lock:
                answers.append((worker, number, allowed))
                if not allowed:
                    first_denial.setdefault(worker, at)
                else:
                    last_allowed[0] = max(last_allowed[0], at)
                return len(first_denial) >= self.workers

        self._in_parallel(ask, f"every worker to deny {user} (change {seq})")
        return max(first_denial.values()) - committed, last_allowed[0] - committed, len(answers), _regressions(answers)

    def _tokened(self, server: Server, user: str, seq: int) -> tuple[int, int]:
        stale, asked = [0], [0]
        lock = threading.Lock()

        def ask() -> bool:
            _, allowed, answered_seq, _ = self._ask(server, user, seq)
            if answered_seq < seq:
                raise RoundFailed(f"answered at change {answered_seq}, asked for at least {seq}")
            with lock:
                asked[0] += 1
                stale[0] += allowed
                return asked[0] >= 2 * CONNECTIONS

        self._in_parallel(ask, "the tokened checks")
        return stale[0], asked[0]

    def _in_parallel(self, ask, what: str) -> None:
        """ASK from CONNECTIONS threads until one of them returns True."""
        done = threading.Event()
        failures: list[BaseException] = []
        deadline = time.monotonic() + self.deadline_s

        def loop() -> None:
            try:
                while not done.is_set():
                    if ask():
                        done.set()
                    elif time.monotonic() > deadline:
                        raise RoundFailed(f"timed out waiting for {what}")
            except BaseException as error:  # kept for the caller, not lost in a thread
                failures.append(error)
                done.set()

        threads = [threading.Thread(target=loop, daemon=True) for _ in range(CONNECTIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.deadline_s + 15)
        if failures:
            raise failures[0]


def _regressions(answers: list[tuple[str, int, bool]]) -> int:
    """Answers "allowed" that a worker gave after it had answered "denied", in the
    order the worker gave them."""
    first_denied: dict[str, int] = {}
    for worker, number, allowed in answers:
        if not allowed and number < first_denied.get(worker, number + 1):
            first_denied[worker] = number
    return sum(1 for worker, number, allowed in answers if allowed and number > first_denied.get(worker, number))


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of VALUES (share in 0..1)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]
