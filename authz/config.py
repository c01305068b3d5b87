"""Settings, read once from the environment, typed, failing fast with the name
of the setting that is wrong. Every setting is documented in the README."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/authz.db"
    policy_dir: Path = PROJECT_ROOT / "policies"
    cache_size: int = 20_000  # memberships cached per worker
    change_poll_ms: int = 250  # how stale a worker's cache may be at most
    log_level: str = "INFO"
    policy_poll_ms: int = 1000  # how often a worker looks for changed policy files
    state_dir: Path | None = None  # shared by one server's workers; None: a private temporary directory
    smtp_host: str = "127.0.0.1"  # where `authz notify deliver` hands messages over
    smtp_port: int = 25
    mail_from: str = "authz@localhost"  # From: and envelope sender of every message
    max_body_bytes: int = 1 << 20  # a larger request body is refused (413) before it is read
    read_deadline_ms: int = 5000  # a request (line, headers, body) must arrive within this (api/worker.py)
    # How long a statement waits for a lock another connection holds (SQLite's write
    # lock; PostgreSQL's row, table and advisory locks) before the request answers 503.
    db_lock_timeout_ms: int = 2000
    # The audit trail's HMAC keys, newest first (the first chains new records): secrets,
    # so never shown. Empty: the public development key (authz/audit/keys.py).
    audit_keys: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            database_url=env.get("DATABASE_URL", cls.database_url),
            policy_dir=Path(env.get("AUTHZ_POLICY_DIR", str(cls.policy_dir))),
            cache_size=_positive_int(env, "AUTHZ_CACHE_SIZE", cls.cache_size),
            change_poll_ms=_positive_int(env, "AUTHZ_CHANGE_POLL_MS", cls.change_poll_ms),
            log_level=env.get("AUTHZ_LOG_LEVEL", cls.log_level).upper(),
            policy_poll_ms=_positive_int(env, "AUTHZ_POLICY_POLL_MS", cls.policy_poll_ms),
            state_dir=Path(env["AUTHZ_STATE_DIR"]) if env.get("AUTHZ_STATE_DIR") else None,
            smtp_host=env.get("AUTHZ_SMTP_HOST", cls.smtp_host),
            smtp_port=_positive_int(env, "AUTHZ_SMTP_PORT", cls.smtp_port),
            mail_from=env.get("AUTHZ_MAIL_FROM", cls.mail_from),
            max_body_bytes=_positive_int(env, "AUTHZ_MAX_BODY_BYTES", cls.max_body_bytes),
            read_deadline_ms=_positive_int(env, "AUTHZ_READ_DEADLINE_MS", cls.read_deadline_ms),
            db_lock_timeout_ms=_positive_int(env, "AUTHZ_DB_LOCK_TIMEOUT_MS", cls.db_lock_timeout_ms),
            audit_keys=_audit_keys(env),
        )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


AUDIT_KEY_MIN_LENGTH = 32
_AUDIT_KEY_HINT = "generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"


def _audit_keys(env: Mapping[str, str]) -> tuple[str, ...]:
    """AUTHZ_AUDIT_KEY (one key), or AUTHZ_AUDIT_KEY_FILE (a file of keys, one a line,
    newest first; blank lines and # comments skipped). A variable that is set but
    unusable stops the process: falling back to the development key would quietly
    leave the trail unprotected. No message ever shows a key."""
    key, path = env.get("AUTHZ_AUDIT_KEY"), env.get("AUTHZ_AUDIT_KEY_FILE")
    if key is not None and path is not None:
        raise ConfigError("set AUTHZ_AUDIT_KEY or AUTHZ_AUDIT_KEY_FILE, not both")
    if path is not None:
        name = "AUTHZ_AUDIT_KEY_FILE"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            raise ConfigError(f"{name}: cannot read {path!r} ({type(exc).__name__})") from None
        keys = tuple(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
        if not keys:
            raise ConfigError(f"{name}: {path!r} holds no key; {_AUDIT_KEY_HINT}")
    elif key is not None:
        name, keys = "AUTHZ_AUDIT_KEY", (key.strip(),)
    else:
        return ()
    if any(len(k) < AUDIT_KEY_MIN_LENGTH for k in keys):
        raise ConfigError(f"{name}: an audit key must be at least {AUDIT_KEY_MIN_LENGTH} characters; {_AUDIT_KEY_HINT}")
    return keys
