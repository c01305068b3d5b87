"""Every environment variable the deployment files set is one the application reads, with a
value it accepts; gunicorn listens where the files say traffic goes."""

from __future__ import annotations

import secrets

import pytest

from authz.config import Settings
from tests.deploy.deployfiles import PLATFORM_ENV, application_env_names, settings_env_names
from tests.deploy.environments import all_environments

ENVIRONMENTS = all_environments()
IDS = [where for where, _ in ENVIRONMENTS]

# Named in the issue as read outside Settings: by deploy/gunicorn.conf.py and by the CLI.
GUNICORN_AND_CLI = {
    "HOST",
    "PORT",
    "AUTHZ_WORKERS",
    "AUTHZ_ACCESS_LOG",
    "PROMETHEUS_MULTIPROC_DIR",
    "AUTHZ_STATE_DIR",
    "AUTHZ_GUNICORN_CONF",
    "AUTHZ_DEMO_DATA",
}


def test_the_names_the_application_reads_are_found():
    """The scan of the sources finds what Settings reads and what gunicorn.conf.py and the
    CLI read, so an empty or broken scan cannot let every name through."""
    names = application_env_names()
    assert {"DATABASE_URL", "AUTHZ_SMTP_HOST", "AUTHZ_SMTP_PORT", "AUTHZ_MAIL_FROM"} <= settings_env_names()
    assert settings_env_names() | GUNICORN_AND_CLI <= names


@pytest.mark.parametrize("where, env", ENVIRONMENTS, ids=IDS)
def test_every_variable_set_is_read_by_the_application(where, env):
    unknown = set(env) - application_env_names() - set(PLATFORM_ENV)
    assert not unknown, f"{where} sets {sorted(unknown)}, which nothing in the application reads (a typo?)"


@pytest.mark.parametrize("where, env", ENVIRONMENTS, ids=IDS)
def test_settings_accept_the_values(where, env, tmp_path):
    # A *_FILE setting names a file the deployment mounts (a Secret, a credential): here, one
    # with a good value, so that what is held is the rest of the environment.
    mounted = tmp_path / "mounted"
    mounted.write_text(secrets.token_hex(32) + "\n")
    env = {name: str(mounted) if name.endswith("_FILE") else value for name, value in env.items()}
    settings = Settings.from_env(env)  # ConfigError names the setting
    assert settings.smtp_port > 0


@pytest.mark.parametrize("where, env", ENVIRONMENTS, ids=IDS)
def test_gunicorn_listens_where_the_environment_says(where, env, gunicorn_conf):
    conf = gunicorn_conf(env)
    host, port = conf["bind"].rsplit(":", 1)
    assert (host, port) == (env.get("HOST", "127.0.0.1"), env.get("PORT", "8080"))
    assert 0 < int(port) < 65536
    assert conf["workers"] >= 1
    # The worker class is importable and is gunicorn's sync worker (with a read deadline).
    from gunicorn.util import load_class
    from gunicorn.workers.sync import SyncWorker

    assert issubclass(load_class(conf["worker_class"]), SyncWorker)


def test_containers_listen_on_every_address(gunicorn_conf):
    """In a container, 127.0.0.1 would be unreachable from the Service or the port mapping."""
    for where, env in ENVIRONMENTS:
        if not where.startswith("systemd"):
            assert gunicorn_conf(env)["bind"].startswith("0.0.0.0:"), where


def test_gunicorn_serves_the_application(gunicorn_conf):
    """wsgi_app names a factory that exists (the app's modules may move)."""
    import importlib

    target = gunicorn_conf({})["wsgi_app"]
    module, _, call = target.partition(":")
    assert call.endswith("()"), target
    assert callable(getattr(importlib.import_module(module), call[:-2]))
