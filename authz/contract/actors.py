"""Who acts: the party every operation of the service layer is given."""

from __future__ import annotations

from dataclasses import dataclass

from authz.errors import InvalidInput
from models.identifiers import login_id_problem


@dataclass(frozen=True)
class Actor:
    """A person acting on a site (every action checked by the policy), or an
    operator (the CLI, or a key with the operator scope) who is trusted with
    every action but is still bound by the rules that protect a site."""

    login_id: str | None
    audit_name: str

    @classmethod
    def person(cls, login_id: str, *, field: str = "X-Acting-User") -> Actor:
        """The person LOGIN_ID, refused (400 naming FIELD) unless it is an acceptable login id."""
        problem = login_id_problem(login_id or "")
        if problem:
            raise InvalidInput(f"the acting person's login id ({field}) {problem}", field=field)
        return cls(login_id, login_id)

    @classmethod
    def operator(cls, name: str) -> Actor:
        return cls(None, name)

    @classmethod
    def operator_key(cls, key_id: str) -> Actor:
        """The operator acting through an API key of the operator scope: audited as the key."""
        return cls(None, f"key:{key_id}")

    @classmethod
    def identity_provider(cls, key_id: str) -> Actor:
        """The identity provider provisioning people through an API key of the scim scope."""
        return cls(None, f"key:{key_id}")

    @property
    def is_operator(self) -> bool:
        return self.login_id is None


# The longest X-Acting-Token accepted: gunicorn refuses a header line over 8190 bytes (431)
# and nginx's default buffers hold 8 kB, so a longer token could not arrive whole anyway.
ACTING_TOKEN_MAX_LENGTH = 8000


def acting_headers_problem(acting_user: str | None, acting_token: str | None) -> InvalidInput | None:
    """The error for acting headers that are malformed, whatever the key: a header the
    document declares is refused when malformed even where it is not used (an operator
    key acts as itself), so that no malformed request is ever answered as if well formed."""
    if acting_user is not None:
        problem = login_id_problem(acting_user)
        if problem:
            return InvalidInput(f"the acting person's login id (X-Acting-User) {problem}", field="X-Acting-User")
    if acting_token is not None and len(acting_token) > ACTING_TOKEN_MAX_LENGTH:
        return InvalidInput(
            f"X-Acting-Token is longer than {ACTING_TOKEN_MAX_LENGTH} characters", field="X-Acting-Token"
        )
    return None


# The scopes of API keys: what each kind of caller may call.
KEY_SCOPES = {
    "check": "ask for decisions: checks, effective permissions, who can, policy",
    "admin": "account management on behalf of a person (X-Acting-User)",
    "operator": "create sites, transfer the primary role",
    "policy": "reload the policy",
    "scim": "the identity provider: provision, deactivate and delete people (SCIM 2.0 at /scim/v2)",
}

# The command line acting as an operator (no --as): audited as "cli".
CLI_OPERATOR = Actor.operator("cli")
