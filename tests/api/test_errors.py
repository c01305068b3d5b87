"""Errors answered in one place, and logged on one line each: a path a caller
chose (%0A decodes to a newline) cannot forge a line of the log."""

from __future__ import annotations

import logging
import re

import pytest
from falcon import testing

from api.app import create_app
from authz.logs import CONTINUATION, FORMAT, OneLineFormatter
from models.errors import StoreUnavailable

# Where the caller's path ends up: the forged line it tries to start.
FORGED = "/boom/x%0A2026-01-01 00:00:00,000 INFO authz.api all is well%0D%1B[2J"
EVENT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (ERROR|WARNING|INFO) authz\.api ")


class Boom:
    public = True

    def __init__(self, error: Exception):
        self.error = error

    def on_get(self, req, resp, what):
        raise self.error


@pytest.fixture
def boom(service):
    """A client of the app with a route that fails as told: boom(error) -> client."""

    def client(error: Exception) -> testing.TestClient:
        app = create_app(service)
        app.add_route("/boom/{what}", Boom(error))
        return testing.TestClient(app)

    return client


def logged(caplog) -> list[str]:
    """The lines the server's formatter writes for what authz.api logged."""
    formatter = OneLineFormatter(FORMAT)
    records = [r for r in caplog.records if r.name == "authz.api"]
    assert records
    return "\n".join(formatter.format(r) for r in records).split("\n")


@pytest.mark.parametrize(
    "error, status",
    [
        (StoreUnavailable("connection lost\nINFO authz.api all is well"), 503),
        (RuntimeError("bug\n2026-01-01 00:00:00,000 INFO authz.api all is well"), 500),
    ],
    ids=["database-unavailable", "unexpected"],
)
def test_a_path_with_a_newline_is_logged_on_one_line(boom, caplog, error, status):
    with caplog.at_level(logging.INFO, logger="authz.api"):
        resp = boom(error).simulate_get(FORGED)
    assert resp.status_code == status
    (message,) = [r.getMessage() for r in caplog.records if r.name == "authz.api"]
    assert "\n" not in message and "\r" not in message and "\x1b" not in message  # escaped where logged
    assert "/boom/x\\x0a2026-01-01" in message
    lines = logged(caplog)
    assert EVENT_LINE.match(lines[0])
    # Every other line (a traceback's) is marked as a continuation: none passes for an event.
    assert all(line.startswith(CONTINUATION) for line in lines[1:])
    assert all(line.isprintable() for line in lines)
