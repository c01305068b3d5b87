"""The OpenAPI document, generated: from the routes (api/app.py), each
responder's @endpoint (api/endpoint.py), the contract's types (authz/contract,
through msgspec's JSON Schema) and, for the names the policy defines (actions,
applications, levels), the policy in force. Nothing is written twice, so the
document cannot drift from what the server does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from api.decoding import PATH_PARAMETERS
from api.endpoint import Endpoint
from authz.contract.actors import ACTING_TOKEN_MAX_LENGTH
from authz.contract.common import Error, LoginId, SiteNumber
from authz.contract.policy import PolicyDescription
from models.identifiers import DESCRIPTION as LOGIN_ID_DESCRIPTION
from models.identifiers import LOGIN_ID_PATTERN

VERSION = "0.1.0"
METHODS = ("get", "post", "put", "patch", "delete")
_REF = "#/components/schemas/{name}"
_ACTING = {
    "name": "X-Acting-User",
    "in": "header",
    "required": False,
    "description": "Login id of the person acting (required with an admin-scope key unless X-Acting-Token "
    "is sent, and refused alone where the service requires a token; an operator-scope key acts as itself). "
    + LOGIN_ID_DESCRIPTION
    + " Beyond ASCII, the header's bytes are read as UTF-8, or as Latin-1 when they are not UTF-8.",
}
_ACTING_TOKEN = {
    "name": "X-Acting-Token",
    "in": "header",
    "required": False,
    "description": "With an admin-scope key: the acting person's OpenID Connect token (a JWT access token "
    "or ID token of the configured issuer, for this service's audience), which proves who acts; the login "
    "id is read from its claims. If X-Acting-User is sent too, both must name the same person. Any bad "
    "token is 401 invalid_token.",
    "schema": {"type": "string", "maxLength": ACTING_TOKEN_MAX_LENGTH},
}

_TOO_LARGE_HEADER = (
    f"A header line over 8190 bytes (an X-Acting-Token far over its {ACTING_TOKEN_MAX_LENGTH} characters), refused by "
    "the HTTP server before the service sees the request"
)
_TOO_LONG_LINE = "A request line over 8190 bytes, refused by the HTTP server before the service sees the request"
_MALFORMED_ACTING = {
    "description": "A malformed X-Acting-User or X-Acting-Token (the field is named), whatever the key",
    "content": {"application/json": {"schema": {"$ref": _REF.format(name="Error")}}},
}
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 1},
}


def build_document(routes: Iterable[tuple[str, Any]], policy: PolicyDescription) -> dict[str, Any]:
    """The document for ROUTES ((uri template, resource) pairs) under POLICY."""
    operations = [
        (path, method, resource, getattr(resource, f"on_{method}").endpoint)
        for path, resource in routes
        for method in METHODS
        if hasattr(resource, f"on_{method}")
    ]
    types = _types(spec for _, _, _, spec in operations)
    _, components = msgspec.json.schema_components(types, ref_template=_REF)
    for kind in types:  # what a type's own checks add that msgspec cannot say (MemberChange: not empty)
        if hasattr(kind, "json_schema_extra"):
            components[kind.__name__].update(kind.json_schema_extra)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, resource, spec in operations:
        paths.setdefault(path, {})[method] = _operation(path, method, resource, spec, components)
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "authz: site authorization service",
            "version": VERSION,
            "description": f"Policy version {policy.version}: the names of actions, applications and "
            "levels below are this policy's.",
        },
        "components": {"schemas": components, "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "security": [{"apiKey": []}],
        "paths": paths,
    }
    return _with_catalogue(document, policy)


def _types(specs: Iterable[Endpoint]) -> list[Any]:
    found: list[Any] = [Error]
    for spec in specs:
        extra = [value[1] for value in spec.errors.values() if isinstance(value, tuple)]
        for kind in (spec.returns, spec.body, spec.query, *extra):
            if kind is not None and kind not in found:
                found.append(kind)
    return found


def _operation(path: str, method: str, resource: Any, spec: Endpoint, components: dict[str, Any]) -> dict:
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": f"{method}{type(resource).__name__}",
        "parameters": _parameters(path, resource, spec, components),
        "responses": _responses(spec),
    }
    if "{" in path or spec.query is not None:
        operation["responses"]["414"] = {"description": _TOO_LONG_LINE}
    if "admin" in resource.scopes:
        operation["responses"]["431"] = {"description": _TOO_LARGE_HEADER}
        operation["responses"].setdefault("400", _MALFORMED_ACTING)
    if spec.description:
        operation["description"] = spec.description
    if resource.public:
        operation["security"] = []
    else:  # OpenAPI 3.1: a non-OAuth scheme's requirement may name the roles it needs: the key scopes
        operation["security"] = [{"apiKey": sorted(resource.scopes)}]
    if spec.body is not None:
        operation["requestBody"] = {
            "required": not spec.body_optional,
            "content": {"application/json": {"schema": _ref(spec.body)}},
        }
    return operation


def _parameters(path: str, resource: Any, spec: Endpoint, components: dict[str, Any]) -> list[dict]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": msgspec.json.schema(kind)}
        for name, kind in PATH_PARAMETERS.items()
        if f"{{{name}}}" in path
    ]
    if spec.query is not None:
        schema = components[spec.query.__name__]
        required = set(schema.get("required", ()))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema["properties"].items()
        ]
    if "admin" in resource.scopes:
        parameters.append({**_ACTING, "schema": msgspec.json.schema(LoginId)})
        parameters.append(_ACTING_TOKEN)
    return parameters


def _responses(spec: Endpoint) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "OK" if spec.status == 200 else "Created"}
    if spec.returns is not None:
        success["content"] = {"application/json": {"schema": _ref(spec.returns)}}
    elif spec.media_type:
        success["content"] = {spec.media_type: {}}
    responses = {str(spec.status): success}
    for status, value in sorted(spec.errors.items()):
        description, kind = value if isinstance(value, tuple) else (value, Error)
        responses[str(status)] = {"description": description, "content": {"application/json": {"schema": _ref(kind)}}}
        if status == 503:
            responses[str(status)]["headers"] = {"Retry-After": _RETRY_AFTER}
    return responses


def _ref(kind: Any) -> dict[str, str]:
    return {"$ref": _REF.format(name=kind.__name__)}


def _with_catalogue(document: dict[str, Any], policy: PolicyDescription) -> dict[str, Any]:
    """Replace every `x-catalogue` schema with the policy's own values, and every
    identifier (format login-id or site-number) with one shared schema that
    carries the character rule's (long) pattern once."""
    actions = [action.id for app in policy.applications for action in app.actions]
    levels = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            app.id: {"type": "string", "enum": [level.id for level in app.levels]} for app in policy.applications
        },
    }

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("format") in _IDENTIFIER_SCHEMAS and node.get("type") == "string":
                return {"$ref": _REF.format(name=_IDENTIFIER_SCHEMAS[node["format"]])}
            kind = node.get("x-catalogue")
            if kind == "actions":
                return {"type": "string", "enum": actions, "description": node.get("description", "")}
            if kind == "levels":
                return {**levels, "description": node.get("description", "")}
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    done = walk(document)
    done["components"]["schemas"].update(_identifier_schemas())
    return done


_IDENTIFIER_SCHEMAS = {"login-id": "LoginId", "site-number": "SiteNumber"}


def _identifier_schemas() -> dict[str, Any]:
    return {
        "LoginId": {**msgspec.json.schema(LoginId), "pattern": LOGIN_ID_PATTERN},
        "SiteNumber": {**msgspec.json.schema(SiteNumber), "pattern": LOGIN_ID_PATTERN},
    }
