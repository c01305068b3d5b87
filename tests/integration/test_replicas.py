"""Two replicas (gunicorn servers on two loopback ports, two workers each)
sharing one PostgreSQL: a revoke committed through one is honoured by every
worker of the other, pushed by LISTEN/NOTIFY; a check carrying the revoke's
change seq is never answered from before it; with the channel cut, the change-log
poll still honours every revoke and the listeners come back by themselves.

Correctness only: the bounds asserted here are generous limits, not timing
claims (the latency distribution is bench/replicas.py's, in bench/README.md).
AUTHZ_TEST_REPLICA_ROUNDS sets the number of rounds (200)."""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest

from authz.accounts.importer import import_file
from authz.authn.keys import create_key
from authz.config import PROJECT_ROOT
from models.change_channel import APPLICATION_NAME
from models.db import db
from tests.conftest import BACKENDS, _fresh_postgres
from tests.integration.replicas import Replicas
from tests.integration.server import gunicorn, wait_until

pytestmark = pytest.mark.integration

ROUNDS = int(os.environ.get("AUTHZ_TEST_REPLICA_ROUNDS", "200"))
WORKERS = 2  # per replica
# Only the channel can honour a change this fast: the poll waits a minute.
NO_POLL = {"AUTHZ_CHANGE_POLL_MS": "60000"}
CORRECTNESS_LIMIT_MS = 5000  # far above anything measured (bench/README.md); a failure means "never"


@pytest.fixture(params=[b for b in BACKENDS if b == "postgres"])
def database_url(request):
    """PostgreSQL only (not generated where it is absent)."""
    return _fresh_postgres(request)


@pytest.fixture
def keys(database, policy_table):
    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)
    check = {"Authorization": f"Bearer {create_key('checks', 'check')[0]}"}
    admin = {"Authorization": f"Bearer {create_key('console', 'admin')[0]}"}
    return admin, check


def replicas(stack: ExitStack, tmp_path, database_url, keys, **env: str) -> Replicas:
    servers = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        servers.append(stack.enter_context(gunicorn(tmp_path / name, database_url, workers=WORKERS, **env)))
    admin, check = keys
    return Replicas(servers[0], servers[1], admin, check, WORKERS, deadline_s=CORRECTNESS_LIMIT_MS / 1000)


def listeners() -> list[int]:
    """The backend pids of every change listener's session."""
    rows = db.execute_sql("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (APPLICATION_NAME,))
    return [pid for (pid,) in rows.fetchall()]


def test_every_revoke_is_honoured_by_every_worker_of_the_other_replica_and_never_stale_with_the_token(
    tmp_path, database_url, keys
):
    with ExitStack() as stack:
        pair = replicas(stack, tmp_path, database_url, keys, **NO_POLL)
        rounds = [pair.round(number) for number in range(ROUNDS)]
    assert sum(r.regressions for r in rounds) == 0
    assert sum(r.stale_with_token for r in rounds) == 0
    assert sum(r.tokened_checks for r in rounds) >= ROUNDS * 8
    assert {r.writer for r in rounds} == {"a", "b"}
    slowest = max(r.latency_ms for r in rounds)
    assert slowest < CORRECTNESS_LIMIT_MS, f"a revoke was honoured only after {slowest:.0f} ms"


def test_with_the_channel_cut_the_poll_honours_revokes_and_the_listeners_return(tmp_path, database_url, keys):
    with ExitStack() as stack:
        pair = replicas(stack, tmp_path, database_url, keys)  # the poll at its default, 250 ms
        pair.round(0)  # every worker has read the feed: every listener is up
        wait_until(lambda: len(listeners()) == 2 * WORKERS, "every worker's listener")
        rounds = []
        for number in range(1, 21):
            cut = listeners()
            db.execute_sql("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (cut,))
            rounds.append(pair.round(number))
        wait_until(
            lambda: len(back := listeners()) == 2 * WORKERS and not set(back) & set(cut), "the listeners to return"
        )
        rounds.append(pair.round(21))  # and the pair still agrees
    assert sum(r.regressions + r.stale_with_token for r in rounds) == 0
    assert max(r.latency_ms for r in rounds) < CORRECTNESS_LIMIT_MS
