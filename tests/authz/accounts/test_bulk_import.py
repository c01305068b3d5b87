"""Bulk import (CSV, JSON lines) and the streaming export it must read back: every
bad row reported by its line, nothing written if any is bad, batches, the rules
that protect a site, and the tables derived from memberships kept current (the
`database` fixture compares member_lookup with the membership tables after each test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authz.accounts.bulk_export import csv_cell, export_memberships
from authz.accounts.bulk_import import import_bulk
from authz.audit import trail
from authz.contract.bulk import ImportProgress
from authz.errors import ImportInvalid, NotFound
from models.directory import fetch_member, latest_change_seq
from models.identifiers import login_key
from models.schema import ChangeLog, Membership, MembershipLevel, Person, Site
from tests.queries import role_of, stored_levels

HEADER = "site,site_name,login_id,email,first_name,last_name,role,reporting,manage_access,purchase_download\n"


def write(tmp_path: Path, text: str, name: str = "members.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path, table, **kwargs):
    return import_bulk(path, "jsonl" if path.suffix == ".jsonl" else "csv", table, "cli", **kwargs)


def problems_of(path: Path, table) -> list[str]:
    with pytest.raises(ImportInvalid) as caught:
        load(path, table)
    return [str(p) for p in caught.value.problems]


def nothing_stored() -> bool:
    return Site.select().count() == Person.select().count() == Membership.select().count() == 0


def site_rows(number: str, members: int, *, secondaries: int = 1) -> str:
    """A valid site: a primary, SECONDARIES secondaries, users, with levels."""
    lines = []
    for i in range(members):
        role = "primary" if i == 0 else "secondary" if i <= secondaries else "user"
        levels = ",," if role == "primary" else ("view,update,media" if role == "secondary" else "view,,downloads")
        lines.append(f"{number},Site {number},P{i}@s{number}.example,p{i}@s{number}.example,Pat,N{i},{role},{levels}")
    return "\n".join(lines) + "\n"


# -- a valid file ----------------------------------------------------------------------


def test_a_valid_csv_loads_with_levels_lookup_change_log_and_one_audit_record(database, policy_table, tmp_path):
    audit_before, seq_before = len(trail.page_all(limit=500)), latest_change_seq()
    report = load(write(tmp_path, HEADER + site_rows("7", 6, secondaries=2)), policy_table)
    assert (report.rows, report.sites_created, report.people_created, report.memberships_created) == (6, 1, 6, 6)
    assert Site.get(Site.number == "7").name == "Site 7"
    assert role_of("7", "p0@s7.example") == "primary" and stored_levels("7", "p0@s7.example") == {}
    assert role_of("7", "P1@S7.example") == "secondary"
    assert stored_levels("7", "p1@s7.example") == {
        "reporting": "view",
        "manage_access": "update",
        "purchase_download": "media",
    }
    assert stored_levels("7", "p4@s7.example") == {"reporting": "view", "purchase_download": "downloads"}
    person = Person.by_key(login_key("p4@s7.example"))
    assert (person.login_id, person.first_name, person.last_name) == ("P4@s7.example", "Pat", "N4")
    # The check path's copy, and one change-log entry naming no member (every worker drops its cache).
    record = fetch_member(login_key("p4@s7.example"), "7")
    assert record is not None and record.role == "user" and dict(record.levels)["reporting"] == "view"
    assert report.change_seq == latest_change_seq() == seq_before + 1
    assert ChangeLog.get(ChangeLog.seq == report.change_seq).site_number is None
    records = trail.page_all(limit=500)
    assert len(records) == audit_before + 1
    assert records[0]["action"] == "import" and records[0]["actor"] == "cli"
    assert records[0]["after"]["memberships_created"] == 6 and records[0]["after"]["file"] == "members.csv"
    assert len(records[0]["after"]["sha256"]) == 64


def test_jsonl_loads_the_same(database, policy_table, tmp_path):
    rows = [
        {
            "site": "8",
            "site_name": "Eight",
            "login_id": "ann@example.test",
            "email": "ann@example.test",
            "role": "primary",
        },
        {
            "site": "8",
            "login_id": "ben@example.test",
            "email": "ben@example.test",
            "role": "user",
            "levels": {"reporting": "view", "allocations": "none"},
        },
    ]
    path = write(tmp_path, "\n".join(json.dumps(r) for r in rows) + "\n", "members.jsonl")
    assert load(path, policy_table).memberships_created == 2
    assert stored_levels("8", "ben@example.test") == {"reporting": "view"}


def test_reimport_updates_roles_and_replaces_levels_and_keeps_members_not_named(database, policy_table, tmp_path):
    load(write(tmp_path, HEADER + site_rows("7", 4)), policy_table)
    # The primary moves from P0 to P2 (demoted before the other is promoted); P3 loses its levels.
    changed = (
        HEADER
        + "7,,P0@s7.example,p0@s7.example,,,secondary,view,,\n"
        + "7,,P2@s7.example,p2@s7.example,,,primary,,,\n"
        + "7,,P3@s7.example,p3@s7.example,,,user,,,\n"
    )
    report = load(write(tmp_path, changed, "again.csv"), policy_table)
    assert (report.memberships_created, report.memberships_updated, report.people_created) == (0, 3, 0)
    assert role_of("7", "p0@s7.example") == "secondary" and role_of("7", "p2@s7.example") == "primary"
    assert stored_levels("7", "p0@s7.example") == {"reporting": "view"} and stored_levels("7", "p3@s7.example") == {}
    assert role_of("7", "p1@s7.example") == "secondary"  # not in the file: kept
    assert Person.by_key(login_key("p0@s7.example")).first_name == "Pat"  # blank: kept


def test_rows_load_across_batch_boundaries(database, policy_table, tmp_path):
    text = HEADER + "".join(site_rows(str(100 + s), 7) for s in range(3))  # 21 rows in batches of 4
    seen: list[ImportProgress] = []
    report = load(write(tmp_path, text), policy_table, batch_rows=4, progress=seen.append)
    assert report.memberships_created == Membership.select().count() == 21
    assert MembershipLevel.select().count() == 3 * (3 + 5 * 2)  # a secondary's 3 levels, 5 users' 2 each
    reading = [p.rows for p in seen if p.phase == "reading"]
    assert reading[1:6] == [4, 8, 12, 16, 20] and reading[-1] == 21
    assert [p.phase for p in seen][-3:] == ["checking", "writing", "done"]


# -- bad rows: every one, by line, nothing written ---------------------------------------------


def test_every_bad_row_is_reported_by_line_and_field_and_nothing_is_loaded(database, policy_table, tmp_path):
    text = (
        HEADER
        + "7,Seven,ann@example.test,ann@example.test,,,primary,,,\n"  # 2: fine
        + "7,,ben@example.test,ben,,,admin,,,\n"  # 3: email, role
        + "7,,carl@example.test,carl@example.test,,,user,edit,,\n"  # 4: level
        + '7,,"dan@example.test ",dan@example.test,,,user,,,\n'  # 5: login id with a trailing space
        + "7,,erin@example.test,erin@example.test,,,user,view\n"  # 6: a field short
        + "9,,fay@example.test,fay@example.test,,,primary,,,\n"  # 7: a new site without a name
    )
    problems = problems_of(write(tmp_path, text), policy_table)
    assert problems == [
        "members.csv:3: email: 'ben' is not an email address",
        "members.csv:3: role: must be one of primary, secondary, user, got 'admin'",
        "members.csv:4: reporting: unknown level 'edit' (known: none, view)",
        "members.csv:5: login_id: has a space at the start or end: 'dan@example.test '",
        "members.csv:6: row: has 8 fields; the header has 10",
        "members.csv:7: site_name: site '9' does not exist: give its site_name to create it",
    ]
    assert nothing_stored()


@pytest.mark.parametrize(
    "login_id,problem",
    [
        ("carol@acme.example\u200b", "holds a character that is not printable (U+200B"),
        ("fran\u212a@globex.example", "is not in Unicode normalization form C (NFC)"),
        ("tab\there@example.test", "holds a character that is not printable (U+0009"),
        ("x" * 321, "is longer than 320 characters"),
    ],
)
def test_login_ids_follow_the_rule_of_every_door(database, policy_table, tmp_path, login_id, problem):
    text = (
        HEADER + "7,Seven,ann@example.test,ann@example.test,,,primary,,,\n" + f'7,,"{login_id}",a@b.example,,,user,,,\n'
    )
    [found] = problems_of(write(tmp_path, text), policy_table)
    assert found.startswith("members.csv:3: login_id: " + problem), found
    assert nothing_stored()


def test_duplicate_rows_are_refused_at_the_later_line(database, policy_table, tmp_path):
    text = (
        HEADER
        + "7,Seven,ann@example.test,ann@example.test,,,primary,,,\n"
        + "7,,ben@example.test,ben@example.test,,,user,,,\n"
        + "7,,BEN@example.test,ben@example.test,,,user,view,,\n"  # the same person: ASCII case aside
    )
    assert problems_of(write(tmp_path, text), policy_table) == [
        "members.csv:4: login_id: 'BEN@example.test' is already listed for site '7' at line 3"
    ]
    assert nothing_stored()


def test_a_person_must_be_described_alike_on_every_row(database, policy_table, tmp_path):
    text = (
        HEADER
        + "7,Seven,ann@example.test,ann@example.test,Ann,,primary,,,\n"
        + "8,Eight,ann@example.test,ann@other.test,Anne,,primary,,,\n"
        + "9,Nine,ann@example.test,ann@example.test,,,primary,,,\n"  # blank names: fine
    )
    assert problems_of(write(tmp_path, text), policy_table) == [
        "members.csv:3: email: 'ann@other.test' differs from 'ann@example.test' at line 2 for the same person",
        "members.csv:3: first_name: 'Anne' differs from 'Ann' at line 2 for the same person",
    ]


def test_a_site_with_two_primaries_is_refused(database, policy_table, tmp_path):
    text = (
        HEADER
        + "7,Seven,ann@example.test,ann@example.test,,,primary,,,\n"
        + "7,,ben@example.test,ben@example.test,,,primary,,,\n"
    )
    assert problems_of(write(tmp_path, text), policy_table) == [
        "members.csv:3: role: site '7' would have 2 primary contacts; it needs exactly one"
    ]
    assert nothing_stored()


def test_a_second_primary_counts_the_one_already_stored(database, policy_table, tmp_path):
    load(write(tmp_path, HEADER + site_rows("7", 2)), policy_table)
    text = HEADER + "7,,new@example.test,new@example.test,,,primary,,,\n"
    assert problems_of(write(tmp_path, text, "more.csv"), policy_table) == [
        "more.csv:2: role: site '7' would have 2 primary contacts; it needs exactly one"
    ]
    assert Person.by_key(login_key("new@example.test")) is None


def test_a_site_without_a_primary_is_refused(database, policy_table, tmp_path):
    text = HEADER + "7,Seven,ann@example.test,ann@example.test,,,user,,,\n"
    assert problems_of(write(tmp_path, text), policy_table) == [
        "members.csv:2: role: site '7' would have no primary contact; it needs one"
    ]


def test_more_than_four_secondaries_are_refused_at_each_row_beyond(database, policy_table, tmp_path):
    load(write(tmp_path, HEADER + site_rows("7", 3, secondaries=2)), policy_table)  # 2 stored
    text = HEADER + "".join(f"7,,s{i}@example.test,s{i}@example.test,,,secondary,,,\n" for i in range(4))
    assert problems_of(write(tmp_path, text, "more.csv"), policy_table) == [
        "more.csv:4: role: site '7' would have 6 secondary contacts; at most 4",
        "more.csv:5: role: site '7' would have 6 secondary contacts; at most 4",
    ]
    assert Membership.select().count() == 3


def test_a_plain_user_never_holds_account_management(database, policy_table, tmp_path):
    text = (
        HEADER
        + "7,Seven,ann@example.test,ann@example.test,,,primary,,,\n"
        + "7,,ben@example.test,ben@example.test,,,user,view,view,\n"
    )
    assert problems_of(write(tmp_path, text), policy_table) == [
        "members.csv:3: manage_access: a user may not hold 'manage_access' (only primary, secondary)"
    ]
    assert nothing_stored()


def test_a_primary_holds_the_highest_levels_only(database, policy_table, tmp_path):
    text = HEADER + "7,Seven,ann@example.test,ann@example.test,,,primary,view,view,\n"
    assert problems_of(write(tmp_path, text), policy_table) == [
        "members.csv:2: manage_access: a primary holds the highest level, 'update': leave it blank"
    ]


def test_a_header_with_unknown_or_missing_columns_is_refused(database, policy_table, tmp_path):
    [problem] = problems_of(write(tmp_path, "site,login,email,role,colour\n7,a,b,c,d\n"), policy_table)
    assert problem.startswith("members.csv:1: header: unknown column 'login'; unknown column 'colour'; ")
    assert "required column 'login_id' is missing" in problem


# -- export, and the round trip ---------------------------------------------------------------


def export(table, site, fmt) -> bytes:
    return b"".join(export_memberships(table, "cli", site, fmt))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_then_import_round_trips(database, policy_table, tmp_path, fmt):
    text = HEADER + site_rows("7", 6, secondaries=3) + site_rows("8", 3)
    text += "8,,=HYPERLINK(1)@example.test,'-x@example.test,'@Ann,''Ne\\il,user,view,,\n"  # ' marks text
    load(write(tmp_path, text), policy_table)
    first = export(policy_table, None, fmt)
    if fmt == "csv":  # formula-looking cells are neutralised, and read back as they were
        assert b"'=HYPERLINK(1)@example.test,'-x@example.test,'@Ann,''Ne\\il," in first
    # Into an empty database: the same data comes out.
    for table in ("member_lookup", "membership_level", "membership", "person", "site"):
        database.execute_sql(f"DELETE FROM {table}")
    report = load(write(tmp_path, first.decode(), f"all.{fmt}"), policy_table)
    assert report.memberships_created == 10
    assert export(policy_table, None, fmt) == first
    person = Person.by_key(login_key("=hyperlink(1)@example.test"))
    assert (person.email, person.first_name, person.last_name) == ("-x@example.test", "@Ann", "'Ne\\il")
    # Onto itself: nothing changes.
    report = load(write(tmp_path, first.decode(), f"again.{fmt}"), policy_table)
    assert (report.memberships_updated, report.people_updated, report.sites_created) == (10, 0, 0)
    assert export(policy_table, None, fmt) == first


def test_export_of_one_site_is_audited_and_an_unknown_site_is_not_found(database, policy_table, tmp_path):
    load(write(tmp_path, HEADER + site_rows("7", 3) + site_rows("8", 2)), policy_table)
    lines = export(policy_table, "8", "csv").decode().splitlines()
    assert len(lines) == 3 and all(line.startswith("8,Site 8,") for line in lines[1:])
    assert trail.page("8", limit=1)[0]["action"] == "export_memberships"
    assert trail.page("8", limit=1)[0]["after"] == {"rows": 2, "format": "csv"}
    with pytest.raises(NotFound):
        export(policy_table, "9", "csv")


@pytest.mark.parametrize(
    "value,cell",
    [("=1+1", "'=1+1"), ("-2", "'-2"), ("@x", "'@x"), ("'quoted", "''quoted"), ("plain", "plain"), (None, "")],
)
def test_csv_cells_are_spreadsheet_safe(value, cell):
    assert csv_cell(value) == cell


def test_a_deactivated_identity_keeps_its_memberships_but_gets_no_new_one(database, policy_table, tmp_path):
    load(write(tmp_path, HEADER + site_rows("7", 2) + site_rows("8", 1)), policy_table)
    Person.update(active=False).where(Person.login_key == login_key("p1@s7.example")).execute()
    restated = HEADER + "7,,P1@s7.example,p1@s7.example,,,user,view,,\n"
    assert load(write(tmp_path, restated, "restated.csv"), policy_table).memberships_updated == 1
    assert fetch_member(login_key("p1@s7.example"), "7") is None  # the check path still denies them
    added = HEADER + "8,,P1@s7.example,p1@s7.example,,,user,,,\n"
    assert problems_of(write(tmp_path, added, "added.csv"), policy_table) == [
        "added.csv:2: login_id: 'P1@s7.example' is deactivated by the identity provider and cannot be added"
    ]
    assert role_of("8", "p1@s7.example") is None


def test_bad_json_lines_are_reported_by_line(database, policy_table, tmp_path):
    good = {"site": "8", "site_name": "Eight", "login_id": "ann@example.test", "email": "a@x.test", "role": "primary"}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "login_id": "ben@example.test", "role": "user", "colour": "red"}),
        json.dumps({**good, "login_id": "cat@example.test", "role": "user", "levels": {"reporting": "edit"}}),
        json.dumps({**good, "login_id": 7, "role": "user"}),
    ]
    problems = problems_of(write(tmp_path, "\n".join(lines) + "\n", "members.jsonl"), policy_table)
    assert [p.split(": ", 2)[:2] for p in problems] == [
        ["members.jsonl:2", "row"],
        ["members.jsonl:3", "row"],
        ["members.jsonl:4", "reporting"],
        ["members.jsonl:5", "login_id"],
    ]
    assert "unknown field(s) colour" in problems[1] and problems[3].endswith("login_id: must be text")
    assert nothing_stored()


def foreign_keys(handle) -> list[tuple]:
    return handle.execute_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid IN ('membership'::regclass, 'membership_level'::regclass) ORDER BY 1, 2"
    ).fetchall()


def test_a_large_import_on_postgres_checks_foreign_keys_once_and_keeps_them(
    postgres_database, policy_table, tmp_path, monkeypatch
):
    from models import bulk

    keys = foreign_keys(postgres_database)
    assert len(keys) == 3 and all("ON DELETE CASCADE" in definition for _, _, definition in keys)
    monkeypatch.setattr(bulk, "PG_SET_BASED_KEYS_FROM", 1)  # the large-import path, on a small file
    report = load(write(tmp_path, HEADER + site_rows("7", 5) + site_rows("8", 3)), policy_table)
    assert report.memberships_created == 8 and MembershipLevel.select().count() == (3 + 3 * 2) + (3 + 2)
    assert foreign_keys(postgres_database) == keys
