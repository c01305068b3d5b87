"""The Account Management console: server-rendered HTML pages (Jinja2) for site
administrators, working without JavaScript, at /console/.

One module per page group (home: sign-in, sites, preferences, request access;
overview; contacts; members: manage access and add a user; requests: approve
requests; audit), a small forms helper (forms.py: form bodies and CSRF), the
shared page base (page.py), rendering with the security headers (render.py) and
error pages (errors.py). Templates in templates/ share one base layout; the one
stylesheet is in static/.

Every page calls the same application-service operations as the API, with the
signed-in person as the acting party: the same policy decides, the same rules
refuse, the same audit records are written.

May import: api.resources (the sign-in cookie), authz.service, authz.contract,
authz.errors; never the domain below the service layer."""

from __future__ import annotations

from typing import Any

from authz.service import Service


def routes(service: Service) -> list[tuple[str, Any]]:
    """Every console page: (URI template, resource)."""
    from api.console import audit, contacts, home, members, overview, requests

    site = "/console/sites/{site}"
    return [
        ("/console", home.Home(service)),
        ("/console/sign-in", home.SignIn(service)),
        ("/console/preferences", home.Preferences(service)),
        ("/console/request-access", home.RequestAccess(service)),
        ("/console/static/{name}", home.Static(service)),
        (site, overview.Overview(service)),
        (f"{site}/contacts", contacts.Contacts(service)),
        (f"{site}/contacts/new", contacts.NewContact(service)),
        (f"{site}/contacts/review", contacts.Review(service)),
        (f"{site}/contacts/{{contact_id}}", contacts.OneContact(service)),
        (f"{site}/contacts/{{contact_id}}/delete", contacts.DeleteContact(service)),
        (f"{site}/members", members.Members(service)),
        (f"{site}/members.csv", members.MembersCsv(service)),
        (f"{site}/member", members.OneMember(service)),
        (f"{site}/member/delete", members.DeleteMember(service)),
        (f"{site}/add-user", members.AddUser(service)),
        (f"{site}/requests", requests.Requests(service)),
        (f"{site}/requests/{{request_id}}/grant", requests.GrantRequest(service)),
        (f"{site}/requests/{{request_id}}/deny", requests.DenyRequest(service)),
        (f"{site}/audit", audit.Audit(service)),
    ]
