"""The OpenAPI document describes exactly the routes and methods the server has."""

import falcon.inspect

from api.openapi import openapi_document

# Falcon answers OPTIONS and unknown methods itself; those are not part of the API.
FALCON_DEFAULTS = {"OPTIONS"}


def served_routes(app) -> dict[str, set[str]]:
    routes = {}
    for route in falcon.inspect.inspect_routes(app):
        methods = {m.method for m in route.methods if not m.internal} - FALCON_DEFAULTS
        routes[route.path] = methods
    return routes


def test_document_matches_routes(client):
    documented = {path: {m.upper() for m in ops} for path, ops in openapi_document()["paths"].items()}
    assert served_routes(client.app) == documented


def test_every_operation_documents_its_responses_and_refs_resolve(client):
    doc = client.simulate_get("/openapi.json").json
    schemas = doc["components"]["schemas"]
    text = str(doc)
    import re
    for ref in re.findall(r"#/components/schemas/(\w+)", text):
        assert ref in schemas, ref
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"], (path, method)
            assert op["operationId"]


def test_documented_error_statuses_include_what_the_server_returns(client, auth):
    doc = openapi_document()["paths"]
    resp = client.simulate_post("/v1/check", json={}, headers=auth)
    assert str(resp.status_code) in doc["/v1/check"]["post"]["responses"]
    resp = client.simulate_post("/v1/check", json={})
    assert str(resp.status_code) in doc["/v1/check"]["post"]["responses"]
