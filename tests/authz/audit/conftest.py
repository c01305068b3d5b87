"""Every audit test chains records under a key of its own, as production does."""

from __future__ import annotations

import pytest

from authz.audit import keys as audit_keys
from tests.authz.audit.chain import KEY


@pytest.fixture(autouse=True)
def audit_key(monkeypatch):
    """Records are chained under KEY, in this process and in the CLI's (which reads
    AUTHZ_AUDIT_KEY); the keys in use before are put back afterwards."""
    before = audit_keys.in_use()
    monkeypatch.setenv("AUTHZ_AUDIT_KEY", KEY)
    audit_keys.install(audit_keys.AuditKeys([KEY]))
    yield KEY
    audit_keys.install(before)
