"""API keys: `azk_<key id>_<secret>`. Only the sha256 of the secret is stored
(the secret is 256 random bits, so a slow hash adds nothing); comparison is
constant-time, and an unknown key id costs the same comparison as a known one."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from authz.audit import trail
from authz.contract.actors import CLI_OPERATOR
from authz.contract.actors import KEY_SCOPES as SCOPES
from authz.errors import InvalidInput, NotFound, Unauthenticated
from models.db import write_transaction
from models.directory import Change, record_change
from models.schema import ApiKey, utcnow

_PREFIX = "azk"
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    """A key as listed: never its secret."""

    key_id: str
    name: str
    scope: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> KeyInfo:
        return cls(row.key_id, row.name, row.scope, row.created_at, row.revoked_at)


@dataclass(frozen=True)
class Caller:
    key_id: str
    name: str
    scope: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(name: str, scope: str, actor: str = CLI_OPERATOR.audit_name) -> tuple[str, KeyInfo]:
    """Create a key; return the plaintext (shown once, never stored) and its row.
    The audit trail records who made it, its id, name and scope (never the secret)."""
    if scope not in SCOPES:
        raise InvalidInput(f"unknown scope '{scope}' (known: {', '.join(SCOPES)})", field="scope")
    if not name.strip():
        raise InvalidInput("a key needs a name", field="name")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with write_transaction():
        row = ApiKey.create(key_id=key_id, name=name.strip(), scope=scope, secret_hash=_hash(secret))
        trail.record(actor, "create_api_key", target=f"key:{key_id}", after={"name": row.name, "scope": scope})
        record_change("api_key")
    return f"{_PREFIX}_{key_id}_{secret}", KeyInfo.of(row)


def revoke_key(key_id: str, actor: str = CLI_OPERATOR.audit_name) -> KeyInfo:
    with write_transaction():
        row = ApiKey.get_or_none(ApiKey.key_id == key_id)
        if row is None:
            raise NotFound(f"no API key '{key_id}'")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            row.save()
            trail.record(
                actor,
                "revoke_api_key",
                target=f"key:{key_id}",
                before={"name": row.name, "scope": row.scope, "revoked": False},
                after={"revoked": True},
            )
            record_change("api_key")
    return KeyInfo.of(row)


def list_keys() -> list[KeyInfo]:
    return [KeyInfo.of(row) for row in ApiKey.select().order_by(ApiKey.created_at)]


class KeyRing:
    """Verifies presented keys against a per-worker copy of the key table,
    dropped whenever the change feed reports a key change."""

    # Headers verified since the last key change, so a busy caller's key is hashed
    # once, not on every request. Memory only; only keys that verified are kept,
    # and the map starts over when full so odd spellings of a header can't grow it.
    VERIFIED_MAX = 1024

    def __init__(self):
        self._keys: dict[str, tuple[str, Caller]] | None = None
        self._verified: dict[str | None, Caller] = {}

    def on_changes(self, changes: list[Change] | None) -> None:
        if changes is None or any(c.kind == "api_key" for c in changes):
            self._keys = None
            self._verified = {}

    def verify(self, authorization: str | None) -> Caller:
        """Return the caller, or raise Unauthenticated (same message for every failure)."""
        caller = self._verified.get(authorization)
        if caller is None:
            caller = self._verify(authorization or "")
            if len(self._verified) >= self.VERIFIED_MAX:
                self._verified = {}
            self._verified[authorization] = caller
        return caller

    def _verify(self, authorization: str) -> Caller:
        scheme, _, token = authorization.partition(" ")
        prefix, key_id, secret = [*token.strip().split("_", 2), "", ""][:3]
        if self._keys is None:
            self._keys = {
                row.key_id: (row.secret_hash, Caller(row.key_id, row.name, row.scope))
                for row in ApiKey.select().where(ApiKey.revoked_at.is_null())
            }
        stored_hash, caller = self._keys.get(key_id, (_DUMMY_HASH, None))
        matches = hmac.compare_digest(stored_hash, _hash(secret))
        if scheme.lower() != "bearer" or prefix != _PREFIX or caller is None or not matches:
            raise Unauthenticated("a valid API key is required (Authorization: Bearer <key>)")
        return caller
