"""What someone who can write the database, but does not hold the audit key, can do
to the trail, and that verify() finds each: editing, inserting, deleting,
reordering, and truncating with audit_head rolled back (found against a
checkpoint kept outside the database). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging

import pytest

from authz.audit import keys as audit_keys
from authz.audit import trail
from authz.audit.trail import Checkpoint
from authz.errors import InvalidInput
from models.audit import AuditHead, AuditRecord
from tests.authz.audit.chain import (
    KEY,
    development_key,
    plain_sha256,
    rechain,
    records,
    sql,
    write,
)


def verdict(report: trail.VerifyReport) -> tuple:
    return report.ok, report.broken_seq, report.kind


def checkpoint_now() -> Checkpoint:
    report = trail.verify()
    assert report.ok and report.head is not None
    return report.head


# -- the chain cannot be recomputed without the key ------------------------------------


def test_an_edit_rechained_with_plain_sha256_is_found(database):
    """The attack that went unnoticed before keys: edit a record, recompute every hash
    from there on as sha256, move audit_head along. The HMAC does not match."""
    write(5)
    tail = records()[2:]
    tail[0].actor = "mallory@example.test"
    rechain(tail, plain_sha256)
    assert AuditHead.get().hash == tail[-1].hash  # the head agrees with the forgery
    assert verdict(trail.verify()) == (False, 3, "edited")


@pytest.mark.parametrize(
    "hash_of, key_id",
    [(plain_sha256, None), (development_key, audit_keys.DEVELOPMENT_KEY_ID)],
    ids=["as-records-from-before-keys", "under-the-development-key"],
)
def test_an_edit_rechained_under_a_scheme_anyone_can_compute_is_a_downgrade(database, hash_of, key_id):
    """Claiming the rewritten records were chained before keys existed, or under the
    public development key: each link checks out, but a keyed record precedes them."""
    write(5)
    tail = records()[2:]
    tail[0].detail = "nothing happened"
    rechain(tail, hash_of, key_id=key_id)
    report = trail.verify()
    assert verdict(report) == (False, 3, "downgraded")
    assert "older key (or none)" in report.reason


def test_the_whole_chain_rewritten_under_the_development_key_is_found_by_a_checkpoint(database):
    """From seq 1 on, nothing keyed precedes the forgery: the database alone cannot
    tell, and verify() says so (a warning); a checkpoint taken before can."""
    write(5)
    kept = checkpoint_now()
    rows = records()
    rows[1].actor = "mallory@example.test"
    rechain(rows, development_key, key_id=audit_keys.DEVELOPMENT_KEY_ID)
    alone = trail.verify()
    assert alone.ok
    assert any("records 1..5 are chained without a secret key" in w for w in alone.warnings)
    report = trail.verify(kept)
    assert verdict(report) == (False, 5, "diverged")
    assert str(kept) in report.reason


def test_an_insertion_is_found(database):
    """Make room at seq 3 and insert a record there, chained without the key."""
    write(5)
    for seq in (5, 4, 3):
        sql("UPDATE audit_record SET seq = ? WHERE seq = ?", seq + 1, seq)
    second = AuditRecord.get(AuditRecord.seq == 2)
    forged = AuditRecord(
        seq=3,
        at=second.at,
        actor="mallory@example.test",
        action="member.add",
        site_number="S1",
        target="mallory@example.test",
        outcome="done",
        prev_hash=second.hash,
        key_id=second.key_id,
    )
    forged.hash = plain_sha256(forged)
    forged.save(force_insert=True)
    sql("UPDATE audit_head SET seq = ? WHERE id = 1", 6)
    assert verdict(trail.verify()) == (False, 3, "edited")


def test_a_deletion_closed_up_is_found(database):
    """Delete record 3 and renumber the rest down so no gap shows: each record's
    HMAC covers its own seq."""
    write(5)
    sql("DELETE FROM audit_record WHERE seq = ?", 3)
    for seq in (4, 5):
        sql("UPDATE audit_record SET seq = ? WHERE seq = ?", seq - 1, seq)
    sql("UPDATE audit_head SET seq = ? WHERE id = 1", 4)
    assert verdict(trail.verify()) == (False, 3, "edited")


def test_a_deletion_closed_up_and_rechained_without_the_key_is_found(database):
    write(5)
    sql("DELETE FROM audit_record WHERE seq = ?", 3)
    for seq in (4, 5):
        sql("UPDATE audit_record SET seq = ? WHERE seq = ?", seq - 1, seq)
    rows = records()
    rechain(rows[2:], plain_sha256)
    assert verdict(trail.verify()) == (False, 3, "edited")


def test_swapping_two_records_is_found(database):
    write(5)
    sql("UPDATE audit_record SET seq = ? WHERE seq = ?", 1000, 3)
    sql("UPDATE audit_record SET seq = ? WHERE seq = ?", 3, 4)
    sql("UPDATE audit_record SET seq = ? WHERE seq = ?", 4, 1000)
    assert verdict(trail.verify()) == (False, 3, "edited")


def test_swapping_the_times_of_two_records_is_found(database):
    rows = write(5)
    sql("UPDATE audit_record SET at = ? WHERE seq = ?", rows[3].at, 3)
    sql("UPDATE audit_record SET at = ? WHERE seq = ?", rows[2].at, 4)
    assert verdict(trail.verify()) == (False, 3, "edited")


# -- truncation with the head rolled back ------------------------------------------------


def truncate_to(seq: int) -> None:
    """Delete every record after SEQ and roll audit_head back to SEQ."""
    kept = AuditRecord.get(AuditRecord.seq == seq)
    sql("DELETE FROM audit_record WHERE seq > ?", seq)
    sql("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", seq, kept.hash)


def test_truncation_with_the_head_rolled_back_is_found_against_a_checkpoint(database):
    write(3)
    older = checkpoint_now()
    write(2)
    newest = checkpoint_now()
    truncate_to(3)
    assert trail.verify().ok  # the database alone cannot tell: it agrees with itself
    report = trail.verify(newest)
    assert verdict(report) == (False, 4, "truncated")
    assert "ends at seq 3, but had reached seq 5" in str(report)
    # A checkpoint from before the deleted records still holds.
    assert trail.verify(older).ok and "checkpoint seq 3 matched" in str(trail.verify(older))


def test_truncation_is_found_against_the_last_exported_log_line(database, caplog):
    """The line each record leaves in the log is a checkpoint too."""
    with caplog.at_level(logging.INFO, logger="authz.audit"):
        write(4)
    last = json.loads([r.getMessage() for r in caplog.records if r.name == "authz.audit"][-1])
    truncate_to(2)
    report = trail.verify(Checkpoint(last["seq"], last["hash"]))
    assert verdict(report) == (False, 3, "truncated")


def test_truncation_then_new_records_is_found_against_a_checkpoint(database):
    """Roll back, then let the service write on: the chain passes seq 5 again, but
    not through the record the checkpoint names."""
    write(5)
    kept = checkpoint_now()
    truncate_to(3)
    write(3)
    assert trail.verify().ok
    assert verdict(trail.verify(kept)) == (False, 5, "diverged")


def test_a_checkpoint_of_the_empty_chain_holds(database):
    empty = checkpoint_now()
    assert str(empty) == "0:" + trail.GENESIS_HASH
    write(1)
    assert trail.verify(empty).ok
    assert verdict(trail.verify(Checkpoint(0, "a" * 64))) == (False, 0, "diverged")


@pytest.mark.parametrize("text", ["", "5", "5:", ":" + "a" * 64, "5:" + "a" * 63, "5:" + "A" * 64, "-1:" + "a" * 64])
def test_a_malformed_checkpoint_is_refused(text):
    with pytest.raises(InvalidInput, match="SEQ:HASH"):
        Checkpoint.parse(text)


def test_a_checkpoint_parses_as_printed():
    text = "42:" + "0123456789abcdef" * 4
    assert str(Checkpoint.parse(f"  {text}\n")) == text


# -- the command line ----------------------------------------------------------------------


@pytest.fixture
def cli(database, cli):
    """The shared cli, on a migrated database: these tests write records before the CLI runs."""
    return cli


def test_cli_checkpoint_prints_the_head_to_keep(cli):
    write(3)
    code, out, err = cli("audit", "checkpoint")
    assert code == 0 and err == ""
    assert out == f"3:{AuditHead.get().hash}\n"


def test_cli_verify_finds_truncation_against_a_file_of_checkpoints(cli, tmp_path):
    kept = tmp_path / "checkpoints"
    for _ in range(2):  # as `authz audit checkpoint >> FILE` from cron would
        write(2)
        code, out, _ = cli("audit", "checkpoint")
        with kept.open("a") as f:
            f.write(out)
    kept.write_text(kept.read_text() + "\n")  # a trailing blank line is no checkpoint
    truncate_to(2)
    assert cli("audit", "verify")[0] == 0
    code, out, _ = cli("audit", "verify", "--checkpoint", str(kept))
    assert code == 1 and "audit trail BROKEN at seq 3 (truncated)" in out
    code, out, err = cli("audit", "checkpoint", "--checkpoint", str(kept))
    assert code == 1 and out == "" and "(truncated)" in err  # nothing to append to the file


def test_cli_verify_refuses_a_malformed_checkpoint(cli):
    code, out, err = cli("audit", "verify", "--checkpoint", "4:abc\n\x1b[2J")
    assert (code, out) == (2, "")
    assert "SEQ:HASH" in err and "\x1b" not in err and "\\x1b" in err


def test_cli_verify_warns_about_records_chained_without_a_secret_key(cli, monkeypatch):
    monkeypatch.delenv("AUTHZ_AUDIT_KEY")
    audit_keys.install(audit_keys.AuditKeys())
    write(2)
    code, out, err = cli("audit", "verify")
    assert code == 0 and out == "audit trail intact: 2 records, head seq 2\n"
    assert "warning: no audit key is configured" in err
    assert "warning: records 1..2 are chained without a secret key" in err
    monkeypatch.setenv("AUTHZ_AUDIT_KEY", KEY)
    code, out, err = cli("audit", "verify")
    assert code == 0 and "no audit key is configured" not in err and "records 1..2" in err
