"""HTML out of the console's templates (api/console/templates, one base layout),
with the headers every console answer carries.

Autoescaping is on for every template, whatever its name: a member named
`<script>` is shown as text. No template holds a script or a style attribute, so
the Content-Security-Policy can forbid inline ones outright."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import falcon
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# Everything from this origin only; nothing inline; no framing, no plugins, forms post
# only here, and no <base> to redirect relative links.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Pairs, not a dict: falcon adds to a headers dict it is given (a redirect's Location).
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)

_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,  # every template, not only *.html
    undefined=StrictUndefined,  # a name a template misspells is an error, not an empty string
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(resp: falcon.Response, template: str, *, status: int = 200, **context: Any) -> None:
    """Render TEMPLATE with CONTEXT as the answer (never cached: pages show one person's data)."""
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = "text/html; charset=utf-8"
    resp.cache_control = ["no-store"]
    resp.text = _ENV.get_template(template).render(**context)
    secure(resp)


def secure(resp: falcon.Response) -> None:
    """The security headers, on every answer of the console: pages, error pages,
    redirects and its static files (set where they are made, not by a middleware
    every API request would pay for)."""
    resp.set_headers(SECURITY_HEADERS)
