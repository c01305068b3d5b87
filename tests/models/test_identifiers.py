"""The one canonical form of login ids (models/identifiers.py): what is accepted,
and that two different accepted login ids never resolve to the same person."""

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.identifiers import is_acceptable, login_id_problem, login_key
from models.schema import Person

ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Anything Unicode has, lookalikes and invisible characters included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), min_size=1, max_size=24)


def ascii_folded(value: str) -> str:
    return value.translate(ASCII_UPPER)


@pytest.mark.parametrize(
    "login_id, why",
    [
        ("fran\u212a@globex.example", "NFC"),  # KELVIN SIGN: NFC maps it to K
        ("carol@acme.example\n", "printable"),
        ("carol@acme.example ", "space"),
        (" carol@acme.example", "space"),
        ("car\u200bol@acme.example", "printable"),  # zero-width space
        ("carol\u202e@acme.example", "printable"),  # right-to-left override
        ("e\u0301mile@acme.example", "NFC"),  # decomposed accent
        ("carol\u2028@acme.example", "printable"),  # line separator
        ("", "empty"),
        ("x" * 321, "longer"),
    ],
)
def test_input_that_would_need_repair_is_refused_with_the_reason(login_id, why):
    assert not is_acceptable(login_id) or len(login_id) > 320 or not login_id
    assert why in login_id_problem(login_id)


@pytest.mark.parametrize(
    "login_id", ["carol@acme.example", "Dana.Diaz", "\u00e9mile@acme.example", "\u738b\u82b3", "a b"]
)
def test_ordinary_ids_are_accepted_unchanged(login_id):
    assert is_acceptable(login_id) and login_id_problem(login_id) is None


@given(ANY_TEXT, ANY_TEXT)
@settings(max_examples=5000)
def test_two_different_accepted_login_ids_never_share_a_key(a, b):
    if not (is_acceptable(a) and is_acceptable(b)):
        return
    assert (login_key(a) == login_key(b)) == (ascii_folded(a) == ascii_folded(b))


@given(ANY_TEXT.map(lambda s: unicodedata.normalize("NFKC", s) + "k"))
@settings(max_examples=2000)
def test_compatibility_characters_never_match_their_plain_form(text):
    """A compatibility character and its NFKC form are different ids (or the first is refused)."""
    lookalike = text.replace("k", "\u212a")  # KELVIN SIGN for every k
    if is_acceptable(lookalike):
        assert login_key(lookalike) != login_key(text)


def test_is_acceptable_agrees_with_the_explained_rule():
    for code in range(0x3000):
        value = f"a{chr(code)}b"
        assert is_acceptable(value) == (login_id_problem(value) is None), hex(code)


@given(st.lists(ANY_TEXT, min_size=2, max_size=6, unique=True))
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_stored_people_are_found_only_by_their_own_key(database, logins):
    accepted = [login for login in logins if is_acceptable(login)]
    distinct = {ascii_folded(login): login for login in accepted}.values()  # one per person
    Person.delete().execute()
    for login in distinct:
        Person.create(login_id=login, login_key=login_key(login), email="x@example.test")
    for login in accepted:
        found = Person.by_key(login_key(login))
        assert found is not None and ascii_folded(found.login_id) == ascii_folded(login)


def test_the_migration_makes_existing_keys_again_by_the_ascii_rule(database):
    from models.db import db
    from models.migrate import migrate

    migrate("0006")  # as the database was, keyed by a fold of every script
    db.execute_sql(
        "INSERT INTO person (login_id, login_key, email, first_name, last_name, phone, created_at) "
        "VALUES ('\u00c9mile@Acme.example', '\u00e9mile@acme.example', 'e@acme.example', '', '', '', '2026-01-01')"
    )
    migrate()
    (stored,) = Person.select()
    assert stored.login_key == "\u00c9mile@acme.example" == login_key("\u00c9mile@Acme.example")
    Person.create(login_id="\u00e9mile@acme.example", login_key="\u00e9mile@acme.example", email="x@acme.example")
    assert Person.select().count() == 2  # two different people now: \u00c9 and \u00e9 are different letters
