"""Instructions per request, counted by valgrind's callgrind inside a gunicorn
worker: the same ratios as bench.py (check vs bare, 1M vs 1k), but counted, not
timed, so they repeat from run to run whatever else the machine is doing.

    .venv/bin/python bench/instructions.py [--requests 1000]

Needs valgrind, gcc and valgrind's callgrind.h (Debian: valgrind). Takes about
a minute or two. Each server runs one sync worker from deploy/gunicorn.conf.py under
callgrind with instrumentation off; after a warm-up the worker is signalled to
count, answers N requests sent one by one over real HTTP, and is signalled to
write the count. User-space instructions only: the kernel's share (accept,
send, close, page reads) is not counted, and neither are cache misses, so a
timed ratio is lower than a counted one where code touches more memory.

The change-log and policy polls are time-based; valgrind slows the worker about
fifty-fold, so at their usual intervals they would run fifty times too often per
request. Here they are set to once a day: the counts are the request path alone."""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import generate  # noqa: E402

WORK = ROOT / "var" / "bench" / "callgrind"
CONTROL_C = r"""
#include <valgrind/callgrind.h>
void count_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; }
void count_dump(void) { CALLGRIND_DUMP_STATS_AT("requests"); CALLGRIND_STOP_INSTRUMENTATION; }
"""
# Appended to the real config: the worker starts and stops counting on signals.
CONFIG = """
exec(open({config!r}).read())

def post_worker_init(worker):
    import ctypes, signal
    control = ctypes.CDLL({library!r})
    signal.signal(signal.SIGRTMIN + 1, lambda *_: control.count_start())
    signal.signal(signal.SIGRTMIN + 2, lambda *_: control.count_dump())
"""
START, DUMP = signal.SIGRTMIN + 1, signal.SIGRTMIN + 2
DAY_MS = str(24 * 3600 * 1000)


def build_control() -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    source, library = WORK / "control.c", WORK / "control.so"
    source.write_text(CONTROL_C)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    config = WORK / "gunicorn.conf.py"
    config.write_text(CONFIG.format(config=str(ROOT / "deploy" / "gunicorn.conf.py"), library=str(library)))
    return config


def count(name: str, config: Path, data: generate.DataSet, bare: bool, requests: int, fresh: bool) -> float:
    """Instructions per request for one server. FRESH: measure on bodies the
    warm-up did not send (every member uncached), else on the warm-up's own."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHZ_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        AUTHZ_WORKERS="1",
        DATABASE_URL=data.url,
        AUTHZ_CHANGE_POLL_MS=DAY_MS,
        AUTHZ_POLICY_POLL_MS=DAY_MS,
    )
    out = WORK / name
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}/cg.%p",
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(config),
        "--timeout",
        "3600",
    ]
    if bare:
        command += ["--pythonpath", str(ROOT / "bench"), "bare_app:app"]
    log = out / "server.log"
    with log.open("wb") as sink:
        master = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        bodies = [line.strip() for line in itertools.islice(open(data.requests), 2 * requests)]
        warm, measured = bodies[:requests], bodies[requests:] if fresh else bodies[:requests]
        _wait_ready(port, data.key())
        _send(port, data.key(), warm)
        if not bare:
            _wait_for_member_table(port, data.key(), warm[0], log)
        worker = _only_child(master.pid)
        os.kill(worker, START)
        _send(port, data.key(), measured)
        os.kill(worker, DUMP)
        return _total(out, worker) / len(measured)
    finally:
        master.send_signal(signal.SIGTERM)
        master.wait(timeout=120)


def _send(port: int, key: str, bodies: list[str]) -> None:
    for body in bodies:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request(
            "POST",
            "/v1/check",
            body=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        response = connection.getresponse()
        response.read()
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"POST /v1/check answered {response.status}")


def _wait_for_member_table(port: int, key: str, body: str, log: Path) -> None:
    """Until the worker has read its copy of the member table, or found it too large
    (authz/decisions/resident.py): a load in the background is not the request path.
    A worker takes a finished copy into use on a request, so requests go on meanwhile."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "member table held" in text or "member table not" in text:
            return
        _send(port, key, [body])
        time.sleep(0.5)
    raise RuntimeError(f"the worker did not load its member table within 10 minutes; see {log}")


def _wait_ready(port: int, key: str) -> None:
    deadline = time.monotonic() + 600  # imports and the policy compile run under valgrind too
    while time.monotonic() < deadline:
        try:
            _send(port, key, ['{"user": "x", "site": "x", "action": "download_software"}'])
            return
        except (OSError, RuntimeError):
            time.sleep(0.5)
    raise RuntimeError("the server did not answer within 10 minutes")


def _only_child(pid: int) -> int:
    [child] = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(child)


def _total(folder: Path, worker: int) -> int:
    """The Ir total of the worker's dump (callgrind writes it when the signal is handled)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for path in folder.glob(f"cg.{worker}.*"):
            for line in path.read_text().splitlines():
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
        time.sleep(0.5)
    raise RuntimeError(f"no callgrind dump from worker {worker} in {folder}")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests counted per server (default 1000)")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--big", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    config = build_control()
    small, big = generate.ensure(args.small), generate.ensure(args.big)
    bare = count("bare", config, small, True, args.requests, fresh=False)
    check_small = count("check-small", config, small, False, args.requests, fresh=False)
    check_big = count("check-big", config, big, False, args.requests, fresh=True)
    print(f"instructions per request ({args.requests} counted, one worker, user space):")
    print(f"  bare /v1/check        {bare:>10,.0f}")
    print(
        f"  /v1/check @{args.small:<10,} {check_small:>10,.0f}   {check_small / bare:.3f}x bare"
        f"  (a throughput ratio of {bare / check_small:.3f})"
    )
    print(
        f"  /v1/check @{args.big:<10,} {check_big:>10,.0f}   {check_big / check_small:.3f}x @{args.small:,}"
        f"  (a throughput ratio of {check_small / check_big:.3f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
