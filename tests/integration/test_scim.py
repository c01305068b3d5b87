"""The SCIM door against a live gunicorn, over HTTP, on SQLite and PostgreSQL:

- scim2-tester (a SCIM compliance checker nobody here wrote) runs every check
  it offers, and every one passes;
- scim2-client drives provisioning, deactivation, reactivation and deletion,
  and the check API shows their effects (identity_inactive, unknown_user) from
  the change_seq each change returns;
- deprovisioning under load: while checks for a person run on every worker,
  deactivating them yields no allowed answer at or after the deactivation's
  change_seq."""

from __future__ import annotations

import json
import threading
import time

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Email, PatchOp, PatchOperation, SCIMException, SearchRequest, User
from scim2_tester import Status, check_server
from scim2_tester.checkers import core_schemas_validation
from scim2_tester.discovery import get_all_available_tags
from scim2_tester.utils import CheckConfig, CheckContext

from authz.accounts.importer import import_data
from authz.authn.keys import create_key
from tests.integration.server import gunicorn, wait_until

pytestmark = pytest.mark.integration

SITE = "4004"
PRIMARY = "owner@load.example"
MEMBER = "worker@load.example"


@pytest.fixture
def server(tmp_path, database, database_url, policy_table):
    """gunicorn with two workers, site 4004 (its primary and one user who may
    download), a scim key and a check key."""
    import_data(
        {
            "sites": [{"number": SITE, "name": "Provisioning"}],
            "people": [{"login_id": PRIMARY, "email": PRIMARY}, {"login_id": MEMBER, "email": MEMBER}],
            "memberships": [
                {"site": SITE, "user": PRIMARY, "role": "primary"},
                {"site": SITE, "user": MEMBER, "role": "user", "levels": {"purchase_download": "downloads"}},
            ],
        },
        policy_table,
    )
    keys = {"scim": create_key("identity provider", "scim")[0], "check": create_key("checker", "check")[0]}
    with gunicorn(tmp_path, database_url, workers=2) as running:
        running.keys = keys
        yield running


class Seen:
    """The X-Change-Seq of the last change a client made (an httpx2 response hook)."""

    change_seq: int | None = None

    def __call__(self, response: httpx2.Response) -> None:
        if "x-change-seq" in response.headers:
            self.change_seq = int(response.headers["x-change-seq"])


def scim_client(server, seen: Seen | None = None) -> SyncSCIMClient:
    http = httpx2.Client(
        base_url=f"{server.base}/scim/v2",
        headers={"Authorization": f"Bearer {server.keys['scim']}"},
        timeout=30,
        event_hooks={"response": [seen or Seen()]},
    )
    client = SyncSCIMClient(http)
    client.discover()
    return client


def check(server, user: str, seq: int | None = None, action: str = "download_software") -> dict:
    body = {"user": user, "site": SITE, "action": action}
    if seq is not None:
        body["min_change_seq"] = seq
    status, raw = server.call("POST", "/v1/check", body, {"Authorization": f"Bearer {server.keys['check']}"})
    assert status == 200, raw
    return json.loads(raw)


def test_scim2_tester_every_check_passes(server):
    """Every check scim2-tester offers (all its tags: discovery, crud, patch,
    misc), plus core_schemas_validation, which check_server does not run."""
    client = scim_client(server)
    results = check_server(client, include_tags=get_all_available_tags())
    results += core_schemas_validation(CheckContext(client, CheckConfig()))
    failed = [(r.title, r.status.name, r.reason) for r in results if r.status != Status.SUCCESS]
    assert not failed, failed
    titles = {r.title for r in results}
    assert {
        "service_provider_config_endpoint",
        "query_all_resource_types",
        "query_all_schemas",
        "core_schemas_validation",
        "random_url",
        "object_creation",
        "object_query",
        "object_query_without_id",
        "object_query_with_attributes",
        "object_list_with_attributes",
        "search_with_attributes",
        "object_replacement",
        "object_deletion",
        "check_add_attribute",
        "check_remove_attribute",
        "check_replace_attribute",
    } <= titles, titles


def test_provisioning_lifecycle_through_scim2_client_seen_by_checks(server):
    seen = Seen()
    client = scim_client(server, seen)

    def seq() -> int:
        assert seen.change_seq is not None
        return seen.change_seq

    created = client.create(User(user_name="Hire@Load.example", emails=[Email(value="hire@load.example")]))
    assert created.active is True and created.meta.version == 'W/"1"'
    assert check(server, "hire@load.example")["reason"]["code"] == "no_membership"  # known, not a member

    found = client.query(User, query_parameters=SearchRequest(filter='userName eq "worker@LOAD.example"'))
    assert found.total_results == 1
    worker = found.resources[0]
    assert check(server, MEMBER)["allowed"] is True

    off = client.modify(User, worker.id, PatchOp[User](operations=[_replace("active", False)]))
    answer = check(server, MEMBER, seq())
    assert off.active is False and (answer["allowed"], answer["reason"]["code"]) == (False, "identity_inactive")

    on = client.modify(User, worker.id, PatchOp[User](operations=[_replace("active", True)]))
    assert on.active is True and check(server, MEMBER, seq())["allowed"] is True  # the membership was kept

    client.delete(User, worker.id)
    answer = check(server, MEMBER, seq())
    assert (answer["allowed"], answer["reason"]["code"]) == (False, "unknown_user")
    owner = client.query(User, query_parameters=SearchRequest(filter=f'userName eq "{PRIMARY}"')).resources[0]
    with pytest.raises(SCIMException, match="primary contact"):
        client.delete(User, owner.id)


def _replace(path: str, value) -> PatchOperation:
    return PatchOperation(op=PatchOperation.Op.replace_, path=path, value=value)


def test_deprovisioning_under_load_never_allows_at_or_after_the_change(server):
    """Checks for MEMBER run in threads against both workers (their caches hold
    MEMBER). Deactivating MEMBER must give no allowed answer whose change_seq is
    at or after the deactivation's; and answers that late must come."""
    answers: list[tuple[bool, int, str]] = []
    stop = threading.Event()

    def hammer() -> None:
        deadline = time.monotonic() + 180  # a bound, should the test fail before it sets STOP
        while not stop.is_set() and time.monotonic() < deadline:
            answer = check(server, MEMBER)
            answers.append((answer["allowed"], answer["change_seq"], answer["reason"]["code"]))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: sum(1 for a in answers if a[0]) >= 50, "allowed answers before the change", 90)
        worker = _find_user(server, MEMBER)
        status, raw, headers = _patch_active(server, worker, False)
        assert status == 200, raw
        deactivated_at = int(headers["x-change-seq"])
        wait_until(
            lambda: sum(1 for a in answers if a[1] >= deactivated_at) >= 50, "answers at or after the change", 90
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    late = [a for a in answers if a[1] >= deactivated_at]
    assert late and not [a for a in late if a[0]], [a for a in late if a[0]][:5]
    assert {code for _, _, code in late} == {"identity_inactive"}


def _find_user(server, login: str) -> str:
    status, raw = server.call(
        "GET",
        f"/scim/v2/Users?filter=userName%20eq%20%22{login}%22",
        headers={"Authorization": f"Bearer {server.keys['scim']}"},
    )
    assert status == 200, raw
    return json.loads(raw)["Resources"][0]["id"]


def _patch_active(server, user_id: str, active: bool):
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": active}],
    }
    response = httpx2.patch(
        f"{server.base}/scim/v2/Users/{user_id}",
        json=body,
        headers={"Authorization": f"Bearer {server.keys['scim']}", "Content-Type": "application/scim+json"},
        timeout=30,
    )
    return response.status_code, response.text, response.headers
