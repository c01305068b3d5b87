"""Demo sign-in: only on the demo data. A server whose database holds any other site
refuses to start with it on; the people offered are the demo data's."""

from __future__ import annotations

import dataclasses

import pytest

from authz.config import PROJECT_ROOT, ConfigError, IdentitySettings
from authz.service import Service
from tests.conftest import SESSION_SECRET

DEMO = IdentitySettings(session_secrets=(SESSION_SECRET,), demo_sign_in=True)


def test_demo_sign_in_offers_the_demo_people_on_the_demo_data(demo, settings):
    service = Service.start(dataclasses.replace(settings, identity=DEMO))
    assert service.sign_in.demo_enabled
    people = {p.login_id: p for p in service.sign_in.demo_people()}
    assert set(people) == {
        "alice@acme.example",
        "bob@acme.example",
        "carol@acme.example",
        "Dana.Diaz",
        "erin@globex.example",
        "frank@globex.example",
    }
    assert people["Dana.Diaz"].sites == (("1001", "user"), ("2002", "secondary"))
    done = service.sign_in.demo_sign_in("Dana.Diaz", "/console/", "/console/sites/2002")
    assert service.sign_in.signed_in(done.session_cookie).login_id == "Dana.Diaz"
    assert done.next_path == "/console/sites/2002"


def test_a_server_on_other_data_refuses_to_start_with_demo_sign_in(demo, make, settings):
    make.site("7777")
    with pytest.raises(ConfigError, match="site '7777', which is not demo data"):
        Service.start(dataclasses.replace(settings, identity=DEMO))


def test_a_demo_site_renamed_is_not_demo_data(demo, settings, database):
    database.execute_sql("UPDATE site SET name = 'Real Customer Inc' WHERE number = '1001'")
    with pytest.raises(ConfigError, match="site '1001'"):
        Service.start(dataclasses.replace(settings, identity=DEMO))


def test_off_without_the_setting(demo, settings):
    service = Service.start(dataclasses.replace(settings, identity=IdentitySettings(session_secrets=(SESSION_SECRET,))))
    assert not service.sign_in.demo_enabled and service.sign_in.demo_people() == ()
    with pytest.raises(Exception, match="demo sign-in is off"):
        service.sign_in.demo_sign_in("alice@acme.example", "/console/", None)


def test_an_unreadable_demo_file_stops_the_start(demo, settings, tmp_path):
    broken = tmp_path / "demo.yaml"
    broken.write_text("sites: [", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read the demo data"):
        Service.start(dataclasses.replace(settings, identity=DEMO, demo_data=broken))
    assert (PROJECT_ROOT / "deploy" / "demo-data.yaml").exists()
