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
    "Policy": {"type": "object", "required": ["version", "roles", "applications", "active", "workers"], "properties": {
        "version": {"type": "string"}, "roles": {"type": "array", "items": {"type": "object"}},
        "applications": {"type": "array", "items": {"type": "object"}},
        "active": {"type": "object", "description": "version, since, source (configured or last good snapshot)"},
        "last_attempt": {"type": ["object", "null"], "description": "at, trigger, ok, version, errors"},
        "workers": {"type": "array", "description": "the version each worker of this server serves",
                    "items": {"type": "object", "properties": {
                        "pid": {"type": "integer"}, "version": {"type": "string"}, "since": {"type": "string"},
                        "source": {"type": "string"}}}}}},
    "ReloadResult": {"type": "object", "required": ["ok", "active_version", "errors"], "properties": {
        "ok": {"type": "boolean"}, "version": {"type": ["string", "null"]},
        "active_version": {"type": "string"}, "errors": {"type": "array", "items": {"type": "string"}}}},
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
    "/v1/policy/reload": {"post": {
        "summary": "Reload the policy files: build aside, validate, run the suites, swap only if all pass "
                   "(this worker now; every other worker of the server on its next check)",
        "operationId": "reloadPolicy",
        "responses": {"200": _json("ReloadResult", "The new policy (or the same) is active"),
                      "422": _json("ReloadResult", "Refused: the last good policy stays active"), **_AUTH_ERRORS},
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
    "Profile": {"type": "object", "properties": {
        "login_id": {"type": "string"}, "email": {"type": "string"}, "first_name": {"type": "string"},
        "last_name": {"type": "string"}, "phone": {"type": "string"},
        "notification_email": {"type": ["string", "null"], "description": "Where messages go; null: the email"}}},
    "NotificationEmail": {"type": "object", "required": ["notification_email"], "additionalProperties": False,
                          "properties": {"notification_email": {"type": ["string", "null"]}}},
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
    "/v1/me": {
        "get": _admin("The acting person's profile", "getMe", {"200": _json("Profile")}),
        "patch": _admin("Set or clear (null) one's own notification email", "setNotificationEmail",
                        {"200": _json("Profile")}, body="NotificationEmail"),
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


# -- access requests (authz/access_requests.py) ---------------------------------
_REQUEST_ID = {"name": "request_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_SCHEMAS.update({
    "NewAccessRequest": {"type": "object", "additionalProperties": False, "properties": {
        "business_justification": {"type": "string", "maxLength": 2000, "description": "Optional"},
        "login_id": {"type": "string", "description": "Operator scope only: the person asking. "
                                                     "With an admin key the acting person asks for themselves"}}},
    "AccessRequest": {"type": "object", "properties": {
        "id": {"type": "integer"}, "site": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "granted", "denied"]},
        "business_justification": {"type": ["string", "null"]}, "requested_at": {"type": "string"},
        "requester": {"type": "object", "properties": {
            "login_id": {"type": "string"}, "first_name": {"type": "string"}, "last_name": {"type": "string"},
            "email": {"type": "string"}, "phone": {"type": "string"}}},
        "decided_at": {"type": ["string", "null"]}, "decided_by": {"type": ["string", "null"]},
        "deny_reason": {"type": ["string", "null"]}, "deny_reason_text": {"type": ["string", "null"]},
        "granted_role": {"type": ["string", "null"]},
        "granted_levels": {"oneOf": [{"$ref": "#/components/schemas/Levels"}, {"type": "null"}]}}},
    "AccessRequestPage": {"type": "object", "properties": {
        "site": {"type": "string"}, "status": {"type": "string"},
        "requests": {"type": "array", "items": {"$ref": "#/components/schemas/AccessRequest"}},
        "next_after": {"type": ["integer", "null"], "description": "Pass as ?after= for the next page; null on the last"}}},
    "AccessGrant": {"type": "object", "required": ["role"], "additionalProperties": False, "properties": {
        "role": {"type": "string", "enum": ["secondary", "user"]},
        "levels": {"$ref": "#/components/schemas/Levels"},
        "business_justification": {"type": "string", "maxLength": 2000,
                                   "description": "Required when the request gave none"}}},
    "AccessGranted": {"type": "object", "properties": {
        "request": {"$ref": "#/components/schemas/AccessRequest"},
        "member": {"$ref": "#/components/schemas/Member"},
        "change_seq": {"type": "integer", "description": "Pass as min_change_seq to see it in checks"}}},
    "AccessDenial": {"type": "object", "required": ["reason"], "additionalProperties": False, "properties": {
        "reason": {"type": "string", "enum": ["requestor_unknown", "access_not_necessary", "no_business_relationship"]}}},
})
_DECIDED = {"409": _error("The request was already decided, or grant conflicts with the site's state "
                          "(already a member, at most four secondaries)")}
_PATHS.update({
    "/v1/sites/{site}/access-requests": {
        "get": _admin("List the site's access requests with the requesters' details (view_access_requests)",
                      "listAccessRequests", {"200": _json("AccessRequestPage")}, params=[
                          _SITE, {"name": "status", "in": "query", "schema": {
                              "type": "string", "enum": ["pending", "granted", "denied", "all"], "default": "pending"}},
                          {"name": "limit", "in": "query",
                           "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                          {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0},
                           "description": "next_after of the previous page"}]),
        "post": _admin("Ask for access to the site for the acting person (any known identity; not a member check)",
                       "requestAccess", {"201": _json("AccessRequest", "Requested")}, params=[_SITE],
                       body="NewAccessRequest",
                       extra={"404": _error("No such site"),
                              "409": _error("Already a member, or already an open request"),
                              "422": _error("The requester is not a known identity")}),
    },
    "/v1/sites/{site}/access-requests/{request_id}/grant": {"post": _admin(
        "Grant a pending request: the requester becomes a member (decide_access_requests); they are notified",
        "grantAccessRequest", {"200": _json("AccessGranted")}, params=[_SITE, _REQUEST_ID], body="AccessGrant",
        extra={**_DECIDED, **_RULE})},
    "/v1/sites/{site}/access-requests/{request_id}/deny": {"post": _admin(
        "Deny a pending request with one reason (decide_access_requests); the requester is notified",
        "denyAccessRequest", {"200": _json("AccessRequest")}, params=[_SITE, _REQUEST_ID], body="AccessDenial",
        extra={**_DECIDED, "422": _error("The reason is not exactly one of the three allowed")})},
})

# -- contact updates (authz/contacts.py) ---------------------------------------

_CONTACT_TYPE_IDS = ["primary", "technical", "administrative", "renewal", "media_shipping", "billing"]
_CONTACT_FIELDS = {
    "first_name": {"type": "string", "minLength": 1, "maxLength": 100},
    "last_name": {"type": "string", "minLength": 1, "maxLength": 100},
    "telephone": {"type": "string", "minLength": 1, "maxLength": 50},
    "email": {"type": "string", "minLength": 3, "maxLength": 320,
              "description": "The contact's address; never any person's login or notification email"},
    "street_address": {"type": "string", "minLength": 1, "maxLength": 500, "description": "May span lines"},
    "city": {"type": "string", "minLength": 1, "maxLength": 100},
    "state_province": {"type": "string", "minLength": 1, "maxLength": 100},
    "postal_code": {"type": "string", "minLength": 1, "maxLength": 20},
    "contact_types": {"type": "array", "minItems": 1, "uniqueItems": True,
                      "items": {"type": "string", "enum": _CONTACT_TYPE_IDS},
                      "description": "At least one; returned in this order"},
}
_DAYS = {"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 3650, "default": 30},
         "description": "A site is overdue when its contacts were not reviewed in this many days"}
_CONTACT_ID = {"name": "contact_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_CONTACT_RULE = {"422": _error("A mandatory field is missing, empty or malformed, or contact_types is not a "
                               "non-empty list of known types (the field is named); nothing was changed")}
_REVIEW_STATE = {
    "last_reviewed_at": {"type": ["string", "null"]}, "last_reviewed_by": {"type": ["string", "null"]},
    "last_reminded_at": {"type": ["string", "null"]}}

_SCHEMAS.update({
    "ContactInput": {"type": "object", "additionalProperties": False, "required": list(_CONTACT_FIELDS),
                     "properties": _CONTACT_FIELDS,
                     "description": "The whole record: a save replaces every field"},
    "Contact": {"type": "object", "properties": {
        "id": {"type": "integer"}, "site": {"type": "string"}, **_CONTACT_FIELDS,
        "created_at": {"type": "string"}, "updated_at": {"type": "string"}, "updated_by": {"type": "string"}}},
    "ContactList": {"type": "object", "properties": {
        "site": {"type": "string"}, "contacts": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
        "review": {"type": "object", "properties": {**_REVIEW_STATE, "overdue": {"type": "boolean"}}},
        "uncovered_types": {"type": "array", "items": {"type": "string", "enum": _CONTACT_TYPE_IDS},
                            "description": "Types no contact carries (a warning)"}}},
    "ContactDeleted": {"type": "object", "properties": {"deleted": {"type": "integer"}, "site": {"type": "string"}}},
    "ContactsReviewed": {"type": "object", "properties": {
        "site": {"type": "string"}, "reviewed_at": {"type": "string"}, "reviewed_by": {"type": "string"},
        "contacts": {"type": "integer"}}},
    "OverdueSites": {"type": "object", "properties": {
        "days": {"type": "integer"}, "sites": {"type": "array", "items": {"type": "object", "properties": {
            "site": {"type": "string"}, "name": {"type": "string"}, **_REVIEW_STATE,
            "primary": {"type": ["string", "null"]}}}}}},
    "ReviewReminders": {"type": "object", "properties": {
        "days": {"type": "integer"},
        "reminded": {"type": "array", "items": {"type": "object", "properties": {
            "site": {"type": "string"}, "name": {"type": "string"}, "primary": {"type": "string"},
            "recipient": {"type": "string"}, "last_reviewed_at": {"type": ["string", "null"]}}}},
        "skipped": {"type": "array", "items": {"type": "object", "properties": {
            "site": {"type": "string"}, "reason": {"type": "string", "enum": [
                "reminded_recently", "reviewed_meanwhile", "no_primary", "no_valid_address", "site_gone"]},
            "last_reminded_at": {"type": "string"}}}}}},
})

_PATHS.update({
    "/v1/sites/{site}/contacts": {
        "get": _admin("The site's contacts and their last review (view_contacts)", "listContacts",
                      {"200": _json("ContactList")}, params=[_SITE]),
        "post": _admin("Add a contact, whole (edit_contacts)", "createContact", {"201": _json("Contact", "Created")},
                       params=[_SITE], body="ContactInput",
                       extra={"409": _error("The site already keeps the most contacts allowed"), **_CONTACT_RULE}),
    },
    "/v1/sites/{site}/contacts/{contact_id}": {
        "put": _admin("Save a contact, whole: every field is replaced, or none (edit_contacts)", "replaceContact",
                      {"200": _json("Contact")}, params=[_SITE, _CONTACT_ID], body="ContactInput",
                      extra={**_CONTACT_RULE, "404": _error(
                          "No such site or contact (another site's contact is not found either)")}),
        "delete": _admin("Delete a contact (edit_contacts)", "deleteContact", {"200": _json("ContactDeleted")},
                         params=[_SITE, _CONTACT_ID], extra={"404": _error(
                             "No such site or contact (another site's contact is not found either)")}),
    },
    "/v1/sites/{site}/contacts/review": {"post": _admin(
        "Mark the site's contacts reviewed now, by the acting person (mark_contacts_reviewed)", "markContactsReviewed",
        {"200": _json("ContactsReviewed")}, params=[_SITE])},
    "/v1/contacts/overdue": {"get": {
        "summary": "Sites whose contacts were never reviewed or not in the last DAYS days (operator scope)",
        "operationId": "overdueContactReviews", "parameters": [_DAYS],
        "responses": {"200": _json("OverdueSites"), "400": _error("Bad days"), **_AUTH_ERRORS}}},
    "/v1/contacts/review-reminders": {"post": {
        "summary": "Queue a review reminder to the primary contact of each overdue site, at most once "
                   "per 7 days per site (operator scope)",
        "operationId": "sendReviewReminders", "parameters": [_DAYS],
        "responses": {"200": _json("ReviewReminders", "The sites reminded, and those skipped with why"),
                      "400": _error("Bad days"), **_AUTH_ERRORS}}},
})


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "authz: site authorization service", "version": VERSION},
        "components": {"schemas": _SCHEMAS, "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "security": [{"apiKey": []}],
        "paths": _PATHS,
    }
