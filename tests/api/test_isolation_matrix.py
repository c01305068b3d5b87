"""Tenant isolation, route by route: every route of the app (read from
api.app.routes and the responders each resource defines, not from a list) x
every caller (no key; a key of each scope; an admin key acting as the primary,
a secondary and a plain user of site A, the same of site B, a known identity of
no site, and a person nobody knows) x every target (site A, site B, a site that
does not exist). Each answer's status must be the one a small rule gives
(`expected`); 0 deviations.

- A site you cannot see answers exactly like one that does not exist: status and
  body equal, but for the site number itself.
- A refused write changes nothing: the main tables hold as many rows after it.
- A request that passes authorization does its work (2xx). Writes that pass run against a fresh
  copy of the two sites, so each starts from the same state.

Valid requests come from tests/api/test_database_faults.py's `calls()`."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from api.app import routes as route_table
from authz.accounts.importer import import_data
from authz.authn.keys import create_key
from authz.config import PROJECT_ROOT
from authz.contract.actors import KEY_SCOPES, Actor
from models.db import db
from tests import domain_reference as ref
from tests.api.test_database_faults import CONTACT, GINA, SCIM, calls
from tests.drive import access_requests, contacts

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEMO = yaml.safe_load(Path(PROJECT_ROOT / "deploy" / "demo-data.yaml").read_text(encoding="utf-8"))
A, B, NOWHERE = "1001", "2002", "9999"
NOBODY = "nobody@nowhere.example"  # no identity at all
OPERATOR = Actor.operator("matrix")
AUTHORIZED = "authorized"
# The plain user of each site the member routes name (Dana is also a secondary of B).
ACTED_ON = {A: "Dana.Diaz", B: "frank@globex.example"}  # past authorization: the route's own answer

# The action of the policy each administrative site route runs (authz/accounts). A new
# route fails test_every_site_route_has_its_action until it is named here.
ACTION = {
    ("/v1/sites/{site}/members", "GET"): "list_users",
    ("/v1/sites/{site}/members", "POST"): "add_user",
    ("/v1/sites/{site}/members.csv", "GET"): "export_users",
    ("/v1/sites/{site}/members/{login_id}", "GET"): "list_users",
    ("/v1/sites/{site}/members/{login_id}", "PATCH"): "update_user",
    ("/v1/sites/{site}/members/{login_id}", "DELETE"): "remove_user",
    ("/v1/sites/{site}/identities/{login_id}", "GET"): "check_user",
    ("/v1/sites/{site}/access-requests", "GET"): "view_access_requests",
    ("/v1/sites/{site}/access-requests/{request_id}/grant", "POST"): "decide_access_requests",
    ("/v1/sites/{site}/access-requests/{request_id}/deny", "POST"): "decide_access_requests",
    ("/v1/sites/{site}/audit", "GET"): "view_audit",
    ("/v1/sites/{site}/contacts", "GET"): "view_contacts",
    ("/v1/sites/{site}/contacts", "POST"): "edit_contacts",
    ("/v1/sites/{site}/contacts/review", "POST"): "mark_contacts_reviewed",
    ("/v1/sites/{site}/contacts/{contact_id}", "PUT"): "edit_contacts",
    ("/v1/sites/{site}/contacts/{contact_id}", "DELETE"): "edit_contacts",
}
# What a request that passed authorization answers: its work done.
PASSED = {200, 201, 204}
# Asking for access is what a person does on a site they are not a member of.
ASK = ("/v1/sites/{site}/access-requests", "POST")
ADD = ("/v1/sites/{site}/members", "POST")


@dataclass(frozen=True)
class Caller:
    name: str
    scope: str | None  # None: no key
    person: str | None = None  # the acting person, under the admin scope


def callers() -> list[Caller]:
    people = {m["user"] for m in DEMO["memberships"]} | {GINA, NOBODY}
    return [
        Caller("no key", None),
        *(Caller(f"{scope} key", scope) for scope in sorted(KEY_SCOPES) if scope != "admin"),
        *(Caller(f"admin as {p}", "admin", p) for p in sorted(people)),
        # The same person in another ASCII case is the same person; an id that would need repair is nobody.
        Caller("admin as ERIN@GLOBEX.EXAMPLE", "admin", "ERIN@GLOBEX.EXAMPLE"),
        Caller("admin as bob\\u00a0@acme.example", "admin", "bob\u00a0@acme.example"),
    ]


def memberships(numbers: dict[str, str]) -> dict[str, dict[str, tuple[str, dict[str, str]]]]:
    """Site -> person -> (role, stored levels), as the demo data has them, under NUMBERS (demo number -> number)."""
    found: dict[str, dict[str, tuple[str, dict[str, str]]]] = {n: {} for n in numbers.values()}
    for m in DEMO["memberships"]:
        found[numbers[m["site"]]][m["user"]] = (m["role"], m.get("levels") or {})
    return found


def expected(template: str, method: str, resource, caller: Caller, site: str, members) -> str | int:
    """The rule: the status the route must answer CALLER about SITE, or AUTHORIZED."""
    if resource.public:
        return 200
    if caller.scope is None:
        return 401
    if caller.scope not in resource.scopes:
        return 403
    if caller.person is not None and not ref.acceptable(caller.person, ref.LOGIN_ID_MAX):
        return 400  # the acting person's login id, refused before anything else
    if template == "/v1/me" and caller.scope == "admin":
        return AUTHORIZED if caller.person != NOBODY else 404
    if template == "/v1/me":
        return 403  # an operator key has no person
    if "{site}" not in template or caller.scope == "check":
        if template.endswith("/permissions"):
            return AUTHORIZED if site in members else 404  # the member named is the site's
        return AUTHORIZED
    if site not in members:
        return 404
    if caller.scope == "operator":
        return AUTHORIZED
    held = next((m for login, m in members[site].items() if ref.same_person(login, caller.person or "")), None)
    if (template, method) == ASK:
        if caller.person == NOBODY:
            return 422  # only a known identity may ask
        return 409 if held is not None else AUTHORIZED
    if held is None:
        return 404  # not a member: exactly like a site that does not exist
    role, levels = held
    return AUTHORIZED if ref.member_verdict(role, levels, ACTION[(template, method)]).allowed else 403


# -- the world -------------------------------------------------------------------------

_copies = itertools.count(1)


class Matrix:
    def __init__(self, client, service, policy_table):
        self.client, self.table = client, policy_table
        self.routes = [(t, m, r) for t, r in route_table(service) for m in METHODS if hasattr(r, f"on_{m.lower()}")]
        self.keys = {scope: create_key(f"matrix-{scope}", scope)[0] for scope in KEY_SCOPES}
        import_data({"people": [{"login_id": GINA, "email": GINA}]}, policy_table)
        self.params = {site: self.site_params(site, site) for site in (A, B)}
        self.params[NOWHERE] = {**self.params[B], "site": NOWHERE}  # all but the site as B's
        found = self.send(Caller("scim", "scim"), "GET", f'{SCIM}/Users?filter=userName eq "{GINA}"').json
        self.calls = calls(1, 1, 1, found["Resources"][0]["id"])
        self.members = memberships({A: A, B: B})

    def site_params(self, site: str, like: str, asker: str = GINA, template: str = "{request_id}{contact_id}"):
        """What the routes of SITE (a copy of LIKE) name besides it: a plain user, an
        open request of ASKER, a contact (the last two made only if TEMPLATE names them)."""
        params = {"site": site, "login_id": ACTED_ON[like], "action": "download_software"}
        if "{request_id}" in template:
            body = {"business_justification": "x"}
            params["request_id"] = str(
                access_requests.request_access(self.table, Actor.person(asker), site, body)["id"]
            )
        if "{contact_id}" in template:
            params["contact_id"] = str(contacts.create_contact(self.table, OPERATOR, site, CONTACT)["id"])
        return params

    def fresh_copy(self, template: str) -> tuple[dict[str, str], dict]:
        """A new pair of sites, numbered anew, holding what A and B hold; (their
        numbers by A and B, their params for TEMPLATE by number)."""
        n = next(_copies)
        numbers = {A: f"A{n:04d}", B: f"B{n:04d}"}
        asker = f"asker-{n}@example.test"
        import_data(
            {
                "sites": [{"number": numbers[s["number"]], "name": s["name"]} for s in DEMO["sites"]],
                "people": [{"login_id": asker, "email": asker}],
                "memberships": [{**m, "site": numbers[m["site"]]} for m in DEMO["memberships"]],
            },
            self.table,
        )
        return numbers, {numbers[s]: self.site_params(numbers[s], s, asker, template) for s in (A, B)}

    def body(self, template: str, method: str, caller: Caller):
        """calls()'s body; an operator asking for access names for whom, and who is
        added is a member of neither site."""
        body = self.calls[(template, method)].body
        if (template, method) == ASK and caller.scope == "operator":
            return {**body, "login_id": GINA}
        if (template, method) == ADD:
            return {**body, "login_id": GINA, "email": GINA}
        return body

    def send(self, caller: Caller, method: str, path: str, body=None):
        headers = {}
        if caller.scope is not None:
            headers["Authorization"] = f"Bearer {self.keys[caller.scope]}"
        if caller.person is not None:
            headers["X-Acting-User"] = caller.person
        return self.client.simulate_request(method, path, json=body, headers=headers)

    def path(self, template: str, method: str, params: dict[str, str]) -> str:
        return template.format(**params) if "{site}" in template else self.calls[(template, method)].path


def rows() -> tuple[int, ...]:
    """Rows of the main tables (the audit trail aside: a refusal is recorded there)."""
    tables = (
        "site",
        "person",
        "identity_email",
        "membership",
        "membership_level",
        "member_lookup",
        "access_request",
        "site_contact",
        "contact_review",
        "outbox_message",
        "change_log",
        "api_key",
    )
    counts = ", ".join(f"(SELECT count(*) FROM {t})" for t in tables)
    return tuple(db.execute_sql(f"SELECT {counts}").fetchone())


def body_of(resp, site: str) -> str:
    """The answer's body with the site number made anonymous."""
    return resp.text.replace(json.dumps(site)[1:-1], "<site>")


@pytest.fixture
def matrix(client, service, demo, policy_table) -> Matrix:
    return Matrix(client, service, policy_table)


def test_every_site_route_has_its_action(matrix):
    site_routes = {
        (t, m) for t, m, r in matrix.routes if "{site}" in t and r.scopes == frozenset({"admin", "operator"})
    }
    assert site_routes - {ASK} == set(ACTION)
    assert {(t, m) for t, m, _ in matrix.routes} == set(matrix.calls)  # calls() knows every route


def test_every_route_answers_every_caller_as_the_rule_says(matrix):
    deviations, authorized, answered = [], [], set()
    for template, method, resource in matrix.routes:
        targets = (A, B, NOWHERE) if "{site}" in template else (A,)
        for caller, site in itertools.product(callers(), targets):
            want = expected(template, method, resource, caller, site, matrix.members)
            if want == AUTHORIZED and method != "GET":
                authorized.append((template, method, resource, caller, site))
                continue  # run below, each on a fresh copy
            before = rows()
            body = matrix.body(template, method, caller)
            resp = matrix.send(caller, method, matrix.path(template, method, matrix.params[site]), body)
            if resp.status_code < 300:
                answered.add((template, method))
            if not (resp.status_code in PASSED if want == AUTHORIZED else resp.status_code == want):
                deviations.append(f"{method} {template} {caller.name} on {site}: {resp.status_code}, expected {want}")
            if want != AUTHORIZED and method != "GET" and rows() != before:
                deviations.append(f"{method} {template} {caller.name} on {site}: refused, but rows changed")
    for template, method, resource, caller, site in authorized:
        numbers, params = matrix.fresh_copy(template)
        number = numbers.get(site, site)
        assert expected(template, method, resource, caller, number, memberships(numbers)) == AUTHORIZED
        body = matrix.body(template, method, caller)
        resp = matrix.send(caller, method, matrix.path(template, method, params[number]), body)
        if resp.status_code < 300:
            answered.add((template, method))
        if resp.status_code not in PASSED:
            deviations.append(f"{method} {template} {caller.name} on {site}: {resp.status_code}: {resp.text}")
    assert not deviations, "\n".join(deviations)
    # Every route did its work for someone: the bodies are valid, the rule lets some caller through.
    assert answered == {(t, m) for t, m, _ in matrix.routes}


def test_a_site_you_cannot_see_answers_like_one_that_does_not_exist(matrix):
    compared = 0
    for template, method, resource in matrix.routes:
        if "{site}" not in template:
            continue
        for caller in callers():
            body = matrix.body(template, method, caller)
            if expected(template, method, resource, caller, B, matrix.members) != 404:
                continue
            hidden = matrix.send(caller, method, matrix.path(template, method, matrix.params[B]), body)
            missing = matrix.send(caller, method, matrix.path(template, method, matrix.params[NOWHERE]), body)
            what = f"{method} {template} as {caller.name}"
            assert hidden.status_code == missing.status_code == 404, (what, hidden.text, missing.text)
            assert body_of(hidden, B) == body_of(missing, NOWHERE), what
            assert hidden.headers.get("Content-Type") == missing.headers.get("Content-Type"), what
            compared += 1
    assert compared >= 16 * 4  # every administrative route, for each outsider of B at least
