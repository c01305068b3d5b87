"""Verifying an OpenID Connect token (a JWT access token or an ID token) with PyJWT:
an asymmetric algorithm from the allow-list, the signature by the issuer's key of
that key id (provider.py), then issuer, audience, expiry, not-before and issued-at
within a leeway for clock skew. The login id is read from the first configured
claim the token carries.

Every failure is one TokenRefused, whose reason goes to the log only: the caller
answers one body whatever was wrong, so a forger learns nothing from it."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import Any

import jwt

from authz.authn.provider import OpenIdProvider
from authz.config import IdentitySettings
from models.identifiers import login_id_problem

log = logging.getLogger("authz.authn")

MAX_TOKEN_CHARS = 16 * 1024  # far above any real token; bounds the work a forger can ask for
# typ header values of JWTs that assert a person: none, "JWT", or an access token's (RFC 9068).
_PERSON_TOKEN_TYPES = {None, "jwt", "at+jwt", "application/at+jwt"}
_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


class TokenRefused(Exception):
    """The token proves nothing; the message says why, for the log only."""


class TokenVerifier:
    def __init__(self, provider: OpenIdProvider, settings: IdentitySettings):
        self.provider = provider
        self._algorithms = settings.algorithms
        self._leeway_s = settings.leeway_s
        self._login_claims = settings.login_claims
        # (kid, alg) -> (the JWK, its key): building an RSA key costs about what verifying
        # with it does. Only published kids get here; a refetched JWK replaces its entry.
        self._built: dict[tuple[str, str], tuple[dict[str, Any], jwt.PyJWK]] = {}

    @classmethod
    def configured(cls, settings: IdentitySettings) -> TokenVerifier | None:
        """The verifier of the configured issuer, or None when OpenID Connect is off."""
        if not settings.enabled:
            return None
        provider = OpenIdProvider(
            settings.issuer, jwks_cache_s=settings.jwks_cache_s, jwks_refresh_min_s=settings.jwks_refresh_min_s
        )
        return cls(provider, settings)

    def claims(self, token: str, audiences: Sequence[str], *, nonce: str | None = None) -> dict[str, Any]:
        """The claims of TOKEN once verified for one of AUDIENCES (and, for an ID token
        of a sign-in, carrying NONCE); TokenRefused otherwise. ProviderUnavailable when
        the issuer's keys cannot be had at all."""
        alg, kid = self._header(token)
        jwk = self.provider.signing_key(kid)
        if jwk is None:
            raise TokenRefused(f"no signing key {kid!r} published by the issuer")
        try:
            claims = jwt.decode(
                token,
                self._key(kid, alg, jwk),
                algorithms=[alg],
                audience=list(audiences),
                issuer=self.provider.issuer,
                leeway=self._leeway_s,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise TokenRefused(f"{type(error).__name__}: {error}") from error
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise TokenRefused("the nonce is not the one this sign-in sent")
        return claims

    def _key(self, kid: str, alg: str, jwk: dict[str, Any]) -> jwt.PyJWK:
        """The key of JWK bound to one algorithm: the JWK's own, else the token's (one
        of the allowed; PyJWT refuses it if it does not fit the key's type)."""
        built = self._built.get((kid, alg))
        if built is None or built[0] is not jwk:
            if len(self._built) >= 64:
                self._built = {}
            built = self._built[(kid, alg)] = (jwk, jwt.PyJWK(jwk, algorithm=jwk.get("alg") or alg))
        return built[1]

    def _header(self, token: str) -> tuple[str, str]:
        """(alg, kid) of a token worth checking; refused before any key is looked up."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRefused(f"longer than {MAX_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenRefused(f"not a JWT: {error}") from error
        alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
        if alg not in self._algorithms:
            raise TokenRefused(f"algorithm {alg!r} is not accepted (accepted: {', '.join(self._algorithms)})")
        if not isinstance(kid, str):
            raise TokenRefused("no key id (kid) in the header")
        if (typ.lower() if isinstance(typ, str) else typ) not in _PERSON_TOKEN_TYPES:
            raise TokenRefused(f"token type {typ!r} does not assert a person")
        return alg, kid

    def login_id(self, claims: dict[str, Any]) -> str:
        """The login id: the first configured claim the token carries. An email is
        taken only if the provider has not said it is unverified."""
        for name in self._login_claims:
            value = claims.get(name)
            if value is None:
                continue
            if name == "email" and claims.get("email_verified") is False:
                raise TokenRefused("the email claim is marked unverified")
            problem = login_id_problem(value) if isinstance(value, str) else "is not a string"
            if problem:
                raise TokenRefused(f"claim {name!r} is not an acceptable login id: it {problem}")
            return value
        log.warning(
            "a verified token carries none of the login-id claims %s (AUTHZ_OIDC_LOGIN_CLAIM)", self._login_claims
        )
        raise TokenRefused(f"none of the claims {', '.join(self._login_claims)} is present")
