"""Every page renders in under 100 ms of server time on a site of 10,000 members:
lists are paged in the database, never loaded whole. Measured in process (falcon's
TestClient: routing, the service, the database and the template), best of three
so that another process on the machine does not decide the verdict."""

from __future__ import annotations

import time

import pytest
from peewee import Value

from authz.contract.access_requests import AccessRequestInput
from authz.contract.actors import Actor
from models.db import is_postgres, write_transaction
from models.directory import record_change
from models.schema import Membership, Person, Site, utcnow

MEMBERS = 10_000
BUDGET_S = 0.100


@pytest.fixture
def big_site(demo, database):
    """10,000 more users of site 1001, written in bulk (the importer checks row by row)."""
    site = Site.get(Site.number == "1001")
    with write_transaction():
        Person.insert_many(
            [
                {
                    "login_id": f"m{i:05d}@acme.example",
                    "login_key": f"m{i:05d}@acme.example",
                    "email": f"m{i:05d}@acme.example",
                    "first_name": f"Member{i}",
                    "last_name": "Many",
                }
                for i in range(MEMBERS)
            ]
        ).execute()
        many = Person.login_key.endswith("@acme.example") & Person.last_name.in_(["Many"])
        rows = Person.select(Value(site.id), Person.id, Value("user"), Value(utcnow())).where(many)
        columns = [Membership.site, Membership.person, Membership.role, Membership.created_at]
        Membership.insert_from(rows, columns).execute()
        record_change("membership", "1001")  # member_lookup brought up to date for the site
    if is_postgres(database):
        database.execute_sql("ANALYZE")  # as autovacuum would after a bulk load
    assert Membership.select().where(Membership.site == site).count() == MEMBERS + 4


def best_of_three(browser, path: str, **params) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        resp = browser.get(path, **params)
        times.append(time.perf_counter() - started)
        assert resp.status_code == 200, (path, resp.status_code)
    return min(times)


PAGES = [
    ("/console/", {}),
    ("/console/sites/1001/", {}),
    ("/console/sites/1001/members", {}),
    ("/console/sites/1001/members", {"q": "member9999"}),
    ("/console/sites/1001/members", {"role": "secondary"}),
    ("/console/sites/1001/members", {"after": "m05000@acme.example"}),
    ("/console/sites/1001/member", {"login": "m04321@acme.example"}),
    ("/console/sites/1001/member/delete", {"login": "m04321@acme.example"}),
    ("/console/sites/1001/add-user", {}),
    ("/console/sites/1001/requests", {}),
    ("/console/sites/1001/requests/1/grant", {}),
    ("/console/sites/1001/contacts", {}),
    ("/console/sites/1001/audit", {}),
    ("/console/preferences", {}),
    ("/console/request-access", {}),
]


def test_every_page_within_budget_with_ten_thousand_members(big_site, service, browser):
    service.access_requests.ask(Actor.person("frank@globex.example"), "1001", AccessRequestInput("Please"))
    alice = browser("alice@acme.example")
    timings = {f"{path} {params or ''}": best_of_three(alice, path, **params) for path, params in PAGES}
    slow = {page: f"{seconds * 1000:.1f} ms" for page, seconds in timings.items() if seconds >= BUDGET_S}
    assert not slow, slow
    print("\n".join(f"{seconds * 1000:6.1f} ms  {page}" for page, seconds in timings.items()))
