"""Nothing done on one site is visible to, or can change, another: on EVERY
administrative route of a site, a primary of site 1001 acting on site 2002 gets
the same 404 as for a site that does not exist, and 2002 is left as it was.
The routes are read from the app itself, so a new route must join the table."""

import falcon.inspect
import pytest

from api.resources import ADMIN_SCOPES
from authz.authn.keys import create_key
from authz.contract.actors import Actor
from models.schema import Membership
from tests.drive import access_requests, contacts

CONTACT = {
    "first_name": "Tess",
    "last_name": "Tech",
    "telephone": "+1 555 0300",
    "email": "tess@globex.example",
    "street_address": "1 Main St",
    "city": "Springfield",
    "state_province": "IL",
    "postal_code": "62701",
    "contact_types": ["technical"],
}

# (method, route) -> body. {login_id}, {request_id} and {contact_id} name real records of site 2002.
REQUESTS = {
    ("GET", "/v1/sites/{site}/members"): None,
    ("POST", "/v1/sites/{site}/members"): {
        "login_id": "carol@acme.example",
        "email": "carol@acme.example",
        "business_justification": "x",
        "role": "user",
    },
    ("GET", "/v1/sites/{site}/members.csv"): None,
    ("GET", "/v1/sites/{site}/members/{login_id}"): None,
    ("PATCH", "/v1/sites/{site}/members/{login_id}"): {"levels": {"reporting": "view"}},
    ("DELETE", "/v1/sites/{site}/members/{login_id}"): None,
    ("GET", "/v1/sites/{site}/identities/{login_id}"): None,
    ("GET", "/v1/sites/{site}/access-requests"): None,
    ("POST", "/v1/sites/{site}/access-requests/{request_id}/grant"): {"role": "user", "business_justification": "x"},
    ("POST", "/v1/sites/{site}/access-requests/{request_id}/deny"): {"reason": "requestor_unknown"},
    ("GET", "/v1/sites/{site}/audit"): None,
    ("GET", "/v1/sites/{site}/contacts"): None,
    ("POST", "/v1/sites/{site}/contacts"): CONTACT,
    ("PUT", "/v1/sites/{site}/contacts/{contact_id}"): CONTACT,
    ("DELETE", "/v1/sites/{site}/contacts/{contact_id}"): None,
    ("POST", "/v1/sites/{site}/contacts/review"): None,
}
# Asking for access is, by design, what a non-member does on a site.
NOT_MEMBERS_ONLY = {("POST", "/v1/sites/{site}/access-requests")}


def admin_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for route in falcon.inspect.inspect_routes(app):
        # RouteInfo names the class, not the object: ask the router for the resource.
        resource = app._router.find(route.path.replace("{", "").replace("}", ""))[0]
        if "{site}" in route.path and getattr(resource, "scopes", None) == ADMIN_SCOPES:
            routes |= {(m.method, route.path) for m in route.methods if not m.internal and m.method != "OPTIONS"}
    return routes


def test_the_table_covers_every_administrative_site_route(client):
    assert admin_routes(client.app) - NOT_MEMBERS_ONLY == set(REQUESTS)


@pytest.fixture
def site_2002(demo, policy_table):
    """Site 2002 with a pending access request and a contact, and how it looks."""
    request = access_requests.request_access(policy_table, Actor.person("carol@acme.example"), "2002", {})
    contact = contacts.create_contact(policy_table, Actor.operator("cli"), "2002", CONTACT)
    params = {"login_id": "frank@globex.example", "request_id": request["id"], "contact_id": contact["id"]}
    return params


def snapshot(client, key):
    erin = {"Authorization": f"Bearer {key}", "X-Acting-User": "erin@globex.example"}
    members = client.simulate_get("/v1/sites/2002/members", headers=erin).json["members"]
    contacts = client.simulate_get("/v1/sites/2002/contacts", headers=erin).json
    requests = client.simulate_get("/v1/sites/2002/access-requests", headers=erin).json
    return members, contacts.get("contacts"), requests.get("requests")


@pytest.mark.parametrize("method,route", sorted(REQUESTS), ids=[f"{m} {r}" for m, r in sorted(REQUESTS)])
def test_another_site_is_indistinguishable_from_none(client, site_2002, method, route):
    key = create_key("console", "admin")[0]
    alice = {"Authorization": f"Bearer {key}", "X-Acting-User": "alice@acme.example"}
    before = snapshot(client, key)
    answers = {}
    for site in ("2002", "9999"):
        path = route.format(site=site, **site_2002)
        answers[site] = client.simulate_request(method, path, headers=alice, json=REQUESTS[(method, route)])
    assert answers["2002"].status_code == answers["9999"].status_code == 404
    assert answers["2002"].json["error"] == answers["9999"].json["error"] == "not_found"
    assert answers["2002"].json["message"].replace("2002", "9999") == answers["9999"].json["message"]
    assert snapshot(client, key) == before
    assert Membership.select().count() == 7  # the demo's memberships, none added or removed
