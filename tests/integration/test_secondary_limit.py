"""At most four secondary contacts, under load: gunicorn with four workers, twenty
requests released at once, on SQLite and on PostgreSQL. Exactly the room left is
granted; everyone else gets 409, nobody a 5xx, and the database agrees."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest

from authz.accounts.importer import import_data
from authz.audit import trail
from authz.authn.keys import create_key
from models.schema import Membership, Person, Site
from tests.integration.server import gunicorn

pytestmark = pytest.mark.integration

CONTENDERS = 20
SITE = "7007"
PRIMARY = "prime@limit.example"


@pytest.fixture
def server(tmp_path, database, database_url, policy_table):
    """gunicorn with four sync workers on the test's database (SQLite, then PostgreSQL),
    serving site 7007: its primary and one secondary (room for three more)."""
    import_data(
        {
            "sites": [{"number": SITE, "name": "Limit Testing"}],
            "people": [
                {"login_id": PRIMARY, "email": PRIMARY},
                {"login_id": "second@limit.example", "email": "second@limit.example"},
            ],
            "memberships": [
                {"site": SITE, "user": PRIMARY, "role": "primary"},
                {"site": SITE, "user": "second@limit.example", "role": "secondary"},
            ],
        },
        policy_table,
    )
    headers = {"Authorization": f"Bearer {create_key('limit', 'admin')[0]}", "X-Acting-User": PRIMARY}
    with gunicorn(tmp_path, database_url, workers=4, AUTHZ_CHANGE_POLL_MS="60000") as running:

        def call(method, path, body):
            status, raw = running.call(method, path, body, headers)
            try:
                return status, json.loads(raw)
            except ValueError:
                return status, {"error": raw.decode(errors="replace")}

        yield call, running.log


def race(requests: list) -> list:
    """Run every request (a callable) in its own thread, all released at once."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(i, request):
        try:
            barrier.wait(timeout=30)
            results[i] = request()
        except Exception as exc:  # kept and reported: an exception in a thread is lost otherwise
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


def secondaries() -> set[str]:
    query = (
        Membership.select(Membership, Person)
        .join(Person)
        .switch(Membership)
        .join(Site)
        .where((Site.number == SITE) & (Membership.role == "secondary"))
    )
    return {m.person.login_id for m in query}


def assert_exactly_room_for_three(results, success: int, log) -> set[int]:
    """Three SUCCESS answers, the rest 409, no 5xx; the indexes of the winners."""
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    statuses = Counter(status for status, _ in results)
    assert not [s for s in statuses if s >= 500], (statuses, log.read_text()[-3000:])
    assert statuses == {success: 3, 409: CONTENDERS - 3}, statuses
    assert all(body["error"] == "conflict" for status, body in results if status == 409)
    assert Membership.select().join(Site).where((Site.number == SITE) & (Membership.role == "primary")).count() == 1
    # Every attempt is in the audit trail (3 done, 17 refused), and concurrent writers kept the chain whole.
    outcomes = Counter(r["outcome"] for r in trail.page(SITE, limit=100))
    assert outcomes == {"done": 3, "refused": CONTENDERS - 3}, outcomes
    report = trail.verify()
    assert report.ok, str(report)
    return {i for i, (status, _) in enumerate(results) if status == success}


def test_twenty_concurrent_adds_of_secondaries(server, policy_table):
    call, log = server
    logins = [f"candidate{i:02d}@limit.example" for i in range(CONTENDERS)]
    import_data({"people": [{"login_id": login, "email": login} for login in logins]}, policy_table)

    def add(login):
        return lambda: call(
            "POST",
            f"/v1/sites/{SITE}/members",
            {
                "login_id": login,
                "email": login,
                "role": "secondary",
                "business_justification": "helps administer the site",
            },
        )

    results = race([add(login) for login in logins])

    winners = assert_exactly_room_for_three(results, 201, log)
    assert secondaries() == {"second@limit.example"} | {logins[i] for i in winners}
    # The losers are not members at all: nothing half-done.
    members = Membership.select().join(Site).where(Site.number == SITE).count()
    assert members == 2 + 3


def test_twenty_concurrent_promotions_to_secondary(server, policy_table):
    call, log = server
    logins = [f"user{i:02d}@limit.example" for i in range(CONTENDERS)]
    import_data(
        {
            "people": [{"login_id": login, "email": login} for login in logins],
            "memberships": [{"site": SITE, "user": login, "role": "user"} for login in logins],
        },
        policy_table,
    )

    def promote(login):
        return lambda: call("PATCH", f"/v1/sites/{SITE}/members/{login}", {"role": "secondary"})

    results = race([promote(login) for login in logins])

    winners = assert_exactly_room_for_three(results, 200, log)
    assert secondaries() == {"second@limit.example"} | {logins[i] for i in winners}
    roles = Counter(m.role for m in Membership.select().join(Site).where(Site.number == SITE))
    assert roles == {"primary": 1, "secondary": 4, "user": CONTENDERS - 3}
