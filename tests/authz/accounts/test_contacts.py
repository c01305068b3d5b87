"""Contact updates in the domain (authz/contacts.py) and the `authz contacts` CLI,
on SQLite and PostgreSQL. Times are passed explicitly: nothing sleeps."""

from datetime import datetime, timedelta

import pytest

from authz.accounts.authority import NotPermitted
from authz.accounts.contacts import CONTACT_TYPES, FIELDS, REMINDER_INTERVAL
from authz.audit import trail
from authz.contract.actors import Actor
from authz.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from models.contacts import ContactReview, SiteContact
from models.identifiers import login_key
from models.outbox import OutboxMessage
from models.schema import Person
from tests.drive import contacts

create_contact, delete_contact, list_contacts, mark_reviewed, overdue_sites, replace_contact, send_review_reminders = (
    contacts.create_contact,
    contacts.delete_contact,
    contacts.list_contacts,
    contacts.mark_reviewed,
    contacts.overdue_sites,
    contacts.replace_contact,
    contacts.send_review_reminders,
)

ALICE, BOB, CAROL, DANA, ERIN = (
    Actor.person(login)
    for login in ("alice@acme.example", "bob@acme.example", "carol@acme.example", "Dana.Diaz", "erin@globex.example")
)
OPERATOR = Actor.operator("ops-test")
T0 = datetime(2030, 3, 1, 9, 0, 0)


def body(**changes):
    record = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "telephone": "+1 555 0199",
        "email": "grace@acme.example",
        "street_address": "1 Harbor Way\nSuite 200",
        "city": "Arlington",
        "state_province": "VA",
        "postal_code": "22201",
        "contact_types": ["technical", "primary"],
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def latest(site, n=1):
    return trail.page(site, limit=n)


# -- saving, whole ------------------------------------------------------------


def test_create_stores_the_record_normalised_and_audits_it(demo, policy_table):
    created = create_contact(
        policy_table, ALICE, "1001", body(first_name="  Grace ", contact_types=["billing", "primary", "billing"])
    )
    assert created["first_name"] == "Grace"
    assert created["contact_types"] == ["primary", "billing"]  # once each, catalogue order
    assert created["updated_by"] == "alice@acme.example"
    row = SiteContact.get_by_id(created["id"])
    assert (row.site.number, row.contact_types, row.street_address) == (
        "1001",
        "primary,billing",
        "1 Harbor Way\nSuite 200",
    )
    record = latest("1001")[0]
    assert (record["action"], record["actor"], record["target"], record["outcome"]) == (
        "create_contact",
        "alice@acme.example",
        f"contact:{created['id']}",
        "done",
    )
    assert record["before"] is None and record["after"]["email"] == "grace@acme.example"


def test_replace_changes_every_field_and_audits_before_and_after(demo, policy_table):
    contact_id = create_contact(policy_table, ALICE, "1001", body())["id"]
    new = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "telephone": "(020) 7946 0018",
        "email": "ada@acme.example",
        "street_address": "12 St James's Square",
        "city": "London",
        "state_province": "Greater London",
        "postal_code": "SW1Y 4LB",
        "contact_types": ["renewal", "media_shipping"],
    }
    saved = replace_contact(policy_table, ALICE, "1001", contact_id, new)
    row = SiteContact.get_by_id(contact_id)
    for field in FIELDS:
        assert getattr(row, field) == new[field] == saved[field]
    assert row.contact_types == "renewal,media_shipping"
    record = latest("1001")[0]
    assert record["action"] == "update_contact"
    assert record["before"]["first_name"] == "Grace" and record["after"]["first_name"] == "Ada"
    assert record["before"]["contact_types"] == ["primary", "technical"]
    assert record["after"]["contact_types"] == ["renewal", "media_shipping"]


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("value", [..., None, "", "   "], ids=["absent", "null", "empty", "blank"])
def test_a_save_without_a_mandatory_field_changes_nothing(demo, policy_table, field, value):
    contact_id = create_contact(policy_table, ALICE, "1001", body())["id"]
    before, head = SiteContact.get_by_id(contact_id).__data__, latest("1001")[0]["seq"]
    with pytest.raises(RuleViolation) as refused:
        # The other fields change too: none of it may land.
        replace_contact(
            policy_table, ALICE, "1001", contact_id, body(**{"first_name": "Changed", "city": "Changed", field: value})
        )
    assert refused.value.field == field and field in refused.value.message
    assert SiteContact.get_by_id(contact_id).__data__ == before
    with pytest.raises(RuleViolation):
        create_contact(policy_table, ALICE, "1001", body(**{field: value}))
    assert SiteContact.select().count() == 1
    assert latest("1001")[0]["seq"] == head  # nothing written, not even a refusal


def test_every_problem_is_named_the_first_in_the_field(demo, policy_table):
    with pytest.raises(RuleViolation) as refused:
        create_contact(policy_table, ALICE, "1001", body(last_name="", postal_code=..., contact_types=[]))
    assert refused.value.field == "last_name"
    assert "postal_code" in refused.value.message and "contact_types" in refused.value.message


@pytest.mark.parametrize("types", [[], ["primary", "sales"], "primary", None, ..., [["primary"]], [1]])
def test_contact_types_must_be_a_non_empty_list_of_known_types(demo, policy_table, types):
    with pytest.raises(RuleViolation) as refused:
        create_contact(policy_table, ALICE, "1001", body(contact_types=types))
    assert refused.value.field == "contact_types"
    assert not SiteContact.select().exists()


def test_every_contact_type_is_accepted(demo, policy_table):
    created = create_contact(policy_table, ALICE, "1001", body(contact_types=list(reversed(CONTACT_TYPES))))
    assert created["contact_types"] == list(CONTACT_TYPES)
    assert list_contacts(policy_table, ALICE, "1001")["uncovered_types"] == []


@pytest.mark.parametrize(
    "email", ["grace", "grace@", "@acme.example", "grace@acme", "gr ace@acme.example", "a@b@acme.example"]
)
def test_email_must_look_like_an_address(demo, policy_table, email):
    with pytest.raises(RuleViolation) as refused:
        create_contact(policy_table, ALICE, "1001", body(email=email))
    assert refused.value.field == "email"


@pytest.mark.parametrize(
    "field, value", [("telephone", "call me"), ("city", "Arling\nton"), ("first_name", 7), ("postal_code", "1" * 21)]
)
def test_malformed_values_are_refused_by_name(demo, policy_table, field, value):
    with pytest.raises(RuleViolation) as refused:
        create_contact(policy_table, ALICE, "1001", body(**{field: value}))
    assert refused.value.field == field


def test_unknown_fields_are_refused_by_name(demo, policy_table):
    with pytest.raises(InvalidInput) as refused:
        create_contact(policy_table, ALICE, "1001", body(fax="555", id=3))
    assert refused.value.field == "fax" and "'id'" in refused.value.message
    assert not SiteContact.select().exists()


def test_delete_is_audited_with_what_was_deleted(demo, policy_table):
    contact_id = create_contact(policy_table, ALICE, "1001", body())["id"]
    assert delete_contact(policy_table, ALICE, "1001", str(contact_id)) == {"deleted": contact_id, "site": "1001"}
    assert not SiteContact.select().exists()
    record = latest("1001")[0]
    assert (record["action"], record["target"], record["after"]) == ("delete_contact", f"contact:{contact_id}", None)
    assert record["before"]["last_name"] == "Hopper"


def test_a_contact_email_is_not_anybodys_notification_email(demo, policy_table):
    alice = Person.by_key(login_key("alice@acme.example"))
    alice.notification_email = "alice.alerts@acme.example"
    alice.save()
    contact_id = create_contact(policy_table, ALICE, "1001", body(email="alice@acme.example"))["id"]
    replace_contact(policy_table, ALICE, "1001", contact_id, body(email="alice.new@acme.example"))
    alice = Person.by_key(login_key("alice@acme.example"))
    assert (alice.email, alice.notification_email) == ("alice@acme.example", "alice.alerts@acme.example")
    assert SiteContact.get_by_id(contact_id).email == "alice.new@acme.example"


# -- who may -------------------------------------------------------------------


def test_a_secondary_with_view_lists_but_may_not_change(demo, policy_table):
    contact_id = create_contact(policy_table, ALICE, "1001", body())["id"]
    assert [c["id"] for c in list_contacts(policy_table, BOB, "1001")["contacts"]] == [contact_id]
    for attempt in (
        lambda: create_contact(policy_table, BOB, "1001", body()),
        lambda: replace_contact(policy_table, BOB, "1001", contact_id, body(city="Nope")),
        lambda: delete_contact(policy_table, BOB, "1001", contact_id),
        lambda: mark_reviewed(policy_table, BOB, "1001"),
    ):
        with pytest.raises(NotPermitted):
            attempt()
    assert SiteContact.get_by_id(contact_id).city == "Arlington"
    assert ContactReview.get_or_none() is None
    record = latest("1001")[0]
    assert (record["actor"], record["action"], record["outcome"]) == (
        "bob@acme.example",
        "mark_contacts_reviewed",
        "refused",
    )


def test_a_secondary_with_update_may_edit_and_review(demo, policy_table):
    created = create_contact(policy_table, DANA, "2002", body())
    replace_contact(policy_table, DANA, "2002", created["id"], body(city="Springfield"))
    assert mark_reviewed(policy_table, DANA, "2002", now=T0)["reviewed_by"] == "Dana.Diaz"
    assert SiteContact.get_by_id(created["id"]).city == "Springfield"


@pytest.mark.parametrize("actor", [CAROL, DANA], ids=["user", "user-here-secondary-elsewhere"])
def test_a_user_may_not_even_see_them(demo, policy_table, actor):
    with pytest.raises(NotPermitted):
        list_contacts(policy_table, actor, "1001")


def test_another_sites_contacts_are_not_found(demo, policy_table):
    theirs = create_contact(policy_table, ERIN, "2002", body(city="Globex City"))["id"]
    with pytest.raises(NotFound) as other:
        list_contacts(policy_table, ALICE, "2002")
    with pytest.raises(NotFound) as missing:
        list_contacts(policy_table, ALICE, "4040")
    assert other.value.message.replace("2002", "X") == missing.value.message.replace("4040", "X")
    # A member of 1001 naming 2002's contact through 1001.
    with pytest.raises(NotFound):
        replace_contact(policy_table, ALICE, "1001", theirs, body(city="Hijacked"))
    with pytest.raises(NotFound):
        delete_contact(policy_table, ALICE, "1001", theirs)
    for bad_id in ("abc", "-1", "1e3", "99999999999999999999", theirs + 1000):
        with pytest.raises(NotFound):
            delete_contact(policy_table, OPERATOR, "1001", bad_id)
    assert SiteContact.get_by_id(theirs).city == "Globex City"


# -- review ----------------------------------------------------------------------


def test_mark_reviewed_records_when_and_who_and_is_audited(demo, policy_table):
    assert list_contacts(policy_table, ALICE, "1001", now=T0)["review"] == {
        "last_reviewed_at": None,
        "last_reviewed_by": None,
        "last_reminded_at": None,
        "overdue": True,
    }
    result = mark_reviewed(policy_table, ALICE, "1001", now=T0)
    assert result == {
        "site": "1001",
        "reviewed_at": "2030-03-01T09:00:00Z",
        "reviewed_by": "alice@acme.example",
        "contacts": 0,
    }
    review = list_contacts(policy_table, BOB, "1001", now=T0 + timedelta(days=1))["review"]
    assert review["last_reviewed_at"] == "2030-03-01T09:00:00Z" and review["last_reviewed_by"] == "alice@acme.example"
    assert review["overdue"] is False
    at_30_days = T0 + timedelta(days=30)
    assert list_contacts(policy_table, BOB, "1001", now=at_30_days)["review"]["overdue"] is False
    assert list_contacts(policy_table, BOB, "1001", now=at_30_days + timedelta(seconds=1))["review"]["overdue"] is True
    mark_reviewed(policy_table, OPERATOR, "1001", now=T0 + timedelta(days=2))
    row = ContactReview.get()
    assert (row.reviewed_at, row.reviewed_by) == (T0 + timedelta(days=2), "ops-test")
    record = latest("1001")[0]
    assert record["action"] == "mark_contacts_reviewed" and record["actor"] == "ops-test"
    assert record["before"]["reviewed_by"] == "alice@acme.example"
    assert record["after"]["reviewed_at"].startswith("2030-03-03T09:00")


def test_overdue_lists_sites_never_reviewed_or_reviewed_too_long_ago(make, policy_table):
    never, stale, recent, edge = make.site(), make.site(), make.site(), make.site()
    mark_reviewed(policy_table, OPERATOR, stale, now=T0 - timedelta(days=31))
    mark_reviewed(policy_table, OPERATOR, recent, now=T0 - timedelta(days=29))
    mark_reviewed(policy_table, OPERATOR, edge, now=T0 - timedelta(days=30))  # exactly 30 days: not yet
    listed = {s["site"]: s for s in overdue_sites(now=T0)}
    assert set(listed) == {never, stale}
    assert listed[never]["last_reviewed_at"] is None
    assert listed[stale]["last_reviewed_by"] == "ops-test"
    assert listed[stale]["primary"] == f"primary-{stale}@example.test"
    assert {s["site"] for s in overdue_sites(days=7, now=T0)} == {never, stale, recent, edge}
    assert {s["site"] for s in overdue_sites(days=60, now=T0)} == {never}
    with pytest.raises(InvalidInput):
        overdue_sites(days=0, now=T0)


def test_reminders_go_to_the_primarys_notification_address_once_per_period(demo, policy_table):
    erin = Person.by_key(login_key("erin@globex.example"))
    erin.notification_email = "erin.alerts@globex.example"
    erin.save()
    create_contact(policy_table, ERIN, "2002", body(email="contacts-desk@globex.example", contact_types=["primary"]))
    mark_reviewed(policy_table, ALICE, "1001", now=T0 - timedelta(days=3))

    first = send_review_reminders(OPERATOR, now=T0)
    assert [(r["site"], r["recipient"]) for r in first["reminded"]] == [("2002", "erin.alerts@globex.example")]
    message = OutboxMessage.get()
    assert (message.kind, message.site_number, message.recipient) == (
        "review_reminder",
        "2002",
        "erin.alerts@globex.example",
    )
    assert "Erin Evans" in message.body and "have not been reviewed yet" in message.body
    record = latest("2002")[0]
    assert (record["action"], record["actor"], record["target"]) == (
        "review_reminder",
        "ops-test",
        "erin@globex.example",
    )
    assert record["after"]["recipient"] == "erin.alerts@globex.example"

    again = send_review_reminders(OPERATOR, now=T0 + REMINDER_INTERVAL - timedelta(minutes=1))
    assert again["reminded"] == [] and [s["reason"] for s in again["skipped"]] == ["reminded_recently"]
    assert OutboxMessage.select().count() == 1

    later = send_review_reminders(OPERATOR, now=T0 + REMINDER_INTERVAL)
    assert [r["site"] for r in later["reminded"]] == ["2002"] and OutboxMessage.select().count() == 2

    mark_reviewed(policy_table, ERIN, "2002", now=T0 + timedelta(days=8))
    assert send_review_reminders(OPERATOR, now=T0 + timedelta(days=20))["reminded"] == []
    assert OutboxMessage.select().count() == 2


def test_a_reminder_names_the_last_review(make, policy_table):
    site = make.site()
    mark_reviewed(policy_table, OPERATOR, site, now=T0 - timedelta(days=45))
    send_review_reminders(OPERATOR, now=T0)
    assert "last reviewed on 2030-01-15" in OutboxMessage.get().body


def test_only_an_operator_sends_reminders(demo):
    with pytest.raises(Forbidden):
        send_review_reminders(ALICE, now=T0)
    assert not OutboxMessage.select().exists()


# -- the CLI -------------------------------------------------------------------


def test_cli_lists_a_sites_contacts(cli, demo, policy_table):
    create_contact(policy_table, ALICE, "1001", body())
    code, out, _ = cli("contacts", "list", "--site", "1001")
    assert code == 0
    assert "Grace Hopper" in out and "grace@acme.example" in out and "primary,technical" in out
    assert "last reviewed never (OVERDUE)" in out
    code, _, err = cli("contacts", "list", "--site", "1001", "--as", "carol@acme.example")
    assert code == 2 and "may not view_contacts" in err


def test_cli_review_acts_as_the_operator_or_as_a_member(cli, demo):
    code, out, _ = cli("contacts", "review", "--site", "1001")
    assert code == 0 and "marked reviewed" in out and "by cli" in out
    assert ContactReview.get().reviewed_by == "cli"
    code, _, err = cli("contacts", "review", "--site", "1001", "--as", "bob@acme.example")
    assert code == 2 and "may not mark_contacts_reviewed" in err
    assert ContactReview.get().reviewed_by == "cli"
    assert cli("contacts", "review", "--site", "2002", "--as", "Dana.Diaz")[0] == 0
    reviewers = {r.site.number: r.reviewed_by for r in ContactReview.select()}
    assert reviewers == {"1001": "cli", "2002": "Dana.Diaz"}
    code, _, err = cli("contacts", "review", "--site", "4040")
    assert code == 2 and "no site '4040'" in err


def test_cli_overdue_lists_and_reminds_once(cli, demo):
    assert cli("contacts", "review", "--site", "1001")[0] == 0
    code, out, _ = cli("contacts", "overdue")
    assert code == 0 and "2002" in out and "1001" not in out and "erin@globex.example" in out
    assert not OutboxMessage.select().exists()
    code, out, _ = cli("contacts", "overdue", "--remind")
    assert code == 0 and "reminded site 2002: erin@globex.example" in out
    code, out, _ = cli("contacts", "overdue", "--remind", "--days", "1")
    assert code == 0 and "skipped site 2002: reminded recently" in out and "queued 0 reminder(s)" in out
    assert OutboxMessage.select().count() == 1
    with pytest.raises(SystemExit):
        cli("contacts", "overdue", "--days", "0")
