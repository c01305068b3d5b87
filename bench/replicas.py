"""How soon a revoke committed through one replica is honoured by every worker of
another: two gunicorn servers (2 workers each) on two loopback ports sharing one
PostgreSQL database, 1000 rounds per mode. See bench/README.md.

    .venv/bin/python bench/replicas.py                 # all modes, 1000 rounds each
    .venv/bin/python bench/replicas.py --rounds 200 --modes notify
    .venv/bin/python bench/replicas.py --quick        # smoke: notify and cut, 30 rounds each

Modes: `notify` (the defaults: LISTEN/NOTIFY, and the change-log poll every
250 ms as the safety net), `poll` (AUTHZ_CHANGE_NOTIFY=off: the poll alone, as
when the channel is down for good), `cut` (the defaults, but every listener's
session is terminated before each round: the channel keeps dropping and
reconnecting). A round is tests/integration/replicas.py's: grant, every reader
worker caches "allowed"; revoke through the writer, then poll the reader
without a token from 4 connections until each of its workers has answered
"denied" (latency: from the writer's answer to the last worker's first denial);
then revoke another member and ask with the token (stale answers counted).
Writes go through each replica in turn.

Needs PostgreSQL (AUTHZ_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres: a database of its own is created
and dropped). Writes bench/RESULTS-replicas.md (with --quick,
var/bench/RESULTS-replicas-quick.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import goals  # noqa: E402
import psycopg2  # noqa: E402

from authz.accounts.importer import import_file  # noqa: E402
from authz.authn.keys import create_key  # noqa: E402
from authz.engine.compiler import compile_policy  # noqa: E402
from models.change_channel import APPLICATION_NAME  # noqa: E402
from models.db import db, open_database  # noqa: E402
from models.migrate import migrate  # noqa: E402
from tests.integration.replicas import Replicas, Round, percentile  # noqa: E402
from tests.integration.server import gunicorn  # noqa: E402

RESULTS = BENCH / "RESULTS-replicas.md"
QUICK_RESULTS = ROOT / "var" / "bench" / "RESULTS-replicas-quick.md"  # a smoke run keeps RESULTS
QUICK_ROUNDS, QUICK_MODES = 30, "notify,cut"  # the modes the goals need
WORK = ROOT / "var" / "bench" / "replicas"
WORKERS = 2
MODES = {
    "notify": {},
    "poll": {"AUTHZ_CHANGE_NOTIFY": "off"},
    "cut": {},
}
GOAL_P99_MS = 50.0  # notify: every worker of the other replica, p99
POLL_BOUND_MS = 250.0  # poll and cut: AUTHZ_CHANGE_POLL_MS


def fresh_database(server_url: str) -> tuple[str, str]:
    name = f"authz_bench_replicas_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return name, server_url.rsplit("/", 1)[0] + "/" + name


def drop_database(server_url: str, name: str) -> None:
    if db.obj is not None and not db.is_closed():
        db.close()
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def seed(url: str) -> tuple[dict, dict]:
    open_database(url)
    migrate()
    import_file(ROOT / "deploy" / "demo-data.yaml", compile_policy(ROOT / "policies"))
    check = {"Authorization": f"Bearer {create_key('bench', 'check')[0]}"}
    admin = {"Authorization": f"Bearer {create_key('bench-console', 'admin')[0]}"}
    return admin, check


def cut_listeners() -> int:
    cursor = db.execute_sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
        (APPLICATION_NAME,),
    )
    return cursor.fetchone()[0]


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU of PIDS and their children so far (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        for task in _family(pid):
            try:
                fields = Path(f"/proc/{task}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _family(pid: int) -> list[int]:
    family = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return family
    for child in children:
        family.extend(_family(int(child)))
    return family


def run_mode(mode: str, url: str, keys: tuple[dict, dict], rounds: int) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    admin, check = keys
    with ExitStack() as stack:
        servers = []
        for name in ("a", "b"):
            workdir = WORK / f"{mode}-{name}"
            workdir.mkdir(exist_ok=True)
            servers.append(stack.enter_context(gunicorn(workdir, url, workers=WORKERS, **MODES[mode])))
        pair = Replicas(servers[0], servers[1], admin, check, WORKERS)
        pair.round(0)  # warm: every worker has started its feed (and listener)
        cpu_before = cpu_seconds([s.process.pid for s in servers])
        started = time.monotonic()
        done: list[Round] = []
        cuts = 0
        for number in range(1, rounds + 1):
            if mode == "cut":
                cuts += cut_listeners()
            done.append(pair.round(number))
        elapsed = time.monotonic() - started
        cpu = cpu_seconds([s.process.pid for s in servers]) - cpu_before
    latencies = [r.latency_ms for r in done]
    stale = [r.stale_ms for r in done]
    return {
        "stale_p50": percentile(stale, 0.50),
        "stale_p99": percentile(stale, 0.99),
        "mode": mode,
        "rounds": rounds,
        "p50": percentile(latencies, 0.50),
        "p90": percentile(latencies, 0.90),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies),
        "mean": statistics.fmean(latencies),
        "regressions": sum(r.regressions for r in done),
        "stale": sum(r.stale_with_token for r in done),
        "tokened": sum(r.tokened_checks for r in done),
        "polls": statistics.fmean(r.polls for r in done),
        "cuts": cuts,
        "seconds": elapsed,
        "server_cpu_s": cpu,
    }


def table(results: list[dict]) -> str:
    lines = [
        "| mode | rounds | p50 ms | p90 ms | p99 ms | max ms | last allow seen p50 / p99 ms | "
        "stale allows with token | regressions | listener sessions cut | servers' CPU s |",
        "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    ]
    for r in results:
        lines.append(
            f"| {r['mode']} | {r['rounds']} | {r['p50']:.1f} | {r['p90']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | "
            f"{r['stale_p50']:.1f} / {r['stale_p99']:.1f} | "
            f"{r['stale']} of {r['tokened']} | {r['regressions']} | {r['cuts']} | {r['server_cpu_s']:.1f} |"
        )
    return "\n".join(lines)


def verdicts(results: list[dict]) -> list[str]:
    out = []
    for r in results:
        bound, what = (GOAL_P99_MS, "p99 <= 50 ms") if r["mode"] == "notify" else (POLL_BOUND_MS, "p99 <= 250 ms")
        ok = r["p99"] <= bound and r["stale"] == 0 and r["regressions"] == 0
        out.append(f"- {r['mode']}: {what}, 0 stale with the token: {'pass' if ok else 'FAIL'}")
    return out


# Each mode's latency goal: (mode, goal key, the goal, its bound in ms, a note from its results).
MODE_GOALS = [
    (
        "notify",
        "notify_p99",
        "without a token: revoke honoured by every worker of the other replica, p99",
        GOAL_P99_MS,
        lambda r: f"p50 {r['p50']:.1f} ms, max {r['max']:.1f} ms",
    ),
    (
        "cut",
        "cut_p99",
        "channel cut before every round: revoke honoured, p99",
        POLL_BOUND_MS,
        lambda r: f"{r['cuts']} listener sessions cut",
    ),
    ("poll", "poll_p99", "poll only (AUTHZ_CHANGE_NOTIFY=off): revoke honoured, p99", POLL_BOUND_MS, lambda r: ""),
]


def measured_goals(results: list[dict]) -> list[goals.Goal]:
    """Issue 13's replica goals from the modes that ran (a mode not run measures none)."""
    by_mode = {r["mode"]: r for r in results}
    out = [
        goals.Goal(key, goal, "<=", bound, "ms", r["p99"], f"replicas.py: mode {mode}, {r['rounds']} rounds", note(r))
        for mode, key, goal, bound, note in MODE_GOALS
        if (r := by_mode.get(mode)) is not None
    ]
    if results:
        modes = ", ".join(f"{r['mode']} ({r['rounds']} rounds)" for r in results)
        out.append(
            goals.Goal(
                "token_stale",
                "with the token: stale allows",
                "==",
                0,
                "stale allows",
                sum(r["stale"] for r in results),
                f"replicas.py: modes {modes}",
                f"of {sum(r['tokened'] for r in results):,} checks with the token",
            )
        )
        out.append(
            goals.Goal(
                "no_regressions",
                "no worker answers allowed after its own denied",
                "==",
                0,
                "regressions",
                sum(r["regressions"] for r in results),
                f"replicas.py: modes {modes}",
            )
        )
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_ROUNDS} rounds of {QUICK_MODES}, to {QUICK_RESULTS.name}",
    )
    goals.add_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.modes = QUICK_ROUNDS, QUICK_MODES
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode(s): {', '.join(unknown)}")
    server_url = os.environ.get("AUTHZ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name, url = fresh_database(server_url)
    results = []
    try:
        keys = seed(url)
        for mode in modes:
            print(f"{mode}: {args.rounds} rounds ...", flush=True)
            results.append(run_mode(mode, url, keys, args.rounds))
            print(table(results[-1:]), flush=True)
    finally:
        drop_database(server_url, name)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python bench/replicas.py " + " ".join(argv)
    report = "\n".join(
        [
            "# Replicas: revoke -> honoured by every worker of the other replica",
            "",
            f"{when}, `{command.strip()}`, {platform.node()} ({os.cpu_count()} cores, shared with PostgreSQL "
            "and whatever else runs), PostgreSQL on 127.0.0.1.",
            "",
            table(results),
            "",
            *verdicts(results),
            "",
            "Latency: from the writer's answer to the revoke (committed) to the first `denied` from the "
            "last of the reader's workers, polled from 4 connections without a token: an upper bound, which "
            "includes the wait until a check reaches that worker. 'Last allow seen': the latest `allowed` "
            "answered after the revoke (a lower bound of the same). "
            f"Load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores. "
            "Method: bench/README.md.",
        ]
    )
    target = QUICK_RESULTS if args.quick else RESULTS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(report + "\n")
    print("\n" + report)
    goals.write(args.goals_json, "replicas.py", command.strip(), measured_goals(results))
    return 0 if all(line.endswith("pass") for line in verdicts(results)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
