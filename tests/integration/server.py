"""A real gunicorn for integration tests: started on a free loopback port with the
project's own config, waited for by polling /readyz with a deadline, stopped after."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from email.message import Message
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, bytes]:
    """(status, body) of one HTTP request; never raises for an HTTP error status."""
    status, _, raw = exchange(base, method, path, body, headers)
    return status, raw


def exchange(base: str, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, Message, bytes]:
    """(status, headers (looked up by any case), body) of one HTTP request; never
    raises for an HTTP error status."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def wait_until(condition, what: str, deadline_s: float = 30.0, log: Path | None = None):
    """Poll CONDITION (a function returning a truthy value) until it holds or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            result = condition()
        except OSError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f"\n{log.read_text()}" if log else ""))
        time.sleep(0.05)


class Server:
    def __init__(self, base: str, process: subprocess.Popen, log: Path):
        self.base, self.process, self.log = base, process, log

    def call(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, bytes]:
        return call(self.base, method, path, body, headers)

    def exchange(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, Message, bytes]:
        return exchange(self.base, method, path, body, headers)

    def hang_up(self) -> None:
        """SIGHUP to the gunicorn master: it restarts every worker gracefully."""
        self.process.send_signal(signal.SIGHUP)


@contextmanager
def gunicorn(workdir: Path, database_url: str, workers: int = 2, **env_extra: str):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "AUTHZ_WORKERS": str(workers),
        **env_extra,
    }
    for inherited in ("PROMETHEUS_MULTIPROC_DIR", "AUTHZ_STATE_DIR"):  # each server makes its own
        env.pop(inherited, None)
    log = workdir / "gunicorn.log"
    with open(log, "wb") as log_file:  # a file, not a pipe: a full pipe would block gunicorn
        process = subprocess.Popen(
            [sys.executable, "-m", "authz.cli", "serve"],
            env=env,
            cwd=workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{env['PORT']}", process, log)
    try:
        wait_until(
            lambda: (process.poll() is None and server.call("GET", "/readyz")[0] == 200) or process.poll() is not None,
            "gunicorn to be ready",
            log=log,
        )
        assert process.poll() is None, log.read_text()
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)
