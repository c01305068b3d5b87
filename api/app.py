"""The one app factory. gunicorn calls get_app(); tests call create_app()."""

from __future__ import annotations

import logging
import os

import falcon
import orjson
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

from api import errors, middleware
from api.openapi import openapi_document
from api.resources import audit, checks, members, operations, people
from api.resources import access_requests
from api.resources import contacts
from authz import metrics
from authz.config import Settings
from authz.service.facade import AuthzService


def create_app(service: AuthzService) -> falcon.App:
    app = falcon.App(middleware=[
        middleware.RequestTrace(),
        middleware.Authenticate(service),
    ])
    app.req_options.strip_url_path_trailing_slash = True
    # JSON only: any other Content-Type is refused with 415 rather than guessed at.
    # orjson: parsing and encoding with the stdlib was a sixth of a check's CPU.
    json_handler = falcon.media.JSONHandler(dumps=orjson.dumps, loads=orjson.loads)
    app.req_options.media_handlers = falcon.media.Handlers({falcon.MEDIA_JSON: json_handler})
    app.resp_options.media_handlers = falcon.media.Handlers({falcon.MEDIA_JSON: json_handler})
    app.add_route("/v1/check", checks.Check(service))
    app.add_route("/v1/check/batch", checks.CheckBatch(service))
    app.add_route("/v1/sites/{site}/members/{login_id}/permissions", checks.MemberPermissions(service))
    app.add_route("/v1/sites/{site}/actions/{action}/members", checks.ActionMembers(service))
    app.add_route("/v1/sites", members.Sites(service))
    app.add_route("/v1/sites/{site}/primary-transfer", members.PrimaryTransfer(service))
    app.add_route("/v1/sites/{site}/members", members.Members(service))
    app.add_route("/v1/sites/{site}/members.csv", members.MembersCsv(service))
    app.add_route("/v1/sites/{site}/members/{login_id}", members.Member(service))
    app.add_route("/v1/sites/{site}/identities/{login_id}", members.Identity(service))
    app.add_route("/v1/sites/{site}/access-requests", access_requests.AccessRequests(service))
    app.add_route("/v1/sites/{site}/access-requests/{request_id}/grant", access_requests.AccessRequestGrant(service))
    app.add_route("/v1/sites/{site}/access-requests/{request_id}/deny", access_requests.AccessRequestDeny(service))
    app.add_route("/v1/sites/{site}/audit", audit.SiteAudit(service))
    app.add_route("/v1/sites/{site}/contacts", contacts.Contacts(service))
    app.add_route("/v1/sites/{site}/contacts/review", contacts.ContactsReview(service))
    app.add_route("/v1/sites/{site}/contacts/{contact_id}", contacts.Contact(service))
    app.add_route("/v1/contacts/overdue", contacts.OverdueContacts())
    app.add_route("/v1/contacts/review-reminders", contacts.ReviewReminders())
    app.add_route("/v1/me", people.Me())
    app.add_route("/v1/policy", operations.Policy(service))
    app.add_route("/v1/policy/reload", operations.PolicyReload(service))
    app.add_route("/healthz", operations.Health())
    app.add_route("/readyz", operations.Ready(service))
    app.add_route("/metrics", operations.Metrics(render_metrics))
    app.add_route("/openapi.json", operations.OpenApi(openapi_document()))
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
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("casbin").setLevel(logging.WARNING)  # it logs every rule at INFO
    return create_app(AuthzService.start(settings))
