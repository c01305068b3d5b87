"""deploy/requirements.lock: every run-time dependency pinned with hashes, consistent with
pyproject.toml, regenerable by deploy/lock.sh."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.deployfiles import DEPLOY, REPO

LOCK = DEPLOY / "requirements.lock"
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}$")


def lock_entries() -> dict[str, tuple[str, list[str]]]:
    """name -> (pinned version, hashes)."""
    entries: dict[str, tuple[str, list[str]]] = {}
    text = LOCK.read_text(encoding="utf-8")
    for block in re.sub(r"\\\n", " ", text).splitlines():
        line = block.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("-"), f"an option in the lock: {line!r} (machine-specific?)"
        words = line.split()
        requirement = Requirement(words[0])
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{words[0]}: not pinned"
        hashes = words[1:]
        assert hashes and all(HASH.match(h) for h in hashes), f"{words[0]}: no sha256 hashes"
        entries[canonicalize_name(requirement.name)] = (spec.version, hashes)
    return entries


def project_dependencies() -> list[Requirement]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(r) for r in pyproject["project"]["dependencies"]]


def test_every_dependency_is_pinned_with_hashes():
    entries = lock_entries()
    for requirement in project_dependencies():
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{requirement} is not in deploy/requirements.lock: run deploy/lock.sh"
        version, _ = entries[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"the lock pins {name}=={version}, outside {requirement}: run deploy/lock.sh"
        )


def test_the_lock_is_closed_under_dependencies():
    """What each locked package needs is locked too (read from the installed metadata of
    those whose installed version is the locked one, so no network is needed)."""
    entries = lock_entries()
    checked = 0
    for name, (version, _) in entries.items():
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        checked += 1
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            needed = canonicalize_name(requirement.name)
            assert needed in entries, f"{name} {version} needs {requirement}, which is not locked: run deploy/lock.sh"
            assert requirement.specifier.contains(entries[needed][0], prereleases=True), (
                f"{name} {version} needs {requirement}, the lock has {entries[needed][0]}"
            )
    assert checked >= len(project_dependencies()) // 2, "too few locked versions installed to check"


def test_the_lock_names_no_local_index_or_wheel_folder():
    text = LOCK.read_text(encoding="utf-8")
    for option in ("--find-links", "--index-url", "--extra-index-url", "--trusted-host", "file:"):
        assert option not in text, f"{option} in the lock: it must come from the package index alone"


def test_the_lock_says_how_to_regenerate_it():
    assert "deploy/lock.sh" in LOCK.read_text(encoding="utf-8").split("\n\n")[0]
    script = DEPLOY / "lock.sh"
    assert os.access(script, os.X_OK)
    text = script.read_text(encoding="utf-8")
    assert "--generate-hashes" in text and "pyproject.toml" in text and "deploy/requirements.lock" in text
    subprocess.run(["bash", "-n", str(script)], check=True)  # syntax


def test_make_lock_runs_the_script():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^lock:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert target and "deploy/lock.sh" in target[1]
