"""SQLite's write lock held by another process, against a real gunicorn with the
default AUTHZ_DB_LOCK_TIMEOUT_MS: an administrative write gives up within the
bound and answers 503 with Retry-After, a check still answers (WAL readers do
not need the write lock), and once the lock is let go the same write goes
through, without a restart."""

from __future__ import annotations

import json
import time

import pytest

from authz.accounts.importer import import_file
from authz.authn.keys import create_key
from authz.config import PROJECT_ROOT, Settings
from tests.faults import sqlite_path, sqlite_write_lock
from tests.integration.server import gunicorn

pytestmark = pytest.mark.integration

BOUND_S = Settings.db_lock_timeout_ms / 1000  # the default: what the service promises unconfigured
MARGIN_S = 1.0  # scheduling slack on a loaded machine


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path}/authz.db"


@pytest.fixture
def server(tmp_path, database, database_url, policy_table):
    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)
    check = {"Authorization": f"Bearer {create_key('checks', 'check')[0]}"}
    admin = {"Authorization": f"Bearer {create_key('console', 'admin')[0]}", "X-Acting-User": "alice@acme.example"}
    with gunicorn(tmp_path, database_url, AUTHZ_CHANGE_POLL_MS="60000") as running:
        yield running, check, admin


def test_a_write_gives_up_on_a_held_write_lock_within_the_bound_and_recovers(server, database_url):
    running, check, admin = server
    change = ("PATCH", "/v1/sites/1001/members/Dana.Diaz", {"levels": {"entitlements": "view"}}, admin)
    denied = {"user": "carol@acme.example", "site": "1001", "action": "request_media"}
    with sqlite_write_lock(sqlite_path(database_url)):
        started = time.monotonic()
        status, headers, raw = running.exchange(*change)
        took = time.monotonic() - started
        assert status == 503, raw
        assert headers.get("Retry-After") == "1" and headers["Content-Type"].startswith("application/json")
        assert json.loads(raw)["error"] == "unavailable"
        assert BOUND_S * 0.9 <= took < BOUND_S + MARGIN_S, took  # it waited for the lock, and no longer

        started = time.monotonic()
        status, _, raw = running.exchange("POST", "/v1/check", denied, check)
        assert status == 200 and json.loads(raw)["allowed"] is False
        assert time.monotonic() - started < BOUND_S  # it did not wait for the write lock
        assert running.exchange("GET", "/v1/sites/1001/members", None, admin)[0] == 200
    status, _, raw = running.exchange(*change)
    assert status == 200, raw
    assert json.loads(raw)["levels"]["entitlements"] == "view"
