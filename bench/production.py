"""The check API in production shape: PostgreSQL at 1M memberships beside the bare
endpoint and SQLite, in one run, on one machine. See bench/README.md.

    .venv/bin/python bench/production.py              # or: make bench-postgres
    .venv/bin/python bench/production.py --quick      # a smoke run

Phases (each a gunicorn server from deploy/gunicorn.conf.py, 2 sync workers, the
default settings): the bare endpoint; the service on SQLite at 1k and at 1M
memberships and on PostgreSQL at 1M (the same rows, bench/pg_data.py), with
checks drawn uniformly from all memberships; and a hot set (the first
5,000 bodies of the request file, which every worker's member cache holds) on
SQLite and on PostgreSQL at 1M. PostgreSQL runs on this machine and shares its
cores: its CPU time per check is reported beside the workers'. Rounds alternate
the order, as bench.py's do; a goal's ratio is the median of per-round ratios
of two phases run next to each other. Writes bench/RESULTS-production.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import goals  # noqa: E402
import pg_data  # noqa: E402

import bench as core  # noqa: E402

RESULTS = BENCH / "RESULTS-production.md"
# Each worker's member cache budget on the servers that hold the 1M table: a copy of
# it takes about 125 MiB, which must fit 3/4 of the budget (authz/decisions/resident.py).
TABLE_MB = 192
HELD = "member table held"
QUICK_RESULTS = core.ROOT / "var" / "bench" / "RESULTS-production-quick.md"
HOT = 5_000  # bodies in the hot set: fewer members than one worker's cache holds

GOALS = [
    ("pg_vs_bare", "PostgreSQL @1M uniform: throughput vs bare", ">=", 0.80),
    ("pg_p99_vs_bare", "PostgreSQL @1M uniform: p99 vs bare p99", "<=", 1.50),
    ("sqlite_big_vs_small", "SQLite: throughput @1M vs @1k", ">=", 0.95),
    ("hot_pg_vs_sqlite", "hot set @1M: PostgreSQL vs SQLite throughput", ">=", 0.95),
]
# The two phases, run next to each other, whose per-round ratio is each goal.
MEASURED_BY = {
    "pg_vs_bare": "check pg@1M / bare, req/s",
    "pg_p99_vs_bare": "check pg@1M / bare, p99",
    "sqlite_big_vs_small": "check sqlite@1M / check sqlite@1k, req/s",
    "hot_pg_vs_sqlite": "hot pg@1M / hot sqlite@1M, req/s",
}


@dataclass
class Load:
    """What wrk sends (a request file and a key) and what to warm before a phase."""

    requests: Path
    key_text: str
    data: generate.DataSet
    postgres: bool

    def key(self) -> str:
        return self.key_text

    def load_into_page_cache(self) -> None:
        if not self.postgres:  # PostgreSQL keeps its own buffers
            self.data.load_into_page_cache()


def hot_requests(data: generate.DataSet) -> Path:
    path = data.folder / "requests-hot.jsonl"
    if not path.exists():
        with data.requests.open() as source:
            lines = [next(source) for _ in range(HOT)]
        path.write_text("".join(lines))
    return path


def postgres_cpu_seconds(database: str) -> float:
    """utime + stime so far of the PostgreSQL backends serving DATABASE (from
    /proc): the server is shared, and other databases' work is not ours."""
    import psycopg2

    with psycopg2.connect(pg_data.SERVER_URL) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
        pids = [pid for (pid,) in cursor.fetchall()]
    admin.close()
    return core.cpu_seconds(pids)


class Phase(core.Phase):
    pg_database = ""  # the PostgreSQL database this phase's server reads ("" for none)

    def run(self, seconds: float, connections: int) -> dict:
        before = postgres_cpu_seconds(self.pg_database) if self.pg_database else 0.0
        summary = super().run(seconds, connections)
        summary["pg_cpu_s"] = (postgres_cpu_seconds(self.pg_database) - before) if self.pg_database else 0.0
        # Other load: PostgreSQL's share is this service's, not someone else's.
        summary["other_cores"] = max(0.0, summary["other_cores"] - summary["pg_cpu_s"] / (summary["duration_us"] / 1e6))
        summary["pg_cpu_us_per_item"] = 1e6 * summary["pg_cpu_s"] / max(1, summary["requests"])
        return summary


def goal_values(p: dict[str, Phase]) -> dict[str, float]:
    ratio = core.paired_ratio
    values = {
        "pg_vs_bare": ratio(p["pg_big"], p["bare"], "rps"),
        "pg_p99_vs_bare": ratio(p["pg_big"], p["bare"], "p99_us"),
        "sqlite_big_vs_small": ratio(p["sqlite_big"], p["sqlite_small"], "rps"),
        "hot_pg_vs_sqlite": ratio(p["pg_hot"], p["sqlite_hot"], "rps"),
    }
    if "pg_lru" in p:  # not a goal: the same without a copy of the table, every miss a round trip
        values["lru_vs_bare"] = ratio(p["pg_lru"], p["bare"], "rps")
        values["lru_p99_vs_bare"] = ratio(p["pg_lru"], p["bare"], "p99_us")
    return values


def cpu_values(p: dict[str, Phase]) -> dict[str, float]:
    """The throughput goals from CPU per check (workers, plus PostgreSQL's where it ran)."""

    def per_check(phase: Phase) -> list[float]:
        return [r["server_cpu_us_per_item"] + r["pg_cpu_us_per_item"] for r in phase.runs]

    def ratio(top: Phase, bottom: Phase) -> float:
        return statistics.median(b / t for t, b in zip(per_check(top), per_check(bottom), strict=True))

    return {
        "pg_vs_bare": ratio(p["pg_big"], p["bare"]),
        "sqlite_big_vs_small": ratio(p["sqlite_big"], p["sqlite_small"]),
        "hot_pg_vs_sqlite": ratio(p["pg_hot"], p["sqlite_hot"]),
    }


PHASE_HEADER = ["phase", "req/s", "p50 ms", "p99 ms", "workers' CPU µs/check", "PostgreSQL CPU µs/check", "other load"]


def phase_rows(phases: dict[str, Phase]) -> list[list[str]]:
    return [
        [
            phase.name,
            f"{phase.median('rps'):,.0f}",
            f"{phase.median('p50_us') / 1000:.2f}",
            f"{phase.median('p99_us') / 1000:.2f}",
            f"{phase.median('server_cpu_us_per_item'):,.0f}",
            f"{phase.median('pg_cpu_us_per_item'):,.0f}",
            f"{phase.median('other_cores'):.2f}",
        ]
        for phase in phases.values()
    ]


INFO = [
    ("lru_vs_bare", "(not a goal) PostgreSQL @1M, LRU only (8 MiB): throughput vs bare", ">=", 0.80),
    ("lru_p99_vs_bare", "(not a goal) PostgreSQL @1M, LRU only (8 MiB): p99 vs bare p99", "<=", 1.50),
]


def goal_rows(values: dict[str, float], by_cpu: dict[str, float]) -> list[list[str]]:
    return [
        [
            label,
            f"{comparison} {target:g}x",
            f"{values[key]:.3f}x",
            "PASS" if core.met(values[key], comparison, target) else "MISS",
            f"{by_cpu[key]:.3f}x" if key in by_cpu else "",
        ]
        for key, label, comparison, target in GOALS + [info for info in INFO if info[0] in values]
    ]


def measured_goals(values: dict[str, float], by_cpu: dict[str, float]) -> list[goals.Goal]:
    """The goals of this run, for bench/scale.py (the server-CPU ratio as a note)."""
    return [
        goals.Goal(
            key,
            label,
            comparison,
            target,
            "x",
            values[key],
            f"production.py: {MEASURED_BY[key]}",
            "; ".join(
                ([f"by server CPU {by_cpu[key]:.3f}x"] if key in by_cpu else [])
                + (
                    [f"LRU only {values['lru_vs_bare']:.3f}x"]
                    if key == "pg_vs_bare" and "lru_vs_bare" in values
                    else []
                )
            ),
        )
        for key, label, comparison, target in GOALS
    ]


def hold_table(server: core.Server, load: Load, timeout_s: float = 300) -> list[str]:
    """Send checks until every worker of SERVER has loaded its copy of the member
    table (a worker begins at its first request; its log says when it holds it).
    Returns those log lines."""
    body = load.requests.open("rb").readline().strip()
    headers = {"Authorization": f"Bearer {load.key()}", "Content-Type": "application/json"}
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [line for line in server.log_since_start().splitlines() if HELD in line]
        if len(lines) >= core.WORKERS:
            return lines
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{server.name}: the member table was not held after {timeout_s:.0f} s; see {server.log_path}"
            )
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            connection.request("POST", "/v1/check", body=body, headers=headers)
            connection.getresponse().read()
        finally:
            connection.close()
        time.sleep(0.05)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 3 s, 1 s warm-up")
    parser.add_argument(
        "--no-lru-phase", action="store_true", help="leave out PostgreSQL @1M without a copy of the table"
    )
    goals.add_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 3.0, 1.0
    if shutil.which("wrk") is None:
        print(core.WRK_HINT, file=sys.stderr)
        return 2
    small, big = generate.ensure(1_000), generate.ensure(1_000_000)
    pg_big = pg_data.ensure(big)
    hot = hot_requests(big)
    sized = {"AUTHZ_MEMBER_CACHE_MB": str(TABLE_MB)}  # the same on every service server
    servers = {
        "bare": core.Server("bare", None),
        "sqlite_small": core.Server("sqlite-1k", small.url, env=sized),
        "sqlite_big": core.Server("sqlite-1M", big.url, env=sized),
        "pg_big": core.Server("postgres-1M", pg_big, env=sized),
    }
    if not args.no_lru_phase:  # the defaults: an 8 MiB LRU, no copy of the table
        servers["pg_lru"] = core.Server("postgres-1M-lru", pg_big, env={"AUTHZ_MEMBER_TABLE": "off"})
    loads = {
        "bare": Load(small.requests, small.key(), small, False),
        "sqlite_small": Load(small.requests, small.key(), small, False),
        "sqlite_big": Load(big.requests, big.key(), big, False),
        "pg_big": Load(big.requests, big.key(), big, True),
        "sqlite_hot": Load(hot, big.key(), big, False),
        "pg_hot": Load(hot, big.key(), big, True),
        "pg_lru": Load(big.requests, big.key(), big, True),
    }
    names = {
        "bare": "bare",
        "pg_big": "check pg@1M",
        "sqlite_big": "check sqlite@1M",
        "sqlite_small": "check sqlite@1k",
        "sqlite_hot": "hot sqlite@1M",
        "pg_hot": "hot pg@1M",
        "pg_lru": "check pg@1M LRU only",
    }
    server_of = {"sqlite_hot": "sqlite_big", "pg_hot": "pg_big"}
    phases = {
        key: Phase(names[key], servers[server_of.get(key, key)], loads[key])  # type: ignore[arg-type]
        for key in ("pg_lru", "bare", "pg_big", "sqlite_big", "sqlite_small", "sqlite_hot", "pg_hot")
        if key in servers or key in server_of
    }
    for key in ("pg_big", "pg_hot", "pg_lru"):
        if key not in phases:
            continue
        phases[key].pg_database = pg_data.database_name(big)
    try:
        for server in servers.values():
            server.start()
        held = {key: hold_table(servers[key], loads[key]) for key in ("sqlite_small", "sqlite_big", "pg_big")}
        with big.held_in_memory() as locked:
            for key in ("sqlite_big", "sqlite_hot"):
                phases[key].data_locked = locked
            core.run_rounds(list(phases.values()), args.rounds, args.duration, args.warmup, args.connections)
        rss = {key: [core.rss_mib(pid) for pid in servers[key].workers()] for key in servers}
    finally:
        for server in servers.values():
            server.stop()
    failed = {p.name: sum(r["errors"] for r in p.runs) for p in phases.values() if any(r["errors"] for r in p.runs)}
    if failed:  # a server that answered errors measured nothing worth a ratio
        print(f"\nNOT MEASURED: non-2xx answers in {failed} (see var/bench/logs/); no results written")
        return 1
    values, by_cpu = goal_values(phases), cpu_values(phases)
    print()
    print(core.text_table(core.GOAL_HEADER, goal_rows(values, by_cpu)))
    print()
    print(core.text_table(PHASE_HEADER, phase_rows(phases)))
    command = "python bench/production.py " + " ".join(argv)
    write(args, command.strip(), phases, values, by_cpu, rss, held)
    goals.write(args.goals_json, "production.py", command.strip(), measured_goals(values, by_cpu))
    return 0


def write(args, command: str, phases, values, by_cpu, rss, held) -> None:
    copies = "; ".join(
        f"{servers}: " + " / ".join(line.split(HELD + ": ", 1)[-1] for line in lines) for servers, lines in held.items()
    )
    per_round = [
        [p.name, *(f"{r['rps']:,.0f} / {r['p99_us'] / 1000:.1f} / {r['other_cores']:.1f}" for r in p.runs)]
        for p in phases.values()
    ]
    warning = core.busy_warning(phases)
    text = f"""# Production benchmark{" (smoke run: --quick)" if args.quick else ""}

Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}
Command: `{command}`

## Goals
{chr(10) + "**" + warning + "**" + chr(10) if warning else ""}
{core.markdown_table(core.GOAL_HEADER, goal_rows(values, by_cpu))}

"by server CPU": the same ratios from CPU time per check, the workers' plus PostgreSQL's.

## Phases (medians of {args.rounds} rounds of {args.duration:g} s, after {args.warmup:g} s of warm-up each)

{core.markdown_table(PHASE_HEADER, phase_rows(phases))}

Per round, req/s / p99 ms / other load in cores:

{core.markdown_table(["phase", *(f"round {i + 1}" for i in range(args.rounds))], per_round)}

Worker RSS after the load (MiB): {"; ".join(f"{k}: " + " + ".join(f"{x:.1f}" for x in v) for k, v in rss.items())}.

## Machine

{chr(10).join("- " + fact for fact in core.machine_facts())}
- PostgreSQL: on the same machine (127.0.0.1), sharing its {os.cpu_count()} cores with the servers and wrk.

## Notes

- "PostgreSQL CPU µs/check": CPU time over the phase of the PostgreSQL backends connected to
  the bench's database (the workers' sessions and their listeners), per check; "other load"
  excludes it (it is this service's work). PostgreSQL's background processes are not counted.
- The service servers run with `AUTHZ_MEMBER_CACHE_MB={TABLE_MB}`: each worker holds a copy of the
  whole member table (authz/decisions/resident.py), loaded before the rounds begin; per worker:
  {copies}.
- Uniform phases draw members from all 1M memberships (5% misses: those read the database).
  "LRU only" is PostgreSQL @1M with the defaults (no copy of the table; the LRU holds
  {core._cache_size()}), so most of its checks read the database: the round trip's cost. The hot set is
  the first {HOT:,} bodies of the same file.
"""
    core.write_report(QUICK_RESULTS if args.quick else RESULTS, text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
