"""deploy/systemd: the service, the deliverer and its timer for a one-machine install."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest

from tests.deploy.deployfiles import (
    REPO,
    SYSTEMD,
    command_name,
    environment_file,
    exec_argv,
    parse_cli,
    unit_file,
    unit_value,
    unit_values,
)

UNITS = sorted(p.name for p in SYSTEMD.glob("*.service")) + sorted(p.name for p in SYSTEMD.glob("*.timer"))
SERVICES = [name for name in UNITS if name.endswith(".service")]
ENV = environment_file(SYSTEMD / "authz.env.example")
INSTALL_ROOT = PurePosixPath("/opt/authz")  # where deploy/README.md puts the checkout's files

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
}


def service(name):
    return unit_file(SYSTEMD / name)


@pytest.mark.parametrize("name", UNITS)
def test_units_parse(name):
    unit = unit_file(SYSTEMD / name)
    assert "Unit" in unit and unit_value(unit, "Unit", "Description")
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str
    parser.read(SYSTEMD / name, encoding="utf-8")  # the other reader agrees on the sections
    assert set(parser.sections()) == set(unit)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("authz.service", ["migrate", "serve"]),
        ("authz-notify.service", ["notify deliver"]),
    ],
)
def test_exec_lines_are_valid_authz_commands(name, expected):
    unit = service(name)
    commands = [exec_argv(v) for key in ("ExecStartPre", "ExecStart") for v in unit_values(unit, "Service", key)]
    assert [command_name(parse_cli(argv)) for argv in commands] == expected
    for argv in commands:
        assert PurePosixPath(argv[0]).is_absolute()
        assert PurePosixPath(argv[0]).parent == INSTALL_ROOT / "venv" / "bin"


@pytest.mark.parametrize("name", SERVICES)
def test_services_run_unprivileged_and_hardened(name):
    unit = service(name)
    user = unit_value(unit, "Service", "User")
    assert user and user not in ("root", "0")
    for key, value in HARDENING.items():
        assert unit_value(unit, "Service", key) == value, f"{name}: {key}={value}"
    assert unit_values(unit, "Service", "EnvironmentFile") == ["/etc/authz/authz.env"]
    assert unit_value(unit, "Service", "WorkingDirectory") == str(INSTALL_ROOT)


@pytest.mark.parametrize("name", SERVICES)
def test_the_database_directory_is_writable(name):
    """ProtectSystem=strict makes everything read-only: the SQLite directory must be a
    state or read-write path (SQLite writes its -wal and -shm files beside the database)."""
    url = urlsplit(ENV["DATABASE_URL"])
    if url.scheme != "sqlite":
        pytest.skip("not SQLite")
    directory = PurePosixPath(url.path[1:]).parent
    assert directory.is_absolute(), "an absolute path (sqlite:////...): the working directory is read-only"
    unit = service(name)
    writable = [PurePosixPath(p.lstrip("-")) for v in unit_values(unit, "Service", "ReadWritePaths") for p in v.split()]
    writable += [
        PurePosixPath("/var/lib") / d for v in unit_values(unit, "Service", "StateDirectory") for d in v.split()
    ]
    assert any(directory == w or w in directory.parents for w in writable), f"{directory} is read-only for {name}"


def test_server_reloads_with_sighup_and_restarts_on_failure():
    unit = service("authz.service")
    assert unit_value(unit, "Service", "Type") in ("exec", "simple")  # `authz serve` execs gunicorn
    assert exec_argv(unit_value(unit, "Service", "ExecReload"))[-2:] == ["-HUP", "$MAINPID"]
    assert unit_value(unit, "Service", "Restart") == "on-failure"
    assert unit_value(unit, "Install", "WantedBy") == "multi-user.target"


def test_deliverer_is_a_oneshot_started_by_the_timer():
    unit = service("authz-notify.service")
    assert unit_value(unit, "Service", "Type") == "oneshot"
    assert "Install" not in unit, "started by the timer, not enabled on its own"
    timer = unit_file(SYSTEMD / "authz-notify.timer")
    assert unit_value(timer, "Timer", "Unit") in (None, "authz-notify.service")
    assert unit_value(timer, "Install", "WantedBy") == "timers.target"


def test_timer_fires_every_minute():
    calendar = unit_value(unit_file(SYSTEMD / "authz-notify.timer"), "Timer", "OnCalendar")
    if shutil.which("systemd-analyze"):
        out = subprocess.run(["systemd-analyze", "calendar", calendar], capture_output=True, text=True, check=True)
        normalized = next(
            line.split(":", 1)[1].strip()
            for line in out.stdout.splitlines()
            if line.strip().startswith("Normalized form")
        )
    else:
        normalized = {"minutely": "*-*-* *:*:00"}.get(calendar, calendar)
    assert normalized == "*-*-* *:*:00"


def test_environment_file_paths_are_the_installed_checkout_files():
    """/opt/authz/X in the environment file is the repository's X, copied there by the
    install steps of deploy/README.md."""
    for name in ("AUTHZ_POLICY_DIR", "AUTHZ_GUNICORN_CONF", "AUTHZ_DEMO_DATA"):
        path = PurePosixPath(ENV[name])
        assert INSTALL_ROOT in path.parents, f"{name}={path}"
        assert (REPO / path.relative_to(INSTALL_ROOT)).exists(), f"{name}: no {path.relative_to(INSTALL_ROOT)}"
    readme = (REPO / "deploy" / "README.md").read_text(encoding="utf-8")
    assert str(INSTALL_ROOT) in readme and "/etc/authz/authz.env" in readme


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verify(tmp_path):
    """systemd's own reader, on a scratch root holding the units, stand-ins for the programs
    they run and the system's units (it complains of any unknown or malformed setting)."""
    system = next(
        (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if (p / "sysinit.target").exists()),
        None,
    )
    if system is None:
        pytest.skip("no systemd unit directory on this machine")
    shutil.copytree(system, tmp_path / "usr/lib/systemd/system", symlinks=True)
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    for name in UNITS:
        shutil.copy(SYSTEMD / name, units / name)
        for key in ("ExecStartPre", "ExecStart", "ExecReload", "ExecStop"):
            for value in unit_values(unit_file(SYSTEMD / name), "Service", key):
                program = tmp_path / exec_argv(value)[0].lstrip("/")
                program.parent.mkdir(parents=True, exist_ok=True)
                program.write_text("#!/bin/sh\n")
                program.chmod(0o755)
    out = subprocess.run(
        ["systemd-analyze", "verify", f"--root={tmp_path}", *UNITS], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and not (out.stdout + out.stderr).strip(), out.stdout + out.stderr
