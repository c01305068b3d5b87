"""Policy, health, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon
from prometheus_client import CONTENT_TYPE_LATEST

from api.endpoint import endpoint
from api.errors import ask_to_retry
from api.resources import ALL_SCOPES, AUTH_ERRORS, Resource
from authz.contract.policy import Health as HealthBody
from authz.contract.policy import PolicyDescription, Readiness, ReloadResult


class Policy(Resource):
    scopes = ALL_SCOPES

    @endpoint(
        "Active policy version, the catalogue of applications, levels and actions, and what each worker serves",
        returns=PolicyDescription,
        errors=AUTH_ERRORS,
    )
    def on_get(self, req: Any, resp: Any) -> PolicyDescription:
        return self.service.policy.describe()


class PolicyReload(Resource):
    scopes = frozenset({"policy"})

    @endpoint(
        "Reload the policy files: build aside, validate, run the suites, swap only if all pass "
        "(this worker now; every other worker of the server on its next check)",
        returns=ReloadResult,
        errors={**AUTH_ERRORS, 422: ("Refused: the last good policy stays active (errors say why)", ReloadResult)},
    )
    def on_post(self, req: Any, resp: Any) -> ReloadResult:
        result = self.service.policy.reload()
        if not result.ok:
            resp.status = falcon.HTTP_422
        return result


class Health(Resource):
    """Liveness: the process answers. Says nothing about the database."""

    public = True

    @endpoint("Liveness: the process answers", returns=HealthBody)
    def on_get(self, req: Any, resp: Any) -> HealthBody:
        return HealthBody("ok")


class Ready(Resource):
    public = True

    @endpoint(
        "Readiness: database reachable and migrated, policy loaded",
        returns=Readiness,
        errors={503: ("Not ready (the body says why)", Readiness)},
    )
    def on_get(self, req: Any, resp: Any) -> Readiness:
        report = self.service.policy.readiness()
        if not report.ready:
            resp.status = falcon.HTTP_503
            ask_to_retry(resp)
        return report


class Metrics(Resource):
    public = True

    def __init__(self, service: Any, render: Callable[[], bytes]):
        super().__init__(service)
        self._render = render

    @endpoint("Prometheus metrics of every worker", media_type="text/plain")
    def on_get(self, req: Any, resp: Any) -> None:
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = self._render()


class OpenApi(Resource):
    public = True

    def __init__(self, service: Any, document: Callable[[], bytes]):
        super().__init__(service)
        self._document = document

    @endpoint(
        "This document: OpenAPI 3.1, generated from the contract's types, the routes and the policy in force",
        media_type="application/json",
    )
    def on_get(self, req: Any, resp: Any) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self._document()
