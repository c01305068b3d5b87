"""Browser sign-in for the console: the OpenID Connect code flow, and who is signed in
for a request (a signed session cookie). The acting person of an API call (a token,
or X-Acting-User) is CallerService.acting_person.

The session is read with the session secret alone, without the provider, so a demo
mode can sign a person in without one."""

from __future__ import annotations

from collections.abc import Mapping

from authz.authn.demo import DemoPerson, check_demo_database, read_demo_data
from authz.authn.sessions import FORM, Seal, open_session, read_session
from authz.authn.sign_in import FLOW_MAX_AGE_S, SignInDone, SignInFlow, SignInStart, local_path
from authz.contract.sessions import SignedIn
from authz.errors import InvalidInput, NotFound
from authz.service.operation import operation
from authz.service.runtime import Runtime

NOT_CONFIGURED = "browser sign-in is not configured (AUTHZ_OIDC_ISSUER, AUTHZ_OIDC_CLIENT_ID)"


class SignInService:
    def __init__(self, runtime: Runtime):
        settings = runtime.settings.identity
        self.session_max_age_s = settings.session_max_age_s
        self.flow_max_age_s = FLOW_MAX_AGE_S  # from the login redirect to the callback
        self._seal = Seal(settings.session_secrets) if settings.session_secrets else None
        self._flow = (
            SignInFlow(settings, runtime.tokens, self._seal)
            if settings.sign_in_enabled and runtime.tokens and self._seal
            else None
        )

        self._demo: tuple[DemoPerson, ...] = ()
        if settings.demo_sign_in and self._seal is not None:
            data = read_demo_data(runtime.settings.demo_data)
            check_demo_database(data)  # a server on other data does not start
            self._demo = data.people

    @property
    def enabled(self) -> bool:
        return self._flow is not None

    @property
    def demo_enabled(self) -> bool:
        """Demo sign-in (AUTHZ_DEMO_SIGN_IN, `make run` only) is on."""
        return bool(self._demo)

    def demo_people(self) -> tuple[DemoPerson, ...]:
        """The people demo sign-in offers (none when it is off)."""
        return self._demo

    def demo_sign_in(self, login_id: str, home: str, next_path: str | None) -> SignInDone:
        """A session for LOGIN_ID, one of the demo people, without a password: NotFound
        when demo sign-in is off, InvalidInput for anybody else."""
        if not self._demo or self._seal is None:
            raise NotFound("demo sign-in is off")
        person = next((p for p in self._demo if p.login_id == login_id), None)
        if person is None:
            raise InvalidInput("pick one of the demo people", field="login_id")
        cookie, session = open_session(self._seal, person.login_id, self.session_max_age_s)
        return SignInDone(cookie, session, local_path(next_path or home, home))

    def form_token(self, session_id: str) -> str:
        """The CSRF token of the console's forms for the session SESSION_ID."""
        if self._seal is None:
            raise NotFound(NOT_CONFIGURED)
        return self._seal.token(FORM, session_id)

    def form_token_valid(self, session_id: str, token: str | None) -> bool:
        return self._seal is not None and self._seal.token_valid(FORM, session_id, token)

    @operation
    def begin(self, redirect_uri: str, home: str, next_path: str | None) -> SignInStart:
        """Start a sign-in: where to send the browser, and the cookie holding the flow."""
        return self._configured().begin(redirect_uri, home, next_path)

    @operation
    def complete(self, redirect_uri: str, flow_cookie: str | None, params: Mapping[str, str]) -> SignInDone:
        """The provider's answer at the callback: a new session, or InvalidToken/InvalidInput."""
        return self._configured().finish(redirect_uri, flow_cookie, params)

    @operation
    def signed_in(self, session_cookie: str | None) -> SignedIn | None:
        """Who is signed in for a request carrying SESSION_COOKIE; None if nobody."""
        if self._seal is None or not session_cookie:
            return None
        return read_session(self._seal, session_cookie)

    @operation
    def sign_out_location(self, post_logout_redirect_uri: str, home: str) -> str:
        """Where the browser goes once its session cookie is cleared: the provider's
        logout (coming back to POST_LOGOUT_REDIRECT_URI), or HOME."""
        end = self._flow.end_session_url(post_logout_redirect_uri) if self._flow else None
        return end or local_path(home, home)

    def _configured(self) -> SignInFlow:
        if self._flow is None:
            raise NotFound(NOT_CONFIGURED)
        return self._flow
