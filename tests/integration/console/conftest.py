"""The console in a real browser: one headless Chromium per test session (per xdist
worker: the `browser` fixture of tests/conftest.py), one gunicorn per test module serving
the demo data with the demo sign-in on (as `make run` does), and a fresh browser context
(no cookies) per test. tests/support/browser.py's check_page runs axe-core on a page and
keeps its screenshot in var/screenshots/.

SQLite only: what these tests exercise is the pages, the forms and the browser, not the
storage (the service and API tests run every workflow on PostgreSQL too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from authz.cli.core import DEMO_DATA
from authz.config import Settings
from authz.service import Service
from authz.service.schema import migrate
from models.db import db
from tests.conftest import SESSION_SECRET
from tests.integration.server import Server, gunicorn
from tests.support.smtp import Mailbox, smtp_server

# The page size screenshots are taken at (and the README's pictures).
VIEWPORT = {"width": 1000, "height": 800}
# What `make run` (demo mode) sets to offer the demo sign-in; never set in production.
DEMO_SIGN_IN = {"AUTHZ_DEMO_SIGN_IN": "true", "AUTHZ_SESSION_SECRET": SESSION_SECRET}
# Playwright's default wait for a condition (a locator, a navigation), in ms.
EXPECT_TIMEOUT_MS = 10_000


@dataclass
class Console:
    """A running console: its server, an admin API key and the command line on its database."""

    server: Server
    workdir: Path
    database_url: str
    admin_key: str

    @property
    def base(self) -> str:
        return self.server.base

    def url(self, path: str) -> str:
        return self.server.base + path

    def api(self, method: str, path: str, body=None, acting: str | None = None) -> tuple[int, dict]:
        """An administrative API call (admin key; `acting` is the acting person)."""
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        if acting:
            headers["X-Acting-User"] = acting
        status, raw = self.server.call(method, path, body, headers)
        return status, (json.loads(raw) if raw else {})

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return authz_cli(self.workdir, self.database_url, *args, **env)

    def add_people(self, *login_ids: str) -> None:
        """Known identities (people, members of no site), imported."""
        people = [
            {
                "login_id": login,
                "email": login,
                "first_name": login.split("@")[0].title(),
                "last_name": "Partner",
                "phone": "+1 555 0300",
            }
            for login in login_ids
        ]
        self.import_data({"people": people})

    def import_data(self, data: dict) -> None:
        """Sites, people and memberships as `authz import` takes them (run in this process)."""
        path = self.workdir / f"import-{len(list(self.workdir.glob('import-*')))}.yaml"
        path.write_text(json.dumps(data))  # JSON is YAML
        Service.open(Settings(database_url=self.database_url)).data.import_file(path)
        db.close()

    def outbox(self, kind: str, recipient: str) -> list[str]:
        """The outbox's lines of KIND for RECIPIENT (`authz notify list`)."""
        listing = self.cli("notify", "list").stdout.splitlines()
        return [line for line in listing if kind in line and recipient.lower() in line.lower()]


def authz_cli(workdir: Path, database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`authz ARGS` on DATABASE_URL; fails the test on a non-zero exit."""
    done = subprocess.run(
        [sys.executable, "-m", "authz.cli", *args],
        cwd=workdir,
        env={**os.environ, "DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"authz {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def demo_database(workdir: Path) -> tuple[str, str]:
    """(database URL, an admin API key): the demo data as `make run` loads it (migrate,
    then `authz demo`'s load), prepared in this process through the service layer (three
    commands would each pay Python's and the app's start-up)."""
    url = f"sqlite:///{workdir}/authz.db"
    settings = Settings(database_url=url)
    migrate(settings)
    service = Service.open(settings)
    assert service.data.load_demo(DEMO_DATA)
    admin_key, _ = service.callers.create_key("e2e", "admin")
    db.close()
    return url, admin_key


def start_console(workdir: Path, **env: str):
    """gunicorn (one worker: the browser is the only client) on the demo data."""
    database_url, admin_key = demo_database(workdir)
    return database_url, admin_key, gunicorn(workdir, database_url, workers=1, **env)


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[Console]:
    """The console on the demo data, the demo sign-in on: shared by a module's tests
    (each test works on its own people or site, or says what it leaves behind)."""
    workdir = tmp_path_factory.mktemp("console")
    database_url, admin_key, server = start_console(workdir, **DEMO_SIGN_IN)
    with server as running:
        yield Console(running, workdir, database_url, admin_key)


@contextmanager
def fresh_page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A tab in a fresh browser context (no cookies), 1000 px wide, on BASE_URL."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    with fresh_page(browser, console.base) as tab:
        yield tab


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """(mailbox, port): a real SMTP server on loopback for `authz notify deliver`."""
    with smtp_server() as running:
        yield running
