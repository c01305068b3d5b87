"""deploy/compose.yaml: PostgreSQL, migrate, the service, the deliverer and Mailpit, wired
together the way the application expects."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.deploy.deployfiles import (
    DEPLOY,
    authz_commands,
    command_name,
    dockerfile_stages,
    exec_form,
    parse_cli,
)
from tests.deploy.environments import compose_app_services, compose_env, compose_file

SERVICES = compose_file()["services"]
APP = compose_app_services()
IMAGE_CMD = exec_form(next(i for i in dockerfile_stages(DEPLOY / "Dockerfile")[-1] if i.keyword == "CMD").args)
MAILPIT_SMTP, MAILPIT_UI = 1025, 8025  # Mailpit's defaults (MP_SMTP_BIND_ADDR, MP_UI_BIND_ADDR)


def command(service: dict) -> list[str]:
    value = service.get("command") or IMAGE_CMD
    return value if isinstance(value, list) else ["sh", "-c", value]


def published(service: dict) -> dict[int, str]:
    """container port -> host side of each short-syntax port mapping."""
    ports = {}
    for mapping in service.get("ports", []):
        host, _, container = str(mapping).rpartition(":")
        ports[int(container.split("/")[0])] = host
    return ports


def mailpit_service() -> str:
    (name,) = [n for n, s in SERVICES.items() if str(s.get("image", "")).startswith("axllent/mailpit:")]
    return name


def test_the_stack_has_its_parts():
    assert set(APP) == {"migrate", "authz", "notify"}
    assert SERVICES["db"]["image"].startswith("postgres:")
    mailpit_service()


@pytest.mark.parametrize("name, expected", [("migrate", "migrate"), ("authz", "serve"), ("notify", "notify deliver")])
def test_each_service_runs_a_valid_authz_command(name, expected):
    commands = authz_commands(command(APP[name]))
    assert [command_name(parse_cli(c)) for c in commands] == [expected], command(APP[name])


def test_the_deliverer_runs_every_minute_and_survives_a_failed_run():
    argv = command(APP["notify"])
    assert argv[:2] == ["sh", "-c"]
    script = argv[2]
    assert "while" in script and "sleep 60" in script
    assert "set -e" not in script and "|| " in script, "a failed run must not end the loop"
    assert APP["notify"].get("init") is True, "sh is not PID 1: SIGTERM stops the loop at once"


def test_clients_reach_gunicorn_through_the_front_only():
    env, front = compose_env(APP["authz"]), SERVICES["front"]
    assert not published(APP["authz"]), "gunicorn itself is published: slow clients would reach its workers"
    assert front["image"].startswith("nginx:")
    host, port = front["environment"]["AUTHZ_UPSTREAM"].rsplit(":", 1)
    assert (host, int(port)) == ("authz", int(env["PORT"]))
    assert int(front["environment"]["AUTHZ_FRONT_PORT"]) in published(front)
    (mount,) = front["volumes"]
    source, target, mode = mount.split(":")
    assert (DEPLOY / source).resolve() == (DEPLOY / "nginx" / "authz.conf.template").resolve()
    assert target.startswith("/etc/nginx/templates/") and mode == "ro"


def test_app_services_share_the_image_and_run_read_only():
    builds = {(s["build"]["context"], s["build"]["dockerfile"], s["image"]) for s in APP.values()}
    assert len(builds) == 1, builds
    context, dockerfile, _ = builds.pop()
    assert (DEPLOY / context / dockerfile).resolve() == (DEPLOY / "Dockerfile").resolve()
    for name, service in APP.items():
        assert service.get("read_only") is True, name
        assert "/tmp" in service.get("tmpfs", []), name


def test_database_url_points_at_the_postgres_service():
    db = SERVICES["db"]["environment"]
    for name, service in APP.items():
        url = urlsplit(compose_env(service)["DATABASE_URL"])
        assert url.scheme.startswith("postgresql") and url.hostname == "db" and (url.port or 5432) == 5432, name
        assert (url.username, url.password, url.path.lstrip("/")) == (
            db["POSTGRES_USER"],
            db["POSTGRES_PASSWORD"],
            db["POSTGRES_DB"],
        ), name


def test_deliverer_sends_to_mailpit():
    env = compose_env(APP["notify"])
    assert env["AUTHZ_SMTP_HOST"] == mailpit_service()
    assert int(env["AUTHZ_SMTP_PORT"]) == MAILPIT_SMTP
    assert "@" in env["AUTHZ_MAIL_FROM"]
    assert mailpit_service() in APP["notify"]["depends_on"]


def test_mailpit_web_ui_is_published():
    assert MAILPIT_UI in published(SERVICES[mailpit_service()])


def test_order_db_then_migrate_then_the_rest():
    assert APP["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("authz", "notify"):
        assert APP[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
