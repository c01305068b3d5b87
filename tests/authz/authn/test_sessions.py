"""Signed cookie values: what one key signed opens, for its purpose, until it expires;
anything changed, expired, signed for another purpose or under an unknown key does not."""

from __future__ import annotations

import pytest

from authz.authn.sessions import SESSION, SIGN_IN, Seal, open_session, read_session

KEY = "k" * 32
OLD_KEY = "o" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_session_names_its_person_until_it_expires(clock):
    seal = Seal([KEY], clock)
    value, session = open_session(seal, "bob@acme.example", max_age_s=3600)
    assert read_session(seal, value) == session
    assert session.login_id == "bob@acme.example"
    assert (session.expires_at - session.signed_in_at).total_seconds() == 3600
    clock.now += 3599
    assert read_session(seal, value) == session
    clock.now += 1
    assert read_session(seal, value) is None


def test_every_sign_in_makes_a_new_session_id(clock):
    seal = Seal([KEY], clock)
    ids = {open_session(seal, "bob@acme.example", 60)[1].session_id for _ in range(20)}
    assert len(ids) == 20 and all(len(i) >= 20 for i in ids)


@pytest.mark.parametrize(
    "change",
    [
        lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),  # the MAC
        lambda v: ("A" if v[0] != "A" else "B") + v[1:],  # the payload
        lambda v: v.split(".")[0],  # no MAC
        lambda v: "." + v.split(".")[1],  # no payload
        lambda v: "",
        lambda v: "garbage",
    ],
    ids=["mac", "payload", "no-mac", "no-payload", "empty", "garbage"],
)
def test_a_changed_value_opens_nothing(clock, change):
    seal = Seal([KEY], clock)
    value, _ = open_session(seal, "bob@acme.example", 60)
    assert read_session(seal, change(value)) is None


def test_a_payload_re_signed_with_another_key_opens_nothing(clock):
    value, _ = open_session(Seal(["x" * 32], clock), "alice@acme.example", 60)
    assert read_session(Seal([KEY], clock), value) is None


def test_a_sign_in_state_is_never_a_session(clock):
    """The MAC is bound to the purpose: the flow cookie cannot be replayed as a session."""
    seal = Seal([KEY], clock)
    flow = seal.close(SIGN_IN, {"sub": "alice@acme.example", "sid": "s", "iat": 1}, 600)
    assert seal.open(SIGN_IN, flow) is not None
    assert seal.open(SESSION, flow) is None
    assert read_session(seal, flow) is None


def test_the_secret_rotates_without_signing_anybody_out(clock):
    before = Seal([OLD_KEY], clock)
    value, session = open_session(before, "bob@acme.example", 60)
    after = Seal([KEY, OLD_KEY], clock)  # the new secret signs, the old one still verifies
    assert read_session(after, value) == session
    new_value, _ = open_session(after, "bob@acme.example", 60)
    assert read_session(Seal([KEY], clock), new_value) is not None
    assert read_session(Seal([KEY], clock), value) is None  # once the old one is dropped
