"""The keys that chain the trail: ids, rotation, the development key, the records
from before keys (migration 0008), and the service installing the configured keys."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from authz.audit import keys as audit_keys
from authz.audit import trail
from authz.audit.keys import AuditKeys, key_id_of
from authz.config import ConfigError, Settings
from authz.service import Service
from models.audit import AuditHead, AuditRecord
from models.db import write_transaction
from models.migrate import migrate
from tests.authz.audit.chain import KEY, OTHER_KEY, plain_sha256, rechain, records, seqs, sql, write
from tests.conftest import POLICY_DIR


def test_a_key_id_names_the_key_without_revealing_it():
    ids = {key_id_of(KEY.encode()), key_id_of(OTHER_KEY.encode()), audit_keys.DEVELOPMENT_KEY_ID}
    assert len(ids) == 3
    assert key_id_of(KEY.encode()) == key_id_of(KEY.encode()) and len(key_id_of(KEY.encode())) == 16
    assert KEY not in repr(AuditKeys([KEY]).signing)


def test_the_first_key_signs_and_newer_keys_rank_higher():
    keys = AuditKeys([OTHER_KEY, KEY])
    newer, older = key_id_of(OTHER_KEY.encode()), key_id_of(KEY.encode())
    assert keys.signing.key_id == newer and not keys.is_development
    assert keys.rank(None) < keys.rank("dev") < keys.rank(older) < keys.rank(newer)
    assert keys.rank("feedfacefeedface") is None
    assert AuditKeys().is_development and AuditKeys().signing.key_id == "dev"


def test_rotating_keys_keeps_the_chain_verifiable(database):
    write(2)  # under KEY
    audit_keys.install(AuditKeys([OTHER_KEY, KEY]))
    write(2)
    assert [r.key_id for r in records()] == [key_id_of(KEY.encode())] * 2 + [key_id_of(OTHER_KEY.encode())] * 2
    report = trail.verify()
    assert report.ok and report.warnings == ()


def test_a_record_under_a_key_this_process_lacks_cannot_be_verified(database):
    audit_keys.install(AuditKeys([OTHER_KEY, KEY]))
    write(2)
    audit_keys.install(AuditKeys([KEY]))
    report = trail.verify()
    assert (report.ok, report.broken_seq, report.kind) == (False, 1, "key")
    assert "not configured here" in report.reason


def test_a_process_without_the_newest_key_refuses_to_write(database):
    """A replica left with an old key (or none) would append records that verify
    must call a downgrade: it fails instead, and writes nothing."""
    audit_keys.install(AuditKeys([OTHER_KEY, KEY]))
    write(2)
    for stale in (AuditKeys([KEY]), AuditKeys()):
        audit_keys.install(stale)
        with pytest.raises(ConfigError, match="newer than this process's audit key"), write_transaction():
            trail.record("alice@example.test", "member.update", site_number="S1")
    audit_keys.install(AuditKeys([OTHER_KEY, KEY]))
    assert seqs() == [1, 2] and trail.verify().ok


def test_a_rewrite_under_a_retired_key_is_a_downgrade_or_off_the_checkpoint(database):
    """Someone holding only the retired key: a record under it after one under the
    current key is a downgrade; rewriting everything since the rotation under it
    is found against a checkpoint taken since."""
    write(2)
    audit_keys.install(AuditKeys([OTHER_KEY, KEY]))
    write(2)
    kept = trail.verify().head
    retired = key_id_of(KEY.encode())

    def under_retired_key(row):
        return trail.record_hash(row, AuditKeys([KEY]))

    newest = records()[3:]
    newest[0].detail = "nothing happened"
    rechain(newest, under_retired_key, key_id=retired)
    report = trail.verify()
    assert (report.ok, report.broken_seq, report.kind) == (False, 4, "downgraded")

    since_rotation = records()[2:]
    rechain(since_rotation, under_retired_key, key_id=retired)
    assert trail.verify().ok
    report = trail.verify(kept)
    assert (report.ok, report.broken_seq, report.kind) == (False, 4, "diverged")


def test_records_from_before_keys_still_verify_and_are_named(database):
    """A trail written before migration 0008 (plain sha256, no key_id) verifies as it
    was; the keyed records that follow it link onto its last hash."""
    migrate("0006")
    previous = trail.GENESIS_HASH
    for seq in (1, 2):
        legacy = AuditRecord(
            seq=seq, at=datetime(2025, 1, seq, 12, 0), actor="cli", action="create_site", outcome="done"
        )
        legacy.prev_hash, legacy.hash = previous, plain_sha256(AuditRecord(**legacy.__data__, prev_hash=previous))
        sql(
            "INSERT INTO audit_record (seq, at, actor, action, outcome, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            seq,
            legacy.at,
            legacy.actor,
            legacy.action,
            legacy.outcome,
            legacy.prev_hash,
            legacy.hash,
        )
        previous = legacy.hash
    sql("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", 2, previous)
    migrate()
    write(2)
    rows = records()
    assert [r.key_id for r in rows] == [None, None, key_id_of(KEY.encode()), key_id_of(KEY.encode())]
    assert rows[2].prev_hash == rows[1].hash
    report = trail.verify()
    assert report.ok and report.records == 4
    assert report.warnings == (
        "records 1..2 are chained without a secret key (from before one was configured, or under the "
        "development key): whoever can write the database could have rewritten them undetected, unless a "
        "checkpoint taken since is given",
    )


def test_the_service_chains_with_the_configured_key(database, database_url):
    settings = Settings(database_url=database_url, policy_dir=POLICY_DIR, audit_keys=(OTHER_KEY,))
    Service.open(settings)
    write(1)
    assert records()[0].key_id == key_id_of(OTHER_KEY.encode())


def test_a_server_without_a_key_says_so_loudly(database, database_url, caplog):
    with caplog.at_level(logging.WARNING, logger="authz.audit"):
        Service.start(Settings(database_url=database_url, policy_dir=POLICY_DIR))
    assert audit_keys.in_use().is_development
    assert [r.getMessage() for r in caplog.records if r.name == "authz.audit"] == [audit_keys.DEVELOPMENT_WARNING]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="authz.audit"):
        Service.start(Settings(database_url=database_url, policy_dir=POLICY_DIR, audit_keys=(KEY,)))
    assert not audit_keys.in_use().is_development and caplog.records == []
    assert AuditHead.get().seq == 0
