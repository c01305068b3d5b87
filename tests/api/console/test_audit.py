"""The site's audit trail page: for those allowed, newest first, paged, filtered by
actor and action; escaped like every page."""

from __future__ import annotations

from authz.contract.actors import Actor
from authz.contract.members import MemberChange
from tests.api.console.conftest import text_of

AUDIT = "/console/sites/1001/audit"


def change_carol(service, times: int) -> None:
    for i in range(times):
        level = "view" if i % 2 == 0 else "none"
        service.members.update(
            Actor.person("alice@acme.example"),
            "1001",
            "carol@acme.example",
            MemberChange(levels={"allocations": level}),
        )


def test_the_primary_reads_the_trail_newest_first_paged(browser, service):
    change_carol(service, 55)
    alice = browser("alice@acme.example")
    page = alice.get(AUDIT)
    assert page.status_code == 200
    assert page.text.count("<td>update_user</td>") == 50
    assert 'rel="next"' in page.text
    next_link = next(part.split('"')[0] for part in page.text.split('href="') if "before=" in part.split('"')[0])
    second = alice.get(next_link.replace("&amp;", "&"))
    assert second.status_code == 200 and "Newest records" in second.text
    assert second.text.count("<td>update_user</td>") == 5


def test_the_trail_filters_by_actor_and_action(browser, service):
    change_carol(service, 2)
    service.members.update(
        Actor.person("bob@acme.example"), "1001", "carol@acme.example", MemberChange(levels={"reporting": "none"})
    )
    alice = browser("alice@acme.example")
    by_bob = alice.get(AUDIT, actor="bob@acme.example")
    assert by_bob.text.count("<td>bob@acme.example</td>") == 1 and "<td>alice@acme.example</td>" not in by_bob.text
    exports = alice.get(AUDIT, action="export_users")
    assert "No record matches." in exports.text
    updates = alice.get(AUDIT, action="update_user", actor="alice@acme.example")
    assert updates.text.count("<td>update_user</td>") == 2


def test_who_may_not_read_the_trail_sees_no_link_and_is_refused(browser):
    carol = browser("carol@acme.example")
    assert carol.get(AUDIT).status_code == 403
    bob = browser("bob@acme.example")  # manage_access update: view_audit
    assert 'href="/console/sites/1001/audit"' in bob.get("/console/sites/1001/").text
    frank = browser("frank@globex.example")
    assert frank.get(AUDIT).text == frank.get("/console/sites/9999/audit").text


def test_records_are_shown_as_text(browser, service):
    service.contacts.mark_reviewed(Actor.person("alice@acme.example"), "1001")
    alice = browser("alice@acme.example")
    page = alice.get(AUDIT, actor="<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert "mark_contacts_reviewed" in text_of(alice.get(AUDIT))
