"""What the database itself refuses, on SQLite and PostgreSQL."""

import peewee
import pytest

from models.db import db
from models.identifiers import login_key
from models.migrate import applied, available, migrate
from models.schema import Membership, Person, Site


def test_second_primary_is_refused_by_the_database(make):
    site = make.site()
    other = make.member(site)
    with pytest.raises(peewee.IntegrityError), db.atomic():
        Membership.update(role="primary").where(Membership.person == Person.by_key(login_key(other))).execute()


def test_duplicate_membership_is_refused_by_the_database(make):
    site = make.site()
    login = make.member(site)
    with pytest.raises(peewee.IntegrityError), db.atomic():
        Membership.create(site=Site.get(Site.number == site), person=Person.by_key(login_key(login)), role="user")


def test_login_ids_are_unique_whatever_their_case(database):
    Person.create(login_id="Ann@Example.test", login_key="ann@example.test", email="ann@example.test")
    with pytest.raises(peewee.IntegrityError), db.atomic():
        Person.create(login_id="ANN@example.test", login_key="ann@example.test", email="x@example.test")
    assert Person.by_key(login_key("aNN@EXAMPLE.test")).login_id == "Ann@Example.test"


def test_login_key_must_be_lower_case(database):
    with pytest.raises(peewee.IntegrityError), db.atomic():
        Person.create(login_id="Bo", login_key="Bo", email="bo@example.test")


def test_unknown_role_is_refused_by_the_database(make):
    site = make.site()
    with pytest.raises(peewee.IntegrityError), db.atomic():
        Membership.update(role="owner").where(Membership.site == Site.get(Site.number == site)).execute()


def test_migrations_go_down_and_up_again(database):
    head = available()[-1][0]
    assert applied()[-1] == head
    assert migrate("0000") == [f"down {v}" for v, _ in reversed(available())]
    assert not db.table_exists("membership")
    assert migrate() == [f"up {v}" for v, _ in available()]
    assert db.table_exists("membership") and migrate() == []
