"""`authz sites ...`, `authz members ...`, `authz export users`, called as
`authz.cli.main([...])` against the test database with the demo data (see
tests/api/test_members.py for who holds what)."""

from __future__ import annotations

import pytest

from authz.accounts.importer import import_data
from authz.cli import main
from models.identifiers import login_key
from models.outbox import OutboxMessage
from models.schema import Membership, Person, Site
from tests.queries import membership, newest_audit, role_of, stored_levels

# -- sites -------------------------------------------------------------------


def test_sites_list_names_each_primary_and_warns_of_no_secondary(cli, demo, policy_table):
    # 2002 loses its only secondary (Dana becomes a plain user there).
    import_data({"memberships": [{"site": "2002", "user": "Dana.Diaz", "role": "user"}]}, policy_table)
    code, out, err = cli("sites", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["SITE", "PRIMARY", "SECONDARIES", "USERS", "NAME"]
    assert lines[1].split() == ["1001", "alice@acme.example", "1", "2", "Acme", "Manufacturing"]
    assert lines[2].split() == ["2002", "erin@globex.example", "0", "2", "Globex", "Logistics"]
    assert "site 2002 has no secondary contact" in err and "1001" not in err


def test_sites_create_then_a_duplicate_is_refused(cli, database):
    code, out, err = cli(
        "sites",
        "create",
        "3003",
        "--name",
        "Initech",
        "--primary",
        "Peter@Initech.example",
        "--email",
        "peter@initech.example",
        "--first-name",
        "Peter",
    )
    assert code == 0, err
    assert "created site 3003 (Initech) with primary contact Peter@Initech.example" in out
    assert "no secondary contact" in err
    assert Site.get(Site.number == "3003").name == "Initech"
    assert role_of("3003", "peter@initech.example") == "primary"
    assert Person.by_key(login_key("peter@initech.example")).first_name == "Peter"
    assert newest_audit("3003")["actor"] == "cli" and newest_audit("3003")["action"] == "create_site"

    code, _, err = cli(
        "sites", "create", "3003", "--name", "Other", "--primary", "x@x.example", "--email", "x@x.example"
    )
    assert code == 2 and "site '3003' already exists" in err
    assert Site.get(Site.number == "3003").name == "Initech" and Person.by_key(login_key("x@x.example")) is None


def test_sites_transfer_primary(cli, demo):
    code, out, err = cli("sites", "transfer-primary", "1001", "--to", "carol@acme.example")
    assert code == 0, err
    assert "carol@acme.example is now the primary contact; alice@acme.example is now a secondary" in out
    assert (role_of("1001", "carol@acme.example"), role_of("1001", "alice@acme.example")) == ("primary", "secondary")
    assert stored_levels("1001", "alice@acme.example")["manage_access"] == "update"
    assert Membership.select().join(Site).where((Site.number == "1001") & (Membership.role == "primary")).count() == 1

    code, _, _ = cli("sites", "transfer-primary", "1001", "--to", "bob@acme.example", "--former-role", "user")
    assert code == 0
    assert role_of("1001", "carol@acme.example") == "user"
    assert "manage_access" not in stored_levels("1001", "carol@acme.example")
    assert stored_levels("1001", "carol@acme.example")["purchase_download"] == "full"


def test_sites_transfer_primary_to_a_non_member_changes_nothing(cli, demo):
    code, _, err = cli("sites", "transfer-primary", "1001", "--to", "erin@globex.example")
    assert code == 2 and "not a member" in err
    assert role_of("1001", "alice@acme.example") == "primary"
    refused = newest_audit("1001")
    assert (refused["actor"], refused["action"], refused["outcome"]) == ("cli", "transfer_primary", "refused")
    with pytest.raises(SystemExit) as exc:  # argparse refuses an unknown role before anything runs
        main(["sites", "transfer-primary", "1001", "--to", "bob@acme.example", "--former-role", "primary"])
    assert exc.value.code == 2
    assert role_of("1001", "alice@acme.example") == "primary"


# -- members -----------------------------------------------------------------


def test_members_list(cli, demo):
    code, out, err = cli("members", "list", "--site", "1001")
    assert code == 0, err
    rows = [line.split()[:2] for line in out.splitlines()[1:]]
    assert rows == [
        ["alice@acme.example", "primary"],
        ["bob@acme.example", "secondary"],
        ["carol@acme.example", "user"],
        ["Dana.Diaz", "user"],
    ]
    carol = next(line for line in out.splitlines() if line.startswith("carol@"))
    assert "purchase_download=downloads, reporting=view, entitlements=view" in carol
    assert err == ""  # bob is a secondary: no warning

    code, out, _ = cli("members", "list", "--site", "1001", "--role", "user", "--search", "chen")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["carol@acme.example"]


def test_members_list_as_a_person_is_checked_by_the_policy(cli, demo):
    code, out, _ = cli("members", "list", "--site", "2002", "--as", "Dana.Diaz")  # manage_access view there
    assert code == 0 and "frank@globex.example" in out
    code, out, err = cli("members", "list", "--site", "1001", "--as", "carol@acme.example")
    assert code == 2 and "may not list_users" in err and "alice" not in out
    code, _, err = cli("members", "list", "--site", "2002", "--as", "alice@acme.example")
    assert code == 2 and "no site '2002'" in err  # another site looks like a missing one


def test_members_add_as_operator(cli, demo):
    code, out, err = cli(
        "members",
        "add",
        "--site",
        "1001",
        "--user",
        "erin@globex.example",
        "--email",
        "erin@globex.example",
        "--justification",
        "consultant on the renewal",
        "--role",
        "secondary",
        "--level",
        "manage_access=view",
        "purchase_download=full",
        "--level",
        "reporting=view",
    )
    assert code == 0, err
    assert "added erin@globex.example to site 1001 as secondary" in out
    assert role_of("1001", "erin@globex.example") == "secondary"
    assert stored_levels("1001", "erin@globex.example") == {
        "manage_access": "view",
        "purchase_download": "full",
        "reporting": "view",
    }
    assert membership("1001", "erin@globex.example").created_by == "cli"
    record = newest_audit("1001")
    assert (record["actor"], record["action"], record["target"]) == ("cli", "add_user", "erin@globex.example")
    assert record["after"]["business_justification"] == "consultant on the renewal"
    welcome = OutboxMessage.get(OutboxMessage.kind == "welcome")
    assert welcome.recipient == "erin@globex.example" and welcome.site_number == "1001"


def test_members_add_as_a_person_obeys_the_rules(cli, demo):
    args = [
        "members",
        "add",
        "--site",
        "1001",
        "--user",
        "erin@globex.example",
        "--email",
        "erin@globex.example",
        "--justification",
        "j",
        "--role",
        "user",
        "--as",
        "bob@acme.example",
    ]
    code, _, err = cli(*args, "--level", "purchase_download=full")  # bob holds media
    assert code == 2 and "cannot grant full" in err
    assert role_of("1001", "erin@globex.example") is None
    refused = newest_audit("1001")
    assert (refused["actor"], refused["outcome"]) == ("bob@acme.example", "refused")
    code, _, err = cli(*args, "--level", "manage_access=view")  # a user never holds account management
    assert code == 2 and "a user may not hold 'manage_access'" in err
    code, _, err = cli(*args, "--level", "purchase_download=media")
    assert code == 0, err
    assert membership("1001", "erin@globex.example").created_by == "bob@acme.example"


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--user", "ghost@nowhere.example", "--email", "ghost@nowhere.example"], "not a known identity"),
        (["--user", "erin@globex.example", "--email", "erin@other.example"], "email does not match"),
        (["--user", "carol@acme.example", "--email", "carol@acme.example"], "already a member"),
        (
            ["--user", "erin@globex.example", "--email", "erin@globex.example", "--level", "nosuch=view"],
            "unknown application 'nosuch'",
        ),
        (
            [
                "--user",
                "erin@globex.example",
                "--email",
                "erin@globex.example",
                "--level",
                "reporting=view",
                "reporting=none",
            ],
            "names 'reporting' twice",
        ),
    ],
)
def test_members_add_refusals_say_why(cli, demo, extra, message):
    code, _, err = cli("members", "add", "--site", "1001", "--justification", "j", "--role", "user", *extra)
    assert code == 2 and message in err
    assert Membership.select().join(Site).where(Site.number == "1001").count() == 4


def test_members_add_argument_errors_stop_before_anything_runs(cli, demo):
    base = [
        "members",
        "add",
        "--site",
        "1001",
        "--user",
        "erin@globex.example",
        "--email",
        "erin@globex.example",
        "--justification",
        "j",
    ]
    for wrong in (["--role", "primary"], ["--role", "user", "--level", "reporting"]):
        with pytest.raises(SystemExit) as exc:
            main(base + wrong)
        assert exc.value.code == 2
    assert role_of("1001", "erin@globex.example") is None


def test_members_update(cli, demo):
    code, out, err = cli(
        "members",
        "update",
        "--site",
        "1001",
        "--user",
        "carol@acme.example",
        "--role",
        "secondary",
        "--level",
        "manage_access=view",
        "--first-name",
        "Caroline",
    )
    assert code == 0, err
    assert "updated carol@acme.example on site 1001: secondary" in out
    assert role_of("1001", "carol@acme.example") == "secondary"
    assert stored_levels("1001", "carol@acme.example") == {
        "purchase_download": "downloads",
        "reporting": "view",
        "entitlements": "view",
        "manage_access": "view",
    }
    assert Person.by_key(login_key("carol@acme.example")).first_name == "Caroline"
    record = newest_audit("1001")
    assert record["actor"] == "cli" and record["before"]["role"] == "user" and record["after"]["role"] == "secondary"

    code, _, err = cli("members", "update", "--site", "1001", "--user", "carol@acme.example")
    assert code == 2 and "nothing to change" in err


def test_members_update_keeps_the_rules_for_operators_too(cli, demo):
    code, _, err = cli("members", "update", "--site", "1001", "--user", "alice@acme.example", "--role", "user")
    assert code == 2 and "transfer" in err
    assert role_of("1001", "alice@acme.example") == "primary"
    code, _, err = cli("members", "update", "--site", "1001", "--user", "bob@acme.example", "--role", "user")
    assert code == 2 and "may not hold" in err  # bob's account-management levels are never dropped silently
    assert role_of("1001", "bob@acme.example") == "secondary"
    code, _, err = cli("members", "update", "--site", "1001", "--user", "Dana.Diaz", "--first-name", "Danielle")
    assert code == 2 and "also belongs to other sites" in err
    assert Person.by_key(login_key("Dana.Diaz")).first_name == "Dana"


def test_members_update_as_a_person(cli, demo):
    code, _, err = cli(
        "members",
        "update",
        "--site",
        "1001",
        "--user",
        "bob@acme.example",
        "--level",
        "purchase_download=full",
        "--as",
        "bob@acme.example",
    )
    assert code == 2 and "nobody changes their own membership" in err
    code, _, err = cli(
        "members",
        "update",
        "--site",
        "1001",
        "--user",
        "alice@acme.example",
        "--phone",
        "0",
        "--as",
        "bob@acme.example",
    )
    assert code == 2 and "primary" in err
    code, _, err = cli(
        "members",
        "update",
        "--site",
        "1001",
        "--user",
        "carol@acme.example",
        "--level",
        "purchase_download=media",
        "--as",
        "bob@acme.example",
    )
    assert code == 0, err
    assert stored_levels("1001", "carol@acme.example")["purchase_download"] == "media"
    assert stored_levels("1001", "bob@acme.example")["purchase_download"] == "media"


def test_members_remove(cli, demo):
    code, out, err = cli("members", "remove", "--site", "1001", "--user", "CAROL@acme.example")
    assert code == 0, err
    assert "removed carol@acme.example from site 1001" in out
    assert role_of("1001", "carol@acme.example") is None and Person.by_key(login_key("carol@acme.example")) is not None
    code, _, err = cli("members", "remove", "--site", "1001", "--user", "alice@acme.example")
    assert code == 2 and "primary contact cannot be removed" in err
    assert role_of("1001", "alice@acme.example") == "primary"
    code, _, err = cli(
        "members", "remove", "--site", "1001", "--user", "alice@acme.example", "--as", "bob@acme.example"
    )
    assert code == 2 and role_of("1001", "alice@acme.example") == "primary"
    code, _, err = cli("members", "remove", "--site", "1001", "--user", "Dana.Diaz", "--as", "bob@acme.example")
    assert code == 0 and role_of("1001", "Dana.Diaz") is None and role_of("2002", "Dana.Diaz") == "secondary"


# -- export ------------------------------------------------------------------


def test_export_users_is_byte_for_byte_the_api_s_export(cli, demo, client, operator_headers):
    Person.update(first_name='=HYPERLINK("http://evil.example")', last_name="Zoë").where(
        Person.login_key == "carol@acme.example"
    ).execute()
    code, out, err = cli("export", "users", "--site", "1001")
    assert code == 0, err
    api = client.simulate_get("/v1/sites/1001/members.csv", headers=operator_headers)
    assert api.status_code == 200
    assert out.encode("utf-8") == api.content
    assert out.startswith("login_id,first_name,last_name,email,role,purchase_download,")
    assert "\r\n" in out and "'=HYPERLINK" in out and "Zoë" in out
    assert len(out.splitlines()) == 5


def test_export_users_as_a_person(cli, demo):
    code, out, _ = cli("export", "users", "--site", "2002", "--as", "Dana.Diaz")
    assert code == 0 and "frank@globex.example" in out
    code, out, err = cli("export", "users", "--site", "1001", "--as", "carol@acme.example")
    assert code == 2 and out == "" and "may not export_users" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["members", "list", "--site", "1001", "--as", ""],
        ["requests", "list", "--site", "1001", "--as", ""],
        ["contacts", "list", "--site", "1001", "--as", ""],
    ],
)
def test_an_empty_acting_person_is_refused_not_taken_as_the_operator(cli, demo, argv):
    code, out, err = cli(*argv)
    assert code == 2 and "--as" in err and out == ""
