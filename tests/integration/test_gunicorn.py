"""The real thing: gunicorn with two sync workers, over HTTP on loopback."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from authz.config import PROJECT_ROOT
from authz.importer import import_file
from authz.keys import create_key
from models import directory

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base, path, body=None, key=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def server(tmp_path, database_url, policy_table):
    """gunicorn serving the test's database (SQLite, then PostgreSQL) with the demo data."""
    url = database_url
    env = {**os.environ, "DATABASE_URL": url, "PORT": str(free_port()), "HOST": "127.0.0.1",
           "AUTHZ_WORKERS": "2", "AUTHZ_CHANGE_POLL_MS": "60000"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([sys.executable, "-m", "authz.cli", "migrate"], env=env, check=True, capture_output=True)
    from models.db import open_database
    open_database(url)
    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)
    key, _ = create_key("integration", "check")
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as log_file:  # a file, not a pipe: a full pipe would block gunicorn
        proc = subprocess.Popen([sys.executable, "-m", "authz.cli", "serve"], env=env, cwd=tmp_path,
                                stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 30
    while True:  # wait for readiness: a condition, polled, with a deadline
        try:
            if request(base, "/readyz")[0] == 200:
                break
        except OSError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    yield base, key
    proc.terminate()
    proc.wait(timeout=15)


def test_checks_over_http_through_both_workers(server, make):
    base, key = server
    body = {"user": "carol@acme.example", "site": "1001", "action": "request_media"}
    status, raw = request(base, "/v1/check", body, key)
    assert status == 200 and json.loads(raw)["allowed"] is False
    # A change committed by another process: every answer that names its seq reflects it,
    # whichever worker serves it (many requests, so both workers answer some).
    make.member("1001", "carol@acme.example", purchase_download="media")
    seq = directory.latest_change_seq()
    answers = [json.loads(request(base, "/v1/check", {**body, "min_change_seq": seq}, key)[1]) for _ in range(20)]
    assert all(a["allowed"] for a in answers)

    status, raw = request(base, "/v1/check", {"user": "carol@acme.example"}, key)
    assert status == 400 and json.loads(raw)["field"] == "site"
    assert request(base, "/v1/check", body, "azk_bad_key")[0] == 401


def test_metrics_sum_every_worker(server):
    base, key = server
    body = {"checks": [{"user": "alice@acme.example", "site": "1001", "action": "add_user"}] * 7}
    for _ in range(6):
        assert request(base, "/v1/check/batch", body, key)[0] == 200
    text = request(base, "/metrics")[1].decode()
    line = next(l for l in text.splitlines() if l.startswith('authz_decisions_total{allowed="true"}'))
    assert float(line.split()[-1]) == 42.0
