"""Hot reload: a good change is swapped in whole; a bad one (invalid, failing its
suites, without suites, or with a rule no suite exercises) changes nothing and is
reported; a restarting worker falls back to the last good policy, and says where
its policy comes from once the files are good again."""

import contextlib
import shutil
from dataclasses import replace

import pytest
import yaml

from authz.authn.keys import create_key
from authz.errors import PolicyInvalid
from tests.conftest import POLICY_DIR
from tests.policies.fixtures import pin_decisions
from tests.workers import Worker

MEDIA = {"user": "carol@acme.example", "site": "1001", "action": "request_media"}
RULE = "p, user, purchase_download:media, request_media"


@pytest.fixture
def policy_dir(tmp_path):
    target = tmp_path / "policies"
    # These tests make changes the shipped suites would refuse, to see the mechanism
    # at work: their suite pins what the policy decides (and is pinned again by
    # edit(), so a good change stays good). Suites gating a reload have tests of their own.
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    pin_decisions(target)
    return target


@pytest.fixture
def worker(settings, policy_dir, tmp_path, demo, make):
    make.member("1001", "carol@acme.example", purchase_download="media")
    service = Worker(replace(settings, policy_dir=policy_dir, state_dir=tmp_path / "state"))
    return service


def edit(policy_dir, old, new, pin=True):
    """Replace OLD by NEW in policy.csv; for a change that compiles, pin its decisions
    in the suite too (unless PIN is false: the suites then still expect the old ones)."""
    path = policy_dir / "policy.csv"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    if pin:
        with contextlib.suppress(PolicyInvalid):
            pin_decisions(policy_dir)


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
    edit(policy_dir, RULE, "p, user, purchase_download:full, request_media", pin=False)  # breaks both suites
    poll(worker)
    assert worker.table.version == before
    assert any("request_media" in e for e in worker.policy()["last_attempt"]["errors"])


def test_unchanged_files_are_not_rebuilt(worker):
    calls = []
    worker.reloader.reload = lambda trigger, files=None: calls.append(trigger)
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


def test_a_policy_without_suites_is_refused(worker, policy_dir):
    before = worker.table.version
    edit(policy_dir, RULE, "p, user, purchase_download:full, request_media")
    shutil.rmtree(policy_dir / "tests")
    poll(worker)
    assert worker.table.version == before and worker.check(MEDIA)["allowed"] is True
    assert worker.policy()["last_attempt"]["errors"] == [
        "tests: no *_test.yaml suites found: a policy is accepted only with suites that exercise every rule"
    ]


def test_a_rule_no_suite_exercises_is_refused(worker, policy_dir):
    before = worker.table.version
    text = (policy_dir / "policy.csv").read_text()
    edit(policy_dir, RULE + "\n", RULE + "\np, secondary, purchase_download:downloads, request_media\n")
    number = text.splitlines().index(RULE) + 2
    # The one case that exercises the new rule goes: every expectation left still holds.
    pinned = policy_dir / "tests" / "pinned_test.yaml"
    suite = yaml.safe_load(pinned.read_text())
    suite["cases"] = [case for case in suite["cases"] if case["name"] != "secondary_purchase_download_downloads"]
    pinned.write_text(yaml.safe_dump(suite))
    poll(worker)
    assert worker.table.version == before
    assert worker.policy()["last_attempt"]["errors"] == [
        f"policy.csv:{number}: no suite case exercises this rule "
        "(p, secondary, purchase_download:downloads, request_media)"
    ]


def test_a_worker_without_suites_and_no_snapshot_refuses_to_start(settings, policy_dir, tmp_path):
    shutil.rmtree(policy_dir / "tests")
    with pytest.raises(PolicyInvalid):
        Worker(replace(settings, policy_dir=policy_dir, state_dir=tmp_path / "fresh-state"))


def test_after_recovering_from_the_snapshot_the_source_is_the_configured_files(worker, policy_dir, settings, tmp_path):
    good = worker.table.version
    shipped = (policy_dir / "policy.csv").read_bytes()
    edit(policy_dir, "# end-of-policy", "")
    restarted = Worker(replace(settings, policy_dir=policy_dir, state_dir=tmp_path / "state"))
    assert restarted.policy()["active"]["source"] == "last good snapshot"
    (policy_dir / "policy.csv").write_bytes(shipped)  # fixed: the very files of the snapshot
    poll(restarted)
    status = restarted.policy()
    assert status["last_attempt"]["ok"] is True
    assert status["active"]["version"] == good  # the same version as the snapshot's...
    assert status["active"]["source"] == "configured"  # ...but now served from the configured files
    [me] = [w for w in status["workers"] if w["source"] == "configured"]
    assert me["version"] == good


def test_a_directory_caught_mid_rewrite_is_judged_again(worker, policy_dir, monkeypatch):
    """A deploy that replaces tests/ (rm, then copy) can be read half-way: refused.
    The verdict is about the bytes read, not the directory a moment later, so when
    the directory ends as it was before, the next look judges it again."""
    import authz.decisions.reload as reload_module

    edit(policy_dir, RULE, "p, user, purchase_download:full, request_media")  # a good change, suites pinned
    whole = reload_module.read_policy_dir(policy_dir)
    monkeypatch.setattr(reload_module, "read_policy_dir", lambda d: replace(whole, suites={}))
    poll(worker)
    assert worker.policy()["last_attempt"]["ok"] is False and worker.check(MEDIA)["allowed"] is True
    monkeypatch.undo()  # the directory never changed on disk after the edit
    poll(worker)
    assert worker.policy()["last_attempt"]["ok"] is True and worker.check(MEDIA)["allowed"] is False
