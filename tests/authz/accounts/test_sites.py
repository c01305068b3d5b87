"""Operator workflows under concurrency, on both databases."""

import threading

from authz.audit import trail
from authz.contract.actors import Actor
from authz.errors import Conflict
from models.db import db
from models.schema import Site
from tests.drive import sites


def test_concurrent_creation_of_one_site_has_one_winner(database, policy_table):
    body = {
        "number": "7007",
        "name": "Racy",
        "primary": {"login_id": "racer@example.test", "email": "racer@example.test"},
    }
    barrier, outcomes = threading.Barrier(6), []

    def create():
        barrier.wait()
        try:
            sites.create_site(policy_table, Actor.operator("cli"), body)
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")
        finally:
            db.close()  # this thread's connection

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict"] * 5 + ["created"]
    assert Site.select().where(Site.number == "7007").count() == 1
    records = trail.page("7007", limit=10)
    assert sorted(r["outcome"] for r in records) == ["done"] + ["refused"] * 5
    assert trail.verify().ok
