"""deploy/Dockerfile: digest-pinned base, installs from the hashed lock, non-root, runs an
authz command, ports and paths that match the application and the repository."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import PurePosixPath

from tests.deploy.deployfiles import (
    DEPLOY,
    REPO,
    command_name,
    copy_sources_and_dest,
    dockerfile_stages,
    exec_form,
    image_env,
    image_files,
    parse_cli,
)

DOCKERFILE = DEPLOY / "Dockerfile"
STAGES = dockerfile_stages(DOCKERFILE)
FINAL = STAGES[-1]
DIGEST_REF = re.compile(r"^(?P<name>[a-z0-9./_-]+):(?P<tag>[\w.-]+)@sha256:[0-9a-f]{64}$")


def instructions(stage, keyword):
    return [ins for ins in stage if ins.keyword == keyword]


def from_image(ins) -> tuple[str, str | None]:
    """(image reference, stage name) of a FROM."""
    words = [w for w in ins.args.split() if not w.startswith("--platform")]
    name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
    return words[0], name


def run_commands(stage) -> list[list[str]]:
    """The simple commands of the stage's RUN instructions, in order."""
    commands = []
    for ins in instructions(stage, "RUN"):
        for part in re.split(r"&&|;", ins.args):
            if part.strip():
                commands.append(shlex.split(part))
    return commands


def test_every_base_image_is_pinned_by_digest():
    stage_names = set()
    for stage in STAGES:
        ref, name = from_image(stage[0])
        if ref not in stage_names:
            assert DIGEST_REF.match(ref), f"FROM {ref}: not pinned by digest (image:tag@sha256:...)"
        if name:
            stage_names.add(name)


def test_stages_use_one_base():
    refs = {from_image(stage[0])[0] for stage in STAGES}
    assert len(refs) == 1, f"the stages use different bases: {refs}"
    match = DIGEST_REF.match(refs.pop())
    assert match["name"] == "python" and match["tag"].startswith("3.11-"), match["tag"]


def test_the_lock_is_for_the_image_python():
    tag = DIGEST_REF.match(from_image(FINAL[0])[0])["tag"]
    header = (DEPLOY / "requirements.lock").read_text(encoding="utf-8")
    version = re.search(r"with Python (\d+\.\d+)", header)[1]
    assert tag.startswith(version + "-"), f"lock made with Python {version}, image is python:{tag}"


def test_runs_as_a_non_root_numeric_user():
    (user,) = instructions(FINAL, "USER")[-1:]
    uid, _, gid = user.args.partition(":")
    # numeric, so the kubelet can verify runAsNonRoot without a passwd lookup
    assert uid.isdigit() and int(uid) != 0, user.args
    assert not gid or (gid.isdigit() and int(gid) != 0), user.args
    assert FINAL.index(user) > max(FINAL.index(i) for i in instructions(FINAL, "RUN")), (
        "USER must come after the RUNs that install as root"
    )


def test_the_user_exists_in_the_image():
    uid, _, gid = instructions(FINAL, "USER")[-1].args.partition(":")
    useradd = next(c for c in run_commands(FINAL) if c[0] == "useradd")
    assert useradd[useradd.index("--uid") + 1] == uid
    groupadd = next(c for c in run_commands(FINAL) if c[0] == "groupadd")
    assert groupadd[groupadd.index("--gid") + 1] == (gid or uid)


def test_dependencies_come_from_the_hashed_lock_then_the_wheel_without_dependencies():
    commands = [c for c in run_commands(FINAL) if c[:2] == ["pip", "install"]]
    lock_in_image = next(dest for dest, src in image_files().items() if src == "deploy/requirements.lock")
    workdir = PurePosixPath(instructions(FINAL, "WORKDIR")[0].args)

    lock_installs = [i for i, c in enumerate(commands) if "-r" in c]
    assert len(lock_installs) == 1, commands
    lock = commands[lock_installs[0]]
    assert {"--require-hashes", "--no-deps"} <= set(lock), lock
    assert str(workdir / lock[lock.index("-r") + 1]) == lock_in_image

    wheels = [i for i, c in enumerate(commands) if any(a.endswith(".whl") for a in c)]
    assert wheels and all("--no-deps" in commands[i] for i in wheels), commands
    assert lock_installs[0] < min(wheels), "the wheel goes in after its dependencies"
    assert all(i in lock_installs + wheels for i in range(len(commands))), (
        f"a pip install that is neither the lock nor the wheel: {commands}"
    )


def test_the_build_stage_builds_the_wheel_from_every_package():
    """The build stage copies every package pyproject.toml lists (the layout may change)."""
    build = STAGES[0]
    copied = set()
    for ins in instructions(build, "COPY"):
        sources, _, _ = copy_sources_and_dest(ins.args)
        copied |= set(sources)
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    top_level = {
        pattern.rstrip("*").split(".")[0] for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert "pyproject.toml" in copied
    missing = top_level - copied
    assert not missing, f"not copied into the build stage: {sorted(missing)}"
    wheel = [c for c in run_commands(build) if c[:2] == ["pip", "wheel"]]
    assert wheel and "--no-deps" in wheel[0]


def test_copied_files_exist_and_are_not_ignored():
    ignore = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in STAGES:
        for ins in instructions(stage, "COPY"):
            sources, _, flags = copy_sources_and_dest(ins.args)
            if "from" in flags:
                continue
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
                for pattern in ignore:
                    assert not fnmatch.fnmatch(source, pattern.lstrip("/")) and not source.startswith(
                        pattern.rstrip("/") + "/"
                    ), f"COPY {source}: excluded by Dockerfile.dockerignore ({pattern})"


def test_paths_in_env_point_at_copied_files():
    files = image_files()
    env = image_env()
    for name in ("AUTHZ_POLICY_DIR", "AUTHZ_GUNICORN_CONF", "AUTHZ_DEMO_DATA"):
        assert env[name] in files, f"{name}={env[name]} is not copied into the image"
        assert (REPO / files[env[name]]).exists()
    assert (REPO / files[env["AUTHZ_POLICY_DIR"]] / "model.conf").exists()


def test_cmd_serves_and_parses():
    (cmd,) = instructions(FINAL, "CMD")
    argv = exec_form(cmd.args)
    assert argv is not None, "CMD in exec form, so gunicorn is PID 1 and gets SIGTERM"
    assert command_name(parse_cli(argv)) == "serve"
    assert not instructions(FINAL, "ENTRYPOINT"), "no ENTRYPOINT: `docker run IMAGE authz migrate` must work"


def test_exposes_the_port_gunicorn_listens_on():
    exposed = {e.args.split("/")[0] for e in instructions(FINAL, "EXPOSE")}
    assert exposed == {image_env()["PORT"]}


def test_healthcheck_asks_the_liveness_route_on_the_port(app_routes):
    (check,) = instructions(FINAL, "HEALTHCHECK")
    path = re.search(r"https?://[^/\s'\"]+(/[\w./-]*)", check.args)[1]
    assert path == "/healthz" and path in app_routes
    assert "PORT" in check.args, "the health check follows PORT"


def test_nothing_needs_writing_at_run_time():
    """A read-only root filesystem: no bytecode written on import."""
    assert image_env().get("PYTHONDONTWRITEBYTECODE") == "1"
