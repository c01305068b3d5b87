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


_ACTING = {"name": "X-Acting-User", "in": "header", "required": False, "schema": {"type": "string"},
           "description": "Login id of the person acting (required with an admin-scope key; "
                          "an operator-scope key acts as itself)"}
_LOGIN = {"name": "login_id", "in": "path", "required": True, "schema": {"type": "string"}}
_ADMIN_ERRORS = {
    **_AUTH_ERRORS,
    "400": _error("Malformed request (the field is named)"),
    "403": _error("The policy or a rule protecting the site refuses the acting person"),
    "404": _error("No such site, or the acting person is not a member of it (indistinguishable)"),
}
_PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
    {"name": "after", "in": "query", "schema": {"type": "string"}, "description": "next_after of the previous page"},
]


def _admin(summary: str, op_id: str, ok: dict, *, params=(), body: str | None = None, extra=None) -> dict:
    """An administrative operation: authorized by the policy for the acting person."""
    op = {"summary": summary, "operationId": op_id, "parameters": [_ACTING, *params],
          "responses": {**ok, **_ADMIN_ERRORS, **(extra or {})}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}}}
    return op


_SCHEMAS.update({
    "Levels": {"type": "object", "additionalProperties": {"type": "string"},
               "description": "application -> level (GET /v1/policy lists both)"},
    "Member": {"type": "object", "properties": {
        "login_id": {"type": "string"}, "email": {"type": "string"}, "first_name": {"type": "string"},
        "last_name": {"type": "string"}, "phone": {"type": "string"},
        "role": {"type": "string", "enum": ["primary", "secondary", "user"]},
        "levels": {"$ref": "#/components/schemas/Levels"},
        "added_at": {"type": "string"}, "added_by": {"type": ["string", "null"]},
        "change_seq": {"type": "integer", "description": "On changes: pass as min_change_seq to see it in checks"}}},
    "MemberPage": {"type": "object", "properties": {
        "site": {"type": "string"}, "members": {"type": "array", "items": {"$ref": "#/components/schemas/Member"}},
        "next_after": {"type": ["string", "null"]}}},
    "NewMember": {"type": "object", "required": ["login_id", "email", "business_justification", "role"], "properties": {
        "login_id": {"type": "string"}, "email": {"type": "string"}, "business_justification": {"type": "string"},
        "role": {"type": "string", "enum": ["secondary", "user"]}, "levels": {"$ref": "#/components/schemas/Levels"}}},
    "MemberChange": {"type": "object", "minProperties": 1, "additionalProperties": False, "properties": {
        "email": {"type": "string"}, "first_name": {"type": "string"}, "last_name": {"type": "string"},
        "phone": {"type": "string"}, "role": {"type": "string", "enum": ["secondary", "user"]},
        "levels": {"$ref": "#/components/schemas/Levels", "description": "Merged into the current levels"}}},
    "Removed": {"type": "object", "properties": {
        "removed": {"type": "string"}, "site": {"type": "string"}, "change_seq": {"type": "integer"}}},
    "UserCheck": {"type": "object", "properties": {
        "login_id": {"type": "string"}, "known": {"type": "boolean"}, "member": {"type": "boolean"}}},
    "NewSite": {"type": "object", "required": ["number", "name", "primary"], "properties": {
        "number": {"type": "string"}, "name": {"type": "string"},
        "primary": {"type": "object", "required": ["login_id", "email"], "properties": {
            "login_id": {"type": "string"}, "email": {"type": "string"}, "first_name": {"type": "string"},
            "last_name": {"type": "string"}, "phone": {"type": "string"}}}}},
    "Site": {"type": "object", "properties": {
        "number": {"type": "string"}, "name": {"type": "string"}, "primary": {"type": "string"},
        "change_seq": {"type": "integer"}}},
    "SiteList": {"type": "object", "properties": {"sites": {"type": "array", "items": {
        "$ref": "#/components/schemas/Site"}}}},
    "AuditPage": {"type": "object", "properties": {
        "site": {"type": "string"}, "next_before": {"type": ["integer", "null"]},
        "records": {"type": "array", "items": {"type": "object", "properties": {
            "seq": {"type": "integer"}, "at": {"type": "string"}, "actor": {"type": "string"},
            "site_number": {"type": ["string", "null"]}, "action": {"type": "string"},
            "target": {"type": ["string", "null"]}, "outcome": {"type": "string", "enum": ["done", "refused"]},
            "before": {}, "after": {}, "detail": {"type": ["string", "null"]}}}}}},
    "PrimaryTransfer": {"type": "object", "required": ["to"], "properties": {
        "to": {"type": "string", "description": "Login id of a member of the site"},
        "former_primary_role": {"type": "string", "enum": ["secondary", "user"], "default": "secondary"}}},
    "PrimaryTransferred": {"type": "object", "properties": {
        "site": {"type": "string"}, "primary": {"type": "string"}, "former_primary": {"type": "string"},
        "former_primary_role": {"type": "string"}, "change_seq": {"type": "integer"}}},
})

_CONFLICT = {"409": _error("Conflicts with the site's state (already a member, at most four secondaries, ...)")}
_RULE = {"422": _error("A rule of the domain forbids it (the field is named where there is one)")}

_PATHS.update({
    "/v1/sites/{site}/members": {
        "get": _admin("List the site's members (list_users)", "listMembers", {"200": _json("MemberPage")}, params=[
            _SITE, {"name": "role", "in": "query", "schema": {"type": "string"}},
            {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "Search login id, names, email"},
            *_PAGING]),
        "post": _admin("Add a known identity to the site (add_user); they get a welcome message", "addMember",
                       {"201": _json("Member", "Added")}, params=[_SITE], body="NewMember", extra={**_CONFLICT, **_RULE}),
    },
    "/v1/sites/{site}/members.csv": {"get": _admin(
        "Download the complete user list as spreadsheet-safe CSV (export_users)", "exportMembers",
        {"200": {"description": "CSV, streamed", "content": {"text/csv": {}}}}, params=[_SITE])},
    "/v1/sites/{site}/members/{login_id}": {
        "get": _admin("One member (list_users)", "getMember", {"200": _json("Member")}, params=[_SITE, _LOGIN]),
        "patch": _admin("Change a member's details, role and levels (update_user)", "updateMember",
                        {"200": _json("Member")}, params=[_SITE, _LOGIN], body="MemberChange", extra={**_CONFLICT, **_RULE}),
        "delete": _admin("Remove a member from the site (remove_user)", "removeMember",
                         {"200": _json("Removed")}, params=[_SITE, _LOGIN], extra=_RULE),
    },
    "/v1/sites/{site}/identities/{login_id}": {"get": _admin(
        "User check: is the login id a known identity, and already a member? (check_user)", "userCheck",
        {"200": _json("UserCheck")}, params=[_SITE, _LOGIN])},
    "/v1/sites": {
        "get": {"summary": "All sites (operator scope)", "operationId": "listSites",
                "responses": {"200": _json("SiteList"), **_AUTH_ERRORS}},
        "post": {"summary": "Create a site with its primary contact (operator scope)", "operationId": "createSite",
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/NewSite"}}}},
                 "responses": {"201": _json("Site", "Created"), "400": _error("Malformed request"),
                               **_AUTH_ERRORS, **_CONFLICT}},
    },
    "/v1/sites/{site}/audit": {"get": _admin(
        "The site's audit trail, newest first (view_audit)", "siteAudit", {"200": _json("AuditPage")},
        params=[_SITE, {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                {"name": "before", "in": "query", "schema": {"type": "integer"},
                 "description": "next_before of the previous page"}])},
    "/v1/sites/{site}/primary-transfer": {"post": {
        "summary": "Move the primary role to another member, atomically (operator scope)",
        "operationId": "transferPrimary", "parameters": [_SITE],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/PrimaryTransfer"}}}},
        "responses": {"200": _json("PrimaryTransferred"), "400": _error("Malformed request"),
                      "404": _error("No such site, or the new primary is not a member"),
                      **_AUTH_ERRORS, **_CONFLICT, **_RULE}}},
})


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "authz: site authorization service", "version": VERSION},
        "components": {"schemas": _SCHEMAS, "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "security": [{"apiKey": []}],
        "paths": _PATHS,
    }
