"""The contract of the service layer: every body an operation takes or returns,
declared once as a msgspec Struct, and the acting party.

Doors decode requests into these types (validation comes from them) and encode
the answers from them; the OpenAPI document is generated from them and the
routes (api/openapi.py). Nothing here reads the database or the policy.

May import: msgspec, authz.errors, models.identifiers, models.access_requests
(the deny reasons the table accepts)."""
