"""The console in process: falcon's TestClient on the demo data, a session secret and
demo sign-in on, and a Browser that keeps its cookies, signs in through the demo
sign-in form and posts forms with the CSRF token of the page it last read."""

from __future__ import annotations

import dataclasses
import html
import re
import urllib.parse

import pytest
from falcon import testing

from api.app import create_app
from authz.config import IdentitySettings
from authz.service import Service
from tests.conftest import SESSION_SECRET

_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture
def console_settings(settings):
    return dataclasses.replace(
        settings, identity=IdentitySettings(session_secrets=(SESSION_SECRET,), demo_sign_in=True)
    )


@pytest.fixture
def console(demo, console_settings) -> testing.TestClient:
    """The app on the demo data, demo sign-in on."""
    return testing.TestClient(create_app(Service.start(console_settings)))


@pytest.fixture
def browser(console):
    """browser(login) -> a Browser signed in as LOGIN (a demo person); browser() -> signed out."""

    def open_as(login: str | None = None) -> Browser:
        b = Browser(console)
        if login is not None:
            b.sign_in(login)
        return b

    return open_as


class Browser:
    def __init__(self, client: testing.TestClient):
        self.client = client
        self.cookies: dict[str, str] = {}
        self.last = None

    def get(self, path: str, **params):
        resp = self.client.simulate_get(path, params=params or None, cookies=self.cookies)
        return self._keep(resp)

    def post(self, path: str, fields=(), *, token: bool = True, token_from: str | None = None):
        """Post FIELDS (a dict or pairs) as a form, with the CSRF token of the page last
        read (or of TOKEN_FROM, read first) unless TOKEN is False."""
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if token:
            if token_from is not None:
                self.get(token_from)
            pairs.append(("csrf_token", self.token()))
        resp = self.client.simulate_post(
            path,
            body=urllib.parse.urlencode(pairs),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            cookies=self.cookies,
        )
        return self._keep(resp)

    def token(self) -> str:
        found = _TOKEN.search(self.last.text)
        assert found, "the page carries no form token"
        return html.unescape(found.group(1))

    def sign_in(self, login: str):
        self.get("/console/sign-in")
        resp = self.post("/console/sign-in", {"login_id": login, "next": "/console/"})
        assert resp.status_code == 303, resp.text
        return resp

    def _keep(self, resp):
        for name, cookie in resp.cookies.items():
            if cookie.max_age == 0 or not cookie.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = cookie.value
        if resp.headers.get("content-type", "").startswith("text/html"):
            self.last = resp
        return resp


def text_of(resp) -> str:
    """The page's text, tags dropped and whitespace folded (for assertions on wording)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", resp.text)).split())
