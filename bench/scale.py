"""Every goal of issue 13 (production scale) from one run of its benchmarks, in one table.
See bench/README.md.

    .venv/bin/python bench/scale.py                         # or: make bench-postgres
    .venv/bin/python bench/scale.py --quick                 # smoke run: each script's --quick
    .venv/bin/python bench/scale.py --skip production,writes

Runs production.py, write_path.py, replicas.py, poll_cost.py and import_bulk.py in
that order, each in a process of its own (this Python) with --goals-json; each writes
its own results file as when run alone. Then prints one table, every goal with its target,
what was measured, PASS or MISS, and the script and phase that measured it, and
writes it to bench/RESULTS-scale.md (with --quick, var/bench/RESULTS-scale-quick.md).

A goal no script reported reads "not measured", never PASS. The exit status is 1 when
a script failed or a goal went unmeasured (a script left out with --skip excepted);
a MISS is reported in the table, not in the exit status.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import goals  # noqa: E402

import bench as core  # noqa: E402

RESULTS = BENCH / "RESULTS-scale.md"
QUICK_RESULTS = core.ROOT / "var" / "bench" / "RESULTS-scale-quick.md"
GOALS_DIR = core.ROOT / "var" / "bench" / "goals"


@dataclass(frozen=True)
class Script:
    name: str  # as --skip names it
    path: Path
    results: str  # the results file it writes itself (a full run), if any


SCRIPTS = [
    Script("production", BENCH / "production.py", "RESULTS-production.md"),
    Script("writes", BENCH / "write_path.py", "RESULTS-writes.md"),
    Script("replicas", BENCH / "replicas.py", "RESULTS-replicas.md"),
    Script("poll", BENCH / "poll_cost.py", ""),  # one figure: this table is its results
    Script("import", BENCH / "import_bulk.py", "RESULTS-import.md"),
]

# Issue 13's goals in its order: (goal key, the script that reports it, item of the
# issue, the goal in the issue's words). Targets come from the scripts.
ISSUE_GOALS = [
    ("pg_vs_bare", "production", "1", "PostgreSQL @1M uniform: throughput vs bare"),
    ("pg_p99_vs_bare", "production", "1", "PostgreSQL @1M uniform: p99 vs bare p99"),
    ("sqlite_big_vs_small", "production", "1", "SQLite: throughput @1M vs @1k"),
    ("hot_pg_vs_sqlite", "production", "1", "hot set that fits the cache: PostgreSQL vs SQLite throughput"),
    ("notify_p99", "replicas", "2", "without a token: revoke honoured by every worker of another replica, p99"),
    ("token_stale", "replicas", "2", "with the token: stale allows"),
    ("cut_p99", "replicas", "2", "channel cut: revoke honoured within the poll bound, p99"),
    ("sqlite_poll_cost", "poll", "2", "SQLite: the poll interval's cost measured"),
    ("import_sqlite", "import", "3", "import 1M memberships, SQLite"),
    ("import_postgres", "import", "3", "import 1M memberships, PostgreSQL"),
    ("export_flat_sqlite", "import", "3", "export memory flat in the site's size, SQLite"),
    ("export_flat_postgres", "import", "3", "export memory flat in the site's size, PostgreSQL"),
    ("grant_p50", "writes", "4", "grant latency p50: 1M vs 1k, 20 administrators"),
    ("grant_p99", "writes", "4", "grant latency p99: 1M vs 1k, 20 administrators"),
    ("grant_mean", "writes", "4", "grant latency mean: 1M vs 1k, 20 administrators"),
    ("revoke_p50", "writes", "4", "revoke latency p50: 1M vs 1k, 20 administrators"),
    ("revoke_p99", "writes", "4", "revoke latency p99: 1M vs 1k, 20 administrators"),
    ("revoke_mean", "writes", "4", "revoke latency mean: 1M vs 1k, 20 administrators"),
]

HEADER = ["goal (issue 13 item)", "target", "measured", "", "measured by", "note"]
MEASURED, VERDICT, BY = 2, 3, 4  # columns
TEXT = (0, 4, 5)  # columns aligned left
NOT_MEASURED = "not measured"


@dataclass
class Outcome:
    """What one script did: 'ok' (it reported its goals, whatever its exit status:
    replicas.py exits 1 on a miss), 'failed' (it reported none) or 'skipped'."""

    script: Script
    status: str
    returncode: int | None = None
    seconds: float = 0.0
    command: str = ""
    goals: list[goals.Goal] = field(default_factory=list)


def run_script(script: Script, quick: bool, folder: Path) -> Outcome:
    """Run SCRIPT to the end, its output straight to ours; collect its goals."""
    report = folder / f"goals-{script.name}.json"
    report.unlink(missing_ok=True)  # a file left by an earlier run must not count
    shown = os.path.relpath(report, core.ROOT)  # the script runs in the project's folder
    argv = [sys.executable, str(script.path), *(["--quick"] if quick else []), "--goals-json", shown]
    command = " ".join(["python", os.path.relpath(script.path, core.ROOT), *argv[2:]])
    print(f"\n=== {command}", flush=True)
    started = time.monotonic()
    returncode = subprocess.run(argv, cwd=core.ROOT).returncode
    seconds = time.monotonic() - started
    if not report.exists():
        print(f"=== {script.path.name} exited {returncode} without reporting its goals", flush=True)
        return Outcome(script, "failed", returncode, seconds, command)
    return Outcome(script, "ok", returncode, seconds, command, goals.read(report))


def run_all(scripts: list[Script], quick: bool, skip: set[str], folder: Path) -> list[Outcome]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        Outcome(script, "skipped") if script.name in skip else run_script(script, quick, folder) for script in scripts
    ]


def goal_rows(outcomes: list[Outcome], issue_goals: list[tuple[str, str, str, str]]) -> list[list[str]]:
    """One row per goal of the issue, then any other goal a script judged."""
    by_name = {o.script.name: o for o in outcomes}
    rows = []
    for key, name, item, label in issue_goals:
        outcome = by_name.get(name)
        found = next((g for g in outcome.goals if g.key == key), None) if outcome else None
        if found is None:
            rows.append([f"{item}. {label}", "", NOT_MEASURED, "", _missing(outcome, name), ""])
        else:
            rows.append(_row(item, found))
    known = {key for key, *_ in issue_goals}
    for outcome in outcomes:
        rows += [_row("(also)", g) for g in outcome.goals if g.key not in known]
    return rows


def _row(item: str, goal: goals.Goal) -> list[str]:
    verdict = "PASS" if goal.passed else "MISS"
    label = f"{item}. {goal.goal}" if item.isdigit() else f"{item} {goal.goal}"
    return [label, goals.show_target(goal), goals.show(goal.measured, goal.unit), verdict, goal.measured_by, goal.note]


def _missing(outcome: Outcome | None, name: str) -> str:
    if outcome is None:
        return f"no script named {name}"
    if outcome.status == "skipped":
        return f"{outcome.script.path.name}: skipped (--skip)"
    if outcome.status == "failed":
        return f"{outcome.script.path.name}: failed (exit {outcome.returncode})"
    return f"{outcome.script.path.name}: did not report it"


def exit_status(outcomes: list[Outcome], rows: list[list[str]]) -> int:
    """1 when a script failed or a goal is unmeasured for any reason but --skip."""
    failed = any(o.status == "failed" for o in outcomes)
    unmeasured = any(r[MEASURED] == NOT_MEASURED and "(--skip)" not in r[BY] for r in rows)
    return 1 if failed or unmeasured else 0


def script_lines(outcomes: list[Outcome], quick: bool) -> list[str]:
    lines = []
    for o in outcomes:
        if o.status == "skipped":
            lines.append(f"- {o.script.path.name}: skipped")
            continue
        results = f"var/bench/{o.script.results.replace('.md', '-quick.md')}" if quick else o.script.results
        details = f" (details: {results})" if results else ""
        lines.append(
            f"- `{o.command}`: exit {o.returncode}, {o.seconds / 60:.1f} min, "
            + (f"{len(o.goals)} goals reported{details}" if o.status == "ok" else "no goals reported")
        )
    return lines


def write(target: Path, command: str, started: datetime, outcomes: list[Outcome], rows: list[list[str]], quick: bool):
    passed = sum(r[VERDICT] == "PASS" for r in rows)
    text = f"""# Production scale (issue 13): every goal, one run{" (smoke run: --quick)" if quick else ""}

Started: {started:%Y-%m-%d %H:%M UTC}, ended: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}
Command: `{command}`

## Goals

{passed} of {len(rows)} pass.

{core.markdown_table(HEADER, rows, TEXT)}

"not measured": no script reported the goal (it failed or was skipped); never a pass.
"(also)": judged by a script, not a goal of the issue. A script's exit status is its own
(replicas.py exits 1 when one of its goals misses); its goals count once it reported them.

## Scripts (in the order run)

{chr(10).join(script_lines(outcomes, quick))}

## Machine

{chr(10).join("- " + fact for fact in core.machine_facts())}
- PostgreSQL: on the same machine (127.0.0.1), sharing its {os.cpu_count()} cores with the servers and the load.
"""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(f"\nwrote {target.relative_to(core.ROOT)}")


def missing_requirements(skip: set[str]) -> list[str]:
    """What a run would fail on at once; found before an hour of benchmarks, not after."""
    missing = []
    if "production" not in skip and shutil.which("wrk") is None:
        missing.append(core.WRK_HINT)
    if {"production", "writes", "replicas"} - skip:
        import psycopg2

        url = os.environ.get("AUTHZ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            psycopg2.connect(url, connect_timeout=2).close()
        except psycopg2.OperationalError as error:
            missing.append(f"PostgreSQL does not answer at {url} (AUTHZ_BENCH_POSTGRES_URL): {error}".strip())
    return missing


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: every script with --quick")
    names = ", ".join(s.name for s in SCRIPTS)
    parser.add_argument("--skip", default="", help=f"comma-separated scripts not to run: {names}")
    args = parser.parse_args(argv)
    skip = {name for name in args.skip.split(",") if name}
    unknown = skip - {s.name for s in SCRIPTS}
    if unknown:
        parser.error(f"unknown script(s) in --skip: {', '.join(sorted(unknown))} (known: {names})")
    missing = missing_requirements(skip)
    if missing:
        print("\n".join(missing), file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    outcomes = run_all(SCRIPTS, args.quick, skip, GOALS_DIR)
    rows = goal_rows(outcomes, ISSUE_GOALS)
    print()
    print(core.text_table(HEADER, rows, TEXT))
    command = ("python bench/scale.py " + " ".join(argv)).strip()
    write(QUICK_RESULTS if args.quick else RESULTS, command, started, outcomes, rows, args.quick)
    return exit_status(outcomes, rows)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
