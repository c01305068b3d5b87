"""Manage access through the HTTP API: listing and exporting members, the user
check, adding, changing and removing members, the operator workflows, and the
rules that protect a site (DOMAIN.md). Runs on the demo data:

site 1001: alice (primary), bob (secondary: manage_access update, purchase_download
media, contact_updates view), carol (user), Dana.Diaz (user, reporting view);
site 2002: erin (primary), Dana.Diaz (secondary: manage_access view), frank (user)."""

from __future__ import annotations

import csv
import io
import threading

import pytest

from authz.accounts.importer import import_data
from authz.audit import trail
from authz.authn.keys import create_key
from models.directory import record_change
from models.identifiers import login_key
from models.outbox import OutboxMessage
from models.schema import Membership, Person, Site
from tests.queries import newest_audit, role_of, stored_levels

APPS = [
    "purchase_download",
    "reporting",
    "entitlements",
    "allocations",
    "manage_access",
    "contact_updates",
    "account_documents",
]
TOP = {
    "purchase_download": "full",
    "reporting": "view",
    "entitlements": "update",
    "allocations": "update",
    "manage_access": "update",
    "contact_updates": "update",
    "account_documents": "view",
}
NONE = {app: "none" for app in APPS}


class Api:
    """Calls as an acting person (admin key + X-Acting-User) or as an operator."""

    def __init__(self, client, admin_key: str, operator_key: str, check_key: str):
        self.client = client
        self.admin_key, self.operator_key, self.check_key = admin_key, operator_key, check_key

    def call(self, method, path, *, as_=None, key=None, json=None, params=None):
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        if as_ is not None:
            headers["X-Acting-User"] = as_
        return self.client.simulate_request(method, path, headers=headers, json=json, params=params)

    def get(self, path, as_, **kw):
        return self.call("GET", path, as_=as_, **kw)

    def post(self, path, as_, json, **kw):
        return self.call("POST", path, as_=as_, json=json, **kw)

    def patch(self, path, as_, json, **kw):
        return self.call("PATCH", path, as_=as_, json=json, **kw)

    def delete(self, path, as_, **kw):
        return self.call("DELETE", path, as_=as_, **kw)

    def op(self, method, path, json=None):
        return self.call(method, path, key=self.operator_key, json=json)

    def check(self, user, site, action, min_change_seq=None):
        body = {"user": user, "site": site, "action": action}
        if min_change_seq is not None:
            body["min_change_seq"] = min_change_seq
        resp = self.client.simulate_post("/v1/check", json=body, headers={"Authorization": f"Bearer {self.check_key}"})
        assert resp.status_code == 200, resp.json
        return resp.json


@pytest.fixture
def api(client, demo) -> Api:
    return Api(client, create_key("x", "admin")[0], create_key("ops", "operator")[0], create_key("checks", "check")[0])


def person(table, login_id, email=None, **fields) -> str:
    """A known identity, member of no site."""
    import_data({"people": [{"login_id": login_id, "email": email or login_id, **fields}]}, table)
    return login_id


def roles(site: str) -> dict[str, str]:
    query = Membership.select(Membership, Person).join(Person).switch(Membership).join(Site).where(Site.number == site)
    return {m.person.login_id: m.role for m in query}


def count_role(site: str, role: str) -> int:
    return Membership.select().join(Site).where((Site.number == site) & (Membership.role == role)).count()


def add_body(login_id, email=None, role="user", levels=None, justification="needs it for the renewal"):
    body = {"login_id": login_id, "email": email or login_id, "role": role, "business_justification": justification}
    if levels is not None:
        body["levels"] = levels
    return body


MEMBERS = "/v1/sites/1001/members"


# -- reading -----------------------------------------------------------------


def test_list_members_pages_by_login_id_without_gaps_or_repeats(api):
    first = api.get(MEMBERS, "alice@acme.example", params={"limit": 3})
    assert first.status_code == 200
    assert [m["login_id"] for m in first.json["members"]] == [
        "alice@acme.example",
        "bob@acme.example",
        "carol@acme.example",
    ]
    assert first.json["next_after"] == "carol@acme.example"
    second = api.get(MEMBERS, "alice@acme.example", params={"limit": 3, "after": first.json["next_after"]})
    assert [m["login_id"] for m in second.json["members"]] == ["Dana.Diaz"]
    assert second.json["next_after"] is None
    # Two at a time reaches the same four, in the same order.
    seen, after = [], ""
    while True:
        page = api.get(MEMBERS, "alice@acme.example", params={"limit": 2, "after": after}).json
        seen += [m["login_id"] for m in page["members"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == ["alice@acme.example", "bob@acme.example", "carol@acme.example", "Dana.Diaz"]


def test_list_members_shows_roles_and_effective_levels(api):
    members = {m["login_id"]: m for m in api.get(MEMBERS, "bob@acme.example").json["members"]}
    assert members["alice@acme.example"]["role"] == "primary"
    assert members["alice@acme.example"]["levels"] == TOP  # the primary holds everything at the top
    assert members["carol@acme.example"]["levels"] == {
        **NONE,
        "purchase_download": "downloads",
        "reporting": "view",
        "entitlements": "view",
    }
    assert members["carol@acme.example"]["added_by"] == "import"


def test_list_members_filters_by_role_and_searches(api):
    def logins(**params):
        resp = api.get(MEMBERS, "alice@acme.example", params=params)
        assert resp.status_code == 200
        return [m["login_id"] for m in resp.json["members"]]

    assert logins(role="secondary") == ["bob@acme.example"]
    assert logins(role="user") == ["carol@acme.example", "Dana.Diaz"]
    assert logins(q="CHEN") == ["carol@acme.example"]  # last name, any case
    assert logins(q="consult.example") == ["Dana.Diaz"]  # email
    assert logins(q="dana.d") == ["Dana.Diaz"]  # login id
    assert logins(q="erin") == []  # a member of 2002 only
    assert logins(q="%") == []  # a LIKE wildcard is a literal character
    assert logins(q="a", role="secondary") == ["bob@acme.example"]


def test_get_one_member(api):
    resp = api.get(f"{MEMBERS}/CAROL@Acme.Example", "alice@acme.example")
    assert resp.status_code == 200
    assert resp.json["login_id"] == "carol@acme.example" and resp.json["role"] == "user"
    assert resp.json["first_name"] == "Carol" and resp.json["levels"]["purchase_download"] == "downloads"
    missing = api.get(f"{MEMBERS}/erin@globex.example", "alice@acme.example")
    assert missing.status_code == 404


def test_a_plain_user_gets_403(api):
    for path in (
        MEMBERS,
        f"{MEMBERS}/bob@acme.example",
        f"{MEMBERS}.csv",
        "/v1/sites/1001/identities/erin@globex.example",
    ):
        resp = api.get(path, "carol@acme.example")
        assert resp.status_code == 403, path
        assert resp.json["error"] == "not_permitted"
    assert api.post(MEMBERS, "carol@acme.example", add_body("erin@globex.example")).status_code == 403
    assert role_of("1001", "erin@globex.example") is None


def test_another_site_looks_exactly_like_a_missing_one(api):
    """alice belongs to 1001 only: 2002 must answer as if it did not exist."""
    for suffix in ("/members", "/members/erin@globex.example", "/members.csv", "/identities/frank@globex.example"):
        other = api.get(f"/v1/sites/2002{suffix}", "alice@acme.example")
        missing = api.get(f"/v1/sites/9999{suffix}", "alice@acme.example")
        assert other.status_code == missing.status_code == 404, suffix
        assert other.json == {**missing.json, "message": missing.json["message"].replace("9999", "2002")}, suffix
        assert "erin" not in other.text and "frank" not in other.text
    # ...and it cannot change anything there either.
    assert api.delete("/v1/sites/2002/members/frank@globex.example", "alice@acme.example").status_code == 404
    assert (
        api.patch(
            "/v1/sites/2002/members/frank@globex.example", "alice@acme.example", {"levels": {"reporting": "view"}}
        ).status_code
        == 404
    )
    assert role_of("2002", "frank@globex.example") == "user"
    assert stored_levels("2002", "frank@globex.example") == {"purchase_download": "full", "allocations": "update"}


def test_admin_key_without_acting_user_is_400(api):
    for acting in (None, "", "   "):
        resp = api.get(MEMBERS, acting)
        assert resp.status_code == 400, acting
        assert resp.json["field"] == "X-Acting-User"


def test_operator_key_lists_without_acting_user(api):
    resp = api.op("GET", MEMBERS)
    assert resp.status_code == 200 and len(resp.json["members"]) == 4


# -- CSV export --------------------------------------------------------------


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_export_csv_has_a_column_per_application(api):
    resp = api.get(f"{MEMBERS}.csv", "alice@acme.example")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert "site-1001-users.csv" in resp.headers["content-disposition"]
    rows = parse_csv(resp.text)
    assert rows[0] == ["login_id", "first_name", "last_name", "email", "role", *APPS, "added_at", "added_by"]
    by_login = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert sorted(by_login) == ["Dana.Diaz", "alice@acme.example", "bob@acme.example", "carol@acme.example"]
    assert {app: by_login["alice@acme.example"][app] for app in APPS} == TOP
    carol = by_login["carol@acme.example"]
    assert (carol["first_name"], carol["last_name"], carol["email"], carol["role"]) == (
        "Carol",
        "Chen",
        "carol@acme.example",
        "user",
    )
    assert (carol["purchase_download"], carol["manage_access"], carol["added_by"]) == ("downloads", "none", "import")
    assert carol["added_at"].endswith("Z")


@pytest.mark.parametrize("name", ['=HYPERLINK("x")', "+1", "-1", "@x", "\tx", "\rx", "=1+2"])
def test_export_neutralises_formulas(api, make, name):
    login = make.member("1001", "mallory@evil.example")
    Person.update(first_name=name, last_name="=cmd|' /C calc'!A0").where(Person.login_key == login).execute()
    rows = parse_csv(api.get(f"{MEMBERS}.csv", "alice@acme.example").text)
    mallory = dict(zip(rows[0], next(r for r in rows if r[0] == login), strict=True))
    assert mallory["first_name"] == "'" + name
    assert mallory["last_name"] == "'=cmd|' /C calc'!A0"
    carol = dict(zip(rows[0], next(r for r in rows if r[0] == "carol@acme.example"), strict=True))
    assert carol["first_name"] == "Carol"  # ordinary text is left alone


def test_export_neutralises_a_formula_login_id(api, policy_table):
    person(policy_table, "+SUM(A1)@evil.example")
    Membership.create(
        site=Site.get(Site.number == "1001"), person=Person.by_key(login_key("+SUM(A1)@evil.example")), role="user"
    )
    record_change("membership", "1001", "+sum(a1)@evil.example")  # what every membership write does
    rows = parse_csv(api.get(f"{MEMBERS}.csv", "alice@acme.example").text)
    assert ["'+SUM(A1)@evil.example", "'+SUM(A1)@evil.example"] in [[r[0], r[3]] for r in rows]


def test_a_download_of_the_user_list_is_audited_with_its_row_count(api):
    rows = parse_csv(api.get(f"{MEMBERS}.csv", "bob@acme.example").text)
    record = newest_audit("1001")
    assert (record["action"], record["actor"], record["outcome"]) == ("export_users", "bob@acme.example", "done")
    assert record["after"] == {"rows": len(rows) - 1} and record["at"]


def test_view_level_may_export_a_user_may_not(api):
    dana = api.get("/v1/sites/2002/members.csv", "Dana.Diaz")  # secondary with manage_access view
    assert dana.status_code == 200
    assert sorted(r[0] for r in parse_csv(dana.text)[1:]) == [
        "Dana.Diaz",
        "erin@globex.example",
        "frank@globex.example",
    ]
    assert api.get(f"{MEMBERS}.csv", "carol@acme.example").status_code == 403
    assert api.get(f"{MEMBERS}.csv", "Dana.Diaz").status_code == 403  # a user on 1001


# -- user check --------------------------------------------------------------


def test_user_check_known_unknown_and_member(api):
    def check(login):
        resp = api.get(f"/v1/sites/1001/identities/{login}", "bob@acme.example")
        assert resp.status_code == 200
        return resp.json["known"], resp.json["member"]

    assert check("erin@globex.example") == (True, False)
    assert check("nobody@nowhere.example") == (False, False)
    assert check("CAROL@acme.example") == (True, True)
    # Checking needs manage_access update: Dana holds view on 2002.
    assert api.get("/v1/sites/2002/identities/carol@acme.example", "Dana.Diaz").status_code == 403


# -- adding ------------------------------------------------------------------


def test_add_needs_a_known_identity(api):
    resp = api.post(MEMBERS, "alice@acme.example", add_body("ghost@nowhere.example"))
    assert resp.status_code == 422 and resp.json["field"] == "login_id"
    assert Person.by_key(login_key("ghost@nowhere.example")) is None


def test_add_needs_the_identity_s_email(api):
    resp = api.post(MEMBERS, "alice@acme.example", add_body("erin@globex.example", email="erin@other.example"))
    assert resp.status_code == 422 and resp.json["field"] == "email"
    assert role_of("1001", "erin@globex.example") is None
    # The email compares without regard to case.
    ok = api.post(MEMBERS, "alice@acme.example", add_body("erin@globex.example", email="ERIN@Globex.example"))
    assert ok.status_code == 201


@pytest.mark.parametrize("justification", [None, "", "   ", 42])
def test_add_needs_a_justification(api, justification):
    body = add_body("erin@globex.example")
    if justification is None:
        del body["business_justification"]
    else:
        body["business_justification"] = justification
    resp = api.post(MEMBERS, "alice@acme.example", body)
    assert resp.status_code == 400 and resp.json["field"] == "business_justification"
    assert role_of("1001", "erin@globex.example") is None


@pytest.mark.parametrize("role", ["primary", "admin", None, ""])
def test_add_role_must_be_secondary_or_user(api, role):
    body = add_body("erin@globex.example", role=role)
    resp = api.post(MEMBERS, "alice@acme.example", body)
    assert resp.status_code == 400 and resp.json["field"] == "role"
    assert role_of("1001", "erin@globex.example") is None
    assert count_role("1001", "primary") == 1


@pytest.mark.parametrize(
    "levels,field",
    [
        ({"nosuchapp": "view"}, "levels.nosuchapp"),
        ({"reporting": "update"}, "levels.reporting"),
        ({"purchase_download": "Full"}, "levels.purchase_download"),
        (["reporting"], "levels"),
    ],
)
def test_add_levels_are_validated(api, levels, field):
    resp = api.post(MEMBERS, "alice@acme.example", add_body("erin@globex.example", levels=levels))
    assert resp.status_code == 400 and resp.json["field"] == field
    assert role_of("1001", "erin@globex.example") is None


def test_add_an_existing_member_is_409(api):
    resp = api.post(MEMBERS, "alice@acme.example", add_body("Carol@ACME.example", email="carol@acme.example"))
    assert resp.status_code == 409
    assert role_of("1001", "carol@acme.example") == "user"
    assert stored_levels("1001", "carol@acme.example")["purchase_download"] == "downloads"


def test_add_member_welcomes_audits_and_is_seen_by_the_next_check(api, policy_table):
    login = person(
        policy_table,
        "gina@partner.example",
        first_name="Gina",
        last_name="Gale",
        notification_email="gina.alerts@partner.example",
    )
    before = api.check(login, "1001", "view_reports")
    assert before["allowed"] is False  # (and now cached as absent)

    resp = api.post(
        MEMBERS,
        "bob@acme.example",
        add_body(login, role="user", levels={"reporting": "view", "purchase_download": "downloads"}),
    )
    assert resp.status_code == 201, resp.json
    assert resp.headers["location"] == f"/v1/sites/1001/members/{login}"
    assert resp.json["role"] == "user" and resp.json["added_by"] == "bob@acme.example"
    assert resp.json["levels"] == {**NONE, "reporting": "view", "purchase_download": "downloads"}
    assert stored_levels("1001", login) == {"reporting": "view", "purchase_download": "downloads"}

    welcome = list(OutboxMessage.select().where(OutboxMessage.kind == "welcome"))
    assert len(welcome) == 1
    assert welcome[0].recipient == "gina.alerts@partner.example"  # the notification email, not the login email
    assert welcome[0].site_number == "1001" and welcome[0].status == "pending"
    assert "Dear Gina Gale" in welcome[0].body and "Bob Baker has added you" in welcome[0].body

    record = newest_audit("1001")
    assert (record["actor"], record["action"], record["target"], record["outcome"]) == (
        "bob@acme.example",
        "add_user",
        login,
        "done",
    )
    assert record["after"]["role"] == "user"
    assert record["after"]["business_justification"] == "needs it for the renewal"
    assert record["after"]["levels"]["reporting"] == "view"

    seq = resp.json["change_seq"]
    assert isinstance(seq, int) and seq > 0
    after = api.check(login, "1001", "view_reports", min_change_seq=seq)
    assert after["allowed"] is True and after["change_seq"] >= seq
    assert api.check(login, "1001", "request_media", min_change_seq=seq)["allowed"] is False


def test_welcome_goes_to_the_email_without_a_notification_email(api):
    resp = api.post(
        MEMBERS,
        "alice@acme.example",
        add_body("erin@globex.example", role="secondary", levels={"manage_access": "view"}),
    )
    assert resp.status_code == 201
    message = OutboxMessage.get(OutboxMessage.kind == "welcome")
    assert message.recipient == "erin@globex.example"
    assert "Secondary Contact" in message.body


def test_a_refused_add_queues_no_welcome(api):
    assert (
        api.post(
            MEMBERS, "bob@acme.example", add_body("erin@globex.example", levels={"purchase_download": "full"})
        ).status_code
        == 403
    )
    assert OutboxMessage.select().count() == 0


# -- the rules that protect a site -------------------------------------------


def test_nobody_grants_above_their_own_level(api):
    """bob holds purchase_download media."""
    too_high = api.post(
        MEMBERS, "bob@acme.example", add_body("erin@globex.example", levels={"purchase_download": "full"})
    )
    assert too_high.status_code == 403 and too_high.json["field"] == "levels.purchase_download"
    assert role_of("1001", "erin@globex.example") is None
    own_level = api.post(
        MEMBERS, "bob@acme.example", add_body("erin@globex.example", levels={"purchase_download": "media"})
    )
    assert own_level.status_code == 201
    # Nor by raising an existing member: carol holds downloads.
    raise_ = api.patch(f"{MEMBERS}/carol@acme.example", "bob@acme.example", {"levels": {"purchase_download": "full"}})
    assert raise_.status_code == 403
    assert stored_levels("1001", "carol@acme.example")["purchase_download"] == "downloads"
    # contact_updates: bob holds view, so cannot make a secondary with update.
    contact = api.post(
        MEMBERS,
        "bob@acme.example",
        add_body("frank@globex.example", role="secondary", levels={"contact_updates": "update"}),
    )
    assert contact.status_code == 403 and role_of("1001", "frank@globex.example") is None


def test_lowering_or_keeping_a_level_above_one_s_own_is_allowed(api, make):
    """Only raising counts as granting: bob (media) may lower a member who holds
    full, and may edit such a member's other levels without touching it; he may
    not raise it back above his own."""
    gina = make.member("1001", "gina@acme.example", purchase_download="full")
    other = api.patch(f"{MEMBERS}/{gina}", "bob@acme.example", {"levels": {"reporting": "view"}})
    assert other.status_code == 200
    assert stored_levels("1001", gina) == {"purchase_download": "full", "reporting": "view"}
    lower = api.patch(f"{MEMBERS}/{gina}", "bob@acme.example", {"levels": {"purchase_download": "downloads"}})
    assert lower.status_code == 200
    assert stored_levels("1001", gina)["purchase_download"] == "downloads"
    back = api.patch(f"{MEMBERS}/{gina}", "bob@acme.example", {"levels": {"purchase_download": "full"}})
    assert back.status_code == 403
    assert stored_levels("1001", gina)["purchase_download"] == "downloads"


def test_nobody_changes_their_own_membership(api):
    bob = f"{MEMBERS}/bob@acme.example"
    for acting in ("bob@acme.example", "BOB@Acme.Example"):
        assert api.patch(bob, acting, {"levels": {"purchase_download": "downloads"}}).status_code == 403
        assert (
            api.patch(
                bob,
                acting,
                {
                    "role": "user",
                    "levels": {"manage_access": "none", "contact_updates": "none", "account_documents": "none"},
                },
            ).status_code
            == 403
        )
        assert api.patch(bob, acting, {"first_name": "Robert"}).status_code == 403
        assert api.delete(bob, acting).status_code == 403
    assert role_of("1001", "bob@acme.example") == "secondary"
    assert stored_levels("1001", "bob@acme.example")["purchase_download"] == "media"
    assert Person.by_key(login_key("bob@acme.example")).first_name == "Bob"
    # Nor does the primary.
    assert api.patch(f"{MEMBERS}/alice@acme.example", "alice@acme.example", {"first_name": "Al"}).status_code == 403


def test_a_secondary_cannot_act_on_the_primary(api):
    alice = f"{MEMBERS}/alice@acme.example"
    assert api.patch(alice, "bob@acme.example", {"first_name": "Eve"}).status_code == 403
    assert api.patch(alice, "bob@acme.example", {"role": "user"}).status_code == 403
    assert api.patch(alice, "bob@acme.example", {"role": "secondary"}).status_code == 403
    assert api.delete(alice, "bob@acme.example").status_code == 403
    assert role_of("1001", "alice@acme.example") == "primary"
    assert Person.by_key(login_key("alice@acme.example")).first_name == "Alice"


def test_the_primary_cannot_be_removed_even_by_an_operator(api):
    resp = api.op("DELETE", f"{MEMBERS}/alice@acme.example")
    assert resp.status_code == 422
    assert role_of("1001", "alice@acme.example") == "primary"


def test_an_operator_cannot_demote_the_primary_outside_a_transfer(api):
    for body in ({"role": "secondary"}, {"role": "user"}, {"levels": {"reporting": "none"}}):
        resp = api.op("PATCH", f"{MEMBERS}/alice@acme.example", body)
        assert resp.status_code == 422, body
    assert count_role("1001", "primary") == 1 and role_of("1001", "alice@acme.example") == "primary"
    assert stored_levels("1001", "alice@acme.example") == {}
    # Details are not the role: an operator may correct them.
    assert api.op("PATCH", f"{MEMBERS}/alice@acme.example", {"phone": "+1 555 0199"}).status_code == 200
    assert Person.by_key(login_key("alice@acme.example")).phone == "+1 555 0199"


def test_a_user_never_holds_account_management_levels(api):
    add = api.post(
        MEMBERS, "alice@acme.example", add_body("erin@globex.example", role="user", levels={"manage_access": "view"})
    )
    assert add.status_code == 422 and add.json["field"] == "levels.manage_access"
    assert role_of("1001", "erin@globex.example") is None

    grant = api.patch(f"{MEMBERS}/carol@acme.example", "alice@acme.example", {"levels": {"account_documents": "view"}})
    assert grant.status_code == 422
    assert "account_documents" not in stored_levels("1001", "carol@acme.example")

    # Demoting a secondary who holds account-management levels: never silently dropped.
    demote = api.patch(f"{MEMBERS}/bob@acme.example", "alice@acme.example", {"role": "user"})
    assert demote.status_code == 422 and demote.json["field"].startswith("levels.")
    assert role_of("1001", "bob@acme.example") == "secondary"
    assert stored_levels("1001", "bob@acme.example")["manage_access"] == "update"
    cleared = api.patch(
        f"{MEMBERS}/bob@acme.example",
        "alice@acme.example",
        {"role": "user", "levels": {"manage_access": "none", "contact_updates": "none", "account_documents": "none"}},
    )
    assert cleared.status_code == 200
    assert role_of("1001", "bob@acme.example") == "user"
    assert stored_levels("1001", "bob@acme.example") == {
        "purchase_download": "media",
        "reporting": "view",
        "entitlements": "update",
        "allocations": "view",
    }
    record = newest_audit("1001")
    assert record["action"] == "update_user" and record["before"]["role"] == "secondary"
    assert record["after"]["role"] == "user" and record["before"]["levels"]["manage_access"] == "update"


def test_at_most_four_secondaries(api, policy_table):
    for i in range(3):  # bob is the first
        login = person(policy_table, f"s{i}@acme.example")
        assert api.post(MEMBERS, "alice@acme.example", add_body(login, role="secondary")).status_code == 201
    assert count_role("1001", "secondary") == 4
    fifth = api.post(MEMBERS, "alice@acme.example", add_body("erin@globex.example", role="secondary"))
    assert fifth.status_code == 409
    assert role_of("1001", "erin@globex.example") is None
    promote = api.patch(f"{MEMBERS}/carol@acme.example", "alice@acme.example", {"role": "secondary"})
    assert promote.status_code == 409
    assert role_of("1001", "carol@acme.example") == "user"
    # A secondary staying a secondary takes no extra room; as a user, any number.
    assert (
        api.patch(f"{MEMBERS}/s0@acme.example", "alice@acme.example", {"levels": {"reporting": "view"}}).status_code
        == 200
    )
    assert api.post(MEMBERS, "alice@acme.example", add_body("erin@globex.example", role="user")).status_code == 201
    # Room freed by a removal can be taken again.
    assert api.delete(f"{MEMBERS}/s1@acme.example", "alice@acme.example").status_code == 200
    assert api.patch(f"{MEMBERS}/carol@acme.example", "alice@acme.example", {"role": "secondary"}).status_code == 200
    assert count_role("1001", "secondary") == 4


def test_details_of_a_person_on_two_sites_are_not_changed_by_one(api):
    resp = api.patch(
        f"{MEMBERS}/Dana.Diaz",
        "alice@acme.example",
        {"first_name": "Danielle", "levels": {"purchase_download": "downloads"}},
    )
    assert resp.status_code == 409
    assert Person.by_key(login_key("Dana.Diaz")).first_name == "Dana"
    assert stored_levels("1001", "Dana.Diaz") == {"reporting": "view"}  # the whole change, or none of it
    # Her levels on this site alone are this site's to change.
    assert (
        api.patch(
            f"{MEMBERS}/Dana.Diaz", "alice@acme.example", {"levels": {"purchase_download": "downloads"}}
        ).status_code
        == 200
    )
    # carol belongs to 1001 only: her details may change here.
    ok = api.patch(f"{MEMBERS}/carol@acme.example", "alice@acme.example", {"first_name": "Caroline"})
    assert ok.status_code == 200 and Person.by_key(login_key("carol@acme.example")).first_name == "Caroline"
    record = newest_audit("1001")
    assert (record["before"]["first_name"], record["after"]["first_name"]) == ("Carol", "Caroline")


def test_remove_a_member(api):
    resp = api.delete(f"{MEMBERS}/carol@acme.example", "bob@acme.example")
    assert resp.status_code == 200 and isinstance(resp.json["change_seq"], int)
    assert role_of("1001", "carol@acme.example") is None
    assert Person.by_key(login_key("carol@acme.example")) is not None  # the identity stays
    assert (
        api.check("carol@acme.example", "1001", "download_software", min_change_seq=resp.json["change_seq"])["allowed"]
        is False
    )
    record = newest_audit("1001")
    assert (record["action"], record["target"], record["before"]["role"]) == (
        "remove_user",
        "carol@acme.example",
        "user",
    )
    assert api.delete(f"{MEMBERS}/carol@acme.example", "bob@acme.example").status_code == 404


# -- operators ---------------------------------------------------------------


def test_operator_creates_a_site(api):
    body = {
        "number": "3003",
        "name": "Initech",
        "primary": {"login_id": "peter@initech.example", "email": "peter@initech.example", "first_name": "Peter"},
    }
    resp = api.op("POST", "/v1/sites", body)
    assert resp.status_code == 201
    assert resp.json["number"] == "3003" and resp.json["primary"] == "peter@initech.example"
    assert Site.get(Site.number == "3003").name == "Initech"
    assert roles("3003") == {"peter@initech.example": "primary"}
    assert Person.by_key(login_key("peter@initech.example")).first_name == "Peter"
    # The new primary administers it at once.
    listed = api.get("/v1/sites/3003/members", "peter@initech.example")
    assert listed.status_code == 200 and listed.json["members"][0]["levels"] == TOP

    duplicate = api.op(
        "POST",
        "/v1/sites",
        {**body, "name": "Other", "primary": {"login_id": "someone@else.example", "email": "someone@else.example"}},
    )
    assert duplicate.status_code == 409
    refusal = trail.page("3003", limit=1)[0]
    assert (refusal["action"], refusal["outcome"]) == ("create_site", "refused")
    assert Site.get(Site.number == "3003").name == "Initech"
    assert Person.by_key(login_key("someone@else.example")) is None
    assert [s["number"] for s in api.op("GET", "/v1/sites").json["sites"]] == ["1001", "2002", "3003"]


def test_a_site_s_primary_may_be_an_existing_identity(api):
    resp = api.op(
        "POST",
        "/v1/sites",
        {
            "number": "4004",
            "name": "Hooli",
            "primary": {"login_id": "erin@globex.example", "email": "erin@globex.example"},
        },
    )
    assert resp.status_code == 201
    assert roles("4004") == {"erin@globex.example": "primary"}
    assert role_of("2002", "erin@globex.example") == "primary"
    assert Person.select().where(Person.login_key == "erin@globex.example").count() == 1


def test_transfer_primary(api):
    resp = api.op("POST", "/v1/sites/1001/primary-transfer", {"to": "carol@acme.example"})
    assert resp.status_code == 200, resp.json
    assert (resp.json["primary"], resp.json["former_primary"], resp.json["former_primary_role"]) == (
        "carol@acme.example",
        "alice@acme.example",
        "secondary",
    )
    assert count_role("1001", "primary") == 1
    assert roles("1001") == {
        "alice@acme.example": "secondary",
        "bob@acme.example": "secondary",
        "carol@acme.example": "primary",
        "Dana.Diaz": "user",
    }
    assert stored_levels("1001", "alice@acme.example") == TOP  # a secondary with the top levels
    assert stored_levels("1001", "carol@acme.example") == {}  # a primary's levels are implied
    # The change is seen at once by checks, and by the rules.
    seq = resp.json["change_seq"]
    assert api.check("carol@acme.example", "1001", "renew_licenses", min_change_seq=seq)["allowed"] is True
    assert (
        api.patch(f"{MEMBERS}/carol@acme.example", "alice@acme.example", {"role": "user"}).status_code == 403
    )  # alice is a secondary now
    assert api.delete(f"{MEMBERS}/alice@acme.example", "carol@acme.example").status_code == 200
    record = next(r for r in trail.page("1001", limit=10) if r["action"] == "transfer_primary")
    assert record["before"]["primary"] == "alice@acme.example" and record["after"]["primary"] == "carol@acme.example"


def test_transfer_primary_to_a_former_user_role(api):
    resp = api.op("POST", "/v1/sites/1001/primary-transfer", {"to": "bob@acme.example", "former_primary_role": "user"})
    assert resp.status_code == 200
    assert roles("1001")["alice@acme.example"] == "user" and roles("1001")["bob@acme.example"] == "primary"
    # A user holds the top of what a user may hold, and no account management.
    assert stored_levels("1001", "alice@acme.example") == {
        "purchase_download": "full",
        "reporting": "view",
        "entitlements": "update",
        "allocations": "update",
    }
    assert stored_levels("1001", "bob@acme.example") == {}
    bad = api.op(
        "POST", "/v1/sites/1001/primary-transfer", {"to": "carol@acme.example", "former_primary_role": "primary"}
    )
    assert bad.status_code == 400 and roles("1001")["bob@acme.example"] == "primary"


def test_there_is_exactly_one_primary_at_every_moment(api):
    """Transfers back and forth while another connection keeps counting."""
    counts, stop, failures = [], threading.Event(), []

    def watch():
        from models.db import db

        try:
            while not stop.is_set() or len(counts) < 5:
                counts.append(count_role("1001", "primary"))
        except Exception as exc:  # reported below: an assertion here would be lost
            failures.append(exc)
        finally:
            db.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for target in ["carol@acme.example", "alice@acme.example", "bob@acme.example", "alice@acme.example"] * 3:
            resp = api.op("POST", "/v1/sites/1001/primary-transfer", {"to": target})
            assert resp.status_code == 200, resp.json
    finally:
        stop.set()
        watcher.join(timeout=60)
    assert not failures and not watcher.is_alive()
    assert counts and set(counts) == {1}
    assert roles("1001")["alice@acme.example"] == "primary"
    assert count_role("1001", "secondary") == 2  # bob and carol; Dana stays a user


def test_transfer_to_a_non_member_is_404(api):
    resp = api.op("POST", "/v1/sites/1001/primary-transfer", {"to": "erin@globex.example"})
    assert resp.status_code == 404
    assert api.op("POST", "/v1/sites/9999/primary-transfer", {"to": "carol@acme.example"}).status_code == 404
    assert roles("1001")["alice@acme.example"] == "primary" and count_role("1001", "primary") == 1
    assert role_of("2002", "erin@globex.example") == "primary"
    already = api.op("POST", "/v1/sites/1001/primary-transfer", {"to": "alice@acme.example"})
    assert already.status_code == 422


def test_transfer_keeps_the_secondary_limit(api, make):
    for _ in range(3):
        make.member("1001", role="secondary")
    assert count_role("1001", "secondary") == 4
    full = api.op("POST", "/v1/sites/1001/primary-transfer", {"to": "carol@acme.example"})
    assert full.status_code == 409
    assert roles("1001")["alice@acme.example"] == "primary" and roles("1001")["carol@acme.example"] == "user"
    # From a secondary the count does not change.
    assert api.op("POST", "/v1/sites/1001/primary-transfer", {"to": "bob@acme.example"}).status_code == 200
    assert count_role("1001", "secondary") == 4 and roles("1001")["bob@acme.example"] == "primary"


def test_only_operator_keys_use_operator_routes(api):
    body = {"number": "5005", "name": "X", "primary": {"login_id": "x@x.example", "email": "x@x.example"}}
    assert api.post("/v1/sites", "alice@acme.example", body).status_code == 403
    assert api.get("/v1/sites", "alice@acme.example").status_code == 403
    transfer = api.post("/v1/sites/1001/primary-transfer", "alice@acme.example", {"to": "bob@acme.example"})
    assert transfer.status_code == 403
    assert not Site.select().where(Site.number == "5005").exists()
    assert role_of("1001", "alice@acme.example") == "primary"
    # Nor does a check key touch membership.
    assert api.get(MEMBERS, "alice@acme.example", key=api.check_key).status_code == 403


# -- the audit trail of refusals ----------------------------------------------


def test_refused_attempts_are_audited_and_the_chain_verifies(api):
    assert api.patch(f"{MEMBERS}/alice@acme.example", "bob@acme.example", {"role": "user"}).status_code == 403
    assert api.get(MEMBERS, "carol@acme.example").status_code == 403
    assert api.post(MEMBERS, "alice@acme.example", add_body("ghost@nowhere.example")).status_code == 422
    assert api.post(MEMBERS, "alice@acme.example", add_body("carol@acme.example")).status_code == 409
    assert api.get("/v1/sites/2002/members", "alice@acme.example").status_code == 404
    assert api.op("DELETE", f"{MEMBERS}/alice@acme.example").status_code == 422
    # Malformed requests are not attempts on the site: nothing to audit.
    assert api.post(MEMBERS, "alice@acme.example", add_body("erin@globex.example", role="primary")).status_code == 400

    refused = [r for r in trail.page("1001", limit=50) if r["outcome"] == "refused"]
    assert [(r["actor"], r["action"], r["target"]) for r in reversed(refused)] == [
        ("bob@acme.example", "update_user", "alice@acme.example"),
        ("carol@acme.example", "list_users", None),
        ("alice@acme.example", "add_user", "ghost@nowhere.example"),
        ("alice@acme.example", "add_user", "carol@acme.example"),
        (refused[0]["actor"], "remove_user", "alice@acme.example"),
    ]
    assert refused[0]["actor"].startswith("key:")
    assert all(r["detail"] for r in refused)
    assert "primary" in refused[-1]["detail"]  # why bob was refused
    assert "not a known identity" in refused[2]["detail"]
    other = trail.page("2002", limit=5)
    assert [(r["actor"], r["action"], r["outcome"]) for r in other] == [("alice@acme.example", "list_users", "refused")]
    report = trail.verify()
    assert report.ok, str(report)
    assert report.records == len(trail.page_all(limit=500))


@pytest.mark.parametrize("field", ["name", "primary.first_name"])
def test_a_nul_in_free_text_is_refused_on_every_backend(api, field):
    """PostgreSQL's text cannot hold NUL: a site named with one was a 500 there (schemathesis)."""
    body = {"number": "3003", "name": "Initech", "primary": {"login_id": "carol@acme.example"}}
    if field == "name":
        body["name"] = "Init\u0000ech"
    else:
        body["primary"] = {
            "login_id": "peter@initech.example",
            "email": "peter@initech.example",
            "first_name": "Pe\u0000ter",
            "last_name": "Gibbons",
            "phone": "+1 555 0300",
        }
    resp = api.op("POST", "/v1/sites", json=body)
    assert resp.status_code == 400 and resp.json["field"] == field
