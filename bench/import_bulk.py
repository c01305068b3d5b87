"""Bulk data: `authz import` of 1M memberships, and `authz export memberships` memory.

    .venv/bin/python bench/import_bulk.py                      # SQLite and PostgreSQL (if it answers)
    .venv/bin/python bench/import_bulk.py --backends sqlite --sites 1000
    .venv/bin/python bench/import_bulk.py --quick     # smoke: 100,000 rows, a 10,000-member site

1. Writes a CSV of SITES x MEMBERS memberships (default 10,000 x 100 = 1M; people
   reused across sites, about 3.3 sites each; one primary, 0-4 secondaries per site;
   levels drawn among those each role may hold) under var/bench/import/.
2. For each database: a fresh one, migrated; times `authz import FILE.csv` as a
   command (wall clock, and the command's peak RSS).
3. Export memory: a fresh database with one site of 100,000 members and one of
   1,000; peak RSS of `authz export memberships --site S -o /dev/null` for each, in
   CSV and JSON lines. Streaming holds memory flat: the two should be alike.

Goals (issue 13): each import under 60 s per 1M rows; each export's peak RSS for the
big site within 1.5x of the 1,000-member site's (this bench's reading of "flat": the
site is 100 times larger). Writes bench/RESULTS-import.md (with --quick,
var/bench/RESULTS-import-quick.md).

PostgreSQL: AUTHZ_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
a database of its own is created and dropped for each step.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import goals  # noqa: E402
from generate import _level_choosers  # noqa: E402

from authz.engine.compiler import compile_policy  # noqa: E402

WORK = ROOT / "var" / "bench" / "import"
AUTHZ = [sys.executable, "-m", "authz.cli"]
PG_URL = os.environ.get("AUTHZ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SEED = 13
RESULTS = ROOT / "bench" / "RESULTS-import.md"
QUICK_RESULTS = WORK.parent / "RESULTS-import-quick.md"  # a smoke run keeps RESULTS
IMPORT_SECONDS_PER_MILLION = 60.0
EXPORT_RSS_RATIO = 1.5  # big site's peak RSS over the 1,000-member site's
SMALL_SITE = 1_000
HEADER = (
    "| what | database | wall | CPU: command + database server | peak RSS | load average |\n"
    "| --- | --- | --: | --: | --: | --: |"
)


def write_csv(path: Path, sites: list[tuple[str, int]], people: int, seed: int = SEED) -> int:
    """SITES: (site number, members). Returns the rows written."""
    table = compile_policy(ROOT / "policies")
    apps = list(table.catalogue.applications)
    choosers = {role: dict(pairs) for role, pairs in _level_choosers(table).items()}
    rng = random.Random(seed)
    rows = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["site", "site_name", "login_id", "email", "first_name", "last_name", "role", *apps])
        for number, members in sites:
            secondaries = rng.randint(0, min(4, members - 1))
            roles = ["primary"] + ["secondary"] * secondaries + ["user"] * (members - 1 - secondaries)
            for person, role in zip(rng.sample(range(people), members), roles, strict=True):
                login = f"Person{person:07d}@Org{person % 5000}.example"
                levels = [(rng.choice(choosers[role][app]) or "") if app in choosers[role] else "" for app in apps]
                writer.writerow(
                    [number, f"Site {number}", login, login.lower(), "Pat", f"Example{person}", role, *levels]
                )
                rows += 1
    return rows


@dataclass
class Run:
    """One command: wall seconds, its peak RSS, the CPU seconds it used (user +
    system), and on PostgreSQL the CPU seconds of the server process serving it."""

    wall: float
    rss_mib: float
    cpu: float
    server_cpu: float
    last_line: str
    load: float  # the 1-minute load average when it ended: this machine is shared


def run(argv: list[str], url: str) -> Run:
    """Run `authz ARGV` against URL. Wall time on a shared 2-core machine says as much
    about the neighbours as about the command: CPU seconds are reported beside it."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    child = subprocess.Popen([*AUTHZ, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    backend = _ServerProcess(url) if url.startswith("postgres") else None
    out = b""
    while True:
        try:
            out += child.communicate(timeout=0.2)[0] or b""
            break
        except subprocess.TimeoutExpired:
            if backend:
                backend.poll()
    elapsed = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"authz {' '.join(argv)} failed ({child.returncode})")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the only child of this process
    return Run(
        elapsed,
        usage.ru_maxrss / 1024,
        usage.ru_utime + usage.ru_stime,
        backend.cpu if backend else 0.0,
        (out.decode().strip().splitlines() or [""])[-1],
        os.getloadavg()[0],
    )


class _ServerProcess:
    """The PostgreSQL backend serving the command (the only connection to its
    database), its CPU time read from /proc while it lives."""

    def __init__(self, url: str):
        self.database = url.rsplit("/", 1)[1]
        self.pid: int | None = None
        self.cpu = 0.0

    def poll(self) -> None:
        if self.pid is None:
            import psycopg2

            with psycopg2.connect(PG_URL) as conn, conn.cursor() as cur:
                cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))
                found = cur.fetchone()
            conn.close()
            self.pid = found[0] if found else None
        if self.pid is not None:
            try:
                fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return  # ended: the last reading stands
            self.cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(argv: list[str], url: str) -> Run:
    """run() in a fresh process, so its children's rusage is this command's alone."""
    code = (
        "import sys, json, dataclasses; sys.path.insert(0, sys.argv[1]); from import_bulk import run; "
        "print(json.dumps(dataclasses.asdict(run(json.loads(sys.argv[2]), sys.argv[3]))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "bench"), json.dumps(argv), url],
        check=True,
        capture_output=True,
        text=True,
    )
    return Run(**json.loads(result.stdout.strip().splitlines()[-1]))


class Database:
    """A fresh, migrated database of one backend; dropped (PostgreSQL) or deleted on exit."""

    def __init__(self, backend: str, name: str):
        self.backend, self.name = backend, name

    def __enter__(self) -> str:
        if self.backend == "sqlite":
            self.path = WORK / f"{self.name}.db"
            for p in WORK.glob(f"{self.name}.db*"):
                p.unlink()
            self.url = f"sqlite:///{self.path}"
        else:
            self.db = f"authz_bench_{self.name}_{uuid.uuid4().hex[:6]}"
            _pg_admin(f'CREATE DATABASE "{self.db}"')
            self.url = PG_URL.rsplit("/", 1)[0] + "/" + self.db
        subprocess.run(
            [*AUTHZ, "migrate"], env={**os.environ, "DATABASE_URL": self.url}, cwd=ROOT, check=True, capture_output=True
        )
        return self.url

    def __exit__(self, *_: object) -> None:
        if self.backend == "sqlite":
            for p in WORK.glob(f"{self.name}.db*"):
                p.unlink()
        else:
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')


def _line(what: str, backend: str, r: Run) -> str:
    cpu = f"{r.cpu:.1f} s" + (f" + {r.server_cpu:.1f} s" if backend == "postgres" else "")
    return f"| {what} | {backend} | {r.wall:.1f} s | {cpu} | {r.rss_mib:.0f} MiB | {r.load:.1f} |"


def _pg_admin(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def _postgres_answers() -> bool:
    import psycopg2

    try:
        psycopg2.connect(PG_URL, connect_timeout=2).close()
        return True
    except psycopg2.OperationalError:
        return False


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--export-members", type=int, default=100_000, help="members of the big site exported")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 sites, a 10,000-member site")
    goals.add_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.sites, args.export_members = 1_000, 10_000
    backends = [b for b in args.backends.split(",") if b != "postgres" or _postgres_answers()]
    WORK.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    measured: list[goals.Goal] = []
    command = ("python bench/import_bulk.py " + " ".join(argv)).strip()
    if not args.skip_import:
        measured += imports(args, backends, lines)
    if not args.skip_export:
        measured += exports(args, backends, lines)
    print("\n" + HEADER)
    print("\n".join(lines))
    write(args, command, lines)
    goals.write(args.goals_json, "import_bulk.py", command, measured)
    return 0


def imports(args, backends: list[str], lines: list[str]) -> list[goals.Goal]:
    size = args.sites * args.members
    big = WORK / f"memberships-{size}.csv"
    if not big.exists():
        print(f"writing {big.relative_to(ROOT)} ...", flush=True)
        write_csv(big, [(str(1_000_000 + i), args.members) for i in range(args.sites)], people=int(size * 0.3))
    print(f"{big.relative_to(ROOT)}: {size:,} rows, {big.stat().st_size / 2**20:.0f} MiB", flush=True)
    measured = []
    for backend in backends:
        with Database(backend, "import") as url:
            r = measure(["import", str(big)], url)
        lines.append(_line(f"import {size:,} memberships (CSV)", backend, r))
        print(lines[-1], "  #", r.last_line, flush=True)
        measured.append(
            goals.Goal(
                f"import_{backend}",
                f"import {size:,} memberships (CSV), {backend}",
                "<",
                IMPORT_SECONDS_PER_MILLION * size / 1_000_000,
                "s",
                r.wall,
                f"import_bulk.py: `authz import` of {size:,} rows into an empty {backend} database",
                _import_note(backend, r, size),
            )
        )
    return measured


def _import_note(backend: str, r: Run, size: int) -> str:
    cpu = f"CPU {r.cpu:.1f} s" + (f" + server {r.server_cpu:.1f} s" if backend == "postgres" else "")
    scaled = "" if size == 1_000_000 else f"; target {IMPORT_SECONDS_PER_MILLION:g} s per 1M rows, scaled"
    return f"{cpu}, load average {r.load:.1f}{scaled}"


def exports(args, backends: list[str], lines: list[str]) -> list[goals.Goal]:
    """Peak RSS exporting a site of --export-members and one of 1,000; the goal per
    database is the worse format's ratio."""
    big_members = args.export_members
    two = WORK / f"export-sites-{big_members}.csv"
    if not two.exists():
        write_csv(
            two, [("2000001", big_members), ("2000002", SMALL_SITE)], people=int(big_members * 1.5), seed=SEED + 1
        )
    measured = []
    for backend in backends:
        rss: dict[tuple[str, int], float] = {}
        with Database(backend, "export") as url:
            measure(["import", str(two)], url)
            for fmt in ("csv", "jsonl"):
                for site, members in (("2000002", SMALL_SITE), ("2000001", big_members)):
                    argv = ["export", "memberships", "--site", site, "--format", fmt, "-o", os.devnull]
                    r = measure(argv, url)
                    rss[fmt, members] = r.rss_mib
                    lines.append(_line(f"export a {members:,}-member site ({fmt})", backend, r))
                    print(lines[-1], flush=True)
        ratios = {fmt: rss[fmt, big_members] / rss[fmt, SMALL_SITE] for fmt in ("csv", "jsonl")}
        measured.append(
            goals.Goal(
                f"export_flat_{backend}",
                f"export peak RSS: {big_members:,}-member site vs {SMALL_SITE:,}, {backend}",
                "<=",
                EXPORT_RSS_RATIO,
                "x",
                max(ratios.values()),
                f"import_bulk.py: `authz export memberships --site` of each site, {backend}",
                "; ".join(
                    f"{fmt}: {rss[fmt, big_members]:.0f} vs {rss[fmt, SMALL_SITE]:.0f} MiB" for fmt in ("csv", "jsonl")
                ),
            )
        )
    return measured


def write(args, command: str, lines: list[str]) -> None:
    import bench as core

    text = f"""# Bulk data: import and export{" (smoke run: --quick)" if args.quick else ""}

Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}
Command: `{command}`

{HEADER}
{chr(10).join(lines)}

Goals: an import under {IMPORT_SECONDS_PER_MILLION:g} s per 1M rows; an export's peak RSS for the big
site within {EXPORT_RSS_RATIO:g}x of the {SMALL_SITE:,}-member site's. Wall time on a shared machine
says as much about the neighbours as about the command: the CPU columns are steadier.

## Machine

{chr(10).join("- " + fact for fact in core.machine_facts())}
- PostgreSQL on the same machine, sharing its cores.
"""
    core.write_report(QUICK_RESULTS if args.quick else RESULTS, text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
