"""The real thing: gunicorn with two sync workers, over HTTP on loopback."""

import json

import pytest

from authz.accounts.importer import import_data, import_file
from authz.authn.keys import create_key
from authz.config import PROJECT_ROOT
from models import directory
from tests.integration.server import gunicorn, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path, database, database_url, policy_table):
    """gunicorn serving the test's database (SQLite, then PostgreSQL) with the demo data."""
    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)
    key, _ = create_key("integration", "check")
    with gunicorn(tmp_path, database_url, AUTHZ_CHANGE_POLL_MS="60000") as running:
        yield running, {"Authorization": f"Bearer {key}"}


def test_checks_over_http_through_both_workers(server, make):
    running, auth = server
    body = {"user": "carol@acme.example", "site": "1001", "action": "request_media"}
    status, raw = running.call("POST", "/v1/check", body, auth)
    assert status == 200 and json.loads(raw)["allowed"] is False
    # A change committed by another process: every answer that names its seq reflects it,
    # whichever worker serves it (many requests, so both workers answer some).
    make.member("1001", "carol@acme.example", purchase_download="media")
    seq = directory.latest_change_seq()
    answers = [
        json.loads(running.call("POST", "/v1/check", {**body, "min_change_seq": seq}, auth)[1]) for _ in range(20)
    ]
    assert all(a["allowed"] for a in answers)

    status, raw = running.call("POST", "/v1/check", {"user": "carol@acme.example"}, auth)
    assert status == 400 and json.loads(raw)["field"] == "site"
    assert running.call("POST", "/v1/check", body, {"Authorization": "Bearer azk_bad_key"})[0] == 401


def test_metrics_sum_every_worker(server):
    running, auth = server
    body = {"checks": [{"user": "alice@acme.example", "site": "1001", "action": "add_user"}] * 7}
    for _ in range(6):
        assert running.call("POST", "/v1/check/batch", body, auth)[0] == 200

    def allowed_total() -> float:  # whichever worker renders it, summed over both
        text = running.call("GET", "/metrics")[1].decode()
        line = next(line for line in text.splitlines() if line.startswith('authz_decisions_total{allowed="true"}'))
        return float(line.split()[-1])

    # Workers write their tallies once a second (authz/metrics.py): the sum reaches 42 within it.
    wait_until(lambda: allowed_total() == 42.0, "every worker's decisions in /metrics", deadline_s=3.0)
    assert allowed_total() == 42.0  # and goes no further


def test_every_worker_reports_its_copy_of_the_member_table(server):
    running, auth = server
    body = {"user": "alice@acme.example", "site": "1001", "action": "add_user"}

    def held() -> list[float]:  # one series per worker: what its copy held when put in use
        for _ in range(4):  # a worker loads its copy from its first request on, and adopts it on a later one
            running.call("POST", "/v1/check", body, auth)
        text = running.call("GET", "/metrics")[1].decode()
        return [
            float(line.split()[-1]) for line in text.splitlines() if line.startswith("authz_member_table_memberships{")
        ]

    [(memberships,)] = directory.db.execute_sql("SELECT count(*) FROM member_lookup").fetchall()
    wait_until(lambda: held() == [memberships, memberships], f"both workers to hold {memberships} memberships")


def test_a_non_ascii_acting_login_id_is_read_from_utf_8_or_latin_1(server, policy_table):
    """WSGI hands headers over as Latin-1 text; the acting person is found whichever of
    the two encodings the client sent, and bytes naming nobody are refused."""
    running, _ = server
    import_data(
        {
            "people": [{"login_id": "zoë@acme.example", "email": "zoe@acme.example"}],
            "memberships": [
                {"site": "1001", "user": "zoë@acme.example", "role": "secondary", "levels": {"manage_access": "view"}}
            ],
        },
        policy_table,
    )
    admin, _ = create_key("acting", "admin")

    def members_as(acting: bytes | str) -> int:
        return running.call(
            "GET", "/v1/sites/1001/members", headers={"Authorization": f"Bearer {admin}", "X-Acting-User": acting}
        )[0]

    assert members_as("zoë@acme.example".encode()) == 200  # UTF-8
    assert members_as("zoë@acme.example".encode("latin-1")) == 200  # Latin-1
    assert members_as("zoé@acme.example".encode()) == 404  # nobody: the site is hidden, as from every outsider
    assert members_as("alice@acme.example") == 200
