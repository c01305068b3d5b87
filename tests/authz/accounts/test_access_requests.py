"""Access requests in the domain (authz/access_requests.py) and on the command
line, on SQLite and PostgreSQL: asking, reviewing, granting, denying, once."""

from __future__ import annotations

import json
import threading

import peewee
import pytest

from authz.accounts.authority import NotPermitted
from authz.accounts.importer import import_data
from authz.audit.trail import as_dict, verify
from authz.contract.actors import Actor
from authz.errors import Conflict, InvalidInput, NotFound, RuleViolation
from models.access_requests import DENY_REASONS, AccessRequest
from models.audit import AuditRecord
from models.db import db
from models.directory import fetch_member, latest_change_seq
from models.identifiers import login_key
from models.outbox import OutboxMessage
from models.schema import Membership, Person, Site
from tests.drive import access_requests as ar

ALICE, BOB, CAROL, DANA = "alice@acme.example", "bob@acme.example", "carol@acme.example", "Dana.Diaz"
ERIN, FRANK = "erin@globex.example", "frank@globex.example"
DANA_ALERTS = "dana.alerts@consult.example"
WHY = "Runs the Acme integration project"


def person(table, login_id: str, **details) -> str:
    """A known identity that belongs to no site."""
    import_data({"people": [{"login_id": login_id, "email": login_id, **details}]}, table)
    return login_id


def ask(table, login_id: str, site: str, justification: str | None = WHY) -> int:
    body = {"business_justification": justification} if justification else {}
    return ar.request_access(table, Actor.person(login_id), site, body)["id"]


def records(action: str, outcome: str | None = None) -> list[dict]:
    query = AuditRecord.select().where(AuditRecord.action == action).order_by(AuditRecord.seq)
    return [as_dict(r) for r in query if outcome is None or r.outcome == outcome]


def messages(kind: str | None = None) -> list[OutboxMessage]:
    query = OutboxMessage.select().order_by(OutboxMessage.id)
    return [m for m in query if kind is None or m.kind == kind]


def status_of(request_id: int) -> str:
    return AccessRequest.get_by_id(request_id).status


def is_member(login_id: str, site: str) -> bool:
    return fetch_member(login_key(login_id), site) is not None


# -- asking ------------------------------------------------------------------------


def test_a_known_person_asks_and_the_request_is_audited(demo, policy_table):
    made = ar.request_access(policy_table, Actor.person(FRANK), "1001", {"business_justification": WHY})
    assert made["status"] == "pending" and made["site"] == "1001" and made["business_justification"] == WHY
    assert made["requester"]["login_id"] == FRANK
    row = AccessRequest.get_by_id(made["id"])
    assert row.site.number == "1001" and row.person.login_id == FRANK and row.decided_at is None
    [record] = records("request_access")
    assert (record["actor"], record["site_number"], record["target"], record["outcome"]) == (
        FRANK,
        "1001",
        FRANK,
        "done",
    )
    assert record["after"] == {"request": made["id"], "status": "pending", "business_justification": WHY}
    assert not is_member(FRANK, "1001")  # asking grants nothing
    assert verify().ok


def test_the_justification_is_optional_when_asking(demo, policy_table):
    made = ar.request_access(policy_table, Actor.person(FRANK), "1001", None)
    assert made["business_justification"] is None and made["status"] == "pending"


def test_an_unknown_identity_cannot_ask_and_the_refusal_is_audited(demo, policy_table):
    with pytest.raises(RuleViolation) as refused:
        ar.request_access(policy_table, Actor.person("ghost@nowhere.example"), "1001", {})
    assert refused.value.field == "login_id"
    assert AccessRequest.select().count() == 0
    [record] = records("request_access")
    assert record["outcome"] == "refused" and record["actor"] == "ghost@nowhere.example"


def test_a_member_cannot_ask_for_a_site_they_belong_to(demo, policy_table):
    with pytest.raises(Conflict, match="already a member"):
        ar.request_access(policy_table, Actor.person(CAROL.upper()), "1001", {})  # login ids ignore case
    assert AccessRequest.select().count() == 0


def test_a_person_has_one_open_request_per_site(demo, policy_table):
    first = ask(policy_table, FRANK, "1001")
    with pytest.raises(Conflict, match="open access request"):
        ask(policy_table, FRANK, "1001")
    with pytest.raises(Conflict, match="open access request"):
        ask(policy_table, FRANK.upper(), "1001", None)  # login ids ignore case
    assert AccessRequest.select().count() == 1
    # Once decided, they may ask again; the database refuses a second open one itself.
    ar.deny(policy_table, Actor.person(ALICE), "1001", first, {"reason": "access_not_necessary"})
    second = ask(policy_table, FRANK, "1001")
    assert second != first and status_of(second) == "pending"
    with pytest.raises(peewee.IntegrityError), db.atomic():
        AccessRequest.create(site=Site.get(Site.number == "1001"), person=Person.by_key(login_key(FRANK)))


def test_asking_for_a_site_that_does_not_exist_is_not_found(demo, policy_table):
    with pytest.raises(NotFound, match="no site '4040'"):
        ask(policy_table, FRANK, "4040")


def test_a_person_asks_only_for_themselves(demo, policy_table):
    with pytest.raises(NotPermitted, match="only for themselves"):
        ar.request_access(policy_table, Actor.person(FRANK), "1001", {"login_id": ERIN})
    assert AccessRequest.select().count() == 0
    # An operator files a request for the person it names.
    made = ar.request_access(policy_table, Actor.operator("cli"), "1001", {"login_id": ERIN})
    assert made["requester"]["login_id"] == ERIN and records("request_access")[-1]["actor"] == "cli"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"business_justification": 42}, "business_justification"),
        ({"business_justification": "x" * 2001}, "business_justification"),
        ({"justification": "typo"}, "justification"),
        (["not", "an", "object"], None),
    ],
)
def test_a_malformed_request_names_the_field(demo, policy_table, body, field):
    with pytest.raises(InvalidInput) as bad:
        ar.request_access(policy_table, Actor.person(FRANK), "1001", body)
    assert bad.value.field == field


# -- reviewing ---------------------------------------------------------------------


def test_the_list_shows_the_requesters_details_for_review(demo, policy_table):
    rid = ask(policy_table, FRANK, "1001")
    page = ar.list_requests(policy_table, Actor.person(BOB), "1001")  # bob: manage_access update
    assert page["next_after"] is None
    [item] = page["requests"]
    assert item["id"] == rid and item["status"] == "pending" and item["business_justification"] == WHY
    assert item["requester"] == {
        "login_id": FRANK,
        "first_name": "Frank",
        "last_name": "Fox",
        "email": FRANK,
        "phone": "+1 555 0202",
    }


def test_the_list_filters_by_status_and_pages(demo, policy_table):
    people = [person(policy_table, f"p{i}@example.test") for i in range(5)]
    ids = [ask(policy_table, p, "1001") for p in people]
    ar.deny(policy_table, Actor.person(ALICE), "1001", ids[0], {"reason": "requestor_unknown"})
    alice = Actor.person(ALICE)
    first = ar.list_requests(policy_table, alice, "1001", limit=2)
    assert [r["id"] for r in first["requests"]] == ids[1:3] and first["next_after"] == ids[2]
    rest = ar.list_requests(policy_table, alice, "1001", limit=2, after=first["next_after"])
    assert [r["id"] for r in rest["requests"]] == ids[3:5] and rest["next_after"] is None
    denied = ar.list_requests(policy_table, alice, "1001", status="denied")["requests"]
    assert [(r["id"], r["deny_reason"]) for r in denied] == [(ids[0], "requestor_unknown")]
    assert len(ar.list_requests(policy_table, alice, "1001", status="all")["requests"]) == 5
    with pytest.raises(InvalidInput) as bad:
        ar.list_requests(policy_table, alice, "1001", status="open")
    assert bad.value.field == "status"
    with pytest.raises(InvalidInput) as bad:
        ar.list_requests(policy_table, alice, "1001", limit=0)
    assert bad.value.field == "limit"


def test_the_list_shows_no_other_sites_requests(demo, policy_table):
    ask(policy_table, FRANK, "1001")
    ask(policy_table, CAROL, "2002")
    assert [
        r["requester"]["login_id"] for r in ar.list_requests(policy_table, Actor.person(ERIN), "2002")["requests"]
    ] == [CAROL]


def test_a_plain_user_may_not_list_requests(demo, policy_table):
    ask(policy_table, FRANK, "1001")
    with pytest.raises(NotPermitted, match="view_access_requests"):
        ar.list_requests(policy_table, Actor.person(CAROL), "1001")


def test_manage_access_view_is_enough_to_list(demo, policy_table):
    ask(policy_table, CAROL, "2002")
    assert len(ar.list_requests(policy_table, Actor.person(DANA), "2002")["requests"]) == 1


def test_a_non_member_is_told_exactly_what_a_missing_site_says(demo, policy_table):
    ask(policy_table, FRANK, "1001")
    with pytest.raises(NotFound) as not_member:
        ar.list_requests(policy_table, Actor.person(ERIN), "1001")
    with pytest.raises(NotFound) as no_site:
        ar.list_requests(policy_table, Actor.person(ERIN), "4040")
    assert not_member.value.message.replace("1001", "N") == no_site.value.message.replace("4040", "N")


# -- granting ----------------------------------------------------------------------


def test_grant_makes_the_member_notifies_and_audits(make, policy_table):
    site = make.site()
    primary = f"primary-{site}@example.test"
    import_data(
        {
            "people": [
                {
                    "login_id": DANA,
                    "email": "dana@consult.example",
                    "first_name": "Dana",
                    "last_name": "Diaz",
                    "notification_email": DANA_ALERTS,
                }
            ]
        },
        policy_table,
    )
    rid = ask(policy_table, DANA, site)
    levels = {"purchase_download": "media", "reporting": "view"}
    result = ar.grant(policy_table, Actor.person(primary), site, rid, {"role": "user", "levels": levels})

    member = fetch_member(login_key(DANA), site)
    assert member.role == "user" and dict(member.levels) == levels
    assert result["member"]["role"] == "user" and result["member"]["levels"]["purchase_download"] == "media"
    assert result["change_seq"] == latest_change_seq()
    assert Membership.get(Membership.person == Person.by_key(login_key(DANA))).created_by == primary

    row = AccessRequest.get_by_id(rid)
    assert (row.status, row.decided_by, row.granted_role) == ("granted", primary, "user")
    assert json.loads(row.granted_levels)["purchase_download"] == "media" and row.decided_at is not None
    assert result["request"]["status"] == "granted"

    [message] = messages()
    assert (message.kind, message.recipient, message.site_number) == ("request_granted", DANA_ALERTS, site)
    assert "granted" in message.body and "Software downloads and media access" in message.body

    [record] = records("grant_access_request")
    assert (record["actor"], record["target"], record["site_number"]) == (primary, DANA, site)
    assert record["before"] == {"request": rid, "status": "pending", "business_justification": WHY}
    assert record["after"]["status"] == "granted" and record["after"]["role"] == "user"
    assert record["after"]["levels"]["purchase_download"] == "media"
    assert record["after"]["business_justification"] == WHY
    assert verify().ok


def test_grant_needs_a_justification_when_the_request_gave_none(demo, policy_table):
    rid = ask(policy_table, FRANK, "1001", justification=None)
    alice = Actor.person(ALICE)
    for body in ({"role": "user"}, {"role": "user", "business_justification": "   "}):
        with pytest.raises(RuleViolation) as refused:
            ar.grant(policy_table, alice, "1001", rid, body)
        assert refused.value.field == "business_justification"
    assert status_of(rid) == "pending" and not is_member(FRANK, "1001") and messages() == []
    assert len(records("decide_access_requests", "refused")) == 2
    ar.grant(policy_table, alice, "1001", rid, {"role": "user", "business_justification": "New auditor"})
    assert AccessRequest.get_by_id(rid).justification == "New auditor"
    assert records("grant_access_request")[0]["after"]["business_justification"] == "New auditor"


def test_nobody_grants_above_their_own_level(demo, policy_table):
    rid = ask(policy_table, FRANK, "1001")
    bob = Actor.person(BOB)  # holds purchase_download media
    with pytest.raises(NotPermitted, match="cannot grant full"):
        ar.grant(policy_table, bob, "1001", rid, {"role": "user", "levels": {"purchase_download": "full"}})
    assert status_of(rid) == "pending" and not is_member(FRANK, "1001")
    ar.grant(policy_table, bob, "1001", rid, {"role": "user", "levels": {"purchase_download": "media"}})
    assert dict(fetch_member(login_key(FRANK), "1001").levels) == {"purchase_download": "media"}


def test_a_user_never_holds_account_management_levels(demo, policy_table):
    rid = ask(policy_table, FRANK, "1001")
    with pytest.raises(RuleViolation) as refused:
        ar.grant(policy_table, Actor.person(ALICE), "1001", rid, {"role": "user", "levels": {"manage_access": "view"}})
    assert refused.value.field == "levels.manage_access"
    assert status_of(rid) == "pending" and not is_member(FRANK, "1001")
    ar.grant(policy_table, Actor.person(ALICE), "1001", rid, {"role": "secondary", "levels": {"manage_access": "view"}})
    assert fetch_member(login_key(FRANK), "1001").role == "secondary"


def test_a_fifth_secondary_is_refused(demo, make, policy_table):
    for _ in range(3):  # bob plus three: four secondaries
        make.member("1001", role="secondary")
    rid = ask(policy_table, FRANK, "1001")
    with pytest.raises(Conflict, match="at most 4"):
        ar.grant(policy_table, Actor.person(ALICE), "1001", rid, {"role": "secondary"})
    assert status_of(rid) == "pending" and not is_member(FRANK, "1001")
    ar.grant(policy_table, Actor.person(ALICE), "1001", rid, {"role": "user"})
    assert fetch_member(login_key(FRANK), "1001").role == "user"


def test_the_primary_role_is_never_granted(demo, policy_table):
    rid = ask(policy_table, FRANK, "1001")
    with pytest.raises(InvalidInput) as bad:
        ar.grant(policy_table, Actor.person(ALICE), "1001", rid, {"role": "primary"})
    assert bad.value.field == "role"


def test_grant_refuses_a_requester_who_became_a_member_meanwhile(demo, make, policy_table):
    rid = ask(policy_table, FRANK, "1001")
    make.member("1001", FRANK)
    with pytest.raises(Conflict, match="already a member"):
        ar.grant(policy_table, Actor.person(ALICE), "1001", rid, {"role": "user"})
    assert status_of(rid) == "pending"


# -- denying -----------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(DENY_REASONS))
def test_deny_with_each_reason_notifies_with_the_reasons_words(demo, policy_table, reason):
    rid = ask(policy_table, FRANK, "1001")
    denied = ar.deny(policy_table, Actor.person(BOB), "1001", rid, {"reason": reason})
    assert denied["status"] == "denied" and denied["deny_reason"] == reason
    row = AccessRequest.get_by_id(rid)
    assert (row.status, row.deny_reason, row.decided_by) == ("denied", reason, BOB)
    [message] = messages()
    assert (message.kind, message.recipient) == ("request_denied", FRANK)
    assert DENY_REASONS[reason] in message.body
    [record] = records("deny_access_request")
    assert record["before"]["status"] == "pending"
    assert record["after"] == {"request": rid, "status": "denied", "reason": reason}
    assert not is_member(FRANK, "1001")


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "made_up"},
        {"reason": "The requestor is unknown"},
        {},
        {"reason": ["requestor_unknown", "access_not_necessary"]},
        {"reason": None},
    ],
)
def test_deny_needs_exactly_one_known_reason(demo, policy_table, body):
    rid = ask(policy_table, FRANK, "1001")
    with pytest.raises(RuleViolation) as refused:
        ar.deny(policy_table, Actor.person(ALICE), "1001", rid, body)
    assert refused.value.field == "reason"
    assert status_of(rid) == "pending" and messages() == []
    # Refused as it is read, before anyone is authorized: like any malformed body, not an attempt on the site.
    assert records("decide_access_requests") == []


# -- deciding once, on the right site, with the right privilege ---------------------


@pytest.mark.parametrize("first, second", [("grant", "deny"), ("deny", "grant"), ("grant", "grant"), ("deny", "deny")])
def test_a_request_is_decided_once(demo, policy_table, first, second):
    rid = ask(policy_table, FRANK, "1001")
    decide = {
        "grant": lambda: ar.grant(policy_table, Actor.person(ALICE), "1001", rid, {"role": "user"}),
        "deny": lambda: ar.deny(policy_table, Actor.person(ALICE), "1001", rid, {"reason": "requestor_unknown"}),
    }
    decide[first]()
    with pytest.raises(Conflict, match="already"):
        decide[second]()
    assert status_of(rid) == ("granted" if first == "grant" else "denied")
    assert len(messages()) == 1


def test_concurrent_grant_and_deny_exactly_one_wins(demo, policy_table):
    """Each decider in its own thread, on its own connection, released together."""
    for round_ in range(3):
        requester = person(policy_table, f"racer{round_}@example.test")
        rid = ask(policy_table, requester, "1001")
        start = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def decide(name: str, call) -> None:
            try:
                start.wait()
                outcomes[name] = call()
            except BaseException as exc:  # examined below
                outcomes[name] = exc
            finally:
                db.close()  # this thread's connection

        threads = [
            threading.Thread(
                target=decide,
                args=("grant", lambda: ar.grant(policy_table, Actor.person(ALICE), "1001", rid, {"role": "user"})),
            ),
            threading.Thread(
                target=decide,
                args=(
                    "deny",
                    lambda: ar.deny(policy_table, Actor.person(BOB), "1001", rid, {"reason": "requestor_unknown"}),
                ),
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        won = [name for name, result in outcomes.items() if isinstance(result, dict)]
        lost = [result for result in outcomes.values() if not isinstance(result, dict)]
        assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], Conflict), outcomes
        winner = won[0]
        assert status_of(rid) == ("granted" if winner == "grant" else "denied")
        assert is_member(requester, "1001") == (winner == "grant")
        recipients = [m.recipient for m in messages()]
        assert recipients.count(requester) == 1
    assert verify().ok


def test_manage_access_view_may_not_decide(demo, policy_table):
    rid = ask(policy_table, CAROL, "2002")
    dana = Actor.person(DANA)  # secondary on 2002 with manage_access view
    with pytest.raises(NotPermitted, match="decide_access_requests"):
        ar.grant(policy_table, dana, "2002", rid, {"role": "user"})
    with pytest.raises(NotPermitted):
        ar.deny(policy_table, dana, "2002", rid, {"reason": "requestor_unknown"})
    assert status_of(rid) == "pending" and messages() == []
    refused = records("decide_access_requests", "refused")
    assert [(r["actor"], r["site_number"], r["target"]) for r in refused] == [
        (DANA, "2002", f"access_request:{rid}")
    ] * 2


def test_a_plain_user_may_not_decide(demo, policy_table):
    rid = ask(policy_table, FRANK, "1001")
    with pytest.raises(NotPermitted):
        ar.deny(policy_table, Actor.person(CAROL), "1001", rid, {"reason": "requestor_unknown"})
    assert status_of(rid) == "pending"


def test_a_decider_of_another_site_cannot_see_or_decide(demo, policy_table):
    rid = ask(policy_table, CAROL, "2002")
    with pytest.raises(NotFound, match="no site '2002'"):
        ar.grant(policy_table, Actor.person(ALICE), "2002", rid, {"role": "user"})
    with pytest.raises(NotFound, match="no site '2002'"):
        ar.deny(policy_table, Actor.person(ALICE), "2002", rid, {"reason": "requestor_unknown"})
    assert status_of(rid) == "pending" and not is_member(CAROL, "2002")


def test_a_request_of_another_site_is_not_found_on_this_one(demo, policy_table):
    gina = person(policy_table, "gina@example.test")  # a member of neither site
    rid = ask(policy_table, gina, "2002")
    alice = Actor.person(ALICE)  # primary of 1001, naming 2002's request on 1001
    with pytest.raises(NotFound, match=f"no access request {rid} on site '1001'"):
        ar.grant(policy_table, alice, "1001", rid, {"role": "user"})
    with pytest.raises(NotFound):
        ar.deny(policy_table, alice, "1001", rid, {"reason": "requestor_unknown"})
    assert status_of(rid) == "pending" and not is_member(gina, "1001") and not is_member(gina, "2002")
    assert messages() == []
    with pytest.raises(NotFound):
        ar.deny(policy_table, alice, "1001", 999_999, {"reason": "requestor_unknown"})


@pytest.mark.parametrize("request_id", ["abc", "0", "-1", "1.5", "", "9" * 40])
def test_a_malformed_request_id_names_the_field(demo, policy_table, request_id):
    with pytest.raises(InvalidInput) as bad:
        ar.deny(policy_table, Actor.person(ALICE), "1001", request_id, {"reason": "requestor_unknown"})
    assert bad.value.field == "request_id"


def test_an_operator_decides_bound_by_the_same_rules(demo, make, policy_table):
    rid = ask(policy_table, FRANK, "1001")
    operator = Actor.operator("cli")
    with pytest.raises(RuleViolation):
        ar.grant(policy_table, operator, "1001", rid, {"role": "user", "levels": {"manage_access": "update"}})
    result = ar.grant(policy_table, operator, "1001", rid, {"role": "user", "levels": {"purchase_download": "full"}})
    assert result["request"]["decided_by"] == "cli"
    assert "portal administrators" in messages("request_granted")[0].body


# -- the command line --------------------------------------------------------------


def test_cli_create_list_grant(cli, demo):
    code, out, _ = cli("requests", "create", "--site", "1001", "--user", FRANK, "--justification", WHY)
    assert code == 0 and "pending" in out
    rid = AccessRequest.get().id
    assert f"access request {rid}" in out

    code, out, _ = cli("requests", "list", "--site", "1001")
    assert code == 0
    [header, line] = out.splitlines()
    assert header.startswith("ID") and "EMAIL" in header and "PHONE" in header
    assert (
        line.split()[0] == str(rid) and FRANK in line and "Frank Fox" in line and "+1 555 0202" in line and WHY in line
    )

    code, _, err = cli(
        "requests",
        "grant",
        "--site",
        "1001",
        str(rid),
        "--role",
        "user",
        "--level",
        "purchase_download=full",
        "--as",
        BOB,
    )
    assert code == 2 and "cannot grant full" in err and status_of(rid) == "pending"
    code, out, _ = cli(
        "requests",
        "grant",
        "--site",
        "1001",
        str(rid),
        "--role",
        "user",
        "--level",
        "purchase_download=media",
        "--level",
        "reporting=view",
        "--as",
        BOB,
    )
    assert code == 0 and f"{FRANK} is now a user of site 1001" in out and "purchase_download=media" in out
    assert dict(fetch_member(login_key(FRANK), "1001").levels) == {"purchase_download": "media", "reporting": "view"}
    assert records("grant_access_request")[0]["actor"] == BOB

    code, out, _ = cli("requests", "list", "--site", "1001")
    assert code == 0 and "(no pending access requests on site 1001)" in out
    code, out, _ = cli("requests", "list", "--site", "1001", "--status", "granted")
    assert code == 0 and f"granted user by {BOB}" in out


def test_cli_deny_as_operator_and_refusals(cli, demo):
    assert cli("requests", "create", "--site", "2002", "--user", CAROL)[0] == 0
    rid = AccessRequest.get().id
    code, _, err = cli("requests", "deny", "--site", "2002", str(rid), "--reason", "requestor_unknown", "--as", DANA)
    assert code == 2 and "may not decide_access_requests" in err
    code, out, _ = cli("requests", "deny", "--site", "2002", str(rid), "--reason", "no_business_relationship")
    assert code == 0 and DENY_REASONS["no_business_relationship"] in out
    assert AccessRequest.get_by_id(rid).decided_by == "cli"
    code, _, err = cli("requests", "deny", "--site", "2002", str(rid), "--reason", "requestor_unknown")
    assert code == 2 and "already denied" in err
    code, _, err = cli("requests", "grant", "--site", "2002", str(rid), "--role", "user")
    assert code == 2 and "already denied" in err
    with pytest.raises(SystemExit):  # argparse refuses a reason outside the three
        cli("requests", "deny", "--site", "2002", str(rid), "--reason", "made_up")
    code, _, err = cli("requests", "list", "--site", "1001", "--as", CAROL)
    assert code == 2 and "may not view_access_requests" in err
