"""Test-only npm packages (tests/support/oidc, tests/support/axe), installed from their
committed package-lock.json with `npm ci` when missing or older than the lock.

Under an exclusive file lock (`.install.lock` in the package's folder): pytest-xdist's
workers may all get here at once, and one `npm ci` removing node_modules while another
installs (or a process reads it) would break both. Whoever waited finds the install done."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path


class NpmError(RuntimeError):
    pass


def npm_ci(package_dir: Path) -> None:
    """node_modules of PACKAGE_DIR installed exactly as its lock says; raises NpmError
    (naming what is missing or npm's output) otherwise."""
    npm = shutil.which("npm")
    if not npm:
        raise NpmError(f"{package_dir} needs npm (Node.js >= 20) on PATH to install its test packages.")
    with open(package_dir / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed(package_dir):
            return
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=package_dir,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise NpmError(f"npm ci failed in {package_dir}:\n{done.stdout}\n{done.stderr}")


def installed(package_dir: Path) -> bool:
    marker = package_dir / "node_modules" / ".package-lock.json"
    return marker.exists() and marker.stat().st_mtime >= (package_dir / "package-lock.json").stat().st_mtime
