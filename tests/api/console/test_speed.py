"""Every page answers on a site of 10,000 members, and the lists are paged in the
database, never loaded whole: a page holds at most PAGE_SIZE rows, a search finds the
one member it names. How fast each page renders is measured, not asserted here:
`bench/console.py` (figures in the README's Console section)."""

from __future__ import annotations

import re

import pytest
from peewee import Value

from api.console.members import PAGE_SIZE
from authz.contract.access_requests import AccessRequestInput
from authz.contract.actors import Actor
from models.db import is_postgres, write_transaction
from models.directory import record_change
from models.schema import Membership, Person, Site, utcnow

MEMBERS = 10_000


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


def rows(html: str) -> int:
    """Rows of the page's table body."""
    body = html.split("<tbody", 1)[-1].split("</tbody>", 1)[0]
    return len(re.findall(r"<tr[ >]", body))


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


def test_every_page_answers_and_lists_one_page_at_a_time(big_site, service, browser):
    service.access_requests.ask(Actor.person("frank@globex.example"), "1001", AccessRequestInput("Please"))
    alice = browser("alice@acme.example")
    for path, params in PAGES:
        resp = alice.get(path, **params)
        assert resp.status_code == 200, (path, params, resp.status_code)
    first = alice.get("/console/sites/1001/members")
    assert rows(first.text) == PAGE_SIZE and "Next" in first.text
    found = alice.get("/console/sites/1001/members", q="member9999")
    assert rows(found.text) == 1 and "m09999@acme.example" in found.text
    assert rows(alice.get("/console/sites/1001/members", after="m09990@acme.example").text) <= PAGE_SIZE
