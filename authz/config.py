"""Settings, read once from the environment, typed, failing fast with the name
of the setting that is wrong. Every setting is documented in the README."""

from __future__ import annotations

import os
import urllib.parse
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
    member_cache_mb: int = 8  # memory each worker's member cache may take (~290 bytes a member)
    cache_size: int | None = None  # and, if set, at most this many memberships cached per worker
    # Hold a copy of every membership when it fits 3/4 of member_cache_mb
    # (authz/decisions/resident.py); off: the LRU alone.
    member_table: bool = True
    change_poll_ms: int = 250  # how stale a worker's cache may be at most
    # PostgreSQL: each worker also listens for changes (LISTEN/NOTIFY) and catches up
    # as soon as one commits; the poll stays the bound if the channel is down.
    change_notify: bool = True
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
    identity: IdentitySettings = field(default_factory=lambda: IdentitySettings())  # OpenID Connect, sessions
    demo_data: Path = PROJECT_ROOT / "deploy" / "demo-data.yaml"  # `authz demo`'s data; demo sign-in's people

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            database_url=env.get("DATABASE_URL", cls.database_url),
            policy_dir=Path(env.get("AUTHZ_POLICY_DIR", str(cls.policy_dir))),
            member_cache_mb=_positive_int(env, "AUTHZ_MEMBER_CACHE_MB", cls.member_cache_mb),
            cache_size=_positive_int(env, "AUTHZ_CACHE_SIZE", 0) or None,
            member_table=_flag(env, "AUTHZ_MEMBER_TABLE", cls.member_table),
            change_poll_ms=_positive_int(env, "AUTHZ_CHANGE_POLL_MS", cls.change_poll_ms),
            change_notify=_flag(env, "AUTHZ_CHANGE_NOTIFY", cls.change_notify),
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
            identity=IdentitySettings.from_env(env),
            demo_data=Path(env.get("AUTHZ_DEMO_DATA", str(cls.demo_data))),
        )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    return _int(env, name, default, minimum=1)


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    return _int(env, name, default, minimum=0)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be {'positive' if minimum else 'zero or more'}, got {value}")
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


# Signature algorithms a token may use: asymmetric only. "none" and the HMAC family
# (HS256, ...) are never accepted, so a token cannot be "signed" with the public key.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass(frozen=True)
class IdentitySettings:
    """OpenID Connect: the acting person proven by a signed token (X-Acting-Token), and
    browser sign-in for the console (authorization code + PKCE, a signed session cookie).
    Off while `issuer` is empty; browser sign-in is on once `client_id` is set too."""

    issuer: str = ""
    audiences: tuple[str, ...] = ()  # an X-Acting-Token's aud must name one; default: (client_id,)
    login_claims: tuple[str, ...] = ("preferred_username", "email")  # the first present is the login id
    leeway_s: int = 60  # clock skew allowed on exp, nbf and iat
    algorithms: tuple[str, ...] = ("RS256", "PS256", "ES256")
    jwks_cache_s: int = 600  # signing keys are fetched again after this long
    jwks_refresh_min_s: int = 30  # a token with an unknown kid refetches them at most this often
    require_acting_token: bool = False  # X-Acting-User alone is refused (401)
    client_id: str = ""
    client_secret: str = ""
    public_url: str = ""  # the service's base URL as browsers see it; empty: the request's own
    session_secrets: tuple[str, ...] = ()  # the first signs cookies, every one verifies them
    session_max_age_s: int = 8 * 3600
    # The console's demo sign-in (pick a person of the demo data, no password): for
    # `make run` only. Refused with OpenID Connect configured, and on a database that
    # holds anything but the demo data's sites (authz/authn/demo.py).
    demo_sign_in: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)

    @property
    def sign_in_enabled(self) -> bool:
        return bool(self.client_id)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IdentitySettings:
        client_id = env.get("AUTHZ_OIDC_CLIENT_ID", "").strip()
        settings = cls(
            issuer=_url(env, "AUTHZ_OIDC_ISSUER"),
            audiences=_names(env, "AUTHZ_OIDC_AUDIENCE") or ((client_id,) if client_id else ()),
            login_claims=_names(env, "AUTHZ_OIDC_LOGIN_CLAIM") or cls.login_claims,
            leeway_s=_whole(env, "AUTHZ_OIDC_LEEWAY_S", cls.leeway_s),
            algorithms=_algorithms(env, "AUTHZ_OIDC_ALGORITHMS") or cls.algorithms,
            jwks_cache_s=_positive_int(env, "AUTHZ_OIDC_JWKS_CACHE_S", cls.jwks_cache_s),
            jwks_refresh_min_s=_whole(env, "AUTHZ_OIDC_JWKS_REFRESH_MIN_S", cls.jwks_refresh_min_s),
            require_acting_token=_flag(env, "AUTHZ_REQUIRE_ACTING_TOKEN"),
            client_id=client_id,
            client_secret=env.get("AUTHZ_OIDC_CLIENT_SECRET", ""),
            public_url=_url(env, "AUTHZ_PUBLIC_URL").rstrip("/"),
            session_secrets=_names(env, "AUTHZ_SESSION_SECRET"),
            session_max_age_s=_positive_int(env, "AUTHZ_SESSION_MAX_AGE_S", cls.session_max_age_s),
            demo_sign_in=_flag(env, "AUTHZ_DEMO_SIGN_IN"),
        )
        settings._check()
        return settings

    def _check(self) -> None:
        """Settings that make sense only together."""
        if self.demo_sign_in:
            if self.issuer or self.client_id:
                raise ConfigError(
                    "AUTHZ_DEMO_SIGN_IN signs anybody in without a password: it is refused with OpenID Connect "
                    "configured (AUTHZ_OIDC_ISSUER, AUTHZ_OIDC_CLIENT_ID)"
                )
            if not self.session_secrets:
                raise ConfigError("AUTHZ_DEMO_SIGN_IN needs AUTHZ_SESSION_SECRET (signs the session cookie)")
        if any(len(secret) < 32 for secret in self.session_secrets):
            raise ConfigError("AUTHZ_SESSION_SECRET: each secret must be at least 32 characters")
        if not self.issuer:
            for name, value in (
                ("AUTHZ_REQUIRE_ACTING_TOKEN", self.require_acting_token),
                ("AUTHZ_OIDC_CLIENT_ID", self.client_id),
            ):
                if value:
                    raise ConfigError(f"{name} needs AUTHZ_OIDC_ISSUER (the OpenID Connect provider)")
            return
        if not self.audiences:
            raise ConfigError(
                "AUTHZ_OIDC_ISSUER needs AUTHZ_OIDC_AUDIENCE (or AUTHZ_OIDC_CLIENT_ID): "
                "the audience an acting person's token must be issued for"
            )
        if self.sign_in_enabled:
            if not self.client_secret:
                raise ConfigError("AUTHZ_OIDC_CLIENT_ID needs AUTHZ_OIDC_CLIENT_SECRET")
            if not self.session_secrets:
                raise ConfigError("AUTHZ_OIDC_CLIENT_ID needs AUTHZ_SESSION_SECRET (signs the session cookie)")


def _names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list, blanks dropped."""
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


def _algorithms(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    names = _names(env, name)
    refused = [alg for alg in names if alg not in ASYMMETRIC_ALGORITHMS]
    if refused:
        raise ConfigError(f"{name}: {', '.join(refused)} not accepted (one of: {', '.join(ASYMMETRIC_ALGORITHMS)})")
    return names


def _url(env: Mapping[str, str], name: str) -> str:
    """An https URL, or http on loopback only (tests, a provider on the same machine): keys
    fetched over plain http from elsewhere could be swapped on the way."""
    raw = env.get(name, "").strip()
    if not raw:
        return ""
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme == "https" and parts.hostname:
        return raw
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return raw
    raise ConfigError(f"{name} must be an https:// URL (http:// only on loopback), got {raw!r}")


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")
