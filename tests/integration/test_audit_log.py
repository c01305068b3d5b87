"""The audit trail as a real server keeps it: gunicorn with its key in a file,
each committed record's line in the server's log (the stream operators ship
elsewhere), and that stream enough to find a truncation with the head rolled back."""

from __future__ import annotations

import json

import pytest

from authz.accounts.importer import import_file
from authz.audit import keys as audit_keys
from authz.audit import trail
from authz.authn.keys import create_key
from authz.config import PROJECT_ROOT
from models.audit import AuditRecord
from models.db import db
from tests.integration.server import gunicorn, wait_until

pytestmark = pytest.mark.integration

KEY = "integration audit key, 32+ characters long"


def audit_lines(log) -> list[dict]:
    return [
        json.loads(line.split(" authz.audit ", 1)[1])
        for line in log.read_text().splitlines()
        if " INFO authz.audit {" in line
    ]


def test_each_change_is_logged_by_the_server_and_the_log_finds_a_truncation(
    tmp_path, database, database_url, policy_table
):
    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)  # under the development key
    key_file = tmp_path / "audit.key"
    key_file.write_text(f"# the current key\n{KEY}\n")
    before = audit_keys.in_use()
    audit_keys.install(audit_keys.AuditKeys([KEY]))  # this process writes and verifies with the server's key
    admin = {"Authorization": f"Bearer {create_key('console', 'admin')[0]}", "X-Acting-User": "alice@acme.example"}
    try:
        with gunicorn(tmp_path, database_url, AUTHZ_AUDIT_KEY_FILE=str(key_file)) as server:
            for level in ("none", "view", "none"):
                status, _ = server.call(
                    "PATCH", "/v1/sites/1001/members/carol@acme.example", {"levels": {"reporting": level}}, admin
                )
                assert status == 200
            status, _ = server.call(
                "GET", "/v1/sites/1001/members/x%0A2026-01-01%20INFO%20authz.audit%20{}", None, admin
            )
            assert status == 400
            lines = wait_until(
                lambda: len(audit_lines(server.log)) == 3 and audit_lines(server.log), "three audit lines"
            )
            log_text = server.log.read_text()
        assert "no audit key is configured" not in log_text and KEY not in log_text
        assert "2026-01-01 INFO authz.audit {}" not in log_text  # the caller's line: refused, not written
        newest = AuditRecord.select().order_by(AuditRecord.seq.desc()).first()
        assert (lines[-1]["seq"], lines[-1]["hash"]) == (newest.seq, newest.hash)
        assert {line["key_id"] for line in lines} == {audit_keys.key_id_of(KEY.encode())}
        assert [line["action"] for line in lines] == ["update_user"] * 3

        # Whoever can write the database deletes the last two changes and rolls the head back.
        kept = AuditRecord.get(AuditRecord.seq == newest.seq - 2)
        param = db.obj.param
        db.execute_sql(f"DELETE FROM audit_record WHERE seq > {param}", (kept.seq,))
        db.execute_sql(f"UPDATE audit_head SET seq = {param}, hash = {param} WHERE id = 1", (kept.seq, kept.hash))
        assert trail.verify().ok
        report = trail.verify(trail.Checkpoint(lines[-1]["seq"], lines[-1]["hash"]))
        assert (report.ok, report.kind, report.broken_seq) == (False, "truncated", kept.seq + 1)
    finally:
        audit_keys.install(before)
