"""The buffering front (deploy/nginx/authz.conf.template) holds the service's own
bounds: a body over AUTHZ_MAX_BODY_BYTES is refused there too, requests are read
whole before they reach a worker, and no timeout is longer than the worker's own
read deadline. `nginx -t` accepts it (tests/integration/test_slow_clients.py runs it)."""

from __future__ import annotations

import re

from authz.config import Settings
from tests.deploy.deployfiles import DEPLOY

TEMPLATE = DEPLOY / "nginx" / "authz.conf.template"
UNITS = {"k": 1024, "m": 1024 * 1024, "": 1}


def directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in TEMPLATE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.endswith(";"):
            name, _, value = line[:-1].partition(" ")
            found.setdefault(name, []).append(value.strip())
    return found


def size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([km]?)", value.lower()).groups()
    return int(number) * UNITS[unit]


def seconds(value: str) -> float:
    return float(value.removesuffix("s"))


def test_the_front_refuses_what_the_service_refuses_and_reads_requests_whole():
    d, settings = directives(), Settings()
    assert size(d["client_max_body_size"][0]) == settings.max_body_bytes
    assert size(d["client_body_buffer_size"][0]) >= settings.max_body_bytes  # never spilled to disk
    assert d["proxy_request_buffering"] == ["on"]
    for timeout in ("client_header_timeout", "client_body_timeout"):
        assert seconds(d[timeout][0]) <= settings.read_deadline_ms / 1000


def test_the_template_names_the_two_addresses_it_is_rendered_with():
    text = TEMPLATE.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == {"AUTHZ_FRONT_PORT", "AUTHZ_UPSTREAM"}
    assert directives()["proxy_pass"] == ["http://authz_service"]
