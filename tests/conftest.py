"""Shared fixtures. Every test that takes `database` runs on SQLite and, where
PostgreSQL answers, on PostgreSQL too (AUTHZ_TEST_POSTGRES_URL; default
postgresql://postgres@127.0.0.1:5432/test). Naming the variable makes the
PostgreSQL runs mandatory: if it is set and the server does not answer, they fail."""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path

import psycopg2
import pytest
from falcon import testing

from api.app import create_app
from authz.authn.keys import create_key
from authz.cli import main
from authz.config import PROJECT_ROOT, IdentitySettings, Settings
from authz.engine.compiler import compile_policy
from authz.service import Service
from models.db import db, is_postgres, open_database
from models.directory import member_lookup_rows
from models.migrate import migrate
from tests import factories
from tests.support.oidc_provider import DEFAULT_ACCOUNTS, DEFAULT_AUDIENCE, DEFAULT_CLIENT, OidcProvider

POLICY_DIR = PROJECT_ROOT / "policies"
_PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
_PG_URL = os.environ.get("AUTHZ_TEST_POSTGRES_URL")


def _postgres_answers(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=2).close()
        return True
    except psycopg2.OperationalError:
        return False


BACKENDS = ["sqlite"]
if _PG_URL or _postgres_answers(_PG_DEFAULT):
    BACKENDS.append("postgres")


@pytest.fixture(scope="session")
def postgres_server_url():
    """A database of its own for this test session, dropped at the end."""
    base = _PG_URL or _PG_DEFAULT
    admin = psycopg2.connect(base)
    admin.autocommit = True
    name = f"authz_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    if db.obj is not None and not db.is_closed():
        db.close()
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def policy_table():
    return compile_policy(POLICY_DIR)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/authz.db"
    return _fresh_postgres(request)


def _fresh_postgres(request) -> str:
    url = request.getfixturevalue("postgres_server_url")
    with psycopg2.connect(url) as conn, conn.cursor() as cur:  # each test starts from an empty schema
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    conn.close()
    return url


def _migrated(url: str):
    handle = open_database(url)
    migrate()
    return handle


def assert_member_lookup_is_current(handle) -> None:
    """member_lookup (the check path's copy) must equal what the membership tables
    say, whatever the test did to them: checked after every database test."""
    if not {"member_lookup", "membership", "membership_level"} <= set(handle.get_tables()):
        return  # a test that migrated down or broke the database on purpose

    def rows(sql: str) -> set:
        return {
            (login, site, role, frozenset(levels.split(",")) if levels else frozenset())
            for login, site, role, levels in handle.execute_sql(sql).fetchall()
        }

    kept = rows("SELECT login_key, site_number, role, levels FROM member_lookup")
    assert kept == rows(member_lookup_rows(is_postgres(handle))), "member_lookup is out of date"


@pytest.fixture
def database(database_url):
    """An empty, migrated database bound to the models."""
    handle = _migrated(database_url)
    yield handle
    assert_member_lookup_is_current(handle)
    if not handle.is_closed():
        handle.close()


@pytest.fixture(params=[b for b in BACKENDS if b == "postgres"])
def postgres_database(request, tmp_path):
    """For what only PostgreSQL has (advisory and row locks): an empty, migrated
    PostgreSQL database. Not generated at all where PostgreSQL is absent."""
    handle = _migrated(_fresh_postgres(request))
    yield handle
    assert_member_lookup_is_current(handle)
    if not handle.is_closed():
        handle.close()


@pytest.fixture
def settings(database_url) -> Settings:
    # No change listener: a test that wants one turns it on (and closes it).
    return Settings(
        database_url=database_url, policy_dir=POLICY_DIR, cache_size=1000, change_poll_ms=60_000, change_notify=False
    )


@pytest.fixture
def service(database, settings) -> Service:
    return Service.start(settings)


@pytest.fixture
def client(service) -> testing.TestClient:
    return testing.TestClient(create_app(service))


@pytest.fixture
def check_key(database) -> str:
    return create_key("tests", "check")[0]


@pytest.fixture
def auth(check_key) -> dict:
    return {"Authorization": f"Bearer {check_key}"}


@pytest.fixture
def acting_as(database):
    """Headers of an admin key acting for a person: acting_as(login) -> headers."""
    key = create_key("console", "admin")[0]
    return lambda login: {"Authorization": f"Bearer {key}", "X-Acting-User": login}


@pytest.fixture
def operator_headers(database) -> dict:
    """Headers of an operator key (no acting person)."""
    return {"Authorization": f"Bearer {create_key('ops', 'operator')[0]}"}


@pytest.fixture
def cli_runner(capsys):
    """Run `authz ARGV...` in this process: cli_runner(*argv) -> (exit code, stdout, stderr)."""

    def run(*argv):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def cli(database_url, monkeypatch, cli_runner):
    """cli_runner against the test database (DATABASE_URL); closes the handle the CLI opened."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    yield cli_runner
    if db.obj is not None and not db.is_closed():  # the CLI rebinds db to a handle of its own
        db.close()


@pytest.fixture
def demo(database, policy_table):
    """The shipped demo data."""
    from authz.accounts.importer import import_file

    import_file(PROJECT_ROOT / "deploy" / "demo-data.yaml", policy_table)


@pytest.fixture
def make(database, policy_table):
    return factories.Factory(policy_table)


# --- OpenID Connect: a real provider on loopback (tests/support/oidc), one per test process ---

# The demo's people, as the provider knows them. Carol has no preferred_username (the login id
# falls back to her email); Dana's username is her login id, her email another address.
OIDC_ACCOUNTS = [
    *DEFAULT_ACCOUNTS,
    {"sub": "c4r0l", "email": "carol@acme.example", "name": "Carol Chen"},
    {"sub": "d4n4", "preferred_username": "Dana.Diaz", "email": "dana@consult.example", "name": "Dana Diaz"},
    {"sub": "m4ll0ry", "preferred_username": "mallory@evil.example", "email": "mallory@evil.example"},
]
# The service as the browser sees it in API tests (nothing listens there: a test reads the
# redirect and calls the app itself), and over TLS for the Secure-cookie tests.
OIDC_PUBLIC_URL = "http://127.0.0.1:9"
OIDC_TLS_URL = "https://authz.example"
OIDC_CLIENT = {
    **DEFAULT_CLIENT,
    "redirect_uris": [
        *DEFAULT_CLIENT["redirect_uris"],
        f"{OIDC_PUBLIC_URL}/console/auth/callback",
        f"{OIDC_TLS_URL}/console/auth/callback",
    ],
    "post_logout_redirect_uris": [f"{OIDC_PUBLIC_URL}/console/", f"{OIDC_TLS_URL}/console/"],
}
SESSION_SECRET = "test-session-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def oidc(tmp_path_factory) -> OidcProvider:
    with OidcProvider.start(tmp_path_factory.mktemp("oidc"), accounts=OIDC_ACCOUNTS, clients=[OIDC_CLIENT]) as idp:
        yield idp


def identity_settings(idp: OidcProvider, **changes) -> IdentitySettings:
    """OpenID Connect on, for IDP: access tokens for the API's audience and the console
    client's ID tokens accepted, browser sign-in as the console client."""
    identity = IdentitySettings(
        issuer=idp.issuer,
        audiences=(DEFAULT_AUDIENCE, OIDC_CLIENT["client_id"]),
        client_id=OIDC_CLIENT["client_id"],
        client_secret=OIDC_CLIENT["client_secret"],
        public_url=OIDC_PUBLIC_URL,
        session_secrets=(SESSION_SECRET,),
    )
    return dataclasses.replace(identity, **changes)


@pytest.fixture
def oidc_app(database, settings, oidc):
    """oidc_app(**identity changes) -> a TestClient of a service with OpenID Connect on."""

    def build(**changes) -> testing.TestClient:
        configured = dataclasses.replace(settings, identity=identity_settings(oidc, **changes))
        return testing.TestClient(create_app(Service.start(configured)))

    return build


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (the system's, through Playwright): one per test session, so one
    per xdist worker; a test opens its own context (tests/integration/console)."""
    from tests.support.browser import launch  # Playwright is loaded only where a browser is used

    with launch() as chromium:
        yield chromium
