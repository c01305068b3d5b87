"""Hot reload under load, through real gunicorn: while checks flow, every broken
policy fixture (its policy files and its suites) is laid over the live policy
directory and refused without changing a decision or causing a non-2xx answer; a
good change is served by every worker within 2 s; a SIGHUP with a broken policy
in place restarts the workers on the last good policy, and once the files are
good again every worker says it serves the configured policy."""

import json
import shutil
import threading
import time

import pytest

from authz.accounts.importer import import_file
from authz.authn.keys import create_key
from authz.config import PROJECT_ROOT
from tests.integration.server import gunicorn, wait_until
from tests.policies.fixtures import cases, lay_over, materialise

pytestmark = pytest.mark.integration

CHECKS = [  # (check, the shipped policy's answer)
    ({"user": "carol@acme.example", "site": "1001", "action": "download_software"}, True),
    ({"user": "carol@acme.example", "site": "1001", "action": "request_media"}, False),
    ({"user": "bob@acme.example", "site": "1001", "action": "add_user"}, True),
    ({"user": "dana.diaz", "site": "1001", "action": "list_users"}, False),
    ({"user": "alice@acme.example", "site": "1001", "action": "renew_licenses"}, True),
]


class Traffic:
    """Checks from a few threads until stopped (leaving the `with` block stops them):
    no cap on their number, which a fast machine reached before the last change."""

    def __init__(self, server, auth, threads=3):
        self.server, self.auth = server, auth
        self.stop, self.lock = threading.Event(), threading.Lock()
        self.count, self.bad, self.versions = 0, [], set()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, n):
        i = n
        while not self.stop.is_set():
            body, expected = CHECKS[i % len(CHECKS)]
            i += 1
            status, raw = self.server.call("POST", "/v1/check", body, self.auth)
            with self.lock:
                self.count += 1
                answer = json.loads(raw) if status == 200 else None
                if answer is None or answer["allowed"] is not expected:
                    self.bad.append((status, raw[:200], body))
                else:
                    self.versions.add(answer["policy_version"])

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


@pytest.fixture
def live(tmp_path, database, database_url, policy_table):
    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)
    live_dir = tmp_path / "live-policies"
    shutil.copytree(PROJECT_ROOT / "policies", live_dir, ignore=shutil.ignore_patterns("__pycache__"))
    good_dir = tmp_path / "good"
    shutil.copytree(live_dir, good_dir)
    check_key = create_key("traffic", "check")[0]
    with gunicorn(tmp_path, database_url, AUTHZ_POLICY_DIR=str(live_dir), AUTHZ_POLICY_POLL_MS="250") as server:
        yield server, {"Authorization": f"Bearer {check_key}"}, live_dir, good_dir, tmp_path


def workers(server, auth) -> list[dict]:
    status, raw = server.call("GET", "/v1/policy", headers=auth)
    assert status == 200
    return json.loads(raw)["workers"]


def all_workers(server, auth, predicate, count=2):
    found = workers(server, auth)
    return len(found) == count and all(predicate(w) for w in found)


def test_broken_policies_are_refused_under_load_and_a_good_one_is_taken(live):
    server, auth, live_dir, good_dir, tmp_path = live
    shipped = workers(server, auth)[0]["version"]
    with Traffic(server, auth) as traffic:
        for case in cases():
            broken = materialise(case, tmp_path / "broken" / case)
            lay_over(broken, live_dir)
            wait_until(
                lambda: all_workers(server, auth, lambda w: w["last_attempt_ok"] is False and w["version"] == shipped),
                f"every worker to refuse {case}: {workers(server, auth)}",
                log=server.log,
            )
            lay_over(good_dir, live_dir)
            wait_until(
                lambda: all_workers(server, auth, lambda w: w["last_attempt_ok"] is True and w["version"] == shipped),
                f"every worker to take back {case}",
            )
        policy = live_dir / "policy.csv"
        policy.write_text(policy.read_text().replace("# Role hierarchy", "# Role hierarchy (reviewed)"))
        changed_at = time.monotonic()
        wait_until(
            lambda: all_workers(server, auth, lambda w: w["version"] != shipped),
            "every worker to serve the good change",
            deadline_s=2.0,
        )
        taken_in = time.monotonic() - changed_at
        # The traffic's next answers carry it too (its threads may be between requests).
        wait_until(lambda: len(traffic.versions) == 2, f"the traffic to see the change: {traffic.versions}")
    assert traffic.bad == []
    assert traffic.count > len(cases())
    assert len(traffic.versions) == 2  # the shipped version, then the good change
    print(f"good change served by every worker after {taken_in:.2f} s; {traffic.count} checks, none failed")


def test_a_hangup_with_a_broken_policy_restarts_workers_on_the_last_good_one(live):
    server, auth, live_dir, good_dir, tmp_path = live
    before = workers(server, auth)
    shipped = before[0]["version"]
    with Traffic(server, auth) as traffic:
        lay_over(materialise("truncated_policy", tmp_path / "broken"), live_dir)
        wait_until(
            lambda: all_workers(server, auth, lambda w: w["last_attempt_ok"] is False),
            "every worker to refuse the broken policy",
        )
        server.hang_up()
        old_pids = {w["pid"] for w in before}
        restarted = wait_until(
            lambda: all_workers(server, auth, lambda w: w["pid"] not in old_pids) and workers(server, auth),
            "new workers",
            log=server.log,
        )
        assert {w["version"] for w in restarted} == {shipped}
        assert {w["source"] for w in restarted} == {"last good snapshot"}
        lay_over(good_dir, live_dir)  # the very files of the snapshot: the same version
        wait_until(
            lambda: all_workers(server, auth, lambda w: w["source"] == "configured" and w["last_attempt_ok"] is True),
            "every worker to say it serves the configured policy again",
            log=server.log,
        )
    assert {w["version"] for w in workers(server, auth)} == {shipped}
    status, raw = server.call("GET", "/v1/policy", headers=auth)
    active = json.loads(raw)["active"]
    assert status == 200 and (active["version"], active["source"]) == (shipped, "configured")
    assert traffic.bad == []
