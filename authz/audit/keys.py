"""The keys that chain the audit trail.

A record's hash is an HMAC-SHA256 under a key that lives outside the database
(AUTHZ_AUDIT_KEY_FILE or AUTHZ_AUDIT_KEY), so whoever can write the database but
does not hold the key cannot recompute the chain after changing it. Each record
names the key that chained it by a key id (an HMAC of a constant under the key:
it tells keys apart and reveals nothing of them), so keys can be rotated: the
file lists the current key first, then the older ones still needed to verify.

Keys are ranked by age: records chained before m0008 with no key (plain sha256)
lowest, then the public development key, then the configured keys, oldest to
newest. Along the chain the rank never goes down, so a record rewritten under
the development key (or as a keyless one, or under a retired key) after one
under a newer key is found. What a key cannot protect: whoever obtains a
retired key can rewrite every record since the rotation under it, and anyone
the records chained with no secret key at all; a checkpoint taken since finds
both (trail.py).

The process's keys are installed once, when the service starts (install());
until then, and when none is configured, the development key is used, and the
server says so loudly at start-up."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

DEVELOPMENT_KEY_ID = "dev"
# Public by design: it makes `make run` and the tests work without a secret, and
# protects nothing. Its records are reported as chained without a secret key.
_DEVELOPMENT_SECRET = b"authz development audit key: public, protects nothing"
_KEY_ID_MESSAGE = b"authz audit key id"
UNKEYED_RANK = 0  # records chained with plain sha256, before keys existed (key_id NULL)
_DEVELOPMENT_RANK = 1

DEVELOPMENT_WARNING = (
    "no audit key is configured (AUTHZ_AUDIT_KEY_FILE or AUTHZ_AUDIT_KEY): the audit trail is chained "
    "with the public development key, so whoever can write the database can rewrite it undetected"
)


@dataclass(frozen=True)
class AuditKey:
    key_id: str
    rank: int  # a newer key ranks higher
    is_secret: bool  # False for the development key
    secret: bytes = field(repr=False)

    def mac(self, message: bytes) -> str:
        """HMAC-SHA256 of MESSAGE under this key, as 64 hex digits."""
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


def key_id_of(secret: bytes) -> str:
    """A key's id: 16 hex digits of an HMAC under it, so it cannot be reversed."""
    return hmac.new(secret, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:16]


DEVELOPMENT_KEY = AuditKey(DEVELOPMENT_KEY_ID, _DEVELOPMENT_RANK, False, _DEVELOPMENT_SECRET)


class AuditKeys:
    """The keys of one process: SIGNING chains new records; every key, and the
    development key, verifies the records it chained."""

    def __init__(self, secrets: Sequence[str] = ()):
        count = len(secrets)
        configured = [
            AuditKey(key_id_of(s.encode()), _DEVELOPMENT_RANK + count - i, True, s.encode())
            for i, s in enumerate(secrets)
        ]
        self.signing = configured[0] if configured else DEVELOPMENT_KEY
        # A key listed twice keeps its newest rank.
        self._by_id = {DEVELOPMENT_KEY_ID: DEVELOPMENT_KEY, **{k.key_id: k for k in reversed(configured)}}

    @property
    def is_development(self) -> bool:
        """No key is configured: new records are chained with the public development key."""
        return not self.signing.is_secret

    def get(self, key_id: str) -> AuditKey | None:
        return self._by_id.get(key_id)

    def rank(self, key_id: str | None) -> int | None:
        """The rank of the key KEY_ID (None: a record from before keys), or None if unknown here."""
        if key_id is None:
            return UNKEYED_RANK
        key = self._by_id.get(key_id)
        return key.rank if key else None

    def is_secret(self, key_id: str | None) -> bool:
        key = self._by_id.get(key_id) if key_id is not None else None
        return key is not None and key.is_secret


_installed = AuditKeys()


def install(keys: AuditKeys) -> None:
    """Use KEYS in this process from now on (the service does, once, when it starts)."""
    global _installed
    _installed = keys


def in_use() -> AuditKeys:
    return _installed
