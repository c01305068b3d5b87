"""Broken policy fixtures: tests/policies/broken/<case>/ holds only the files that
differ from the shipped policy (policy.csv, catalogue.yaml or model.conf) and
expected.txt, the problems `authz policy validate` must report for it: one
`file:line: message` substring per line; `#` lines are comments.

materialise() turns a case into a whole policy directory (the shipped policies/,
without its tests/, with the case's files laid over it), so that anything that
loads a policy directory (validate, the server's hot reload) can be fed one.
The overlay files are whole copies: when the shipped policy.csv changes, their
line numbers no longer match it, and test_validate says which case is stale."""

from __future__ import annotations

import shutil
from pathlib import Path

from authz.config import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "policies"
BROKEN = Path(__file__).resolve().parent / "broken"
EXPECTED = "expected.txt"


def cases() -> list[str]:
    """The names of every broken case, sorted."""
    return sorted(path.name for path in BROKEN.iterdir() if path.is_dir() and (path / EXPECTED).is_file())


def materialise(case: str, target_dir: Path) -> Path:
    """Write the policy directory of CASE at TARGET_DIR (which must not exist yet); return it."""
    target_dir = Path(target_dir)
    shutil.copytree(SHIPPED, target_dir, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    for path in (BROKEN / case).iterdir():
        if path.is_file() and path.name != EXPECTED:
            shutil.copyfile(path, target_dir / path.name)
    return target_dir


def expected_problems(case: str) -> list[str]:
    """The substrings that must each appear among the problems reported for CASE."""
    lines = (BROKEN / case / EXPECTED).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
