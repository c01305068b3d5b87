"""Slow clients cannot take the service down when it runs behind its front
(deploy/nginx/): with 50 connections trickling their bodies, every check from other
clients is answered and /healthz stays up. The workers' own read deadline is set
far beyond the client's 15 s timeout here, so a check that had to wait for a
trickling client would fail: what is held is that none waits, not a speed
(the latencies are printed)."""

import json
import socket
import statistics
import threading
import time

import pytest

from authz.accounts.importer import import_file
from authz.authn.keys import create_key
from authz.config import PROJECT_ROOT
from tests.integration.front import nginx_front
from tests.integration.server import call, gunicorn

pytestmark = pytest.mark.integration

SLOW_CLIENTS = 50
CHECK = {"user": "carol@acme.example", "site": "1001", "action": "download_software"}


def trickle(base: str, key: str, stop: threading.Event, opened: list) -> None:
    """Announce a check and send its body one byte at a time, as slowly as the front allows."""
    host, port = base.removeprefix("http://").split(":")
    body = json.dumps(CHECK).encode()
    head = (
        f"POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    while not stop.is_set():
        try:
            with socket.create_connection((host, int(port)), timeout=10) as conn:
                conn.sendall(head)
                opened.append(1)
                for byte in body[:-1]:  # never the last byte
                    if stop.wait(4.0):  # under the front's 5 s body timeout: each connection lives long
                        return
                    conn.sendall(bytes([byte]))
        except OSError:
            continue  # the front closed it: open another


@pytest.fixture
def behind_front(tmp_path, database, database_url, policy_table):
    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)
    key, _ = create_key("slow", "check")
    with gunicorn(tmp_path, database_url, AUTHZ_READ_DEADLINE_MS="120000") as server:
        port = int(server.base.rsplit(":", 1)[1])
        with nginx_front(tmp_path, port) as base:
            yield base, key


def test_no_check_waits_for_fifty_trickling_clients(behind_front):
    base, key = behind_front
    auth = {"Authorization": f"Bearer {key}"}
    stop, opened = threading.Event(), []
    threads = [
        threading.Thread(target=trickle, args=(base, key, stop, opened), daemon=True) for _ in range(SLOW_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(opened) < SLOW_CLIENTS and time.monotonic() < deadline:
            time.sleep(0.05)  # not synchronisation of the service: waiting for our own threads to connect
        assert len(opened) >= SLOW_CLIENTS, "the slow clients did not all connect"
        latencies, health = [], []
        for _ in range(300):
            started = time.perf_counter()
            status, raw = call(base, "POST", "/v1/check", CHECK, auth)
            latencies.append(time.perf_counter() - started)
            assert status == 200 and json.loads(raw)["allowed"] is True
        for _ in range(20):
            health.append(call(base, "GET", "/healthz")[0])
    finally:
        stop.set()
    assert health == [200] * 20
    p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
    print(f"checks beside {SLOW_CLIENTS} trickling clients: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
