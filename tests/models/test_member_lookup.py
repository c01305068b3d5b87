"""The check path's member lookup (models/directory.py), on SQLite and PostgreSQL."""

import psycopg2
import pytest

from authz.accounts.importer import import_data
from models import directory
from models.db import db, is_postgres
from models.identifiers import login_key
from tests.conftest import BACKENDS


def test_a_member_comes_back_with_its_role_and_every_stored_level(make):
    site = make.site()
    login = make.member(site, role="secondary", purchase_download="media", reporting="view", manage_access="update")
    record = directory.fetch_member(login_key(login), site)
    assert record.role == "secondary"
    assert dict(record.levels) == {"purchase_download": "media", "reporting": "view", "manage_access": "update"}


def test_a_member_without_stored_levels_holds_none(make):
    site = make.site()
    record = directory.fetch_member(login_key(make.member(site)), site)
    assert (record.role, dict(record.levels)) == ("user", {})


def test_login_ids_are_matched_by_key_and_other_sites_are_not_mixed_in(make):
    first, second = make.site(), make.site()
    login = make.member(first, login_id="Mixed.Case@Example.test", reporting="view")
    import_data(
        {"memberships": [{"site": second, "user": login, "role": "user", "levels": {"purchase_download": "media"}}]},
        make.table,
    )
    assert dict(directory.fetch_member(login_key(login.upper()), first).levels) == {"reporting": "view"}
    assert dict(directory.fetch_member(login_key(login), second).levels) == {"purchase_download": "media"}
    assert directory.fetch_member(login_key(login), "no-such-site") is None


def test_members_with_the_same_role_and_levels_share_one_record(make):
    site = make.site()
    one, two = (make.member(site, reporting="view", entitlements="view") for _ in range(2))
    assert directory.fetch_member(login_key(one), site) is directory.fetch_member(login_key(two), site)


def test_the_lookup_reads_one_table_by_its_primary_key(make):
    sql = directory._member_sql(db.obj.param)
    assert " JOIN " not in sql and "FROM member_lookup WHERE login_key" in sql
    if not is_postgres():  # PostgreSQL's plan depends on its statistics
        plan = [row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, ("a", "b")).fetchall()]
        assert plan == ["SEARCH member_lookup USING PRIMARY KEY (login_key=? AND site_number=?)"]


def test_a_stale_lookup_row_is_caught_by_the_fixture_check(make, database):
    """The check every database test ends with (tests/conftest.py) does fail."""
    from tests.conftest import assert_member_lookup_is_current

    site = make.site()
    login = make.member(site, reporting="view")
    db.execute_sql(
        f"UPDATE member_lookup SET levels = 'reporting:none' WHERE login_key = {db.obj.param}", (login_key(login),)
    )
    with pytest.raises(AssertionError):
        assert_member_lookup_is_current(database)
    db.execute_sql(
        f"UPDATE member_lookup SET levels = 'reporting:view' WHERE login_key = {db.obj.param}", (login_key(login),)
    )


def test_an_inactive_person_has_no_lookup_rows_and_is_absent_as_inactive_on_every_site(make):
    """Deactivation keeps the memberships but takes the person's rows out of the
    check path's copy; why_absent then says identity_inactive wherever asked.
    A person the identity provider asserts nothing about (NULL) counts as active."""
    from models.schema import Person

    site = make.site()
    login = make.member(site, reporting="view")
    key = login_key(login)
    with db.atomic():
        Person.update(active=False).where(Person.login_key == key).execute()
        directory.record_change("identity", login_key=key)
    assert directory.fetch_member(key, site) is None
    assert [directory.why_absent(key, s) for s in (site, "no-such-site")] == ["identity_inactive"] * 2
    with db.atomic():
        Person.update(active=None).where(Person.login_key == key).execute()
        directory.record_change("identity", login_key=key)
    assert dict(directory.fetch_member(key, site).levels) == {"reporting": "view"}
    assert directory.why_absent("nobody", site) == "unknown_user"


def test_the_check_paths_finder_answers_as_find_member_does_for_every_kind_of_absence(make):
    """On PostgreSQL the check path's finder is one prepared statement; on SQLite,
    find_member through the given rows. Both answer alike."""
    from models.schema import Person
    from models.snapshot import database_rows

    site, other = make.site(), make.site()
    member = login_key(make.member(site, role="secondary", purchase_download="media"))
    outsider = login_key(make.member(other))
    inactive = login_key(make.member(site, reporting="view"))
    with db.atomic():
        Person.update(active=False).where(Person.login_key == inactive).execute()
        directory.record_change("identity", login_key=inactive)
    finder = directory.member_finder(database_rows)
    assert isinstance(finder, directory.PreparedFind) == is_postgres()
    cases = [(member, site), (outsider, site), ("nobody", site), (member, "no-such-site"), (inactive, site)]
    answers = [finder(*case) for case in cases]
    assert answers == [directory.find_member(*case) for case in cases]
    assert answers[0].role == "secondary" and dict(answers[0].levels) == {"purchase_download": "media"}
    assert answers[1:] == ["no_membership", "unknown_user", "unknown_site", "identity_inactive"]


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgres"], indirect=True)
def test_the_prepared_finder_prepares_again_on_a_new_session(make):
    from models.errors import StoreUnavailable
    from models.snapshot import database_rows

    site = make.site()
    member = login_key(make.member(site, reporting="view"))
    finder = directory.member_finder(database_rows)
    assert finder(member, site).role == "user"
    [(pid,)] = db.execute_sql("SELECT pg_backend_pid()").fetchall()
    with psycopg2.connect(dbname=db.obj.database, **db.obj.connect_params) as other, other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    other.close()
    with pytest.raises(StoreUnavailable):
        finder(member, site)  # the session is gone: 503, never a decision
    assert finder(member, site).role == "user"  # a new session, prepared afresh
