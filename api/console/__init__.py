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
    from api.console import home, overview

    site = "/console/sites/{site}"
    return [
        ("/console", home.Home(service)),
        ("/console/sign-in", home.SignIn(service)),
        ("/console/preferences", home.Preferences(service)),
        ("/console/request-access", home.RequestAccess(service)),
        ("/console/static/{name}", home.Static(service)),
        (site, overview.Overview(service)),
    ]
