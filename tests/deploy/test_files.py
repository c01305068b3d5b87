"""Every file in deploy/ is read by these tests (a new kind of file needs a reader here),
and the CI workflow's commands are commands the CLI accepts."""

from __future__ import annotations

import runpy
import subprocess

import pytest

from tests.deploy.deployfiles import (
    DEPLOY,
    authz_commands,
    command_name,
    dockerfile_instructions,
    environment_file,
    parse_cli,
    unit_file,
    yaml_documents,
)

# What reads each file; the checks of its contents are in the test module named.
READERS = {
    "*.yaml": "YAML (test_k8s, test_compose)",
    "*.yml": "YAML (the CI workflow, below)",
    "Dockerfile": "Dockerfile (test_dockerfile)",
    "Dockerfile.dockerignore": "ignore patterns (test_dockerfile)",
    "gunicorn.conf.py": "executed (test_settings)",
    "requirements.lock": "pip requirements (test_lock)",
    "lock.sh": "bash -n (test_lock)",
    "*.service": "systemd unit (test_systemd)",
    "*.timer": "systemd unit (test_systemd)",
    "*.env.example": "systemd EnvironmentFile (test_systemd, test_settings)",
    "*.md": "documentation",
    "*.conf.template": "nginx directives (test_nginx)",
}
FILES = sorted(p for p in DEPLOY.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def reader(path) -> str | None:
    for pattern, what in READERS.items():
        if path.match(pattern):
            return what
    return None


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(DEPLOY)) for p in FILES])
def test_every_file_has_a_reader_and_reads(path, tmp_path, monkeypatch):
    what = reader(path)
    assert what, f"deploy/{path.relative_to(DEPLOY)}: no test reads this kind of file; add one"
    if what.startswith("YAML"):
        assert yaml_documents(path)
    elif path.name == "Dockerfile":
        assert dockerfile_instructions(path)[0].keyword == "FROM"
    elif path.suffix in (".service", ".timer"):
        assert unit_file(path)
    elif path.name.endswith(".env.example"):
        assert environment_file(path)
    elif path.name == "gunicorn.conf.py":
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
        monkeypatch.setenv("AUTHZ_STATE_DIR", str(tmp_path))
        assert runpy.run_path(str(path))["wsgi_app"]
    elif path.suffix == ".sh":
        subprocess.run(["bash", "-n", str(path)], check=True)
    else:
        assert path.read_text(encoding="utf-8").strip()


def ci_steps():
    (workflow,) = yaml_documents(DEPLOY / "ci" / "policy-check.yml")
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                yield step["name"], step["run"]


# The workflow's expressions and shell arrays, replaced by what they stand for.
CI_SUBSTITUTIONS = {"${{ github.base_ref }}": "main", '"${impact[@]}"': "--no-impact"}


def test_ci_workflow_runs_valid_policy_commands():
    seen = []
    for name, script in ci_steps():
        for argv in authz_commands(["sh", "-c", script], CI_SUBSTITUTIONS):
            assert "${" not in " ".join(argv), f"{name}: unresolved {argv}"
            seen.append(command_name(parse_cli(argv)))
    assert seen == ["policy validate", "policy test", "policy diff"]
