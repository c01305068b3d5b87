"""Browser sign-in for the console, at /console/auth/: login, callback, logout, and
who is signed in. Public routes (a browser has no API key), left out of the OpenAPI
document: they are pages and redirects for a browser, not the API.

Cookies, both HttpOnly, SameSite=Lax (sent on the provider's redirect back, a
top-level GET, and on nothing another site posts) and Secure when the service is
reached over TLS:
- `authz_session`, Path=/console: the signed session, for AUTHZ_SESSION_MAX_AGE_S.
  Never sent to /v1, so the API cannot be driven by a browser's cookie.
- `authz_sign_in`, Path=/console/auth: the state, nonce and PKCE verifier of a sign-in
  in progress, for ten minutes; cleared at the callback.

The console's door asks `signed_in(service, req)` who is signed in for a request."""

from __future__ import annotations

import falcon

from api.console.forms import CSRF_FIELD, FormRefused, read_form
from api.decoding import encode
from api.resources import Resource
from authz.contract.sessions import SignedIn
from authz.errors import Unauthenticated
from authz.service import Service

CONSOLE = "/console"
HOME = CONSOLE + "/"
AUTH = CONSOLE + "/auth"
LOGIN, CALLBACK, LOGOUT, SESSION = (f"{AUTH}/{name}" for name in ("login", "callback", "logout", "session"))
SESSION_COOKIE = "authz_session"
FLOW_COOKIE = "authz_sign_in"


def signed_in(service: Service, req: falcon.Request) -> SignedIn | None:
    """Who is signed in for this request (the session cookie), or None."""
    return service.sign_in.signed_in(req.cookies.get(SESSION_COOKIE))


def set_cookie(
    service: Service, req: falcon.Request, resp: falcon.Response, name: str, value: str, path: str, age: int
) -> None:
    """A cookie of the console: HttpOnly, SameSite=Lax, Secure when the service is reached over https."""
    resp.set_cookie(
        name,
        value,
        max_age=age,
        path=path,
        secure=(service.settings.identity.public_url or req.prefix).startswith("https://"),
        http_only=True,
        same_site="Lax",
    )


class _BrowserRoute(Resource):
    public = True

    def _base(self, req: falcon.Request) -> str:
        """The service's URL as the browser sees it: AUTHZ_PUBLIC_URL, else the request's."""
        return self.service.settings.identity.public_url or req.prefix

    def _cookie(self, req: falcon.Request, resp: falcon.Response, name: str, value: str, path: str, age: int) -> None:
        set_cookie(self.service, req, resp, name, value, path, age)

    @staticmethod
    def _redirect(resp: falcon.Response, location: str, status: str = falcon.HTTP_303) -> None:
        resp.status = status
        resp.location = location
        resp.cache_control = ["no-store"]


class Login(_BrowserRoute):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """?next=/console/...: where to land once signed in (a console path, else /console/)."""
        start = self.service.sign_in.begin(self._base(req) + CALLBACK, HOME, req.get_param("next"))
        self._cookie(req, resp, FLOW_COOKIE, start.flow_cookie, AUTH, self.service.sign_in.flow_max_age_s)
        self._redirect(resp, start.location, falcon.HTTP_302)


class Callback(_BrowserRoute):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = {name: req.get_param(name) or "" for name in ("code", "state", "error") if req.has_param(name)}
        if req.has_param("iss"):
            params["iss"] = req.get_param("iss") or ""
        resp.unset_cookie(FLOW_COOKIE, path=AUTH)  # one attempt per flow, whatever happens
        done = self.service.sign_in.complete(self._base(req) + CALLBACK, req.cookies.get(FLOW_COOKIE), params)
        self._cookie(req, resp, SESSION_COOKIE, done.session_cookie, CONSOLE, self.service.sign_in.session_max_age_s)
        self._redirect(resp, done.next_path)


class Logout(_BrowserRoute):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Clears the session, then sends the browser to the provider's logout (and
        back to /console/), or straight to /console/. A session is ended only by a form
        of its own (the console's CSRF token): another site cannot sign anyone out."""
        who = signed_in(self.service, req)
        if who is not None:
            form = read_form(req, min(self.service.settings.max_body_bytes, 64 * 1024))
            if not self.service.sign_in.form_token_valid(who.session_id, form.get(CSRF_FIELD) or None):
                raise FormRefused("this sign-out did not come from your console session: sign out from the console")
        resp.unset_cookie(SESSION_COOKIE, path=CONSOLE)
        self._redirect(resp, self.service.sign_in.sign_out_location(self._base(req) + HOME, HOME))


class Session(_BrowserRoute):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Who is signed in (JSON), or 401."""
        who = signed_in(self.service, req)
        if who is None:
            raise Unauthenticated("not signed in (sign in at /console/auth/login)")
        resp.cache_control = ["no-store"]
        resp.content_type = falcon.MEDIA_JSON
        resp.data = encode(who)
