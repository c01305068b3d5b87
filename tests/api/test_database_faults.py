"""Database failures over HTTP, route by route, on SQLite and PostgreSQL: every
route that needs the database answers 503 with Retry-After and a JSON error
body (readiness: its own body), within the lock timeout; no route answers 500
or a decision; and every route answers normally again once the database is
back, without a restart. The faults are real (tests/faults.py)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from falcon import testing

from api.app import create_app
from api.app import routes as route_table
from authz.accounts.importer import import_data
from authz.authn.keys import create_key
from authz.service import Service
from tests.faults import (
    postgres_refusing,
    postgres_writes_locked,
    sqlite_path,
    sqlite_unopenable,
    sqlite_write_lock,
)

LOCK_TIMEOUT_MS = 300  # short, so that a sweep of every write stays quick
MARGIN_S = 1.0  # scheduling slack on a loaded machine; the bounds themselves are the promise
ALICE, CAROL, DANA, ERIN = "alice@acme.example", "carol@acme.example", "Dana.Diaz", "erin@globex.example"
GINA = "gina@initech.example"  # a person of no site
SCIM = "/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
CONTACT = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "telephone": "+1 555 0199",
    "email": "grace@acme.example",
    "street_address": "1 Harbor Way",
    "city": "Arlington",
    "state_province": "VA",
    "postal_code": "22201",
    "contact_types": ["technical"],
}


@dataclass(frozen=True)
class Call:
    """One request to a route: whose key (None: public), the body, and what it
    needs of the database: "read", "write" (a write lock), or None."""

    path: str
    key: str | None
    body: dict | None = None
    uses: str | None = "read"
    acting: str = ALICE


def calls(to_grant: int, to_deny: int, contact_id: int, scim_user: str = "1") -> dict[tuple[str, str], Call]:
    """A valid request for every (route, method) of the API and of the SCIM door."""
    check = {"user": CAROL, "site": "1001", "action": "download_software"}
    return {
        ("/v1/check", "POST"): Call("/v1/check", "check", check),
        ("/v1/check/batch", "POST"): Call("/v1/check/batch", "check", {"checks": [check]}),
        ("/v1/sites/{site}/members/{login_id}/permissions", "GET"): Call(
            f"/v1/sites/1001/members/{CAROL}/permissions", "check"
        ),
        ("/v1/sites/{site}/actions/{action}/members", "GET"): Call(
            "/v1/sites/1001/actions/download_software/members", "check"
        ),
        ("/v1/sites", "GET"): Call("/v1/sites", "operator"),
        ("/v1/sites", "POST"): Call(
            "/v1/sites",
            "operator",
            {
                "number": "3003",
                "name": "Initech",
                "primary": {"login_id": "peter@initech.example", "email": "p@i.example"},
            },
            "write",
        ),
        ("/v1/sites/{site}/primary-transfer", "POST"): Call(
            "/v1/sites/2002/primary-transfer", "operator", {"to": DANA}, "write"
        ),
        ("/v1/sites/{site}/members", "GET"): Call("/v1/sites/1001/members", "admin"),
        ("/v1/sites/{site}/members", "POST"): Call(
            "/v1/sites/1001/members",
            "admin",
            {
                "login_id": "frank@globex.example",
                "email": "frank@globex.example",
                "business_justification": "Reports",
                "role": "user",
                "levels": {"reporting": "view"},
            },
            "write",
        ),
        # A download of who has access is on record before the list leaves: a write.
        ("/v1/sites/{site}/members.csv", "GET"): Call("/v1/sites/1001/members.csv", "admin", uses="write"),
        ("/v1/sites/{site}/members/{login_id}", "GET"): Call(f"/v1/sites/1001/members/{DANA}", "admin"),
        ("/v1/sites/{site}/members/{login_id}", "PATCH"): Call(
            f"/v1/sites/1001/members/{DANA}", "admin", {"levels": {"entitlements": "view"}}, "write"
        ),
        ("/v1/sites/{site}/members/{login_id}", "DELETE"): Call(
            f"/v1/sites/1001/members/{DANA}", "admin", None, "write"
        ),
        ("/v1/sites/{site}/identities/{login_id}", "GET"): Call(f"/v1/sites/1001/identities/{ERIN}", "admin"),
        ("/v1/sites/{site}/access-requests", "GET"): Call("/v1/sites/1001/access-requests", "admin"),
        ("/v1/sites/{site}/access-requests", "POST"): Call(
            "/v1/sites/2002/access-requests", "admin", {"business_justification": "Audits"}, "write", acting=CAROL
        ),
        ("/v1/sites/{site}/access-requests/{request_id}/grant", "POST"): Call(
            f"/v1/sites/1001/access-requests/{to_grant}/grant", "admin", {"role": "user"}, "write"
        ),
        ("/v1/sites/{site}/access-requests/{request_id}/deny", "POST"): Call(
            f"/v1/sites/1001/access-requests/{to_deny}/deny", "admin", {"reason": "access_not_necessary"}, "write"
        ),
        ("/v1/sites/{site}/audit", "GET"): Call("/v1/sites/1001/audit", "admin"),
        ("/v1/sites/{site}/contacts", "GET"): Call("/v1/sites/1001/contacts", "admin"),
        ("/v1/sites/{site}/contacts", "POST"): Call("/v1/sites/1001/contacts", "admin", CONTACT, "write"),
        ("/v1/sites/{site}/contacts/review", "POST"): Call("/v1/sites/1001/contacts/review", "admin", None, "write"),
        ("/v1/sites/{site}/contacts/{contact_id}", "PUT"): Call(
            f"/v1/sites/1001/contacts/{contact_id}", "admin", {**CONTACT, "city": "Boston"}, "write"
        ),
        ("/v1/sites/{site}/contacts/{contact_id}", "DELETE"): Call(
            f"/v1/sites/1001/contacts/{contact_id}", "admin", None, "write"
        ),
        ("/v1/contacts/overdue", "GET"): Call("/v1/contacts/overdue", "operator"),
        ("/v1/contacts/review-reminders", "POST"): Call("/v1/contacts/review-reminders", "operator", None, "write"),
        ("/v1/me", "GET"): Call("/v1/me", "admin"),
        ("/v1/me", "PATCH"): Call("/v1/me", "admin", {"notification_email": "alerts@acme.example"}, "write"),
        ("/v1/policy", "GET"): Call("/v1/policy", "check", uses=None),
        ("/v1/policy/reload", "POST"): Call("/v1/policy/reload", "policy", uses=None),
        ("/healthz", "GET"): Call("/healthz", None, uses=None),
        ("/readyz", "GET"): Call("/readyz", None),
        ("/metrics", "GET"): Call("/metrics", None, uses=None),
        ("/openapi.json", "GET"): Call("/openapi.json", None, uses=None),
        **scim_calls(scim_user),
    }


def scim_calls(user: str) -> dict[tuple[str, str], Call]:
    """The SCIM door: discovery is static; users are people in the database."""
    one = f"{SCIM}/Users/{user}"
    static = ("/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/User", "/Schemas", f"/Schemas/{USER_SCHEMA}")
    templates = (
        "/ServiceProviderConfig",
        "/ResourceTypes",
        "/ResourceTypes/{type_id}",
        "/Schemas",
        "/Schemas/{schema_id}",
    )
    replacement = {"schemas": [USER_SCHEMA], "userName": GINA, "emails": [{"value": GINA, "primary": True}]}
    created = {**replacement, "userName": "hal@initech.example", "emails": [{"value": "hal@initech.example"}]}
    deactivate = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    search = {"schemas": [SEARCH_SCHEMA], "filter": f'userName eq "{GINA}"'}
    return {
        **{(SCIM + t, "GET"): Call(SCIM + path, "scim", uses=None) for t, path in zip(templates, static, strict=True)},
        (f"{SCIM}/Users", "GET"): Call(f"{SCIM}/Users", "scim"),
        (f"{SCIM}/Users", "POST"): Call(f"{SCIM}/Users", "scim", created, "write"),
        (f"{SCIM}/Users/.search", "POST"): Call(f"{SCIM}/Users/.search", "scim", search),
        (f"{SCIM}/.search", "POST"): Call(f"{SCIM}/.search", "scim", search),
        (f"{SCIM}/Users/{{user_id}}", "GET"): Call(one, "scim"),
        (f"{SCIM}/Users/{{user_id}}", "PUT"): Call(one, "scim", replacement, "write"),
        (f"{SCIM}/Users/{{user_id}}", "PATCH"): Call(one, "scim", deactivate, "write"),
        (f"{SCIM}/Users/{{user_id}}", "DELETE"): Call(one, "scim", None, "write"),
    }


class World:
    """The demo data, two open access requests and a contact on site 1001, a key of
    each scope already verified by the worker (so each request reaches its own
    route's work), and the OpenAPI document."""

    def __init__(self, client: testing.TestClient, policy_table):
        self.client = client
        self.keys = {
            scope: create_key(f"faults-{scope}", scope)[0] for scope in ("check", "admin", "operator", "policy", "scim")
        }
        for scope in self.keys:
            verify = (
                Call(f"{SCIM}/Schemas", scope, uses=None) if scope == "scim" else Call("/v1/policy", scope, uses=None)
            )
            assert self.request(verify)[0].status_code == 200
        import_data({"people": [{"login_id": GINA, "email": GINA}]}, policy_table)
        asked = [
            self.request(Call("/v1/sites/1001/access-requests", "admin", {"business_justification": "x"}, acting=who))[
                0
            ]
            for who in (ERIN, GINA)
        ]
        added = self.request(Call("/v1/sites/1001/contacts", "admin", CONTACT))[0]
        assert [r.status_code for r in (*asked, added)] == [201, 201, 201], [r.json for r in (*asked, added)]
        gina = self.request(Call(f'{SCIM}/Users?filter=userName eq "{GINA}"', "scim"))[0].json["Resources"][0]["id"]
        self.calls = calls(asked[0].json["id"], asked[1].json["id"], added.json["id"], gina)
        self.document = client.simulate_get("/openapi.json").json

    def request(
        self, call: Call, method: str | None = None, client: testing.TestClient | None = None
    ) -> tuple[testing.Result, float]:
        """The answer to CALL (from this world's worker, or CLIENT's) and how long it
        took, in seconds."""
        headers = {}
        if call.key is not None:
            headers["Authorization"] = f"Bearer {self.keys[call.key]}"
        if call.key == "admin":
            headers["X-Acting-User"] = call.acting
        started = time.monotonic()
        method = method or ("POST" if call.body is not None else "GET")
        resp = (client or self.client).simulate_request(method, call.path, json=call.body, headers=headers)
        return resp, time.monotonic() - started

    def documents_503(self, template: str, method: str) -> bool:
        if template.startswith(SCIM):
            return True  # SCIM is described by its own discovery, not the OpenAPI document
        answer = self.document["paths"][template][method.lower()]["responses"].get("503", {})
        return "Retry-After" in answer.get("headers", {})


@pytest.fixture
def settings(settings):
    # member_table off: a check then reads the database, as an uncached one does. A
    # copy of the whole table answers from memory until the next poll fails, as the
    # LRU does for the members it holds (tests/authz/decisions/test_resident.py).
    return dataclasses.replace(settings, db_lock_timeout_ms=LOCK_TIMEOUT_MS, member_table=False)


@pytest.fixture
def world(client, demo, policy_table) -> World:
    return World(client, policy_table)


def assert_unavailable(resp: testing.Result, what: str) -> None:
    """503, Retry-After, our JSON error body (on the SCIM door: a SCIM Error), never a decision."""
    assert resp.status_code == 503, (what, resp.status_code, resp.text)
    assert resp.headers.get("Retry-After") == "1", what
    if SCIM in what:
        assert resp.headers["Content-Type"] == "application/scim+json", what
        assert resp.json["status"] == "503" and resp.json["detail"], what
        return
    assert resp.headers["Content-Type"].startswith("application/json"), what
    assert resp.json["error"] == "unavailable" and resp.json["message"], what
    assert "allowed" not in resp.json and "results" not in resp.json, what


def assert_answered(resp: testing.Result, what: str) -> None:
    """A normal answer: anything the route answers when the database works (its
    own 2xx or a domain error), but no 5xx."""
    assert resp.status_code < 500, (what, resp.status_code, resp.text)


@contextmanager
def database_down(database_url: str, service: Service, database) -> Iterator[None]:
    """PostgreSQL: backends terminated, connections refused. SQLite: the file
    cannot be opened (the worker's connections closed). DATABASE, the test's own
    handle, reconnects afterwards."""
    if database_url.startswith("postgres"):
        with postgres_refusing(database_url):
            yield
        database.close()  # its connection was terminated too
    else:
        with sqlite_unopenable(sqlite_path(database_url), service._runtime.snapshot):
            yield


@contextmanager
def writes_locked(database_url: str) -> Iterator[None]:
    """The database's write lock held by another process, reads free."""
    if database_url.startswith("postgres"):
        with postgres_writes_locked(database_url):
            yield
    else:
        with sqlite_write_lock(sqlite_path(database_url)):
            yield


def test_the_table_has_a_call_for_every_route(service):
    served = {
        (template, method)
        for template, resource in route_table(service)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if hasattr(resource, f"on_{method.lower()}")
    }
    assert set(calls(1, 2, 1)) == served


def test_every_route_answers_an_outage_with_503_then_recovers(world, database_url, service, database):
    with database_down(database_url, service, database):
        for (template, method), call in world.calls.items():
            resp, took = world.request(call, method)
            what = f"{method} {template}"
            assert took < LOCK_TIMEOUT_MS / 1000 + MARGIN_S, what
            if template == "/readyz":
                assert resp.status_code == 503 and resp.headers.get("Retry-After") == "1"
                assert resp.json["ready"] is False and resp.json["database"] == "unavailable"
            elif call.uses:
                assert_unavailable(resp, what)
                assert world.documents_503(template, method), f"{what}: 503 and Retry-After are not documented"
            else:
                assert resp.status_code == 200, (what, resp.text)
        unknown = world.client.simulate_get("/v1/nope", headers={"Authorization": f"Bearer {world.keys['check']}"})
        assert unknown.status_code == 404 and unknown.json["error"] == "not_found"  # falcon's own, no database
    for (template, method), call in world.calls.items():  # the same worker, the database back
        assert_answered(world.request(call, method)[0], f"{method} {template}")
    assert world.client.simulate_get("/readyz").status_code == 200


def test_a_worker_started_during_an_outage_answers_503_not_401_then_serves(
    world, database_url, settings, service, database
):
    """Its key ring and change feed are read on the first request: a valid key is
    not 'unknown' because the keys could not be read, and nor is a wrong one."""
    check = world.calls[("/v1/check", "POST")]
    wrong_key = {"Authorization": "Bearer azk_000000000000_wrong"}
    with database_down(database_url, service, database):
        fresh = testing.TestClient(create_app(Service.start(settings)))
        for _ in range(2):
            assert_unavailable(world.request(check, client=fresh)[0], "a valid key")
        assert_unavailable(fresh.simulate_post(check.path, json=check.body, headers=wrong_key), "a wrong key")
    resp = world.request(check, client=fresh)[0]
    assert resp.status_code == 200 and resp.json["allowed"] is True
    assert fresh.simulate_post(check.path, json=check.body, headers=wrong_key).status_code == 401


def test_a_held_write_lock_fails_writes_within_the_lock_timeout_while_reads_answer(world, database_url):
    """Every write waits for the lock at most AUTHZ_DB_LOCK_TIMEOUT_MS (and at least
    that: a short wait is not a failure), then answers 503; every read answers as
    usual meanwhile; once the lock is let go the same writes go through."""
    bound = LOCK_TIMEOUT_MS / 1000
    with writes_locked(database_url):
        for (template, method), call in world.calls.items():
            resp, took = world.request(call, method)
            what = f"{method} {template}"
            if call.uses == "write":
                assert_unavailable(resp, what)
                assert bound * 0.9 <= took < bound + MARGIN_S, (what, took)
            else:  # had it waited for the lock, held throughout, it would have failed
                assert resp.status_code in (200, 201), (what, resp.status_code, resp.text)
    for (template, method), call in world.calls.items():
        resp = world.request(call, method)[0]
        assert_answered(resp, f"{method} {template}")
        if call.uses == "write":
            assert resp.status_code in (200, 201, 204), (method, template, resp.json)


def test_a_write_that_answered_503_left_nothing_behind(world, database_url):
    members = Call("/v1/sites/1001/members", "admin")
    before = world.request(members)[0].json
    with writes_locked(database_url):
        assert_unavailable(world.request(world.calls[("/v1/sites/{site}/members", "POST")])[0], "add a member")
    assert world.request(members)[0].json == before
