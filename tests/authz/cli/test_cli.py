"""The CLI, called as `authz.cli.main([...])` against the test database."""

import re

from models.schema import ApiKey, Site


def test_keys_create_prints_the_key_alone_then_list_and_revoke(cli, database):
    code, out, _ = cli("keys", "create", "--name", "billing", "--scope", "check")
    assert code == 0
    assert re.fullmatch(r"azk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\n", out)
    _, key_id, secret = out.strip().split("_", 2)
    code, listing, _ = cli("keys", "list")
    assert key_id in listing and "billing" in listing and secret not in listing
    assert cli("keys", "revoke", key_id)[0] == 0
    assert ApiKey.get(ApiKey.key_id == key_id).revoked_at is not None
    code, _, err = cli("keys", "revoke", "nosuchkey")
    assert code == 2 and "no API key 'nosuchkey'" in err


def test_demo_is_safe_to_run_twice(cli, database):
    assert cli("demo")[0] == 0
    code, out, _ = cli("demo")
    assert code == 0 and "loaded demo data" not in out and "export AUTHZ_KEY=azk_" in out
    assert Site.select().count() == 2
    assert ApiKey.select().where(ApiKey.revoked_at.is_null()).count() == 1  # the earlier demo key is revoked


def test_check_exit_code_says_allowed_or_denied(cli, demo):
    code, out, _ = cli("check", "carol@acme.example", "1001", "download_software")
    assert code == 0 and '"allowed": true' in out
    code, out, _ = cli("check", "carol@acme.example", "1001", "renew_licenses")
    assert code == 1 and '"level_too_low"' in out
    code, _, err = cli("check", "carol@acme.example", "1001", "nope")
    assert code == 2 and "unknown action 'nope'" in err


def test_import_reports_problems_by_position(cli, database, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites:\n  - {number: '5'}\n")
    code, _, err = cli("import", str(bad))
    assert code == 2 and "sites[0].name: is required" in err
    assert Site.select().count() == 0


def test_policy_validate(cli, tmp_path):
    assert cli("policy", "validate")[0] == 0
    (tmp_path / "model.conf").write_text("")
    code, out, _ = cli("policy", "validate", str(tmp_path))
    assert code == 1 and f"{tmp_path}/catalogue.yaml: file not found" in out
