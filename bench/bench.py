"""Throughput, latency, memory and start-up of the check API, side by side with a
bare Falcon endpoint, in one run, on one machine. See bench/README.md.

    .venv/bin/python bench/bench.py            # or: make bench
    .venv/bin/python bench/bench.py --quick    # a smoke run: 1 short round

Every server is the same gunicorn config (deploy/gunicorn.conf.py: sync workers,
AUTHZ_WORKERS=2) on 127.0.0.1 and a free port; only the WSGI app or the database
differs. Load comes from wrk (one thread, the same connection count for every
phase). Phases alternate round by round and the medians are reported, because a
2-core shared machine is noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402

CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
LUA = BENCH / "checks.lua"
LOG_DIR = ROOT / "var" / "bench" / "logs"
RESULTS = BENCH / "RESULTS.md"
QUICK_RESULTS = ROOT / "var" / "bench" / "RESULTS-quick.md"  # a smoke run does not replace RESULTS.md
WORKERS = 2
BATCH = 100
READY_TIMEOUT = 60.0
WRK_HINT = "wrk is not installed. On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk"

GOALS = [
    # (key, label, comparison, target); {small} and {big} are the data set sizes
    ("check_vs_bare", "/v1/check throughput vs bare", ">=", 0.85),
    ("p99_vs_bare", "/v1/check p99 vs bare p99", "<=", 1.30),
    ("batch_vs_single", f"batch-{BATCH} items/s vs single checks/s", ">=", 25.0),
    ("big_vs_small", "/v1/check throughput at {big} vs {small}", ">=", 0.90),
    ("rss_big_vs_small", "worker RSS at {big} vs {small}", "<=", 1.50),
    ("ready_big_s", "time to ready at {big} (s)", "<", 5.0),
]


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(port: int, database_url: str | None) -> dict[str, str]:
    """The environment of a server: the caller's, minus any AUTHZ_* tuning that
    would make servers differ, plus loopback, the port and the worker count."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AUTHZ_") and k not in ("PROMETHEUS_MULTIPROC_DIR", "DATABASE_URL")
    }
    env.update(HOST="127.0.0.1", PORT=str(port), AUTHZ_WORKERS=str(WORKERS))
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


@dataclass
class Server:
    name: str
    database_url: str | None  # None: the bare app
    port: int = 0
    process: subprocess.Popen | None = None
    ready_s: float = 0.0
    env: dict[str, str] = field(default_factory=dict)  # settings of this server alone
    log_offset: int = 0  # where this start's lines begin in its log file

    def start(self) -> float:
        """Start gunicorn; return the seconds until /readyz first answers 200 (for
        the bare app, which has no /readyz, its POST /v1/check)."""
        self.port = free_port()
        command = [sys.executable, "-m", "gunicorn", "-c", str(CONFIG)]
        if self.database_url is None:  # CLI args override the config's wsgi_app
            command += ["--pythonpath", str(BENCH), "bare_app:app"]
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.log_offset = log.tell()
        started = time.perf_counter()
        env = {**server_env(self.port, self.database_url), **self.env}
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._wait_ready(started)
        self.ready_s = time.perf_counter() - started
        return self.ready_s

    @property
    def log_path(self) -> Path:
        return LOG_DIR / f"{self.name}.log"

    def log_since_start(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    def _wait_ready(self, started: float) -> None:
        method, path = ("GET", "/readyz") if self.database_url else ("POST", "/v1/check")
        while time.perf_counter() - started < READY_TIMEOUT:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited ({self.process.returncode}); see {LOG_DIR}")
            if _status(self.port, method, path) == 200:
                return
            time.sleep(0.01)
        raise RuntimeError(f"{self.name}: not ready after {READY_TIMEOUT:.0f} s; see {LOG_DIR}")

    def workers(self) -> list[int]:
        pid = self.process.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:  # kernels without CONFIG_PROC_CHILDREN
            return [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit() and _ppid(int(d.name)) == pid]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # gunicorn stops its own workers
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _status(port: int, method: str, path: str) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request(method, path, body=b"{}" if method == "POST" else None)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        connection.close()


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of PIDS so far (a worker that has gone counts nothing)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def machine_busy_seconds() -> float:
    """CPU time all CPUs spent not idle, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- load


@dataclass
class Phase:
    """One kind of load against one server, run once per round."""

    name: str
    server: Server
    data: generate.DataSet
    batch: int = 0  # 0: single checks
    runs: list[dict] = field(default_factory=list)
    data_locked: bool = False  # its database file is held in RAM for the run

    @property
    def items_per_request(self) -> int:
        return self.batch or 1

    def run(self, seconds: float, connections: int) -> dict:
        pids = self.server.workers()
        cpu_before, client_before, busy_before = cpu_seconds(pids), _children_cpu(), machine_busy_seconds()
        summary = wrk(self.server.port, self.data, self.batch, seconds, connections)
        summary["server_cpu_s"] = cpu_seconds(pids) - cpu_before
        summary["client_cpu_s"] = _children_cpu() - client_before
        # Whatever else kept the CPUs busy meanwhile (other people's work on a shared machine).
        busy = machine_busy_seconds() - busy_before
        summary["other_cores"] = max(0.0, busy - summary["server_cpu_s"] - summary["client_cpu_s"]) / (
            summary["duration_us"] / 1e6
        )
        return summary

    def median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # counts wrk once it has exited
    return usage.ru_utime + usage.ru_stime


def wrk(port: int, data: generate.DataSet, batch: int, seconds: float, connections: int) -> dict:
    mode = ["batch", str(batch)] if batch else ["single", "0"]
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}",
        "--",
        str(data.requests),
        *mode,
        data.key(),
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    line = next((line for line in out.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    summary = json.loads(line.removeprefix("BENCH_JSON "))
    seconds_run = summary["duration_us"] / 1e6
    summary["rps"] = summary["requests"] / seconds_run
    summary["errors"] = sum(
        summary[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return summary


def run_rounds(phases: list[Phase], rounds: int, seconds: float, warmup: float, connections: int) -> None:
    """Every phase once per round, in the given order in odd rounds and reversed in
    even ones (A B C D, D C B A, ...): a drift in the machine's load then weighs on
    every phase alike, and phases compared with each other run next to each other."""
    for r in range(rounds):
        order = phases if r % 2 == 0 else phases[::-1]
        for phase in order:
            if not phase.data_locked:
                phase.data.load_into_page_cache()
            if warmup:
                phase.run(warmup, connections)
            result = phase.run(seconds, connections)
            result["items_per_s"] = result["rps"] * phase.items_per_request
            result["server_cpu_us_per_item"] = (
                1e6 * result["server_cpu_s"] / max(1, result["requests"] * phase.items_per_request)
            )
            result["client_cpu_share"] = result["client_cpu_s"] / (result["duration_us"] / 1e6)
            phase.runs.append(result)
            print(
                f"  round {r + 1}/{rounds}  {phase.name:<20} {result['rps']:>7.0f} req/s  "
                f"p50 {result['p50_us'] / 1000:5.1f} ms  p99 {result['p99_us'] / 1000:5.1f} ms  "
                f"server {result['server_cpu_us_per_item']:4.0f} µs/item  other load {result['other_cores']:.1f} cores"
                f"{'  ERRORS ' + str(result['errors']) if result['errors'] else ''}",
                flush=True,
            )


# ---------------------------------------------------------------- report


def paired_ratio(top: Phase, bottom: Phase, key: str) -> float:
    """The median over rounds of top/bottom, each round's pair measured side by
    side: a burst of someone else's load then spoils one pair, not a whole median."""
    return statistics.median(t[key] / b[key] for t, b in zip(top.runs, bottom.runs, strict=True))


def goal_values(phases: dict[str, Phase], rss: dict[str, float], ready: dict[str, list[float]]) -> dict[str, float]:
    """The measured value of each goal, from this run alone."""
    bare, small, batch, big = phases["bare"], phases["check_small"], phases["batch_small"], phases["check_big"]
    return {
        "check_vs_bare": paired_ratio(small, bare, "rps"),
        "p99_vs_bare": paired_ratio(small, bare, "p99_us"),
        "batch_vs_single": paired_ratio(batch, small, "items_per_s"),
        "big_vs_small": paired_ratio(big, small, "rps"),
        "rss_big_vs_small": rss["big"] / rss["small"],
        "ready_big_s": max(ready["big"]),
    }


def cpu_ratios(phases: dict[str, Phase]) -> dict[str, float]:
    """The throughput goals again, from the workers' CPU time per check instead of
    req/s: what the ratio would be if the servers were CPU-bound and had the CPUs
    to themselves. Shown beside the goals, never used to judge them."""
    key = "server_cpu_us_per_item"
    bare, small, batch, big = phases["bare"], phases["check_small"], phases["batch_small"], phases["check_big"]
    return {
        "check_vs_bare": paired_ratio(bare, small, key),
        "batch_vs_single": paired_ratio(small, batch, key),
        "big_vs_small": paired_ratio(small, big, key),
    }


BUSY_CORES = 0.25  # other load above this, as a median over the phases, makes a run unreliable


def busy_warning(phases: dict[str, Phase]) -> str | None:
    other = statistics.median(run["other_cores"] for phase in phases.values() for run in phase.runs)
    if other <= BUSY_CORES:
        return None
    return (
        f"Other processes kept {other:.2f} of {os.cpu_count()} cores busy (median over the phases): "
        f"the ratios are noisy. Compare with a run on a quieter machine."
    )


def met(value: float, comparison: str, target: float) -> bool:
    return {">=": value >= target, "<=": value <= target, "<": value < target}[comparison]


def phase_rows(phases: dict[str, Phase]) -> list[list[str]]:
    rows = []
    for phase in phases.values():
        rows.append(
            [
                phase.name,
                f"{phase.median('rps'):,.0f}",
                f"{phase.median('items_per_s'):,.0f}",
                f"{phase.median('p50_us') / 1000:.2f}",
                f"{phase.median('p99_us') / 1000:.2f}",
                f"{phase.median('server_cpu_us_per_item'):,.0f}",
                f"{100 * phase.median('client_cpu_share'):.0f}%",
                f"{phase.median('other_cores'):.2f}",
                str(sum(run["errors"] for run in phase.runs)),
            ]
        )
    return rows


PHASE_HEADER = [
    "phase",
    "req/s",
    "items/s",
    "p50 ms",
    "p99 ms",
    "server CPU µs/item",
    "wrk CPU",
    "other load",
    "errors",
]
GOAL_HEADER = ["goal", "target", "measured", "", "by server CPU"]


def goal_rows(values: dict[str, float], by_cpu: dict[str, float], sizes: dict[str, str]) -> list[list[str]]:
    rows = []
    for key, label, comparison, target in GOALS:
        value = values[key]
        unit = " s" if key.endswith("_s") else "x"
        rows.append(
            [
                label.format(**sizes),
                f"{comparison} {target:g}{unit}",
                f"{_ratio(value)}{unit}",
                "PASS" if met(value, comparison, target) else "MISS",
                f"{_ratio(by_cpu[key])}x" if key in by_cpu else "",
            ]
        )
    return rows


def _ratio(value: float) -> str:
    # Three decimals below 10, so that 0.845 is not shown as a passing 0.85.
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def text_table(header: list[str], rows: list[list[str]], left: tuple[int, ...] = (0,)) -> str:
    """Columns aligned right (numbers), but those numbered in LEFT (text)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def markdown_table(header: list[str], rows: list[list[str]], left: tuple[int, ...] = (0,)) -> str:
    align = ["---" if i in left else "--:" for i in range(len(header))]
    return "\n".join("| " + " | ".join(r) + " |" for r in [header, align, *rows])


def write_report(target: Path, text: str) -> None:
    """Write a results file (its folder made if need be) and say where."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(f"\nwrote {target.relative_to(ROOT)}")


def machine_facts() -> list[str]:
    load = os.getloadavg()
    return [
        f"nproc: {os.cpu_count()}",
        f"CPU: {_cpu_model()}",
        f"Python: {platform.python_version()} ({sys.executable})",
        f"gunicorn workers: {WORKERS} sync, config {CONFIG.relative_to(ROOT)}",
        f"wrk: {_wrk_version()}",
        f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _wrk_version() -> str:
    if shutil.which("wrk") is None:  # scripts that do not drive wrk report the machine too
        return "not installed"
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (out.stdout + out.stderr).strip().splitlines()[0]


def write_markdown(
    args,
    command: str,
    phases: dict[str, Phase],
    values: dict[str, float],
    rss: dict[str, list[float]],
    ready: dict[str, list[float]],
    sizes: dict[str, int],
) -> Path:
    per_round = [
        [p.name, *(f"{run['rps']:,.0f} / {run['p99_us'] / 1000:.1f} / {run['other_cores']:.1f}" for run in p.runs)]
        for p in phases.values()
    ]
    warning = busy_warning(phases)
    title = "Benchmark results" + (" (smoke run: --quick, not for comparison)" if args.quick else "")
    text = f"""# {title}

Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}
Command: `{command}`

## Goals
{chr(10) + "**" + warning + "**" + chr(10) if warning else ""}
{markdown_table(GOAL_HEADER, goal_rows(values, cpu_ratios(phases), _shorts(sizes)))}

## Phases (medians of {args.rounds} rounds of {args.duration:g} s, after {args.warmup:g} s of warm-up each)

{markdown_table(PHASE_HEADER, phase_rows(phases))}

Per round, req/s / p99 ms / other load in cores:

{markdown_table(["phase", *(f"round {i + 1}" for i in range(args.rounds))], per_round)}

## Memory and start-up

| server | worker RSS after the load (MiB) | time to ready (s) |
| --- | --: | --: |
| check @{sizes["small"]:,} | {" + ".join(f"{x:.1f}" for x in rss["small"])} | {" / ".join(f"{x:.2f}" for x in ready["small"])} |
| check @{sizes["big"]:,} | {" + ".join(f"{x:.1f}" for x in rss["big"])} | {" / ".join(f"{x:.2f}" for x in ready["big"])} |
| bare | {" + ".join(f"{x:.1f}" for x in rss["bare"])} | {" / ".join(f"{x:.2f}" for x in ready["bare"])} |

## Machine

{chr(10).join("- " + fact for fact in machine_facts())}

## Notes

- The goals are judged on the measured req/s, p99 and RSS. A ratio of two phases is the
  median over rounds of that round's ratio (the two ran close together), so the goal
  table cannot always be recomputed from the medians in the phase table. "by server CPU"
  repeats the throughput ratios from the workers' CPU time per check, which is what
  they would be if the servers were CPU-bound with the CPUs to themselves. Why goals are
  missed and what was optimised: bench/README.md.
- wrk: 1 thread, {args.connections} connections, `--timeout 5s`, for every phase. gunicorn sync
  workers close the connection after each response, so every request includes a TCP connect.
- Latency is measured by wrk from writing the request to the end of the response; with
  {args.connections} connections on {WORKERS} workers it includes time queued in the listen backlog.
- Bodies are drawn at random by wrk from `requests.jsonl` of each data set (200k bodies:
  members drawn uniformly from all memberships, {generate.MISS_SHARE:.0%} misses of three kinds).
  The batch phase sends {BATCH} such bodies per request.
- "server CPU µs/item" is the workers' utime+stime over the phase divided by the checks answered:
  steadier than req/s on a shared machine. "wrk CPU" is the client's share of one core.
  "other load" is how many cores everything else on the machine kept busy meanwhile
  (from /proc/stat, less the workers and wrk): when it is high, req/s are low for everyone.
- Worker RSS is VmRSS from /proc of each worker after all the load; the goal compares the
  mean per worker. Time to ready is from starting gunicorn to the first 200 from /readyz;
  the goal uses the slowest of the starts.
- Database files held in RAM for the run (mmap MAP_LOCKED by bench.py, not by the
  servers, whose RSS this does not change): {_held_note(phases)}. This VM's host evicts
  file pages within seconds; without the lock a share of 1M lookups become disk reads.
- The member cache holds {_cache_size()} per worker by default, so at
  {sizes["big"]:,} memberships most checks read SQLite; at {sizes["small"]:,} all but the misses to unknown
  users (new names every time) are cached after warm-up.
"""
    target = QUICK_RESULTS if args.quick else RESULTS
    target.write_text(text)
    return target


def _cache_size() -> str:
    from authz.config import Settings
    from authz.decisions.member_cache import entry_cost

    budget = Settings().member_cache_mb << 20
    return f"{budget >> 20} MiB of memberships (about {budget // entry_cost(('p' * 29, '1' * 7)):,})"


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured phase (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up before each phase (default 2)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of all phases; medians are reported (default 4)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
    parser.add_argument("--starts", type=int, default=3, help="gunicorn starts timed per server (default 3)")
    parser.add_argument("--small", type=int, default=1_000, help="memberships in the small data set")
    parser.add_argument("--big", type=int, default=1_000_000, help="memberships in the big data set")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 3 s, 1 s warm-up, 1 start")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds, args.starts = 3, 1, 1, 1
    if args.duration > 60 or args.rounds > 10:
        parser.error("keep it bounded: --duration <= 60 and --rounds <= 10")
    return args


def start_all(servers: dict[str, Server], starts: int) -> dict[str, list[float]]:
    """Start each server STARTS times, alone on the machine, timing each start;
    the last start is left running for the load phases."""
    ready = {}
    for key, server in servers.items():
        ready[key] = []
        for i in range(starts):
            ready[key].append(server.start())
            if i < starts - 1:
                server.stop()
        print(f"  {server.name:<18} ready in {' / '.join(f'{s:.2f}' for s in ready[key])} s", flush=True)
    return ready


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print(WRK_HINT, file=sys.stderr)
        return 2
    python = sys.executable.removeprefix(str(ROOT) + os.sep)
    command = " ".join([python, "bench/bench.py", *argv])
    sizes = {"small": args.small, "big": args.big}
    data = {key: generate.ensure(size) for key, size in sizes.items()}
    held = contextlib.ExitStack()  # the data sets' database files, locked in RAM for the run
    locked = {data_set.database: held.enter_context(data_set.held_in_memory()) for data_set in data.values()}
    servers = {
        "small": Server(f"check-{args.small}", data["small"].url),
        "big": Server(f"check-{args.big}", data["big"].url),
        "bare": Server("bare", None),
    }
    try:
        print("starting servers (time to ready)")
        ready = start_all(servers, args.starts)
        # In this order, so that bare and check@small, and check@small and check@big, run side
        # by side; the batch runs one phase away from check@small.
        phases = {
            "bare": Phase("bare /v1/check", servers["bare"], data["small"]),
            "check_small": Phase(f"/v1/check @{_short(args.small)}", servers["small"], data["small"]),
            "check_big": Phase(f"/v1/check @{_short(args.big)}", servers["big"], data["big"]),
            "batch_small": Phase(f"batch-{BATCH} @{_short(args.small)}", servers["small"], data["small"], BATCH),
        }
        for phase in phases.values():
            phase.data_locked = locked[phase.data.database]
        print(f"load: {args.rounds} rounds x {len(phases)} phases x ({args.warmup:g} s warm-up + {args.duration:g} s)")
        run_rounds(list(phases.values()), args.rounds, args.duration, args.warmup, args.connections)
        rss = {key: [rss_mib(pid) for pid in server.workers()] for key, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
        held.close()
    mean_rss = {key: statistics.mean(values) for key, values in rss.items()}
    values = goal_values(phases, mean_rss, ready)
    print()
    print(text_table(PHASE_HEADER, phase_rows(phases)))
    print()
    print(
        "worker RSS (MiB): "
        + "   ".join(f"{servers[k].name}: {' + '.join(f'{x:.1f}' for x in v)}" for k, v in rss.items())
    )
    print()
    print(text_table(GOAL_HEADER, goal_rows(values, cpu_ratios(phases), _shorts(sizes))))
    warning = busy_warning(phases)
    if warning:
        print(f"\nWARNING: {warning}")
    written = write_markdown(args, command, phases, values, rss, ready, sizes)
    print(f"\nwritten to {written.relative_to(ROOT)}")
    return 0


def _held_note(phases: dict[str, Phase]) -> str:
    held = {phase.data.database.parent.name: phase.data_locked for phase in phases.values()}
    return ", ".join(
        f"{name} {'yes' if locked else 'no (read into the page cache before each phase)'}"
        for name, locked in sorted(held.items())
    )


def _shorts(sizes: dict[str, int]) -> dict[str, str]:
    return {key: _short(size) for key, size in sizes.items()}


def _short(size: int) -> str:
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return f"{size:,}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
