"""The OpenAPI document: written by hand, held against the routes by
tests/api/test_openapi.py so that it describes exactly what the server does."""

from __future__ import annotations

VERSION = "0.1.0"


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_ref: str, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


_AUTH_ERRORS = {"401": _error("Missing, unknown or revoked API key"), "403": _error("The key's scope may not call this route")}
_SITE = {"name": "site", "in": "path", "required": True, "schema": {"type": "string"}, "description": "Site number"}

_SCHEMAS = {
    "Error": {
        "type": "object", "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "Machine-readable code"},
            "message": {"type": "string"},
            "field": {"type": "string", "description": "The request field at fault, when there is one"},
        },
    },
    "CheckRequest": {
        "type": "object", "required": ["user", "site", "action"], "additionalProperties": False,
        "properties": {
            "user": {"type": "string", "maxLength": 320, "description": "Login id (case-insensitive)"},
            "site": {"type": "string", "maxLength": 64, "description": "Site number"},
            "action": {"type": "string", "maxLength": 64, "description": "An action id from GET /v1/policy"},
            "min_change_seq": {"type": "integer", "minimum": 0,
                               "description": "Answer from data at least this fresh (a change_seq seen earlier)"},
        },
    },
    "BatchCheckRequest": {
        "type": "object", "required": ["checks"], "additionalProperties": False,
        "properties": {
            "checks": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {
                "type": "object", "required": ["user", "site", "action"], "additionalProperties": False,
                "properties": {"user": {"type": "string"}, "site": {"type": "string"}, "action": {"type": "string"}}}},
            "min_change_seq": {"type": "integer", "minimum": 0},
        },
    },
    "Decision": {
        "type": "object", "required": ["allowed", "decision_id", "policy_version", "change_seq", "reason"],
        "properties": {
            "allowed": {"type": "boolean"},
            "decision_id": {"type": "string"},
            "policy_version": {"type": "string", "description": "Content hash of the policy files that decided"},
            "change_seq": {"type": "integer", "description": "The latest data change this answer reflects"},
            "reason": {"$ref": "#/components/schemas/Reason"},
        },
    },
    "Reason": {
        "type": "object", "required": ["code"],
        "properties": {
            "code": {"type": "string", "enum": [
                "allowed", "unknown_user", "unknown_site", "no_membership", "role_may_not_hold",
                "level_too_low", "not_permitted_for_role", "unknown_level", "unknown_role"]},
            "role": {"type": "string"}, "application": {"type": "string"},
            "level": {"type": "string", "description": "The level that counted"},
            "required_level": {"type": "string", "description": "The lowest level that would allow it"},
            "rule": {"type": "string", "description": "The Casbin rule that allowed it"},
            "source": {"type": "string", "description": "file:line of that rule"},
        },
    },
    "BatchCheckResponse": {"type": "object", "required": ["results"], "properties": {
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Decision"}}}},
    "Permissions": {
        "type": "object", "required": ["user", "site", "role", "applications", "policy_version", "change_seq"],
        "properties": {
            "user": {"type": "string"}, "site": {"type": "string"}, "role": {"type": "string"},
            "policy_version": {"type": "string"}, "change_seq": {"type": "integer"},
            "applications": {"type": "array", "items": {"type": "object", "properties": {
                "application": {"type": "string"}, "level": {"type": "string"},
                "allowed_actions": {"type": "array", "items": {"type": "string"}}}}},
        },
    },
    "ActionMembers": {
        "type": "object", "required": ["site", "action", "members", "next_after"],
        "properties": {
            "site": {"type": "string"}, "action": {"type": "string"},
            "policy_version": {"type": "string"}, "change_seq": {"type": "integer"},
            "members": {"type": "array", "items": {"type": "object", "properties": {
                "user": {"type": "string"}, "email": {"type": "string"},
                "role": {"type": "string"}, "level": {"type": "string"}}}},
            "next_after": {"type": ["string", "null"], "description": "Pass as ?after= for the next page; null on the last"},
        },
    },
    "Policy": {"type": "object", "required": ["version", "roles", "applications"], "properties": {
        "version": {"type": "string"}, "roles": {"type": "array", "items": {"type": "object"}},
        "applications": {"type": "array", "items": {"type": "object"}}}},
    "Readiness": {"type": "object", "required": ["ready"], "properties": {
        "ready": {"type": "boolean"}, "database": {"type": "string"}, "policy_version": {"type": "string"}}},
}

_PATHS = {
    "/v1/check": {"post": {
        "summary": "May this person do this action on this site?", "operationId": "check",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckRequest"}}}},
        "responses": {"200": _json("Decision", "The decision, with its reason"),
                      "400": _error("Malformed request or unknown action"), **_AUTH_ERRORS,
                      "503": _error("Database unavailable: no decision")},
    }},
    "/v1/check/batch": {"post": {
        "summary": "Up to 1000 checks, answered in order, under one policy version", "operationId": "checkBatch",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchCheckRequest"}}}},
        "responses": {"200": _json("BatchCheckResponse"), "400": _error("A malformed check (its index is named)"),
                      **_AUTH_ERRORS, "503": _error("Database unavailable")},
    }},
    "/v1/sites/{site}/members/{login_id}/permissions": {"get": {
        "summary": "Effective permissions of a member on a site", "operationId": "memberPermissions",
        "parameters": [_SITE, {"name": "login_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json("Permissions"), "404": _error("Not a member of that site"), **_AUTH_ERRORS},
    }},
    "/v1/sites/{site}/actions/{action}/members": {"get": {
        "summary": "Who on a site may perform an action (paged by login id)", "operationId": "actionMembers",
        "parameters": [
            _SITE, {"name": "action", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
            {"name": "after", "in": "query", "schema": {"type": "string"}, "description": "next_after of the previous page"},
        ],
        "responses": {"200": _json("ActionMembers"), "400": _error("Unknown action or bad paging"), **_AUTH_ERRORS},
    }},
    "/v1/policy": {"get": {
        "summary": "Active policy version and the catalogue of applications, levels and actions", "operationId": "policy",
        "responses": {"200": _json("Policy"), **_AUTH_ERRORS},
    }},
    "/healthz": {"get": {"summary": "Liveness", "operationId": "health", "security": [],
                         "responses": {"200": {"description": "The process answers"}}}},
    "/readyz": {"get": {"summary": "Readiness: database reachable and migrated, policy loaded", "operationId": "ready",
                        "security": [], "responses": {"200": _json("Readiness"), "503": _json("Readiness", "Not ready")}}},
    "/metrics": {"get": {"summary": "Prometheus metrics of every worker", "operationId": "metrics", "security": [],
                         "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}}}},
    "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi", "security": [],
                              "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}}}},
}


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "authz: site authorization service", "version": VERSION},
        "components": {"schemas": _SCHEMAS, "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "security": [{"apiKey": []}],
        "paths": _PATHS,
    }
