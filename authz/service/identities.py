"""Operations of the identity provider (SCIM door): one per SCIM operation on
users. The acting party is the provider's API key (scope `scim`), audited as
"key:<key id>"."""

from __future__ import annotations

from authz.accounts import identities
from authz.contract.actors import Actor
from authz.contract.identities import Identity, IdentityInput, IdentityPage, IdentityQuery, IdentityRemoved
from authz.service.operation import operation


class IdentityService:
    @operation
    def create(self, actor: Actor, new: IdentityInput) -> Identity:
        return identities.provision(actor, new)

    @operation
    def get(self, identity_id: str) -> Identity:
        return identities.identity(identity_id)

    @operation
    def search(self, query: IdentityQuery) -> IdentityPage:
        return identities.search(query)

    @operation
    def replace(
        self, actor: Actor, identity_id: str, new: IdentityInput, *, expected_version: int | None = None
    ) -> Identity:
        """Replace the identity whole; with EXPECTED_VERSION, only if it is still
        at that version (else PreconditionFailed)."""
        return identities.replace(actor, identity_id, new, expected_version)

    @operation
    def delete(self, actor: Actor, identity_id: str, *, expected_version: int | None = None) -> IdentityRemoved:
        return identities.remove(actor, identity_id, expected_version)
