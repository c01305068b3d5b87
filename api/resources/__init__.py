"""Thin resources: parse, call one domain function, set the answer.

A resource declares `scopes` (the API key scopes that may call it) or `public`.
Under the admin scope the acting person comes from the X-Acting-User header;
under the operator scope the key itself acts, trusted with every action."""

ADMIN_SCOPES = frozenset({"admin", "operator"})
OPERATOR_SCOPES = frozenset({"operator"})
