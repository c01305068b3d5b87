"""The OpenAPI document is generated from the routes and the contract's types:
every route is documented, every documented route is served, and the document
says what the server enforces."""

import json
import re
import subprocess

import falcon.inspect
import jsonschema
import pytest

# Falcon answers OPTIONS and unknown methods itself; those are not part of the API.
FALCON_DEFAULTS = {"OPTIONS"}
# The SCIM door has its own discovery (/scim/v2/Schemas, ...), media type and errors.
SCIM_PREFIX = "/scim/v2/"


def served_routes(app) -> dict[str, set[str]]:
    routes = {}
    for route in falcon.inspect.inspect_routes(app):
        if route.path.startswith(SCIM_PREFIX):
            continue
        methods = {m.method for m in route.methods if not m.internal} - FALCON_DEFAULTS
        routes[route.path] = methods
    return routes


@pytest.fixture
def document(client):
    resp = client.simulate_get("/openapi.json")
    assert resp.status_code == 200
    return resp.json


# Pages and redirects for a browser (sign-in, the console), not the API: left out of the document.
BROWSER_PREFIX = "/console/"


def test_document_matches_routes(client, document):
    documented = {path: {m.upper() for m in ops} for path, ops in document["paths"].items()}
    api = {
        path: methods
        for path, methods in served_routes(client.app).items()
        if not (path + "/").startswith(BROWSER_PREFIX)  # /console itself too
    }
    assert api == documented
    assert any(path.startswith(BROWSER_PREFIX) for path in served_routes(client.app))  # the filter filters something


def test_the_scim_door_is_served_but_not_in_the_document(client, document):
    scim = {route.path for route in falcon.inspect.inspect_routes(client.app) if route.path.startswith(SCIM_PREFIX)}
    assert {"/scim/v2/Users", "/scim/v2/Users/{user_id}", "/scim/v2/ServiceProviderConfig"} <= scim
    assert not any(path.startswith(SCIM_PREFIX) for path in document["paths"])


def test_every_operation_documents_its_responses_and_refs_resolve(document):
    schemas = document["components"]["schemas"]
    for ref in re.findall(r"#/components/schemas/(\w+)", str(document)):
        assert ref in schemas, ref
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert op["responses"], (path, method)


def test_request_bodies_are_closed_and_carry_the_limits(document):
    schemas = document["components"]["schemas"]
    for name in (
        "CheckRequest",
        "BatchCheckRequest",
        "BatchItem",
        "NewMember",
        "MemberChange",
        "Grant",
        "Denial",
        "ContactInput",
        "NotificationEmail",
        "NewSite",
        "PrimaryTransfer",
        "AccessRequestInput",
    ):
        assert schemas[name]["additionalProperties"] is False, name
    check = schemas["CheckRequest"]
    assert check["required"] == ["user", "site", "action"]
    assert check["properties"]["user"] == {"$ref": "#/components/schemas/LoginId"}
    login_id = schemas["LoginId"]
    assert (login_id["minLength"], login_id["maxLength"], login_id["format"]) == (1, 320, "login-id")
    assert re.fullmatch(login_id["pattern"], "carol@acme.example")
    assert not any(re.search(login_id["pattern"], bad) for bad in (" carol", "carol ", "car\u200bol", "carol\u2028"))
    assert schemas["BatchCheckRequest"]["properties"]["checks"]["maxItems"] == 1000


def test_names_the_policy_defines_are_enums_of_the_policy_in_force(document, policy_table):
    schemas = document["components"]["schemas"]
    assert schemas["CheckRequest"]["properties"]["action"]["enum"] == list(policy_table.catalogue.action_application)
    levels = schemas["NewMember"]["properties"]["levels"]
    assert levels["additionalProperties"] is False
    assert levels["properties"]["reporting"]["enum"] == list(policy_table.level_order("reporting"))
    assert set(schemas["Denial"]["properties"]["reason"]["enum"]) == {
        "requestor_unknown",
        "access_not_necessary",
        "no_business_relationship",
    }
    assert set(schemas["ContactInput"]["properties"]["contact_types"]["items"]["enum"]) == {
        "primary",
        "technical",
        "administrative",
        "renewal",
        "media_shipping",
        "billing",
    }


def test_the_policy_answer_matches_its_documented_schema(client, auth, document):
    """The one answer the old hand-written document got wrong: GET /v1/policy."""
    schemas = document["components"]["schemas"]
    body = client.simulate_get("/v1/policy", headers=auth).json
    schema = {**schemas["PolicyDescription"], "components": {"schemas": schemas}}
    resolver_schema = _inline_refs(schema, schemas)
    jsonschema.validate(body, resolver_schema)


def _inline_refs(node, schemas):
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline_refs(schemas[node["$ref"].rsplit("/", 1)[1]], schemas)
        return {k: _inline_refs(v, schemas) for k, v in node.items() if k != "components"}
    if isinstance(node, list):
        return [_inline_refs(v, schemas) for v in node]
    return node


def test_documented_error_statuses_include_what_the_server_returns(client, auth, document):
    responses = document["paths"]["/v1/check"]["post"]["responses"]
    for headers, body in (({**auth}, {}), ({}, {}), ({**auth}, {"user": "a", "site": "1", "action": "nope"})):
        resp = client.simulate_post("/v1/check", json=body, headers=headers)
        assert str(resp.status_code) in responses
    resp = client.simulate_post("/v1/check", body="a=b", headers={**auth, "Content-Type": "text/plain"})
    assert resp.status_code == 415 and "415" in responses


# Strings each pattern of the document is tried on, in both regex dialects: ASCII, BMP
# and astral characters, refused ones (format, separator, private use, surrogate) among them.
PATTERN_SAMPLES = [
    "carol@acme.example",
    " carol",
    "carol ",
    "car\u200bol",
    "carol\u2028",
    "jos\u00e9",
    "\U0001f600x",
    "a\U000e0001b",
    "a\U000f0000b",
    "\U00010000",
    "a\U0010ffffb",
    "a\ud800b",
    "1001",
]
_NODE = """
const [patterns, samples] = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(patterns.map(p => {
  try { const r = new RegExp(p, "u"); return samples.map(s => r.test(s)); } catch (e) { return String(e); }
})));
"""


def _patterns(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return found.union(*(_patterns(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_patterns(value) for value in node))
    return set()


def test_every_pattern_reads_alike_in_ecma_262_and_in_python(document):
    """JSON Schema's regular expressions are ECMA-262's: a client validating with a
    JavaScript engine (ajv's default, the u flag) must accept what the server does."""
    patterns = sorted(_patterns(document))
    assert patterns, "the document has no pattern"
    answer = subprocess.run(
        ["node", "-e", _NODE], input=json.dumps([patterns, PATTERN_SAMPLES]), capture_output=True, text=True, check=True
    )
    in_ecma = json.loads(answer.stdout)
    in_python = [[re.search(pattern, sample) is not None for sample in PATTERN_SAMPLES] for pattern in patterns]
    assert in_ecma == in_python
