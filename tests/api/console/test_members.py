"""Manage access and Add new user, through the pages: the list, the CSV, a member's
matrix with its preview, saving, removing, adding; as the primary, a secondary, a
plain user and an outsider."""

from __future__ import annotations

import csv
import io

from authz.accounts.importer import import_data
from authz.audit import trail
from models.identifiers import login_key
from models.outbox import OutboxMessage
from models.schema import Membership, MembershipLevel, Person, Site
from tests.api.console.conftest import text_of

MEMBERS = "/console/sites/1001/members"


def member_url(login: str, rest: str = "member") -> str:
    from urllib.parse import urlencode

    return f"/console/sites/1001/{rest}?{urlencode({'login': login})}"


def levels_of(login: str, site: str = "1001") -> dict[str, str]:
    member = Membership.get((Membership.person == Person.by_key(login_key(login))) & (Membership.site == site_id(site)))
    return {row.application: row.level for row in MembershipLevel.select().where(MembershipLevel.membership == member)}


def is_member(login: str, site: str = "1001") -> bool:
    person = Person.by_key(login_key(login))
    return Membership.select().where((Membership.person == person) & (Membership.site == site_id(site))).exists()


def site_id(number: str) -> int:
    return Site.get(Site.number == number).id


def test_the_primary_sees_the_user_list_with_search_role_filter_and_paging(browser, make):
    alice = browser("alice@acme.example")
    page = alice.get(MEMBERS)
    assert page.status_code == 200
    text = text_of(page)
    for row in ("Alice Archer alice@acme.example", "Bob Baker bob@acme.example", "Carol Chen carol@acme.example"):
        assert row in text
    assert "Download the complete list of users" in text and "Add new user" in text
    found = text_of(alice.get(MEMBERS, q="chen"))
    assert "carol@acme.example" in found and "bob@acme.example" not in found
    secondaries = text_of(alice.get(MEMBERS, role="secondary"))
    assert "bob@acme.example" in secondaries and "carol@acme.example" not in secondaries
    for i in range(55):
        make.member("1001", f"zz{i:03d}@acme.example")
    first = alice.get(MEMBERS)
    assert first.text.count("/console/sites/1001/member?login=") == 50
    assert 'rel="next"' in first.text
    second = alice.get(MEMBERS, after="zz045@acme.example")
    assert second.text.count("/console/sites/1001/member?login=") == 9 and 'rel="next"' not in second.text


def test_download_the_complete_list_through_the_service(browser):
    alice = browser("alice@acme.example")
    resp = alice.get("/console/sites/1001/members.csv")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0][:5] == ["login_id", "first_name", "last_name", "email", "role"]
    assert {r[0] for r in rows[1:]} == {"alice@acme.example", "bob@acme.example", "carol@acme.example", "Dana.Diaz"}
    assert trail.page("1001", limit=1)[0]["action"] == "export_users"


def test_a_users_matrix_shows_account_management_fixed_at_none_with_the_reason(browser):
    alice = browser("alice@acme.example")
    page = alice.get(member_url("carol@acme.example"))
    assert page.status_code == 200
    assert "Secondary Contact (up to 4; the site has 1 of 4)" in text_of(page)
    for app in ("manage_access", "contact_updates", "account_documents"):
        assert (
            f'id="lv-{app}-none" value="none" checked disabled aria-describedby="lv-{app}-why-role_may_not_hold"'
            in page.text
        )
        assert f'<input type="hidden" name="level.{app}" value="none">' in page.text
    assert "Account management is for contacts only" in page.text
    assert 'id="lv-purchase_download-full" value="full">' in page.text  # the primary may give anything


def test_preview_shows_what_a_change_does_and_changes_nothing_until_save(browser):
    alice = browser("alice@acme.example")
    alice.get(member_url("carol@acme.example"))
    before = levels_of("carol@acme.example")
    preview = alice.post(
        member_url("carol@acme.example"),
        {"do": "preview", "role": "user", "level.purchase_download": "full", "level.reporting": "none"},
    )
    assert preview.status_code == 200
    text = text_of(preview)
    assert "What this change does" in text
    gained = text[text.index("Actions gained") : text.index("Actions lost")]
    assert "View quotes" in gained and "Renew licenses" in gained
    assert "View reports" in text[text.index("Actions lost") :]
    assert levels_of("carol@acme.example") == before  # nothing saved by a preview
    saved = alice.post(
        member_url("carol@acme.example"),
        alice_token_fields(
            alice, {"do": "save", "role": "user", "level.purchase_download": "full", "level.reporting": "none"}
        ),
        token=False,
    )
    assert saved.status_code == 303
    assert levels_of("carol@acme.example")["purchase_download"] == "full"
    assert "reporting" not in levels_of("carol@acme.example")
    record = trail.page("1001", limit=1)[0]
    assert (record["action"], record["actor"], record["target"]) == (
        "update_user",
        "alice@acme.example",
        "carol@acme.example",
    )
    assert "Saved." in alice.get(saved.headers["location"]).text


def alice_token_fields(browser, fields: dict) -> list:
    return [*fields.items(), ("csrf_token", browser.token())]


def test_a_secondary_cannot_grant_above_their_own_levels(browser):
    bob = browser("bob@acme.example")  # holds purchase_download media
    page = bob.get(member_url("carol@acme.example"))
    assert (
        'id="lv-purchase_download-full" value="full" disabled aria-describedby="lv-purchase_download-why-above_own_level"'
        in page.text
    )
    assert "You hold Software downloads and media access here, and cannot grant a higher level." in page.text
    preview = bob.post(
        member_url("carol@acme.example"), {"do": "preview", "role": "user", "level.purchase_download": "full"}
    )
    assert "It would be refused" in preview.text and "Save this change" not in preview.text
    before = levels_of("carol@acme.example")
    refused = bob.post(
        member_url("carol@acme.example"), {"do": "save", "role": "user", "level.purchase_download": "full"}
    )
    assert refused.status_code == 422
    assert 'id="lv-purchase_download-error" role="alert"' in refused.text
    assert levels_of("carol@acme.example") == before
    assert trail.page("1001", limit=1)[0]["outcome"] == "refused"


def test_a_secondary_cannot_act_on_the_primary(browser):
    bob = browser("bob@acme.example")
    page = bob.get(member_url("alice@acme.example"))
    assert page.status_code == 200 and "Preview the change" not in page.text
    assert "Remove this user" not in page.text
    refused = bob.post(member_url("alice@acme.example"), {"do": "save", "role": "user"})
    assert refused.status_code == 422 and "primary contact" in refused.text
    assert Membership.get(Membership.person == Person.by_key(login_key("alice@acme.example"))).role == "primary"
    bob.get(member_url("alice@acme.example", "member/delete"))
    removal = bob.post(member_url("alice@acme.example", "member/delete"))
    assert removal.status_code == 403
    assert Membership.select().where(Membership.person == Person.by_key(login_key("alice@acme.example"))).exists()


def test_nobody_changes_their_own_membership(browser):
    bob = browser("bob@acme.example")
    page = bob.get(member_url("bob@acme.example"))
    assert "You cannot change your own role or privileges." in page.text and "Preview the change" not in page.text


def test_a_plain_user_sees_no_management_pages(browser):
    carol = browser("carol@acme.example")
    overview = carol.get("/console/sites/1001/")
    assert overview.status_code == 200
    assert "Manage access" not in overview.text and "Add new user" not in overview.text
    assert "Download software" in text_of(overview)
    for path in (
        MEMBERS,
        member_url("bob@acme.example"),
        "/console/sites/1001/add-user",
        "/console/sites/1001/members.csv",
    ):
        assert carol.get(path).status_code == 403, path


def test_another_sites_pages_answer_like_a_missing_site(browser):
    frank = browser("frank@globex.example")  # a member of 2002 only
    for rest in ("", "members", "member?login=alice%40acme.example", "add-user", "members.csv"):
        theirs = frank.get(f"/console/sites/1001/{rest}")
        missing = frank.get(f"/console/sites/9999/{rest}")
        assert theirs.status_code == missing.status_code == 404, rest
        assert theirs.text == missing.text
    frank.get("/console/")
    posted = frank.post(member_url("carol@acme.example"), {"do": "save", "role": "secondary"})
    assert posted.status_code == 404
    assert Membership.get(Membership.person == Person.by_key(login_key("carol@acme.example"))).role == "user"


def test_remove_a_user_after_a_confirmation(browser):
    alice = browser("alice@acme.example")
    confirm = alice.get(member_url("Dana.Diaz", "member/delete"))
    assert confirm.status_code == 200 and "Remove Dana.Diaz" in confirm.text
    assert Membership.select().join(Person).where(Person.login_key == login_key("Dana.Diaz")).count() == 2
    done = alice.post(member_url("Dana.Diaz", "member/delete"))
    assert done.status_code == 303
    assert "Dana.Diaz was removed from the site." in alice.get(done.headers["location"]).text
    assert Membership.select().join(Person).where(Person.login_key == login_key("Dana.Diaz")).count() == 1
    assert trail.page("1001", limit=1)[0]["action"] == "remove_user"


def test_a_member_named_like_markup_or_a_formula_shows_as_text(browser, policy_table):
    import_data(
        {
            "people": [
                {
                    "login_id": "mallory@acme.example",
                    "email": "mallory@acme.example",
                    "first_name": "<script>alert(1)</script>",
                    "last_name": '=HYPERLINK("http://evil.example","x")',
                }
            ],
            "memberships": [{"site": "1001", "user": "mallory@acme.example", "role": "user"}],
        },
        policy_table,
    )
    alice = browser("alice@acme.example")
    for page in (alice.get(MEMBERS), alice.get(member_url("mallory@acme.example"))):
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;x&#34;)" in page.text
    exported = alice.get("/console/sites/1001/members.csv").text
    assert "'=HYPERLINK" in exported  # the spreadsheet-safe CSV of the service


def test_add_a_user_after_a_user_check_with_a_preview(browser):
    alice = browser("alice@acme.example")
    page = alice.get("/console/sites/1001/add-user")
    assert page.status_code == 200
    unknown = alice.post("/console/sites/1001/add-user", {"do": "check", "login_id": "nobody@acme.example"})
    assert unknown.status_code == 422 and "Not a known identity" in unknown.text
    member = alice.post("/console/sites/1001/add-user", {"do": "check", "login_id": "carol@acme.example"})
    assert "Already a member of this site." in member.text
    known = alice.post("/console/sites/1001/add-user", {"do": "check", "login_id": "frank@globex.example"})
    assert known.status_code == 200 and "Known identity: they can be added." in known.text
    fields = {
        "login_id": "frank@globex.example",
        "email": "frank@globex.example",
        "business_justification": "Runs the Globex-Acme integration",
        "role": "user",
        "level.reporting": "view",
    }
    preview = alice.post("/console/sites/1001/add-user", {**fields, "do": "preview"})
    assert "View reports" in text_of(preview) and "Submit: add frank@globex.example" in preview.text
    assert not is_member("frank@globex.example")
    added = alice.post("/console/sites/1001/add-user", {**fields, "do": "save"})
    assert added.status_code == 303
    assert levels_of("frank@globex.example") == {"reporting": "view"}
    assert OutboxMessage.select().where(OutboxMessage.kind == "welcome").count() == 1


def test_add_user_without_a_justification_is_refused_at_the_field_and_adds_nobody(browser):
    alice = browser("alice@acme.example")
    alice.get("/console/sites/1001/add-user")
    resp = alice.post(
        "/console/sites/1001/add-user",
        {
            "do": "save",
            "login_id": "frank@globex.example",
            "email": "frank@globex.example",
            "business_justification": "",
            "role": "user",
        },
    )
    assert resp.status_code == 422
    assert 'id="f-business_justification-error" role="alert"' in resp.text
    assert not is_member("frank@globex.example")
    assert OutboxMessage.select().count() == 0


def test_the_members_forms_refuse_a_post_without_the_token(browser):
    alice = browser("alice@acme.example")
    alice.get(member_url("carol@acme.example"))
    for path, fields in (
        (member_url("carol@acme.example"), {"do": "save", "role": "secondary"}),
        (member_url("carol@acme.example", "member/delete"), {}),
        ("/console/sites/1001/add-user", {"do": "save", "login_id": "frank@globex.example"}),
    ):
        assert alice.post(path, fields, token=False).status_code == 403, path
    assert Membership.get(Membership.person == Person.by_key(login_key("carol@acme.example"))).role == "user"


def test_a_secondary_with_view_only_sees_members_but_no_form(browser):
    dana = browser("Dana.Diaz")  # 2002: manage_access view
    listing = dana.get("/console/sites/2002/members")
    assert listing.status_code == 200 and "frank@globex.example" in listing.text
    assert "Add new user" not in listing.text
    page = dana.get("/console/sites/2002/member?login=frank%40globex.example")
    assert page.status_code == 200
    assert "Preview the change" not in page.text and "Remove this user" not in page.text
    assert "Allocations" in text_of(page) or "Entitlement allocations" in text_of(page)
    dana.get("/console/sites/2002/members")
    refused = dana.post("/console/sites/2002/member?login=frank%40globex.example", {"do": "save", "role": "secondary"})
    assert refused.status_code == 422 and "may not update_user" in refused.text
    assert Membership.get(Membership.person == Person.by_key(login_key("frank@globex.example"))).role == "user"
