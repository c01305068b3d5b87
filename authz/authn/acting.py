"""Who acts under an admin key: the person a signed token proves (X-Acting-Token), or,
unless the service requires a token, the person the front end names (X-Acting-User).

- A token is taken only alongside an admin key (the door checks the key first): the
  key says which front end calls, the token which person uses it.
- A token that fails any check is refused with one answer (InvalidToken, 401),
  whatever failed; the reason goes to the log.
- Both headers sent: they must name the same person (login ids match as everywhere,
  ASCII case folded), else refused, so a front end cannot prove one person and act
  as another.
- AUTHZ_REQUIRE_ACTING_TOKEN: X-Acting-User alone is refused (401)."""

from __future__ import annotations

import logging

from authz.authn.tokens import TokenRefused, TokenVerifier
from authz.contract.actors import Actor
from authz.errors import InvalidToken
from models.identifiers import login_key

log = logging.getLogger("authz.authn")

TOKEN_HEADER = "X-Acting-Token"
USER_HEADER = "X-Acting-User"
REFUSED = (
    f"the acting person's token ({TOKEN_HEADER}) is not valid: it must be a current OpenID Connect "
    "token signed by the configured issuer, for this service's audience"
)
REQUIRED = f"this service requires the acting person's token ({TOKEN_HEADER}); {USER_HEADER} alone is not accepted"
DISAGREE = f"{USER_HEADER} names another person than {TOKEN_HEADER}"


def acting_person(
    verifier: TokenVerifier | None,
    audiences: tuple[str, ...],
    require_token: bool,
    acting_user: str | None,
    acting_token: str | None,
) -> Actor:
    """The person acting, from the two headers (None: not sent)."""
    if acting_token is None:
        if require_token:
            raise InvalidToken(REQUIRED)
        return Actor.person(acting_user or "", field=USER_HEADER)
    login_id = proven_login_id(verifier, audiences, acting_token)
    if acting_user and login_key(acting_user) != login_key(login_id):
        raise InvalidToken(DISAGREE)
    return Actor.person(login_id, field=TOKEN_HEADER)


def proven_login_id(verifier: TokenVerifier | None, audiences: tuple[str, ...], token: str) -> str:
    """The login id TOKEN proves, or InvalidToken (one message for every failure)."""
    if verifier is None:
        log.info("%s refused: OpenID Connect is not configured (AUTHZ_OIDC_ISSUER)", TOKEN_HEADER)
        raise InvalidToken(REFUSED)
    try:
        return verifier.login_id(verifier.claims(token.strip(), audiences))
    except TokenRefused as refused:
        log.info("%s refused: %s", TOKEN_HEADER, refused)
        raise InvalidToken(REFUSED) from None
