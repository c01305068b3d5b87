"""The domain's rules about roles that no policy file can change.

DOMAIN.md: only primary and secondary contacts may hold the account-management
privileges (manage access, contact updates, account-related documents); a plain
user never can, whatever is assigned. The catalogue says who may hold an
application (`holders`) and marks the account-management ones
(`account_management: true`), but a policy change can edit both. So the engine
anchors them to what the code fixes:

- The roles are the ones a membership can be stored with (the contract's Role,
  which models/schema.py ROLES mirrors): the catalogue must name exactly these.
  The plain user is `user` by name, because that is what storage holds for one
  and what the workflows assign; no file decides which role is the plain one.
- The actions the service's own account-management operations run (and the
  domain's account documents) are account management wherever the catalogue
  lists them: the application holding one must be marked, and a marked
  application must name its holders and never `user`.

The compiler bars `user` from a marked application even if a holders list
were to say otherwise (Catalogue.may_hold)."""

from __future__ import annotations

from typing import get_args

from authz.contract.common import Role

ROLES: tuple[str, ...] = get_args(Role)
PLAIN_USER = "user"

# The actions run by authz/accounts (members, access requests, contacts, the site
# audit trail) and view_account_documents, the domain's account-related documents.
ACCOUNT_MANAGEMENT_ACTIONS = frozenset(
    {
        "list_users",
        "export_users",
        "view_access_requests",
        "view_audit",
        "check_user",
        "add_user",
        "update_user",
        "remove_user",
        "decide_access_requests",
        "view_contacts",
        "edit_contacts",
        "mark_contacts_reviewed",
        "view_account_documents",
    }
)
