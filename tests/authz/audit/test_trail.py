"""The audit trail: append-only, chained with an HMAC under a key held outside the
database, verified end to end, on SQLite and PostgreSQL. Tampering is done with
raw SQL, as someone with database access (and without the key) would."""

from __future__ import annotations

import itertools
import json
import logging
import threading
from datetime import datetime

import pytest

from authz.audit import keys as audit_keys
from authz.audit import trail
from authz.errors import Forbidden, InvalidInput
from models import locks
from models.audit import AuditHead, AuditRecord
from models.db import db, write_transaction
from models.directory import record_change
from models.schema import ChangeLog, Site
from tests.authz.audit import chain
from tests.authz.audit.chain import KEY


class Boom(Exception):
    pass


_sql, _write, _seqs = chain.sql, chain.write, chain.seqs


# -- a sound chain -------------------------------------------------------------


def test_empty_chain_verifies(database):
    report = trail.verify()
    assert report.ok and report.records == 0 and report.head_seq == 0


def test_chain_of_records_verifies_and_links(database):
    with write_transaction():
        trail.record("cli", "site.create", site_number="S1", after={"name": "Acme"})
        trail.record("key:0123abcd4567", "api_key.create", target="0123abcd4567")
        trail.record(
            "bob@example.test",
            "contact.update",
            site_number="S1",
            target="contact:7",
            before={"city": "Zürich", "reviewed": datetime(2024, 5, 1, 12, 0)},
            after={"city": "Genève", "types": {"billing", "technical"}},
        )
    _write(3)
    rows = list(AuditRecord.select().order_by(AuditRecord.seq))
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].prev_hash == trail.GENESIS_HASH
    assert {r.key_id for r in rows} == {audit_keys.key_id_of(KEY.encode())}
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
    assert len({r.hash for r in rows}) == 6
    assert rows[2].before == '{"city":"Zürich","reviewed":"2024-05-01T12:00:00"}'
    assert rows[2].after == '{"city":"Genève","types":["billing","technical"]}'
    report = trail.verify()
    assert report.ok and report.records == 6 and report.head_seq == 6 and report.broken_seq is None
    assert str(report) == "audit trail intact: 6 records, head seq 6"


def test_equal_values_give_equal_json_whatever_their_key_order():
    assert trail.canonical_json({"b": 1, "a": {"y": [1, 2], "x": None}}) == '{"a":{"x":null,"y":[1,2]},"b":1}'
    assert trail.canonical_json({"a": {"x": None, "y": [1, 2]}, "b": 1}) == '{"a":{"x":null,"y":[1,2]},"b":1}'
    assert trail.canonical_json(None) is None
    with pytest.raises(TypeError):
        trail.canonical_json({"x": object()})


# -- tampering is found ------------------------------------------------------------


# (column, value written over record 3). Every column, including one that changes
# only the JSON's whitespace and one that changes only the time by a microsecond.
EDITS = [
    ("at", "2001-02-03 04:05:06"),
    ("actor", "mallory@example.test"),
    ("site_number", "S2"),
    ("action", "member.remove"),
    ("target", "someone-else@example.test"),
    ("outcome", "refused"),
    ("before", '{"levels":{"reporting":"none"},"role":"primary"}'),
    ("before", '{"levels": {"reporting": "none"}, "role": "user"}'),
    ("after", None),
    ("detail", "nothing happened"),
    ("prev_hash", "f" * 64),
    ("hash", "0" * 64),
    ("hash", "Ā" * 64),  # not even ASCII: still compared, in constant time
]


@pytest.mark.parametrize("column, value", EDITS)
def test_editing_any_field_of_a_middle_record_is_found_at_that_seq(database, column, value):
    _write(5)
    _sql(f"UPDATE audit_record SET {column} = ? WHERE seq = ?", value, 3)
    report = trail.verify()
    assert not report.ok
    assert (report.broken_seq, report.kind) == (3, "edited")
    assert report.records == 3  # stops at the first break
    assert "seq 3 (edited)" in str(report)


def test_editing_the_time_by_one_microsecond_is_found(database):
    rows = _write(5)
    moved = rows[2].at.replace(microsecond=(rows[2].at.microsecond + 1) % 1_000_000)
    AuditRecord.update(at=moved).where(AuditRecord.seq == 3).execute()
    assert (trail.verify().broken_seq, trail.verify().kind) == (3, "edited")


def test_renumbering_a_record_is_found(database):
    _write(5)
    _sql("UPDATE audit_record SET seq = ? WHERE seq = ?", 30, 3)
    report = trail.verify()
    assert (report.ok, report.broken_seq, report.kind) == (False, 3, "missing")


def test_deleting_a_middle_record_is_found(database):
    _write(5)
    _sql("DELETE FROM audit_record WHERE seq = ?", 3)
    report = trail.verify()
    assert (report.ok, report.broken_seq, report.kind) == (False, 3, "missing")
    assert "record(s) 3 missing: seq 2 is followed by 4" in report.reason


def test_deleting_the_first_record_is_found(database):
    _write(3)
    _sql("DELETE FROM audit_record WHERE seq = ?", 1)
    assert (trail.verify().broken_seq, trail.verify().kind) == (1, "missing")


def test_deleting_the_newest_record_is_found(database):
    _write(5)
    _sql("DELETE FROM audit_record WHERE seq = ?", 5)
    report = trail.verify()
    assert (report.ok, report.broken_seq, report.kind) == (False, 5, "missing")
    assert report.records == 4 and report.head_seq == 5


def test_deleting_every_record_is_found(database):
    _write(3)
    _sql("DELETE FROM audit_record")
    report = trail.verify()
    assert (report.ok, report.broken_seq, report.kind) == (False, 1, "missing")
    assert "1..3" in report.reason


def test_a_forged_record_that_is_consistent_in_itself_is_found(database):
    """Rewrite record 3 and recompute its hash: record 4 no longer follows it."""
    _write(5)
    forged = AuditRecord.get(AuditRecord.seq == 3)
    forged.actor = "mallory@example.test"
    forged.hash = trail.record_hash(forged)
    _sql("UPDATE audit_record SET actor = ?, hash = ? WHERE seq = ?", forged.actor, forged.hash, 3)
    report = trail.verify()
    assert (report.ok, report.broken_seq, report.kind) == (False, 4, "relinked")


def test_replacing_the_newest_record_consistently_is_found_by_the_head(database):
    _write(5)
    forged = AuditRecord.get(AuditRecord.seq == 5)
    forged.detail = "forged"
    forged.hash = trail.record_hash(forged)
    _sql("UPDATE audit_record SET detail = ?, hash = ? WHERE seq = ?", forged.detail, forged.hash, 5)
    report = trail.verify()
    assert (report.ok, report.broken_seq, report.kind) == (False, 5, "head")


def test_a_record_appended_around_the_module_is_found(database):
    """Even by someone holding the key: audit_head was not moved."""
    _write(2)
    newest = AuditRecord.get(AuditRecord.seq == 2)
    extra = AuditRecord(
        seq=3,
        at=newest.at,
        actor="mallory@example.test",
        action="member.add",
        outcome="done",
        prev_hash=newest.hash,
        key_id=newest.key_id,
    )
    extra.hash = trail.record_hash(extra)
    extra.save(force_insert=True)
    report = trail.verify()
    assert (report.ok, report.broken_seq, report.kind) == (False, 3, "head")


def test_a_missing_head_is_found_and_stops_writers(database):
    _write(2)
    _sql("DELETE FROM audit_head")
    report = trail.verify()
    assert not report.ok and report.kind == "head" and "the chain head" in str(report)
    with pytest.raises(RuntimeError, match="audit_head"), write_transaction():
        trail.record("cli", "site.create")
    assert _seqs() == [1, 2]


# -- transactions ------------------------------------------------------------------


def test_a_record_in_a_rolled_back_transaction_leaves_no_trace(database):
    _write(2)
    with pytest.raises(Boom), write_transaction():
        Site.create(number="S9", name="Never")
        trail.record("alice@example.test", "site.create", site_number="S9")
        raise Boom()
    assert _seqs() == [1, 2] and AuditHead.get().seq == 2
    assert not Site.select().where(Site.number == "S9").exists()
    assert trail.verify().ok
    _write(1)  # the next record takes the seq the rolled-back one had: no gap
    assert _seqs() == [1, 2, 3] and trail.verify().ok


def test_record_refuses_to_run_outside_a_transaction(database):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        trail.record("alice@example.test", "member.update")
    assert _seqs() == [] and AuditHead.get().seq == 0


def test_a_refusal_persists_although_the_change_rolls_back(database):
    _write(1)
    try:
        with write_transaction():
            Site.create(number="S9", name="Never")
            trail.record("alice@example.test", "site.create", site_number="S9")
            raise Forbidden("only an operator may create sites")
    except Forbidden as exc:
        refusal = trail.record_refusal(
            "alice@example.test", "site.create", site_number="S9", after={"name": "Never"}, detail=exc.message
        )
    assert not Site.select().where(Site.number == "S9").exists()
    assert _seqs() == [1, 2] and refusal.seq == 2
    stored = AuditRecord.get(AuditRecord.seq == 2)
    assert (stored.outcome, stored.detail, stored.site_number) == ("refused", "only an operator may create sites", "S9")
    assert trail.verify().ok


def test_record_refusal_inside_an_open_transaction_is_refused(database):
    with pytest.raises(RuntimeError, match="has ended"), write_transaction():
        trail.record_refusal("alice@example.test", "member.remove", detail="not allowed")
    assert _seqs() == []


def test_a_refusal_of_a_malformed_attempt_is_recorded_cut_to_fit(database):
    refusal = trail.record_refusal(
        "alice@example.test",
        "remove_user",
        site_number="9" * 2000,
        target="x" * 2000 + "@example.test",
        detail="no such site",
    )
    stored = AuditRecord.get(AuditRecord.seq == refusal.seq)
    assert len(stored.site_number) == 64 and stored.site_number.endswith("\u2026")
    assert len(stored.target) == 320 and stored.target.startswith("xxx")
    assert trail.verify().ok


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"actor": ""}, ValueError),
        ({"actor": "x" * 321}, ValueError),
        ({"action": "  "}, ValueError),
        ({"site_number": "S" * 65}, ValueError),
        ({"outcome": "maybe"}, ValueError),
        ({"detail": 42}, ValueError),
        ({"after": {"when": object()}}, TypeError),
        ({"after": float("nan")}, ValueError),
    ],
)
def test_malformed_records_are_refused_and_leave_the_chain_alone(database, kwargs, error):
    _write(1)
    arguments = {"actor": "alice@example.test", "action": "member.update", **kwargs}
    with pytest.raises(error), write_transaction():
        trail.record(arguments.pop("actor"), arguments.pop("action"), **arguments)
    assert _seqs() == [1] and trail.verify().ok


# -- the log line of each record ----------------------------------------------------


def _audit_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "authz.audit"]


def test_each_committed_record_leaves_one_json_line_after_its_commit(database, caplog):
    with caplog.at_level(logging.INFO, logger="authz.audit"):
        with write_transaction():
            first = trail.record("alice@example.test", "member.update", site_number="Zürich-1", target="bob@x.test")
            second = trail.record("alice@example.test", "member.remove", site_number="S1", target="bob@x.test")
            assert _audit_lines(caplog) == []  # not before the commit
        refusal = trail.record_refusal("bob@x.test", "view_audit", site_number="S1", detail="not permitted")
    lines = _audit_lines(caplog)
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert lines[0] == {
        "seq": 1,
        "hash": first.hash,
        "prev_hash": trail.GENESIS_HASH,
        "key_id": audit_keys.key_id_of(KEY.encode()),
        "at": first.at.isoformat(timespec="microseconds") + "Z",
        "site": "Zürich-1",
        "action": "member.update",
        "outcome": "done",
    }
    assert lines[1]["prev_hash"] == first.hash and lines[2]["prev_hash"] == second.hash
    assert (lines[2]["hash"], lines[2]["outcome"]) == (refusal.hash, "refused")
    raw = [r.getMessage() for r in caplog.records if r.name == "authz.audit"]
    assert raw[0].isascii() and "Z\\u00fcrich-1" in raw[0]  # JSON of ASCII only
    assert not any(name in " ".join(raw) for name in ("alice@", "bob@", "not permitted"))  # people, details: no


def test_a_rolled_back_record_leaves_no_line(database, caplog):
    with caplog.at_level(logging.INFO, logger="authz.audit"):
        with pytest.raises(Boom), write_transaction():
            trail.record("alice@example.test", "member.update", site_number="S1")
            raise Boom()
        with write_transaction():
            with pytest.raises(Boom), write_transaction():  # a savepoint, rolled back alone
                trail.record("alice@example.test", "member.update", site_number="S1", target="inner")
                raise Boom()
            kept = trail.record("alice@example.test", "member.update", site_number="S1", target="outer")
    assert [(line["seq"], line["hash"]) for line in _audit_lines(caplog)] == [(1, kept.hash)]
    assert trail.verify().ok


# -- control characters -----------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("actor", "alice@example.test\nINFO forged"),
        ("action", "member.update\r"),
        ("site_number", "S1\x1b[2J"),
        ("target", "bob\u2028@example.test"),
        ("detail", "done\n2026-01-01 INFO authz.audit forged"),
    ],
)
def test_a_record_holding_a_control_character_is_refused(database, field, value):
    arguments = {"actor": "alice@example.test", "action": "member.update", field: value}
    with pytest.raises(ValueError, match="printable"), write_transaction():
        trail.record(arguments.pop("actor"), arguments.pop("action"), **arguments)
    assert _seqs() == []


def test_a_refusal_stores_control_characters_escaped(database, caplog):
    with caplog.at_level(logging.INFO, logger="authz.audit"):
        refusal = trail.record_refusal(
            "alice@example.test",
            "remove_user",
            site_number="1001\nINFO forged",
            target="bob\x1b[31m@example.test",
            detail="no site '1001\nINFO forged'",
        )
    stored = AuditRecord.get(AuditRecord.seq == refusal.seq)
    assert stored.site_number == "1001\\x0aINFO forged"
    assert stored.target == "bob\\x1b[31m@example.test"
    assert stored.detail == "no site '1001\\x0aINFO forged'"
    assert trail.verify().ok
    (line,) = [r.getMessage() for r in caplog.records if r.name == "authz.audit"]
    assert "\n" not in line and json.loads(line)["site"] == "1001\\x0aINFO forged"


# -- concurrency -------------------------------------------------------------------


def test_concurrent_writers_make_one_linear_chain(database):
    """8 threads, each on its own connection, append 10 records each at once."""
    threads, per_thread = 8, 10
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with write_transaction():
                    # Half the writers append to the change log first, half last,
                    # as workflows may: neither order may deadlock the other.
                    if n % 2:
                        record_change("membership", f"S{n}")
                    trail.record(
                        f"writer{n}@example.test",
                        "member.update",
                        site_number=f"S{n}",
                        target=f"{n}:{i}",
                        after={"i": i},
                    )
                    if not n % 2:
                        record_change("membership", f"S{n}")
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)
        finally:
            db.close()  # this thread's connection

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert ChangeLog.select().count() == threads * per_thread
    report = trail.verify()
    assert report.ok and report.records == threads * per_thread and report.head_seq == threads * per_thread
    assert _seqs() == list(range(1, threads * per_thread + 1))
    rows = list(AuditRecord.select().order_by(AuditRecord.seq))
    assert sorted(r.target for r in rows) == sorted(f"{n}:{i}" for n in range(threads) for i in range(per_thread))
    for n in range(threads):  # each writer's records are in the order it wrote them
        assert [r.target for r in rows if r.site_number == f"S{n}"] == [f"{n}:{i}" for i in range(per_thread)]


def test_a_writer_holds_the_change_log_lock_before_the_chain_lock(postgres_database):
    """On PostgreSQL record() takes models.directory's lock too, so the two locks
    are always taken in one order (change log, then chain): no deadlock."""
    held = "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() ORDER BY objid"
    with write_transaction():
        assert db.execute_sql(held).fetchall() == []
        trail.record("alice@example.test", "member.update", site_number="S1")
        assert [objid for (objid,) in db.execute_sql(held).fetchall()] == [locks.CHANGE_LOG, locks.AUDIT_CHAIN]
    assert db.execute_sql(held).fetchall() == []


# -- reading -----------------------------------------------------------------------


def test_a_site_trail_pages_newest_first_and_shows_no_other_site(database):
    for i in range(7):
        with write_transaction():
            trail.record(
                "alice@example.test",
                "member.update",
                site_number="S1" if i % 2 == 0 else "S2",
                target=f"t{i}",
                before={"role": "user"},
                after={"role": "secondary"},
            )
    first = trail.page("S1", limit=3)
    assert [r["seq"] for r in first] == [7, 5, 3]
    assert first[0]["before"] == {"role": "user"} and first[0]["after"] == {"role": "secondary"}
    assert first[0]["site_number"] == "S1" and first[0]["outcome"] == "done"
    assert first[0]["at"].endswith("Z") and datetime.fromisoformat(first[0]["at"][:-1])
    rest = trail.page("S1", limit=3, before_seq=first[-1]["seq"])
    assert [r["seq"] for r in rest] == [1]
    assert [r["seq"] for r in trail.page("S2", limit=10)] == [6, 4, 2]
    assert trail.page("S3", limit=10) == []
    assert [r["seq"] for r in trail.page_all(limit=3, before_seq=6)] == [5, 4, 3]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"limit": trail.MAX_PAGE + 1},
        {"limit": "5"},
        {"limit": 5, "before_seq": 0},
        {"limit": 5, "before_seq": "x"},
    ],
)
def test_paging_refuses_bad_limits_and_cursors(database, kwargs):
    with pytest.raises(InvalidInput):
        trail.page("S1", **kwargs)


# -- the command line ----------------------------------------------------------------


@pytest.fixture
def cli(database, cli):
    """The shared cli, on a migrated database: these tests write records before the CLI runs."""
    return cli


def test_cli_verify_says_intact_or_where_it_is_broken(cli):
    _write(3)
    code, out, _ = cli("audit", "verify")
    assert (code, out) == (0, "audit trail intact: 3 records, head seq 3\n")
    _sql("UPDATE audit_record SET actor = ? WHERE seq = ?", "mallory@example.test", 2)
    code, out, _ = cli("audit", "verify")
    assert code == 1
    assert out.startswith("audit trail BROKEN at seq 2 (edited): ")


def test_cli_verify_finds_the_newest_record_deleted(cli):
    _write(3)
    _sql("DELETE FROM audit_record WHERE seq = ?", 3)
    code, out, _ = cli("audit", "verify")
    assert code == 1 and "BROKEN at seq 3 (missing)" in out


def test_cli_list_prints_a_table_newest_first(cli):
    _write(2, site="S1")
    _write(1, site="S2")
    with write_transaction():
        trail.record("cli", "api_key.create", target="abc123")
    try:
        with write_transaction():
            raise Forbidden("a secondary cannot act on the primary")
    except Forbidden as exc:
        trail.record_refusal(
            "bob@example.test", "member.remove", site_number="S1", target="primary@example.test", detail=exc.message
        )

    code, out, _ = cli("audit", "list", "--site", "S1", "--limit", "2")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[0].split() == ["SEQ", "AT", "(UTC)", "SITE", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAIL"]
    assert lines[1].split()[0] == "5" and "refused" in lines[1]
    assert lines[1].endswith("a secondary cannot act on the primary")
    assert lines[2].split()[0] == "2" and "user1@example.test" in lines[2]

    code, out, _ = cli("audit", "list")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["5", "4", "3", "2", "1"]
    assert "api_key.create" in out and "S2" in out

    code, out, _ = cli("audit", "list", "--site", "S2")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["3"]


def test_cli_list_refuses_a_limit_out_of_range(cli):
    with pytest.raises(SystemExit) as exit_info:
        cli("audit", "list", "--limit", "0")
    assert exit_info.value.code == 2
    code, _, err = cli("audit", "list", "--limit", str(trail.MAX_PAGE + 1))  # the trail's own bound
    assert code == 2 and "limit must be" in err


def test_cli_list_shows_a_refused_attempt_with_a_newline_on_one_line(cli, demo):
    """A refused request through a door that lets a newline reach the service (the
    command line's --site): recorded escaped, listed on one line."""
    code, _, err = cli("members", "list", "--site", "1001\nINFO forged", "--as", "carol@acme.example")
    assert code == 2 and "no site" in err
    code, out, _ = cli("audit", "list", "--limit", "1")
    _header, line = out.splitlines()  # one record, one line
    assert code == 0 and line.split()[0] == str(AuditHead.get().seq)
    assert "1001\\x0aINFO" in line and "refused" in line and "list_users" in line
    assert not any(line.startswith("INFO") for line in out.splitlines())
    assert trail.verify().ok


def test_cli_list_escapes_what_an_older_record_holds_raw(cli):
    """A record stored before control characters were refused (or written around the
    trail) still cannot break its line: every cell is escaped on output."""
    _write(1)
    _sql(
        "UPDATE audit_record SET actor = ?, target = ?, detail = ? WHERE seq = ?",
        "mallory\r\n9999 2026-01-01 00:00:00 S1 forged",
        "t\x1b]0;title\x07",
        "line one\u2028line two\x85",
        1,
    )
    code, out, _ = cli("audit", "list")
    assert code == 0 and len(out.splitlines()) == 2
    row = out.splitlines()[1]
    assert "mallory\\x0d\\x0a9999" in row and "t\\x1b]0;title\\x07" in row
    assert "line one\\u2028line two\\x85" in row
    assert row.isprintable()
