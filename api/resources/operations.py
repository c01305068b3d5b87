"""Policy, health, readiness, metrics and the OpenAPI document."""

import falcon
from prometheus_client import CONTENT_TYPE_LATEST

from authz.service.facade import AuthzService


class Policy:
    scopes = frozenset({"check", "admin", "operator", "policy"})

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp):
        resp.media = self._service.policy()


class PolicyReload:
    scopes = frozenset({"policy"})

    def __init__(self, service: AuthzService):
        self._service = service

    def on_post(self, req, resp):
        result = self._service.reload_policy()
        resp.status = falcon.HTTP_200 if result["ok"] else falcon.HTTP_422
        resp.media = result


class Health:
    """Liveness: the process answers. Says nothing about the database."""

    public = True

    def on_get(self, req, resp):
        resp.media = {"status": "ok"}


class Ready:
    public = True

    def __init__(self, service: AuthzService):
        self._service = service

    def on_get(self, req, resp):
        report = self._service.readiness()
        resp.status = falcon.HTTP_200 if report["ready"] else falcon.HTTP_503
        resp.media = report


class Metrics:
    public = True

    def __init__(self, render):
        self._render = render

    def on_get(self, req, resp):
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = self._render()


class OpenApi:
    public = True

    def __init__(self, document: dict):
        self._document = document

    def on_get(self, req, resp):
        resp.media = self._document
