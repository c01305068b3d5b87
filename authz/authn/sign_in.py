"""Browser sign-in: the OpenID Connect authorization-code flow with PKCE (S256).

1. `begin`: a random state, nonce and PKCE verifier, kept in a signed cookie good for
   ten minutes (the browser's, so any worker can finish the flow); the browser goes to
   the provider's authorization endpoint.
2. `finish`, at the callback: the state must be this browser's, the `iss` parameter
   (RFC 9207, where sent) the configured issuer; the code is redeemed at the token
   endpoint with the client secret and the verifier; the ID token is verified
   (tokens.py: signature, issuer, audience = the client id, expiry, nonce). The
   person's login id comes from its claims, into a new session with a new id, so a
   session fixed before sign-in is never carried over.
3. `end_session_url`: where the browser goes to sign out at the provider too
   (RP-initiated logout), if the provider has an end_session_endpoint.

Every failure of the proof (state, code, ID token) is InvalidToken: the browser starts
again; a provider that cannot be reached is ProviderUnavailable."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from authz.authn.sessions import SIGN_IN, Seal, open_session
from authz.authn.tokens import TokenRefused, TokenVerifier
from authz.config import IdentitySettings
from authz.contract.sessions import SignedIn
from authz.errors import InvalidInput, InvalidToken, ProviderUnavailable

log = logging.getLogger("authz.authn")

FLOW_MAX_AGE_S = 600  # from the login redirect to the callback
SCOPE = "openid email profile"  # email and profile carry the claims the login id is read from
FAILED = "the sign-in could not be completed; start again"
# Where the browser may be sent back to: a path of ours, no scheme, host or "..".
_LOCAL_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*")


@dataclass(frozen=True)
class SignInStart:
    location: str  # the provider's authorization endpoint, with this flow's parameters
    flow_cookie: str


@dataclass(frozen=True)
class SignInDone:
    session_cookie: str
    session: SignedIn
    next_path: str


class SignInFlow:
    def __init__(self, settings: IdentitySettings, verifier: TokenVerifier, seal: Seal):
        self._client_id, self._client_secret = settings.client_id, settings.client_secret
        self._max_age_s = settings.session_max_age_s
        self._verifier, self._provider, self._seal = verifier, verifier.provider, seal

    def begin(self, redirect_uri: str, home: str, next_path: str | None) -> SignInStart:
        """Send the browser to the provider; back at REDIRECT_URI, then at NEXT_PATH (a
        path under HOME; HOME itself when absent or anything else)."""
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        authorize = self._provider.endpoint("authorization_endpoint")
        if not authorize:
            raise ProviderUnavailable("the identity provider names no authorization endpoint")
        params = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
        flow = {"state": state, "nonce": nonce, "verifier": verifier, "next": local_path(next_path, home)}
        separator = "&" if urllib.parse.urlsplit(authorize).query else "?"
        return SignInStart(
            location=f"{authorize}{separator}{urllib.parse.urlencode(params)}",
            flow_cookie=self._seal.close(SIGN_IN, flow, FLOW_MAX_AGE_S),
        )

    def finish(self, redirect_uri: str, flow_cookie: str | None, params: Mapping[str, str]) -> SignInDone:
        """The callback: the provider's answer PARAMS checked against this browser's flow."""
        flow = self._seal.open(SIGN_IN, flow_cookie)
        if flow is None:
            raise InvalidInput(
                "no sign-in in progress in this browser (or it took longer than ten minutes); start again",
                field="state",
            )
        if not hmac.compare_digest(str(params.get("state", "")), flow["state"]):
            raise InvalidInput("the sign-in answer is not for this browser's sign-in; start again", field="state")
        self._check_answer(params)
        claims = self._id_token_claims(redirect_uri, params["code"], flow)
        try:
            login_id = self._verifier.login_id(claims)
        except TokenRefused as refused:
            log.warning("sign-in refused: %s", refused)
            raise InvalidToken(FAILED) from None
        cookie, session = open_session(self._seal, login_id, self._max_age_s)
        log.info("signed in: %s (session %s)", login_id, session.session_id)
        return SignInDone(cookie, session, flow["next"])

    def _check_answer(self, params: Mapping[str, str]) -> None:
        if "error" in params:
            error = params["error"] if re.fullmatch(r"[a-z_]{1,64}", params["error"]) else "invalid"
            log.info("sign-in refused by the provider: %s", error)
            raise InvalidToken(f"the identity provider did not sign you in ({error}); start again")
        issuer = params.get("iss")
        if issuer is not None and issuer != self._provider.issuer:  # a mix-up with another provider
            log.warning("sign-in answer from issuer %r, not %r", issuer, self._provider.issuer)
            raise InvalidToken(FAILED)
        if not params.get("code"):
            raise InvalidInput("the sign-in answer carries no code", field="code")

    def _id_token_claims(self, redirect_uri: str, code: str, flow: dict) -> dict:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": flow["verifier"],
        }
        answer = self._provider.redeem(form, self._client_id, self._client_secret)
        id_token = answer.body.get("id_token")
        if answer.status != 200 or not isinstance(id_token, str):
            log.warning("the token endpoint refused the code: %s %s", answer.status, answer.body.get("error"))
            raise InvalidToken(FAILED)
        try:
            claims = self._verifier.claims(id_token, [self._client_id], nonce=flow["nonce"])
        except TokenRefused as refused:
            log.warning("sign-in ID token refused: %s", refused)
            raise InvalidToken(FAILED) from None
        # OpenID Connect Core 3.1.3.7: with several audiences, azp must be this client.
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self._client_id:
            log.warning("sign-in ID token for several audiences, azp %r", claims.get("azp"))
            raise InvalidToken(FAILED)
        return claims

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """The provider's logout page, coming back to POST_LOGOUT_REDIRECT_URI; None if it
        has none (or cannot be reached: signing out here must never fail)."""
        try:
            end = self._provider.endpoint("end_session_endpoint")
        except ProviderUnavailable:
            return None
        if not end:
            return None
        params = {"client_id": self._client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        separator = "&" if urllib.parse.urlsplit(end).query else "?"
        return f"{end}{separator}{urllib.parse.urlencode(params)}"


def local_path(candidate: str | None, home: str) -> str:
    """CANDIDATE if it is a path under HOME (so never another site: no open redirect),
    else HOME."""
    if (
        candidate
        and _LOCAL_PATH.fullmatch(candidate)
        and (candidate + "/").startswith(home)
        and ".." not in candidate
        and "//" not in candidate
    ):
        return candidate
    return home


def _challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636 4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
