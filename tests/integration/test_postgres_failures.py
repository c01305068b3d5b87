"""PostgreSQL failing under a real gunicorn: the service's backends terminated
over and over (pg_terminate_backend, what a failover or an operator does) while
checks and administrative calls keep coming from several threads.

Every answer must be a normal one or a 503 with Retry-After and a JSON error
body; a check whose answer is "denied" is never answered "allowed"; and once
the killing stops the service answers normally again by itself, within a few
seconds. A CSV export cut off mid-stream ends as a transfer cut short, never
as a file that looks complete."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from email.message import Message

import pytest
from peewee import Value

from authz.accounts.importer import import_file
from authz.authn.keys import create_key
from authz.config import PROJECT_ROOT
from models.db import db, write_transaction
from models.directory import record_change
from models.schema import Membership, Person, Site, utcnow
from tests.conftest import BACKENDS, _fresh_postgres
from tests.faults import Backends
from tests.integration.server import gunicorn, wait_until

pytestmark = pytest.mark.integration

KILLING_S = 4.0  # how long the backends are terminated, every KILL_EVERY_S
KILL_EVERY_S = 0.05
RECOVERY_S = 5.0  # the bound on coming back once the database is left alone
DENIED = {"user": "carol@acme.example", "site": "1001", "action": "request_media"}
ALLOWED = {"user": "carol@acme.example", "site": "1001", "action": "download_software"}


@pytest.fixture(params=[b for b in BACKENDS if b == "postgres"])
def database_url(request):
    """PostgreSQL only (not generated where it is absent)."""
    return _fresh_postgres(request)


@pytest.fixture
def server(tmp_path, database, database_url, policy_table):
    """gunicorn on PostgreSQL with the demo data. The change log is polled every
    20 ms and one member is cached per worker, so checks keep reading the
    database, and fail when it fails, instead of answering from memory."""
    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)
    check = {"Authorization": f"Bearer {create_key('checks', 'check')[0]}"}
    admin = {"Authorization": f"Bearer {create_key('console', 'admin')[0]}", "X-Acting-User": "alice@acme.example"}
    with gunicorn(tmp_path, database_url, workers=2, AUTHZ_CHANGE_POLL_MS="20", AUTHZ_CACHE_SIZE="1") as running:
        yield running, check, admin


def unavailable(status: int, headers: Message, raw: bytes) -> bool:
    """A 503 as the service promises it: Retry-After and a JSON body, our error
    (readiness: its own report)."""
    if status != 503:
        return False
    body = json.loads(raw)
    assert headers.get("Retry-After") == "1", (headers, body)
    assert headers["Content-Type"].startswith("application/json"), headers
    assert body.get("error") == "unavailable" or body.get("database") == "unavailable", body
    assert "allowed" not in body, body
    return True


class Load:
    """Threads sending one kind of request each, in a loop, until stopped; every
    answer is judged as it comes (an AssertionError is kept, not lost)."""

    def __init__(self, running):
        self._running = running
        self._stop = threading.Event()
        self.tally: Counter[str] = Counter()
        self.failures: list[str] = []
        self._threads: list[threading.Thread] = []

    def add(self, name: str, request: tuple, normal: Callable[[int, bytes], bool]) -> None:
        def loop():
            while not self._stop.is_set():
                try:
                    status, headers, raw = self._running.exchange(*request)
                    if unavailable(status, headers, raw):
                        self.tally[f"{name} 503"] += 1
                    else:
                        assert normal(status, raw), (status, raw[:300])
                        self.tally[f"{name} ok"] += 1
                except Exception as exc:  # a wrong answer, or no answer at all: kept, not lost
                    self.failures.append(f"{name}: {exc!r}")

        self._threads.append(threading.Thread(target=loop, name=name, daemon=True))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in self._threads), "a request never came back"


def decision(status: int, raw: bytes) -> bool | None:
    return json.loads(raw)["allowed"] if status == 200 else None


def test_terminated_backends_under_load_answer_503_or_the_truth_then_recover(server, database_url):
    running, check, admin = server
    load = Load(running)
    load.add("denied check", ("POST", "/v1/check", DENIED, check), lambda s, raw: decision(s, raw) is False)
    load.add("allowed check", ("POST", "/v1/check", ALLOWED, check), lambda s, raw: decision(s, raw) is True)
    load.add(
        "batch",
        ("POST", "/v1/check/batch", {"checks": [DENIED, ALLOWED]}, check),
        lambda s, raw: s == 200 and [r["allowed"] for r in json.loads(raw)["results"]] == [False, True],
    )
    load.add("member list", ("GET", "/v1/sites/1001/members", None, admin), lambda s, raw: s == 200)
    load.add(
        "member change",
        ("PATCH", "/v1/sites/1001/members/Dana.Diaz", {"levels": {"reporting": "none"}}, admin),
        lambda s, raw: s == 200,
    )
    load.add(
        "readiness",
        ("GET", "/readyz", None, {}),
        lambda s, raw: s == 200 and json.loads(raw)["ready"] is True,
    )
    own = db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]  # this test's handle: spared
    backends = Backends(database_url)
    killed = 0
    try:
        with load:
            deadline = time.monotonic() + KILLING_S
            while time.monotonic() < deadline:
                killed += backends.terminate(spare=(own,))
                time.sleep(KILL_EVERY_S)
    finally:
        backends.close()
    assert not load.failures, load.failures[:10]
    assert killed > 20, killed  # the workers' connections really were terminated, again and again
    assert sum(n for kind, n in load.tally.items() if kind.endswith("503")) > 0, load.tally
    assert all(load.tally[f"{name} ok"] > 0 for name in ("denied check", "allowed check", "member list")), load.tally

    def normal_again() -> bool:
        answers = [
            decision(*running.call("POST", "/v1/check", DENIED, check)) is False,
            decision(*running.call("POST", "/v1/check", ALLOWED, check)) is True,
            running.call("GET", "/v1/sites/1001/members", None, admin)[0] == 200,
            running.call("PATCH", "/v1/sites/1001/members/Dana.Diaz", {"levels": {"reporting": "view"}}, admin)[0]
            == 200,
            running.call("GET", "/readyz")[0] == 200,
        ]
        return all(answers)

    started = time.monotonic()
    wait_until(normal_again, "normal answers once the database is left alone", deadline_s=RECOVERY_S, log=running.log)
    recovered_in = time.monotonic() - started
    for _ in range(10):  # and it stays so: every worker reconnected
        assert normal_again()
    log = running.log.read_text()
    assert "WORKER TIMEOUT" not in log and "Error handling request" not in log, log[-3000:]
    print(f"terminated {killed} backends in {KILLING_S}s; answers {dict(load.tally)}; normal in {recovered_in:.2f}s")


def add_bulk_members(site_number: str, count: int) -> int:
    """COUNT plain users on the site, with long names (about 330 bytes a CSV row),
    in a few statements: the importer's row-by-row checks would take minutes."""
    with write_transaction():
        logins = [f"member{i:05d}@bulk.example" for i in range(count)]
        Person.insert_many(
            [
                {"login_id": x, "login_key": x, "email": x, "first_name": "F" * 100, "last_name": "L" * 100}
                for x in logins
            ]
        ).execute()
        site = Site.get(Site.number == site_number)
        Membership.insert_from(
            Person.select(Value(site.id), Person.id, Value("user"), Value(utcnow())).where(
                Person.login_key.in_(logins)
            ),
            [Membership.site, Membership.person, Membership.role, Membership.created_at],
        ).execute()
        record_change("import")  # member_lookup rebuilt, caches dropped
    return count


def test_an_export_cut_off_by_the_database_ends_as_an_incomplete_transfer(server, database_url):
    """The status and headers are sent before the rows are all read; a failure
    after that cannot become a 503. The server then closes the connection without
    the chunked body's last chunk: the client sees the transfer cut short."""
    running, _, admin = server
    # 20,000 rows of about 330 bytes: far more than loopback's socket buffers hold
    # (tcp_wmem's maximum is 4 MiB), so the worker is still reading rows when the
    # database goes, however fast it wrote the first ones.
    rows = add_bulk_members("1001", 20_000)
    port = int(running.base.rsplit(":", 1)[1])
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the server blocks once we stop reading
        client.connect(("127.0.0.1", port))
        client.settimeout(15)
        client.sendall(
            b"GET /v1/sites/1001/members.csv HTTP/1.1\r\nHost: test\r\n"
            + f"Authorization: {admin['Authorization']}\r\nX-Acting-User: {admin['X-Acting-User']}\r\n\r\n".encode()
        )
        received = client.recv(2048)
        assert received.startswith(b"HTTP/1.1 200 "), received[:200]
        assert b"transfer-encoding: chunked" in received.lower()
        assert Backends(database_url).terminate(spare=(db.execute_sql("SELECT pg_backend_pid()").fetchone()[0],))
        while chunk := client.recv(65536):
            received += chunk
    assert not received.endswith(b"\r\n0\r\n\r\n"), "the transfer looks complete"
    assert received.count(b"@bulk.example") < 2 * rows, "every row arrived"
    wait_until(
        lambda: running.call("GET", "/v1/sites/1001/members.csv", None, admin)[0] == 200,
        "exports to work again",
        deadline_s=RECOVERY_S,
    )
    print(running.log.read_text()[-4000:])
    print(len(received), received[-200:])
    assert "StoreUnavailable" in running.log.read_text()  # gunicorn logs why it cut the transfer
