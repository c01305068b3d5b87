"""A person signed in through the browser (the console's session), as every door sees it."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct


class SignedIn(Struct, frozen=True, kw_only=True):
    """Who is signed in: read from the session cookie, valid until `expires_at`."""

    login_id: str
    session_id: str  # random, new at every sign-in: names this session in logs
    signed_in_at: datetime
    expires_at: datetime
