"""The console's own pages, outside any site: sign-in (the provider's, and the demo's
when it is on), the person's sites with their role on each, their preferences, and
asking for access to a site; and the static files."""

from __future__ import annotations

import secrets
from typing import ClassVar

import falcon

from api.console.forms import CSRF_FIELD, FormRefused, read_form
from api.console.page import HOME, SIGN_IN, Page
from api.console.render import STATIC, secure
from api.resources.sign_in import CONSOLE, LOGIN, SESSION_COOKIE, set_cookie
from authz.contract.access_requests import AccessRequestInput
from authz.contract.members import NotificationEmail
from authz.contract.parsing import convert
from authz.errors import Conflict, DomainError, NotFound

# Before sign-in there is no session to bind the form to: a random value in a cookie
# of the sign-in page is bound instead (so a form posted from elsewhere cannot sign a
# browser in as someone else).
ANONYMOUS_COOKIE = "authz_form"


class Home(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The sites the person belongs to, with their role on each."""
        visitor = self.visitor(req)
        mine = self.service.people.sites(visitor.actor)
        self.render(resp, "sites.html", "Your sites", visitor=visitor, mine=mine)


class SignIn(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        anonymous = req.cookies.get(ANONYMOUS_COOKIE) or secrets.token_urlsafe(24)
        set_cookie(self.service, req, resp, ANONYMOUS_COOKIE, anonymous, SIGN_IN, 3600)
        self._show(resp, anonymous, req.get_param("next") or HOME)

    def _show(
        self, resp: falcon.Response, anonymous: str, next_path: str, problem: str = "", status: int = 200
    ) -> None:
        sign_in = self.service.sign_in
        self.render(
            resp,
            "sign_in.html",
            "Sign in",
            visitor=None,
            status=status,
            oidc=sign_in.enabled,
            demo_people=sign_in.demo_people(),
            next=next_path,
            login=LOGIN,
            problem=problem,
            notice="",
            csrf=sign_in.form_token("anonymous:" + anonymous) if sign_in.demo_enabled else "",
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Demo sign-in: a session for the demo person picked."""
        sign_in = self.service.sign_in
        if not sign_in.demo_enabled:
            raise NotFound("demo sign-in is off")
        form = read_form(req, self.form_limit)
        anonymous = req.cookies.get(ANONYMOUS_COOKIE) or ""
        if not anonymous or not sign_in.form_token_valid("anonymous:" + anonymous, form.get(CSRF_FIELD) or None):
            raise FormRefused("this sign-in form did not come from this console: reload the sign-in page")
        try:
            done = sign_in.demo_sign_in(form.get("login_id"), HOME, form.get("next") or None)
        except DomainError as exc:
            self._show(resp, anonymous, form.get("next") or HOME, exc.message, 422)
            return
        resp.unset_cookie(ANONYMOUS_COOKIE, path=SIGN_IN)
        set_cookie(self.service, req, resp, SESSION_COOKIE, done.session_cookie, CONSOLE, sign_in.session_max_age_s)
        self.redirect(resp, done.next_path)


class Preferences(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        visitor = self.visitor(req)
        profile = self.service.people.profile(visitor.actor)
        saved = req.get_param("saved") == "1"
        self._show(resp, visitor, profile, profile.notification_email or "", notice="Saved." if saved else "")

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        visitor = self.visitor(req)
        form = self.form(req, visitor)
        wanted = form.get("notification_email")
        try:
            change = convert({"notification_email": wanted or None}, NotificationEmail)
            self.service.people.set_notification_email(visitor.actor, change)
        except DomainError as exc:
            profile = self.service.people.profile(visitor.actor)
            self._show(resp, visitor, profile, wanted, errors={"notification_email": exc.message}, status=422)
            return
        self.redirect(resp, "/console/preferences?saved=1")

    def _show(self, resp, visitor, profile, value, *, notice="", errors=None, status=200) -> None:
        self.render(
            resp,
            "preferences.html",
            "My preferences",
            visitor=visitor,
            status=status,
            profile=profile,
            value=value,
            errors=errors or {},
            notice=notice,
            problem="",
        )


class RequestAccess(Page):
    """A signed-in person asks for access to a site they do not belong to."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        visitor = self.visitor(req)
        self._show(resp, visitor, {"site": req.get_param("site") or "", "business_justification": ""})

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        visitor = self.visitor(req)
        form = self.form(req, visitor)
        values = {"site": form.get("site"), "business_justification": form.get("business_justification")}
        errors: dict[str, str] = {}
        if not values["site"]:
            errors["site"] = "Enter the site number."
        else:
            try:
                asked = convert(
                    {"business_justification": values["business_justification"] or None}, AccessRequestInput
                )
                made = self.service.access_requests.ask(visitor.actor, values["site"], asked)
            except NotFound:
                errors["site"] = "There is no site with this number."
            except Conflict as exc:
                errors["site"] = exc.message
            except DomainError as exc:
                errors[exc.field if exc.field == "business_justification" else "site"] = exc.message
            else:
                notice = f"Your request for access to site {made.site} was sent. Its contacts will decide."
                self._show(resp, visitor, {"site": "", "business_justification": ""}, notice=notice)
                return
        self._show(resp, visitor, values, errors=errors, status=422)

    def _show(self, resp, visitor, values, *, errors=None, notice="", status=200) -> None:
        self.render(
            resp,
            "request_access.html",
            "Request access to a site",
            visitor=visitor,
            status=status,
            values=values,
            errors=errors or {},
            notice=notice,
            problem="",
        )


class Static(Page):
    """The console's static files (its stylesheet): the files of api/console/static only."""

    FILES: ClassVar[dict[str, str]] = {"console.css": "text/css; charset=utf-8"}

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        media = self.FILES.get(name)
        if media is None:
            raise NotFound("no such file")
        resp.content_type = media
        resp.cache_control = ["public", "max-age=3600"]
        resp.data = (STATIC / name).read_bytes()
        secure(resp)

    on_head = on_get
