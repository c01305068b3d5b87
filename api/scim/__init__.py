"""The SCIM 2.0 door (RFC 7643/7644) at /scim/v2: the identity provider
provisions, deactivates and deletes people. SCIM has its own discovery
(ServiceProviderConfig, ResourceTypes, Schemas), media type
(application/scim+json) and error body, so these routes are not in
/openapi.json.

schema.py: the resource models and discovery documents (scim2-models);
mapping.py: SCIM's shapes into the contract's and back; resources.py: the
routes; errors.py: every error as a SCIM Error.

May import: api.resources, authz.service, authz.contract, authz.errors, and
scim2-models (the SCIM library stays in this door)."""
