"""Account management as a state machine (hypothesis): sequences of adds, role
and level changes, removals, primary transfers, access requests and their grants
and denials, by whoever happens to act (the primary, secondaries, plain users,
outsiders, an operator), through the service layer.

A model of the site, kept with the rules of tests/domain_reference.py (written
from DOMAIN.md, not from the product), says for every step whether it must go
through or be refused, and what the site then holds. After every step:

- the membership tables equal the model, and member_lookup equals them;
- exactly one primary, at most four secondaries, and no plain user holding an
  account-management level;
- nobody holds a level above what whoever raised it to that level held then;
- a change wrote exactly one audit record (done); a refusal changed nothing but
  its own refused record;
- every member's decisions equal the reference's."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from peewee import JOIN, fn

from authz.contract.access_requests import AccessRequestInput, Denial, Grant
from authz.contract.actors import Actor
from authz.contract.checks import CheckRequest
from authz.contract.members import MemberChange, NewMember, NewSite, PrimaryTransfer
from authz.contract.parsing import convert
from authz.errors import DomainError, InvalidInput
from models.access_requests import AccessRequest
from models.audit import AuditRecord
from models.db import db
from models.directory import latest_change_seq
from models.identifiers import login_key
from models.outbox import OutboxMessage
from models.schema import ChangeLog, Membership, MembershipLevel, Person, Site
from tests import domain_reference as ref
from tests.conftest import assert_member_lookup_is_current

POOL = 8  # people per run: the primary, and seven who may join, act, or stay outside
APPS = sorted(ref.LEVELS)
OPERATOR = Actor.operator("stateful-operator")
_runs = itertools.count(1)


def level_choices(apps: list[str]):
    return st.dictionaries(st.sampled_from(apps), st.integers(0, 3), max_size=3).map(
        lambda chosen: {app: ref.LEVELS[app][i % len(ref.LEVELS[app])] for app, i in chosen.items()}
    )


# Levels to give: mostly of applications anyone may hold, often account management too.
LEVEL_CHOICES = st.one_of(
    level_choices([app for app in APPS if app not in ref.ACCOUNT_MANAGEMENT]), level_choices(APPS)
)
# Who acts, or is acted on: anyone of the pool (outsiders too), or, as often, one of the site's
# contacts (actors) or members (targets), so that steps go through as well as fail.
WHO = st.integers(0, 3 * POOL)


@dataclass
class Member:
    role: str
    levels: dict[str, str]  # every application (the lowest where nothing was given)
    # Per application: the effective level whoever raised this member's level held at that moment.
    ceiling: dict[str, str] = field(default_factory=dict)


def full(levels: dict[str, str]) -> dict[str, str]:
    return {app: levels.get(app, ref.lowest(app)) for app in APPS}


class AccountMachine(RuleBasedStateMachine):
    service = None  # set by the test: the worker's service layer

    def __init__(self) -> None:
        super().__init__()
        run = next(_runs)
        self.site = f"SM{run:05d}"
        # Login ids, ASCII and not; callers type some in another ASCII case (typed).
        self.people = [f"p{i}-r{run}@example.test" for i in range(POOL - 2)] + [
            f"\u00e9mile-r{run}@acme.example",
            f"\u738b\u82b3-r{run}",
        ]
        self.members: dict[str, Member] = {}
        self.requests: dict[int, tuple[str, str]] = {}  # id -> (requester, status)

    # -- set-up -----------------------------------------------------------------

    @initialize()
    def a_site_with_its_primary(self) -> None:
        for login in self.people:  # identities, as the identity provider provisions them
            Person.create(login_id=login, login_key=login_key(login), email=self.email(login))
        primary = self.people[0]
        new = {"number": self.site, "name": "State machine", "primary": {"login_id": primary, "email": "x@y"}}
        assert self.call(lambda: self.service.sites.create(OPERATOR, convert(new, NewSite))) is not None
        self.members[primary] = Member("primary", full({}))
        # Three secondaries (one short of the limit) and a plain user to start from.
        self.add(0, 1, "secondary", {"manage_access": "update", "reporting": "view", "contact_updates": "view"})
        self.add(0, 2, "secondary", {"manage_access": "view", "purchase_download": "full"})
        self.add(0, 3, "secondary", {"manage_access": "update", "entitlements": "update", "allocations": "view"})
        self.add(0, 4, "user", {"purchase_download": "media"})

    @staticmethod
    def email(login: str) -> str:
        return f"{login.split('@')[0]}@mail.example"

    # -- the model's view of who may do what ----------------------------------------

    def actor(self, i: int) -> str:
        if i < POOL:
            return self.people[i]
        contacts = sorted(login for login, m in self.members.items() if m.role != "user")
        return contacts[i % len(contacts)]

    def member(self, i: int) -> str:
        if i < POOL:
            return self.people[i]
        members = sorted(login for login, m in self.members.items() if m.role != "primary") or sorted(self.members)
        return members[i % len(members)]

    def outsider(self, i: int) -> str:
        if i < POOL:
            return self.people[i]
        outside = [login for login in self.people if login not in self.members] or self.people
        return outside[i % len(outside)]

    def typed(self, login: str) -> str:
        """LOGIN as a caller might type it (the ASCII case of a login id does not matter)."""
        return login.upper() if login.isascii() and self.people.index(login) % 2 else login

    def effective(self, login: str) -> dict[str, str]:
        member = self.members[login]
        return ref.effective_levels(member.role, member.levels)

    def may(self, login: str, action: str) -> bool:
        member = self.members.get(login)
        return member is not None and ref.member_verdict(member.role, member.levels, action).allowed

    def secondaries(self) -> int:
        return sum(1 for m in self.members.values() if m.role == "secondary")

    def grant_ok(self, actor: str | None, role: str, before: dict[str, str], after: dict[str, str]) -> bool:
        """Nobody grants above what they hold; a role holds only what it may."""
        held = self.effective(actor) if actor else {app: ref.highest(app) for app in APPS}
        for app, level in after.items():
            if level == ref.lowest(app):
                continue
            if not ref.may_hold(role, app):
                return False
            raised = ref.rank(app, level) > ref.rank(app, before.get(app, ref.lowest(app)))
            if raised and ref.rank(app, level) > ref.rank(app, held[app]):
                return False
        return True

    def raise_ceilings(self, member: Member, actor: str | None, before: dict[str, str]) -> None:
        held = self.effective(actor) if actor else {app: ref.highest(app) for app in APPS}
        for app, level in member.levels.items():
            if ref.rank(app, level) > ref.rank(app, before.get(app, ref.lowest(app))):
                member.ceiling[app] = held[app]

    # -- running one step ---------------------------------------------------------------

    def call(self, operation):
        """OPERATION's answer, or None when it was refused."""
        try:
            return operation()
        except InvalidInput as malformed:  # the machine sends only well-formed requests
            raise AssertionError(f"malformed: {malformed.message}") from None
        except DomainError:
            return None

    def step(self, expected: bool, operation, what: str):
        """Run OPERATION, which the model says must go through (EXPECTED) or be
        refused; check the audit and, for a refusal, that nothing changed."""
        before, audit_before = None if expected else self.state(), self.audit_counts()
        answer = self.call(operation)
        done, refused = (a - b for a, b in zip(self.audit_counts(), audit_before, strict=True))
        assert (answer is not None) == expected, f"{what}: {'refused' if answer is None else 'done'}, model: {expected}"
        if expected:
            assert (done, refused) == (1, 0), f"{what}: audit records (done, refused) = {(done, refused)}"
        else:
            assert (done, refused) == (0, 1), f"{what}: audit records (done, refused) = {(done, refused)}"
            assert self.state() == before, f"{what}: refused, but the database changed"
        return answer

    def state(self):
        """Everything a change could touch: memberships and levels, requests, people,
        messages, the change log."""
        memberships = sorted(
            (m.site_id, m.person_id, m.role)
            for m in Membership.select(Membership.site, Membership.person, Membership.role)
        )
        levels = sorted(MembershipLevel.select().tuples())
        requests = sorted(AccessRequest.select(AccessRequest.id, AccessRequest.status).tuples())
        people = sorted(Person.select(Person.id, Person.email, Person.version).tuples())
        return memberships, levels, requests, people, OutboxMessage.select().count(), ChangeLog.select().count()

    def audit_counts(self) -> tuple[int, int]:
        counts = dict(
            AuditRecord.select(AuditRecord.outcome, fn.COUNT(AuditRecord.seq)).group_by(AuditRecord.outcome).tuples()
        )
        return counts.get("done", 0), counts.get("refused", 0)

    # -- rules --------------------------------------------------------------------------

    @rule(actor=WHO, whom=WHO, role=st.sampled_from(ref.ASSIGNABLE_ROLES), levels=LEVEL_CHOICES)
    def add(self, actor, whom, role, levels):
        a, t = self.actor(actor), self.outsider(whom)
        after = full(levels)
        expected = (
            self.may(a, "add_user")
            and t not in self.members
            and self.grant_ok(a, role, {}, after)
            and (role != "secondary" or self.secondaries() < ref.MAX_SECONDARIES)
        )
        body = {"login_id": self.typed(t), "email": self.email(t), "business_justification": "x", "role": role}
        if levels:
            body["levels"] = levels
        self.step(
            expected,
            lambda: self.service.members.add(Actor.person(self.typed(a)), self.site, convert(body, NewMember)),
            f"{a} adds {t} as {role} {levels}",
        )
        if expected:
            self.members[t] = Member(role, after)
            self.raise_ceilings(self.members[t], a, {})

    @rule(
        actor=WHO,
        whom=WHO,
        role=st.sampled_from([None, *ref.ASSIGNABLE_ROLES]),
        levels=LEVEL_CHOICES,
    )
    def update(self, actor, whom, role, levels):
        if role is None and not levels:
            return  # a change must name something (a malformed request otherwise)
        a, t = self.actor(actor), self.member(whom)
        member = self.members.get(t)
        expected = self.may(a, "update_user") and member is not None and a != t and member.role != "primary"
        if expected:
            assert member is not None
            new_role = role or member.role
            merged = {**member.levels, **levels}
            expected = self.grant_ok(a, new_role, member.levels, merged) and (
                new_role != "secondary" or member.role == "secondary" or self.secondaries() < ref.MAX_SECONDARIES
            )
        body: dict = {"levels": levels} if levels else {}
        if role:
            body["role"] = role
        self.step(
            expected,
            lambda: self.service.members.update(
                Actor.person(self.typed(a)), self.site, self.typed(t), convert(body, MemberChange)
            ),
            f"{a} changes {t}: {body}",
        )
        if expected:
            assert member is not None
            before = dict(member.levels)
            member.role, member.levels = role or member.role, {**member.levels, **levels}
            self.raise_ceilings(member, a, before)

    @rule(actor=WHO, whom=WHO)
    def remove(self, actor, whom):
        a, t = self.actor(actor), self.member(whom)
        member = self.members.get(t)
        expected = self.may(a, "remove_user") and member is not None and a != t and member.role != "primary"
        self.step(
            expected,
            lambda: self.service.members.remove(Actor.person(self.typed(a)), self.site, self.typed(t)),
            f"{a} removes {t}",
        )
        if expected:
            del self.members[t]

    @rule(to=WHO, former=st.sampled_from(ref.ASSIGNABLE_ROLES))
    def transfer_primary(self, to, former):
        t = self.member(to)
        member = self.members.get(t)
        old = next(login for login, m in self.members.items() if m.role == "primary")
        room = self.secondaries() + (0 if member is not None and member.role == "secondary" else 1)
        expected = member is not None and member.role != "primary" and (former != "secondary" or room <= 4)
        body = {"to": self.typed(t), "former_primary_role": former}
        self.step(
            expected,
            lambda: self.service.sites.transfer_primary(OPERATOR, self.site, convert(body, PrimaryTransfer)),
            f"the operator transfers the primary role to {t} ({old} becomes {former})",
        )
        if expected:
            assert member is not None
            highest = {app: ref.highest(app) if ref.may_hold(former, app) else ref.lowest(app) for app in APPS}
            self.members[old] = Member(former, highest, ceiling={app: ref.highest(app) for app in APPS})
            self.members[t] = Member("primary", full({}))

    @rule(asker=WHO)
    def ask(self, asker):
        t = self.outsider(asker)
        pending = any(who == t and status == "pending" for who, status in self.requests.values())
        expected = t not in self.members and not pending
        asked = self.step(
            expected,
            lambda: self.service.access_requests.ask(
                Actor.person(self.typed(t)),
                self.site,
                convert({"business_justification": "work"}, AccessRequestInput),
            ),
            f"{t} asks for access",
        )
        if expected:
            self.requests[asked.id] = (t, "pending")

    def pick_request(self, which: int) -> int:
        """A request of the site (an open one, every other time), or one that does not exist."""
        pending = sorted(i for i, (_, status) in self.requests.items() if status == "pending")
        ids = pending if pending and which % 2 else sorted(self.requests)
        return ids[which % len(ids)] if ids else 10**9

    @rule(actor=WHO, which=st.integers(0, 50), role=st.sampled_from(ref.ASSIGNABLE_ROLES), levels=LEVEL_CHOICES)
    def grant(self, actor, which, role, levels):
        a, request_id = self.actor(actor), self.pick_request(which)
        requester, status = self.requests.get(request_id, (None, None))
        after = full(levels)
        expected = (
            self.may(a, "decide_access_requests")
            and status == "pending"
            and requester not in self.members
            and self.grant_ok(a, role, {}, after)
            and (role != "secondary" or self.secondaries() < ref.MAX_SECONDARIES)
        )
        body: dict = {"role": role, **({"levels": levels} if levels else {})}
        self.step(
            expected,
            lambda: self.service.access_requests.grant(
                Actor.person(self.typed(a)), self.site, request_id, convert(body, Grant)
            ),
            f"{a} grants request {request_id} of {requester}: {body}",
        )
        if expected:
            assert requester is not None
            self.requests[request_id] = (requester, "granted")
            self.members[requester] = Member(role, after)
            self.raise_ceilings(self.members[requester], a, {})

    @rule(actor=WHO, which=st.integers(0, 50), reason=st.sampled_from(["requestor_unknown", "access_not_necessary"]))
    def deny(self, actor, which, reason):
        a, request_id = self.actor(actor), self.pick_request(which)
        requester, status = self.requests.get(request_id, (None, None))
        expected = self.may(a, "decide_access_requests") and status == "pending"
        self.step(
            expected,
            lambda: self.service.access_requests.deny(
                Actor.person(self.typed(a)), self.site, request_id, convert({"reason": reason}, Denial)
            ),
            f"{a} denies request {request_id} of {requester}",
        )
        if expected:
            assert requester is not None
            self.requests[request_id] = (requester, "denied")

    # -- invariants ---------------------------------------------------------------------

    def stored(self) -> dict[str, tuple[str, dict[str, str]]]:
        rows = (
            Membership.select(Person.login_id, Membership.role, MembershipLevel.application, MembershipLevel.level)
            .join(Person)
            .switch(Membership)
            .join(Site)
            .switch(Membership)
            .join(MembershipLevel, JOIN.LEFT_OUTER)
            .where(Site.number == self.site)
            .tuples()
        )
        found: dict[str, tuple[str, dict[str, str]]] = {}
        for login, role, app, level in rows:
            found.setdefault(login, (role, {}))[1].update({app: level} if app else {})
        return {login: (role, full(levels)) for login, (role, levels) in found.items()}

    @invariant()
    def the_site_is_what_the_model_says(self):
        if not self.members:
            return  # before initialisation
        stored = self.stored()
        assert {login: m.role for login, m in self.members.items()} == {login: r for login, (r, _) in stored.items()}
        assert {login: m.levels for login, m in self.members.items() if m.role != "primary"} == {
            login: levels for login, (role, levels) in stored.items() if role != "primary"
        }
        roles = [role for role, _ in stored.values()]
        assert roles.count("primary") == 1, "exactly one primary"
        assert roles.count("secondary") <= ref.MAX_SECONDARIES, "at most four secondaries"
        for login, (role, levels) in stored.items():
            for app, level in levels.items():
                assert ref.may_hold(role, app) or level == ref.lowest(app), f"{login}, a {role}, holds {app} {level}"
                if role != "primary":
                    ceiling = self.members[login].ceiling.get(app, ref.lowest(app))
                    assert ref.rank(app, level) <= ref.rank(app, ceiling), f"{login} holds {app} {level} > {ceiling}"
        assert_member_lookup_is_current(db)

    @invariant()
    def decisions_follow(self):
        if not self.members:
            return
        seq = latest_change_seq()
        for login in self.people:
            member = self.members.get(login)
            for action in ("download_software", "list_users", "update_user", "edit_contacts", "view_reports"):
                answer = self.service.decisions.check(
                    CheckRequest(user=login, site=self.site, action=action, min_change_seq=seq)
                )
                if member is None:
                    assert (answer.allowed, answer.reason.code) == (False, "no_membership"), (login, action)
                else:
                    expected = ref.member_verdict(member.role, member.levels, action)
                    assert (answer.allowed, answer.reason.code) == (expected.allowed, expected.code), (
                        login,
                        member,
                        action,
                    )


@pytest.fixture
def machine(service):
    AccountMachine.service = service
    yield AccountMachine
    AccountMachine.service = None


def test_account_management_keeps_its_rules_whatever_happens(machine):
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            database=None,
            # No shrinking: every failure names the step, who acted and the model's view, and
            # shrinking runs against a database takes minutes.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
