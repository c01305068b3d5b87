"""Thin resources: decode (api/endpoint.py), call one operation of the service
layer, answer. No SQL, no policy, no table here.

A resource declares `scopes` (the API key scopes that may call it) or `public`.
Under the admin scope the acting person comes from the X-Acting-Token header (a
signed OpenID Connect token) or the X-Acting-User header (authz/authn/acting.py);
under the operator scope the key itself acts, trusted with every action.

May import: api.endpoint, api.errors (to ask a client to retry), authz.service
and authz.contract."""

from __future__ import annotations

from authz.service import Service

CHECK_SCOPES = frozenset({"check"})
ADMIN_SCOPES = frozenset({"admin", "operator"})
OPERATOR_SCOPES = frozenset({"operator"})
ALL_SCOPES = frozenset({"check", "admin", "operator", "policy"})
SCIM_SCOPES = frozenset({"scim"})  # the identity provider (api/scim)


class Resource:
    scopes: frozenset[str] = frozenset()
    public = False

    def __init__(self, service: Service):
        self.service = service
        self.body_limit = service.settings.max_body_bytes  # the largest request body accepted, in bytes


# What the responders of each kind of route may answer besides their success.
STORE_ERRORS = {503: "The database is unavailable: nothing was decided; retry after Retry-After seconds"}
# Keys are read from the database (and the change log with them), so any route
# that authenticates may also find it unavailable.
AUTH_ERRORS = {
    401: "Missing, unknown or revoked API key",
    403: "The key's scope may not call this route",
    **STORE_ERRORS,
}
BODY_ERRORS = {
    400: "Malformed request (the field is named)",
    413: "The body is larger than the limit",
    415: "The body is not JSON",
}
ADMIN_ERRORS = {
    **AUTH_ERRORS,
    **STORE_ERRORS,
    401: "Missing, unknown or revoked API key; or the acting person's token (X-Acting-Token) is not valid, "
    "names another person than X-Acting-User, or is required and absent",
    503: "The database, or the identity provider that must verify X-Acting-Token, is unavailable: nothing was "
    "decided or changed; retry after Retry-After",
    400: "Malformed request or acting person (the field is named)",
    403: "The policy or a rule protecting the site refuses the acting person (or the key's scope)",
    404: "No such site, or the acting person is not a member of it (indistinguishable)",
}
CONFLICT = {409: "Conflicts with the site's state (already a member, at most four secondaries, ...)"}
RULE = {422: "A rule of the domain forbids it (the field is named where there is one)"}
