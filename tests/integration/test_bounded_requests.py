"""Requests are bounded: a body over the limit is refused before it is read, and a
client that does not send its request in time is cut off (api/worker.py), on a
real gunicorn over loopback."""

import json
import socket
import time

import pytest

from authz.accounts.importer import import_file
from authz.authn.keys import create_key
from authz.config import PROJECT_ROOT
from tests.integration.server import gunicorn

pytestmark = pytest.mark.integration

DEADLINE_MS = 1500
CHECK = {"user": "carol@acme.example", "site": "1001", "action": "download_software"}


@pytest.fixture
def server(tmp_path, database_url, database, policy_table):
    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)
    key, _ = create_key("bounded", "check")
    with gunicorn(tmp_path, database_url, AUTHZ_READ_DEADLINE_MS=str(DEADLINE_MS), AUTHZ_MAX_BODY_BYTES="65536") as s:
        yield s, key


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 10.0) -> tuple[int, bytes, float]:
    """Send HEAD (and BODY) on a new connection; (status, whole answer, seconds until it came)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(head + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer, time.monotonic() - started


def port_of(server) -> int:
    return int(server.base.rsplit(":", 1)[1])


def head(key: str, length: int, path: str = "/v1/check") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_body_over_the_limit_is_refused_before_it_is_sent(server):
    running, key = server
    # Announce 100 MB and send none of it: the answer comes anyway.
    status, answer, seconds = raw_request(port_of(running), head(key, 100 * 1024 * 1024))
    assert status == 413 and b"larger than 65536 bytes" in answer
    assert seconds < DEADLINE_MS / 1000  # answered from the headers, not after waiting for a body


def test_a_batch_too_large_for_the_limit_is_413_not_parsed(server):
    running, key = server
    body = json.dumps({"checks": [CHECK] * 5000}).encode()  # ~400 kB > 64 kB
    status, _, _ = raw_request(port_of(running), head(key, len(body), "/v1/check/batch"), body)
    assert status == 413


def test_a_client_that_trickles_is_cut_off_at_the_deadline(server):
    running, key = server
    body = json.dumps(CHECK).encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port_of(running)), timeout=10) as conn:
        conn.sendall(head(key, len(body)) + body[:1])  # then nothing more
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408")
    assert DEADLINE_MS / 1000 * 0.9 <= waited < DEADLINE_MS / 1000 + 3  # the worker let go at the deadline
    # ...and the worker serves others afterwards.
    status, answer, _ = raw_request(port_of(running), head(key, len(body)), body)
    assert status == 200 and json.loads(answer.split(b"\r\n\r\n", 1)[1])["allowed"] is True


def test_slow_headers_are_cut_off_too(server):
    running, _ = server
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port_of(running)), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the headers never end
        answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < DEADLINE_MS / 1000 + 3
