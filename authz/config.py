"""Settings, read once from the environment, typed, failing fast with the name
of the setting that is wrong. Every setting is documented in the README."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
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
