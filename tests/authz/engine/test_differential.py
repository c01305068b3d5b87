"""Decisions against the domain's rules, differentially: hypothesis builds worlds
of sites, people (active or deactivated) and memberships (any role, any stored
levels, even ones the write rules would refuse, such as a plain user holding
manage access), and asks about them with hostile identifiers (arbitrary Unicode,
case and compatibility lookalikes of real login ids and site numbers, spaces,
controls, over-long values). Every answer of the service (DecisionService, and
for a sample POST /v1/check through the app) must equal the answer of
tests/domain_reference.py, written from DOMAIN.md without the engine or the
policy. One database per test; each example writes its world afresh."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
import yaml
from falcon import testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from authz.authn.keys import create_key
from authz.contract.checks import CheckRequest, WhoCanQuery
from authz.contract.parsing import convert
from authz.errors import InvalidInput
from models.db import write_transaction
from models.directory import record_change
from models.identifiers import login_key
from models.schema import Membership, MembershipLevel, Person, Site
from tests import domain_reference as ref
from tests.conftest import POLICY_DIR

# The catalogue's names (read as a plain file: the engine is not consulted), so
# that generated levels are the ones the policy defines, plus a few it never did.
CATALOGUE = yaml.safe_load(Path(POLICY_DIR / "catalogue.yaml").read_text(encoding="utf-8"))
CATALOGUE_LEVELS = {app: list(spec["levels"]) for app, spec in CATALOGUE["applications"].items()}
ACTIONS = sorted(ref.MINIMUM)
UNKNOWN_ACTIONS = ["", "delete_site", "DOWNLOAD_SOFTWARE", "download_software ", "x" * 65]

RUN = settings(
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

ANY_CHAR = st.characters(codec=None, exclude_categories=())  # controls, format, surrogates, private use: all
PLAIN = st.text("abcdefghijKLMNOPQRxyz0123456789@._-", min_size=1, max_size=10)
UNICODE = st.text(ANY_CHAR, min_size=1, max_size=10)
# Stored identifiers: accepted ones only (what the doors let in), plain or not.
STORED_ID = st.one_of(PLAIN, PLAIN.map(lambda s: s + "\u00e9\u738b"), UNICODE).filter(
    lambda s: ref.acceptable(s, ref.SITE_NUMBER_MAX)
)


def test_the_catalogue_names_what_the_reference_knows():
    """The generator draws from the catalogue; the reference must know the same names."""
    assert {app: list(levels) for app, levels in ref.LEVELS.items()} == CATALOGUE_LEVELS
    assert sorted(a for spec in CATALOGUE["applications"].values() for a in spec["actions"]) == ACTIONS


# -- worlds --------------------------------------------------------------------


@st.composite
def stored_levels(draw, role: str) -> dict[str, str]:
    """Anything the database could hold for a member: a level of the catalogue for
    some applications (account management too, whatever the role), rarely a level
    no policy defines."""
    levels = {}
    for app, order in CATALOGUE_LEVELS.items():
        choice = draw(st.one_of(st.none(), st.sampled_from(order), st.sampled_from(["superuser", "Update"])))
        if choice is not None:
            levels[app] = choice
    return levels


@st.composite
def worlds(draw) -> ref.World:
    sites = draw(st.lists(STORED_ID, min_size=1, max_size=3, unique=True))
    logins = draw(st.lists(STORED_ID, min_size=1, max_size=5, unique_by=login_key))
    people = [ref.Person(login, active=draw(st.sampled_from([True, True, True, False]))) for login in logins]
    memberships: dict[tuple[str, str], ref.Membership] = {}
    for site in sites:
        primary = draw(st.sampled_from(logins))
        memberships[(primary, site)] = ref.Membership("primary", draw(stored_levels("primary")))
        for login in logins:
            if login == primary:
                continue
            role = draw(st.sampled_from([None, "secondary", "user", "user"]))
            if role is not None:
                memberships[(login, site)] = ref.Membership(role, draw(stored_levels(role)))
    return ref.World(set(sites), people, memberships)


def write_world(world: ref.World) -> int:
    """WORLD in the database, replacing whatever was there; the change seq to ask at."""
    with write_transaction():
        for model in (MembershipLevel, Membership, Person, Site):
            model.delete().execute()
        sites = {number: Site.create(number=number, name=f"Site {number}") for number in world.sites}
        people = {
            p.login_id: Person.create(
                login_id=p.login_id, login_key=login_key(p.login_id), email="someone@example.test", active=p.active
            )
            for p in world.people
        }
        for (login, site), member in world.memberships.items():
            row = Membership.create(site=sites[site], person=people[login], role=member.role)
            for app, level in member.stored.items():
                MembershipLevel.create(membership=row, application=app, level=level)
        return record_change("import")  # member_lookup rebuilt, every cache dropped


# -- probes: what callers ask -----------------------------------------------------


def swap_ascii_case(value: str) -> str:
    return "".join(c.swapcase() if c.isascii() else c for c in value)


def lookalikes(value: str) -> list[str]:
    """Spellings of VALUE that a careless service would take for it."""
    return [
        swap_ascii_case(value),
        value.upper(),  # Unicode case mapping too: a different id unless all ASCII
        unicodedata.normalize("NFD", value),
        unicodedata.normalize("NFKC", value),
        value.replace("k", "\u212a").replace("K", "\u212a"),  # KELVIN SIGN
        "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value),  # fullwidth
        value + "\n",
        " " + value,
        value + " ",
        value[:1] + "\u200b" + value[1:],  # zero-width space
        value + "\u202e",  # right-to-left override
        value * 40,  # over the length limits
    ]


def identifier_probe(known: list[str]):
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).flatmap(lambda v: st.sampled_from(lookalikes(v))),
        UNICODE,
        st.text(ANY_CHAR, min_size=0, max_size=400),
    )


@st.composite
def probes(draw, world: ref.World) -> list[tuple[str, str, str]]:
    logins = [p.login_id for p in world.people]
    sites = sorted(world.sites)
    return draw(
        st.lists(
            st.tuples(
                identifier_probe(logins),
                identifier_probe(sites),
                st.one_of(st.sampled_from(ACTIONS), st.sampled_from(UNKNOWN_ACTIONS)),
            ),
            min_size=1,
            max_size=25,
        )
    )


# -- the two ways of asking ----------------------------------------------------------


def service_answer(service, user: str, site: str, action: str, seq: int) -> ref.Expected | tuple[bool, str, str | None]:
    """The service layer's answer: (allowed, reason code, required level), or the
    field it refused."""
    body = {"user": user, "site": site, "action": action, "min_change_seq": seq}
    try:
        decision = service.decisions.check(convert(body, CheckRequest))
    except InvalidInput as refused:
        return ref.Expected(refused_fields=frozenset({refused.field or ""}))
    return decision.allowed, decision.reason.code, decision.reason.required_level


def http_answer(client: testing.TestClient, headers: dict, user: str, site: str, action: str, seq: int):
    body = {"user": user, "site": site, "action": action, "min_change_seq": seq}
    raw = json.dumps(body).encode()  # ASCII with escapes: lone surrogates travel too
    resp = client.simulate_post("/v1/check", body=raw, headers={**headers, "Content-Type": "application/json"})
    if resp.status_code == 400:
        assert "allowed" not in resp.json, resp.json  # a refusal is never a decision
        return ref.Expected(refused_fields=frozenset({resp.json.get("field", "")}))
    assert resp.status_code == 200, (resp.status_code, resp.text)
    assert set(resp.json) == {"allowed", "decision_id", "policy_version", "change_seq", "reason"}
    reason = resp.json["reason"]
    return resp.json["allowed"], reason["code"], reason.get("required_level")


def has_surrogate(*values: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for value in values for c in value)


def assert_same(answer, expected: ref.Expected, what) -> None:
    if expected.verdict is None:
        # Refused as malformed (400), naming one of the fields the reference refuses; never a decision.
        assert isinstance(answer, ref.Expected), (what, "answered a decision", answer, expected)
        named = expected.refused_fields
        if what[0] == "HTTP" and has_surrogate(*what[1:]):
            named = named | {""}  # a lone surrogate is not UTF-8: the body itself is refused
        assert answer.refused_fields <= named, (what, answer, expected)
        return
    verdict = expected.verdict
    assert answer == (verdict.allowed, verdict.code, verdict.required_level), (what, answer, verdict)


@pytest.fixture
def check_client(service):
    return testing.TestClient(create_app(service)), {"Authorization": f"Bearer {create_key('diff', 'check')[0]}"}


@given(data=st.data())
@settings(RUN, max_examples=100)
def test_every_decision_equals_the_reference(service, check_client, data):
    world = data.draw(worlds(), label="world")
    seq = write_world(world)
    # Every stored person x site x action, as stored ...
    for person in world.people:
        for site in world.sites:
            for action in ACTIONS:
                what = (person.login_id, site, action)
                assert_same(service_answer(service, *what, seq), ref.check(world, *what), what)
    # ... who may do each action, and each member's effective permissions, the same ...
    for site in world.sites:
        for action in data.draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=4), label="who can"):
            holders = service.decisions.who_can(site, action, WhoCanQuery(limit=1000)).members
            assert {h.user for h in holders} == ref.who_can(world, site, action), (site, action)
    for (login, site), membership in world.memberships.items():
        if not world.person(login).active:
            continue
        shown = service.decisions.permissions(site, swap_ascii_case(login)).applications
        allowed = {a for app in shown for a in app.allowed_actions}
        assert allowed == {a for a in ACTIONS if ref.member_verdict(membership.role, membership.stored, a).allowed}
    # ... and what hostile callers ask, through the service and, for a sample, over HTTP.
    asked = data.draw(probes(world), label="probes")
    client, headers = check_client
    for i, what in enumerate(asked):
        expected = ref.check(world, *what)
        assert_same(service_answer(service, *what, seq), expected, what)
        if i < 4:
            assert_same(http_answer(client, headers, *what, seq), expected, ("HTTP", *what))


FIXED_WORLD = ref.World(
    sites={"1001", "ACME-1", "\u00e9t\u00e9-7", "\u738b"},
    people=[
        ref.Person("carol@acme.example"),
        ref.Person("Dana.Diaz"),
        ref.Person("\u00e9mile@acme.example"),
        ref.Person("frank@globex.example"),
        ref.Person("gone@acme.example", active=False),
    ],
    memberships={
        ("carol@acme.example", "1001"): ref.Membership("primary", {}),
        ("Dana.Diaz", "1001"): ref.Membership("user", {"purchase_download": "media", "manage_access": "update"}),
        ("\u00e9mile@acme.example", "ACME-1"): ref.Membership("primary", {}),
        ("Dana.Diaz", "ACME-1"): ref.Membership("secondary", {"manage_access": "view", "reporting": "view"}),
        ("frank@globex.example", "\u00e9t\u00e9-7"): ref.Membership("primary", {}),
        ("gone@acme.example", "\u738b"): ref.Membership("primary", {}),
    },
)


@pytest.fixture
def fixed_world(database):
    return write_world(FIXED_WORLD)


@given(
    user=identifier_probe([p.login_id for p in FIXED_WORLD.people]),
    site=identifier_probe(sorted(FIXED_WORLD.sites)),
    action=st.one_of(st.sampled_from(ACTIONS), st.sampled_from(UNKNOWN_ACTIONS)),
)
@settings(RUN, max_examples=1500)
def test_hostile_identifiers_are_refused_or_decided_as_the_reference_says(
    fixed_world, service, check_client, user, site, action
):
    """One world, many hostile questions: an unacceptable login id or site number is
    400 naming it, never an answer; a lookalike of a member is not that member."""
    expected = ref.check(FIXED_WORLD, user, site, action)
    what = (user, site, action)
    assert_same(service_answer(service, *what, fixed_world), expected, what)
    client, headers = check_client
    assert_same(http_answer(client, headers, *what, fixed_world), expected, ("HTTP", *what))


def test_a_refusal_is_a_400_without_a_decision(check_client, fixed_world):
    client, headers = check_client
    for user in ("carol@acme.example\n", " carol@acme.example", "car\u200bol@acme.example", "x" * 321, ""):
        resp = client.simulate_post(
            "/v1/check", json={"user": user, "site": "1001", "action": "download_software"}, headers=headers
        )
        assert resp.status_code == 400 and resp.json["field"] == "user", (user, resp.json)
        assert "allowed" not in resp.json
    decision = client.simulate_post(
        "/v1/check", json={"user": "CAROL@ACME.EXAMPLE", "site": "1001", "action": "renew_licenses"}, headers=headers
    ).json
    assert decision["allowed"] is True  # the ASCII case of a login id does not matter ...
    other = client.simulate_post(
        "/v1/check", json={"user": "carol@acme.example", "site": "acme-1", "action": "renew_licenses"}, headers=headers
    ).json
    assert other["reason"]["code"] == "unknown_site"  # ... a site number's does


def test_a_primary_storing_a_level_no_policy_defines_keeps_every_right(service):
    """Found by test_every_decision_equals_the_reference: such a primary was denied
    (check) and left out (who can), though the primary holds every level whatever is stored."""
    world = ref.World(
        sites={"1001"},
        people=[ref.Person("alice@acme.example")],
        memberships={("alice@acme.example", "1001"): ref.Membership("primary", {"manage_access": "superuser"})},
    )
    seq = write_world(world)
    assert service_answer(service, "alice@acme.example", "1001", "remove_user", seq) == (True, "allowed", None)
    holders = service.decisions.who_can("1001", "remove_user", WhoCanQuery()).members
    assert [(h.user, h.role, h.level) for h in holders] == [("alice@acme.example", "primary", "update")]
