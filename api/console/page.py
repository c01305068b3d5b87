"""What every console page shares: who is signed in (the session cookie, the same
one sign-in sets), the acting person the service is given, the site and what the
person may do there, forms with their CSRF token, and rendering in the base layout.

Pages are resources of their own (public: a browser has no API key; the session
proves who acts). They call the same service operations as the API with the same
acting party, so the same policy decides, the same rules hold and the same audit
records are written."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

import falcon

from api.console import render
from api.console.forms import CSRF_FIELD, Form, FormRefused, read_form
from api.resources import Resource
from api.resources.sign_in import SESSION_COOKIE
from authz.contract.actors import Actor
from authz.contract.members import Standing
from authz.contract.policy import PolicyCatalogue
from authz.service import Service

HOME = "/console/"
SIGN_IN = "/console/sign-in"


@dataclass(frozen=True)
class Visitor:
    """The signed-in person, as a page sees them."""

    login_id: str
    actor: Actor
    session_id: str
    csrf_token: str


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    path: str  # under the site's path


# The site's area: an entry is shown only when the person may do its action (Overview:
# when any other entry is shown; a plain user sees none of them).
NAV = (
    ("contacts", "Contact updates", "contacts", "view_contacts"),
    ("members", "Manage access", "members", "list_users"),
    ("requests", "Approve requests", "requests", "view_access_requests"),
    ("add", "Add new user", "add-user", "add_user"),
    ("audit", "Audit trail", "audit", "view_audit"),
)


def site_path(site: str, rest: str = "") -> str:
    return f"/console/sites/{urllib.parse.quote(site, safe='')}/{rest}"


def nav_for(standing: Standing) -> list[NavItem]:
    allowed = set(standing.allowed_actions)
    items = [
        NavItem(key, label, site_path(standing.site, path)) for key, label, path, action in NAV if action in allowed
    ]
    return [NavItem("overview", "Overview", site_path(standing.site)), *items] if items else []


class Labels:
    """The policy's names for roles, applications, levels and actions (the catalogue)."""

    def __init__(self, catalogue: PolicyCatalogue):
        self.version = catalogue.version
        self.roles = {r.id: r.label for r in catalogue.roles}
        self.applications = {a.id: a.label for a in catalogue.applications}
        self.levels = {(a.id, lv.id): lv.label for a in catalogue.applications for lv in a.levels}
        self.actions = {act.id: act.label for a in catalogue.applications for act in a.actions}
        self.catalogue = catalogue

    def role(self, role: str) -> str:
        return self.roles.get(role, role)

    def level(self, application: str, level: str) -> str:
        return self.levels.get((application, level), level)

    def action(self, action: str) -> str:
        return self.actions.get(action, action)


class Page(Resource):
    public = True  # no API key: the session says who acts
    _labels: Labels | None = None

    def __init__(self, service: Service):
        super().__init__(service)
        self.form_limit = min(service.settings.max_body_bytes, 64 * 1024)

    # -- who --------------------------------------------------------------

    def visitor(self, req: falcon.Request) -> Visitor:
        """The signed-in person; a browser with no session is sent to sign in."""
        self.service.callers.catch_up()
        who = self.service.sign_in.signed_in(req.cookies.get(SESSION_COOKIE))
        if who is None:
            back = req.relative_uri if req.method == "GET" else HOME
            raise falcon.HTTPSeeOther(
                f"{SIGN_IN}?{urllib.parse.urlencode({'next': back})}", headers=dict(render.SECURITY_HEADERS)
            )
        visitor = Visitor(
            who.login_id,
            Actor.person(who.login_id, field="session"),
            who.session_id,
            self.service.sign_in.form_token(who.session_id),
        )
        req.context.visitor = visitor
        return visitor

    def standing(self, visitor: Visitor, site: str) -> Standing:
        """What the person holds on SITE (NotFound, the 404 page, unless a member)."""
        return self.service.people.standing(visitor.actor, site)

    def form(self, req: falcon.Request, visitor: Visitor) -> Form:
        """The posted form, refused (403) without this session's CSRF token."""
        form = read_form(req, self.form_limit)
        if not self.service.sign_in.form_token_valid(visitor.session_id, form.get(CSRF_FIELD) or None):
            raise FormRefused(
                "this form did not come from your console session (it may have expired): "
                "go back, reload the page and try again"
            )
        return form

    # -- answers ----------------------------------------------------------

    def labels(self) -> Labels:
        catalogue = self.service.policy.catalogue()
        cached = self._labels
        if cached is None or cached.catalogue is not catalogue:
            cached = self._labels = Labels(catalogue)
        return cached

    def render(
        self,
        resp: falcon.Response,
        template: str,
        title: str,
        *,
        visitor: Visitor | None,
        standing: Standing | None = None,
        current: str | None = None,
        status: int = 200,
        csrf: str | None = None,
        **context: Any,
    ) -> None:
        """TEMPLATE in the base layout; CSRF: the forms' token when there is no session (sign-in)."""
        context.setdefault("notice", "")  # a message of success (role=status)
        context.setdefault("problem", "")  # a message of refusal (role=alert)
        render.page(
            resp,
            template,
            status=status,
            page_title=title,
            visitor=visitor,
            standing=standing,
            nav=nav_for(standing) if standing else [],
            current=current,
            csrf_token=csrf if csrf is not None else (visitor.csrf_token if visitor else ""),
            labels=self.labels(),
            site_path=site_path,
            **context,
        )

    @staticmethod
    def redirect(resp: falcon.Response, location: str) -> None:
        """After a change: the browser gets the next page with a GET (303)."""
        resp.status = falcon.HTTP_303
        resp.location = location
        resp.cache_control = ["no-store"]
        render.secure(resp)
