"""Fixtures of the deployment tests. The application is built by tests/conftest.py's
`client` fixture, exactly as the API tests build it."""

from __future__ import annotations

import runpy

import falcon.inspect
import pytest

from tests.deploy.deployfiles import DEPLOY


@pytest.fixture
def app_routes(client) -> set[str]:
    """The URI templates the application serves."""
    return {route.path for route in falcon.inspect.inspect_routes(client.app)}


@pytest.fixture
def gunicorn_conf(monkeypatch, tmp_path):
    """gunicorn_conf(env) -> the settings deploy/gunicorn.conf.py computes in that
    environment (PROMETHEUS_MULTIPROC_DIR and AUTHZ_STATE_DIR given, so it makes no
    directories of its own)."""

    def load(env: dict[str, str]) -> dict:
        for name in ("HOST", "PORT", "AUTHZ_WORKERS", "AUTHZ_ACCESS_LOG"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
        monkeypatch.setenv("AUTHZ_STATE_DIR", str(tmp_path / "state"))
        for name, value in env.items():
            if name not in ("PROMETHEUS_MULTIPROC_DIR", "AUTHZ_STATE_DIR"):
                monkeypatch.setenv(name, value)
        return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))

    return load
