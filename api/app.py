"""The one app factory. gunicorn calls get_app(); tests call create_app()."""

from __future__ import annotations

import os
from typing import Any

import falcon
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

from api import console, errors, middleware
from api.decoding import encode
from api.openapi import build_document
from api.resources import access_requests, audit, checks, contacts, members, operations, people, sign_in
from api.scim import resources as scim
from api.scim.schema import PREFIX as SCIM_PREFIX
from authz import logs, metrics
from authz.config import Settings
from authz.service import Service


def routes(service: Service) -> list[tuple[str, Any]]:
    """Every route of the API: (URI template, resource)."""
    document = _Document(service)
    table = [
        ("/v1/check", checks.Check(service)),
        ("/v1/check/batch", checks.CheckBatch(service)),
        ("/v1/sites/{site}/members/{login_id}/permissions", checks.MemberPermissions(service)),
        ("/v1/sites/{site}/actions/{action}/members", checks.ActionMembers(service)),
        ("/v1/sites", members.Sites(service)),
        ("/v1/sites/{site}/primary-transfer", members.SitePrimary(service)),
        ("/v1/sites/{site}/members", members.Members(service)),
        ("/v1/sites/{site}/members.csv", members.MembersCsv(service)),
        ("/v1/sites/{site}/members/{login_id}", members.OneMember(service)),
        ("/v1/sites/{site}/identities/{login_id}", members.Identity(service)),
        ("/v1/sites/{site}/access-requests", access_requests.AccessRequests(service)),
        ("/v1/sites/{site}/access-requests/{request_id}/grant", access_requests.AccessRequestGrant(service)),
        ("/v1/sites/{site}/access-requests/{request_id}/deny", access_requests.AccessRequestDeny(service)),
        ("/v1/sites/{site}/audit", audit.SiteAudit(service)),
        ("/v1/sites/{site}/contacts", contacts.Contacts(service)),
        ("/v1/sites/{site}/contacts/review", contacts.ContactsReview(service)),
        ("/v1/sites/{site}/contacts/{contact_id}", contacts.OneContact(service)),
        ("/v1/contacts/overdue", contacts.OverdueContacts(service)),
        ("/v1/contacts/review-reminders", contacts.ReminderRuns(service)),
        ("/v1/me", people.Me(service)),
        ("/v1/policy", operations.Policy(service)),
        ("/v1/policy/reload", operations.PolicyReload(service)),
        ("/healthz", operations.Health(service)),
        ("/readyz", operations.Ready(service)),
        ("/metrics", operations.Metrics(service, render_metrics)),
        ("/openapi.json", operations.OpenApi(service, document)),
        *scim.routes(service),
    ]
    # SCIM has its own discovery (/scim/v2/Schemas, ...): not in the OpenAPI document.
    document.routes = [(template, resource) for template, resource in table if not template.startswith(SCIM_PREFIX)]
    return table


def browser_routes(service: Service) -> list[tuple[str, Any]]:
    """Routes for a browser (sign-in, and the console's pages): not part of the API's document."""
    return [
        (sign_in.LOGIN, sign_in.Login(service)),
        (sign_in.CALLBACK, sign_in.Callback(service)),
        (sign_in.LOGOUT, sign_in.Logout(service)),
        (sign_in.SESSION, sign_in.Session(service)),
        *console.routes(service),
    ]


class _Document:
    """The OpenAPI document, built when first asked for under each policy version."""

    def __init__(self, service: Service):
        self._service = service
        self.routes: list[tuple[str, Any]] = []
        self._built: tuple[str, bytes] | None = None

    def __call__(self) -> bytes:
        policy = self._service.policy.describe()
        if self._built is None or self._built[0] != policy.version:
            self._built = (policy.version, encode(build_document(self.routes, policy)))
        return self._built[1]


def create_app(service: Service) -> falcon.App:
    stack: list[Any] = [middleware.RequestTrace(), middleware.Authenticate(service)]
    app = falcon.App(middleware=stack)
    app.req_options.strip_url_path_trailing_slash = True
    for template, resource in routes(service) + browser_routes(service):
        app.add_route(template, resource)
    app.add_sink(scim.not_found, SCIM_PREFIX)  # any other path under it: a SCIM 404
    errors.register(app)
    return app


def render_metrics() -> bytes:
    """Every worker's metrics when running under gunicorn, else this process's."""
    metrics.TALLY.flush()  # this worker's last second too
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def get_app() -> falcon.App:
    """Entry point for gunicorn: settings from the environment."""
    settings = Settings.from_env()
    logs.configure(settings.log_level)  # one event a line, control characters escaped
    return create_app(Service.start(settings))
