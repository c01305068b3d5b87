"""Signed, short-lived values for browser cookies: the session of a signed-in person
and the state of a sign-in in progress. HMAC-SHA256 under a secret shared by every
worker and replica (AUTHZ_SESSION_SECRET: the first signs, every one still verifies,
so the secret can be rotated without signing everybody out).

A value is `<payload>.<mac>`, the payload base64url JSON with its expiry, the MAC
bound to the value's purpose: a sign-in state is never taken for a session. Nothing
is kept on the server: a session ends when its cookie expires or is cleared."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from authz.contract.sessions import SignedIn

SESSION = "session"
SIGN_IN = "sign-in"
FORM = "form"  # a console form's CSRF token, bound to the session's id
_VERSION = "v1"


class Seal:
    def __init__(self, keys: Sequence[str], clock: Callable[[], float] = time.time):
        if not keys:
            raise ValueError("a seal needs at least one secret")
        self._keys = [key.encode() for key in keys]
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    def close(self, purpose: str, payload: dict[str, Any], max_age_s: int) -> str:
        """PAYLOAD signed for PURPOSE, valid for MAX_AGE_S seconds."""
        body = {**payload, "exp": int(self._clock()) + max_age_s}
        data = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).rstrip(b"=").decode()
        return f"{data}.{self._mac(self._keys[0], purpose, data)}"

    def open(self, purpose: str, value: str | None) -> dict[str, Any] | None:
        """The payload of VALUE if one of the keys signed it for PURPOSE and it has not
        expired; None otherwise."""
        data, _, mac = (value or "").partition(".")
        if not data or not any(hmac.compare_digest(mac, self._mac(key, purpose, data)) for key in self._keys):
            return None
        try:
            body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("exp"), int) or body["exp"] <= self._clock():
            return None
        return body

    def token(self, purpose: str, binding: str) -> str:
        """A token for BINDING (e.g. a session id), good for PURPOSE: a form's CSRF token."""
        return self._mac(self._keys[0], purpose, binding)

    def token_valid(self, purpose: str, binding: str, token: str | None) -> bool:
        """TOKEN was made by token(PURPOSE, BINDING) under one of the keys."""
        return bool(binding and token) and any(
            hmac.compare_digest(token or "", self._mac(key, purpose, binding)) for key in self._keys
        )

    @staticmethod
    def _mac(key: bytes, purpose: str, data: str) -> str:
        digest = hmac.new(key, f"authz.{purpose}.{_VERSION}.{data}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def open_session(seal: Seal, login_id: str, max_age_s: int) -> tuple[str, SignedIn]:
    """A new session for LOGIN_ID, with a new random id: (cookie value, the session)."""
    now = int(seal.now())
    payload = {"sub": login_id, "sid": secrets.token_urlsafe(16), "iat": now}
    value = seal.close(SESSION, payload, max_age_s)
    return value, _signed_in({**payload, "exp": now + max_age_s})


def read_session(seal: Seal, value: str | None) -> SignedIn | None:
    """The session a cookie value carries, or None (absent, forged, expired)."""
    body = seal.open(SESSION, value)
    if body is None or not all(isinstance(body.get(k), t) for k, t in (("sub", str), ("sid", str), ("iat", int))):
        return None
    return _signed_in(body)


def _signed_in(body: dict[str, Any]) -> SignedIn:
    return SignedIn(
        login_id=body["sub"],
        session_id=body["sid"],
        signed_in_at=datetime.fromtimestamp(body["iat"], UTC),
        expires_at=datetime.fromtimestamp(body["exp"], UTC),
    )
