"""Hot reload: a good change is swapped in whole; a bad one (invalid, or failing
its suites) changes nothing and is reported; a restarting worker falls back to
the last good policy."""

import shutil
from dataclasses import replace

import pytest

from authz.authn.keys import create_key
from authz.errors import PolicyInvalid
from tests.conftest import POLICY_DIR
from tests.workers import Worker

MEDIA = {"user": "carol@acme.example", "site": "1001", "action": "request_media"}
RULE = "p, user, purchase_download:media, request_media"


@pytest.fixture
def policy_dir(tmp_path):
    target = tmp_path / "policies"
    # Without the shipped suites: these tests make changes DOMAIN.md would not allow,
    # to see the mechanism at work. (Suites gating a reload have a test of their own.)
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    return target


@pytest.fixture
def worker(settings, policy_dir, tmp_path, demo, make):
    make.member("1001", "carol@acme.example", purchase_download="media")
    service = Worker(replace(settings, policy_dir=policy_dir, state_dir=tmp_path / "state"))
    return service


def edit(policy_dir, old, new):
    path = policy_dir / "policy.csv"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def poll(worker):
    worker.reloader._next_check = 0.0  # as if the interval had passed
    worker.reloader.maybe_reload()


def test_a_good_change_is_swapped_in(worker, policy_dir):
    before = worker.table.version
    assert worker.check(MEDIA)["allowed"] is True
    edit(policy_dir, RULE, "p, user, purchase_download:full, request_media")
    poll(worker)
    answer = worker.check(MEDIA)
    assert answer["allowed"] is False and answer["policy_version"] != before
    status = worker.policy()
    assert status["active"]["version"] == answer["policy_version"]
    assert status["last_attempt"]["ok"] is True and status["last_attempt"]["trigger"] == "policy files changed"
    assert [w["version"] for w in status["workers"]] == [answer["policy_version"]]


@pytest.mark.parametrize(
    "old,new",
    [
        (RULE, "p, user, purchase_download:media"),  # wrong number of fields
        (RULE, "p, user, manage_access:view, list_users"),  # a user may not hold manage_access
        ("# end-of-policy", ""),  # cut short
    ],
)
def test_a_bad_change_changes_nothing_and_says_why(worker, policy_dir, old, new):
    before = worker.table.version
    edit(policy_dir, old, new)
    poll(worker)
    answer = worker.check(MEDIA)
    assert answer["allowed"] is True and answer["policy_version"] == before
    attempt = worker.policy()["last_attempt"]
    assert attempt["ok"] is False and attempt["errors"] and attempt["errors"][0].startswith("policy.csv")


def test_a_change_that_fails_its_suites_is_refused(worker, policy_dir):
    before = worker.table.version
    (policy_dir / "tests").mkdir(exist_ok=True)
    (policy_dir / "tests" / "media_test.yaml").write_text(
        "suite: media\n"
        "principals:\n  carol: {role: user, levels: {purchase_download: media}}\n"
        "cases:\n  - name: media holders may request media\n    principal: carol\n    allow: [request_media]\n"
    )
    edit(policy_dir, RULE, "p, user, purchase_download:full, request_media")  # valid, but breaks the suite
    poll(worker)
    assert worker.table.version == before
    assert any("request_media" in e for e in worker.policy()["last_attempt"]["errors"])


def test_unchanged_files_are_not_rebuilt(worker):
    calls = []
    worker.reloader.reload = lambda trigger: calls.append(trigger)
    poll(worker)
    assert calls == []


def test_a_restarting_worker_falls_back_to_the_last_good_policy(worker, policy_dir, settings, tmp_path):
    good = worker.table.version
    edit(policy_dir, "# end-of-policy", "")
    restarted = Worker(replace(settings, policy_dir=policy_dir, state_dir=tmp_path / "state"))
    assert restarted.table.version == good
    status = restarted.policy()
    assert status["active"]["source"] == "last good snapshot"
    assert status["last_attempt"]["trigger"] == "start" and status["last_attempt"]["ok"] is False


def test_with_no_good_policy_ever_a_worker_refuses_to_start(settings, policy_dir, tmp_path):
    edit(policy_dir, "# end-of-policy", "")
    with pytest.raises(PolicyInvalid):
        Worker(replace(settings, policy_dir=policy_dir, state_dir=tmp_path / "fresh-state"))


def test_reload_route_needs_the_policy_scope_and_reports(worker, policy_dir):
    from falcon import testing

    from api.app import create_app

    client = testing.TestClient(create_app(worker.service))
    check_key, policy_key = create_key("c", "check")[0], create_key("p", "policy")[0]
    assert (
        client.simulate_post("/v1/policy/reload", headers={"Authorization": f"Bearer {check_key}"}).status_code == 403
    )
    auth = {"Authorization": f"Bearer {policy_key}"}
    worker.reloader._next_check = float("inf")  # only the route reloads in this test
    edit(policy_dir, RULE, "p, user, purchase_download:media")
    refused = client.simulate_post("/v1/policy/reload", headers=auth)
    assert refused.status_code == 422 and refused.json["ok"] is False and refused.json["errors"]
    edit(policy_dir, "p, user, purchase_download:media", "p, user, purchase_download:full, request_media")
    applied = client.simulate_post("/v1/policy/reload", headers=auth)
    assert applied.status_code == 200 and applied.json["active_version"] == applied.json["version"]
    assert worker.check(MEDIA)["allowed"] is False
