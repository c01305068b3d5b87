"""Broken policy fixtures: tests/policies/broken/<case>/ holds only what differs from
the shipped policy, and expected.txt, the problems `authz policy validate` must
report for it: one `file:line: message` substring per line; `#` lines are comments.

What differs:
- policy.csv, catalogue.yaml or model.conf: replaces the shipped file;
- tests/NAME_test.yaml: added to the shipped suites (or replaces the one of that name);
- remove.txt: paths to leave out of the shipped policy, one a line (`tests`: no suites).

materialise() turns a case into a whole policy directory (the shipped policies/,
suites included, with the case laid over it), so that anything that loads a policy
directory (validate, the server's hot reload) can be fed one. The overlay files are
whole copies: when the shipped files change, their line numbers no longer match,
and test_validate says which case is stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from authz.config import PROJECT_ROOT
from authz.engine.compiler import compile_policy

SHIPPED = PROJECT_ROOT / "policies"
BROKEN = Path(__file__).resolve().parent / "broken"
EXPECTED = "expected.txt"
REMOVE = "remove.txt"
SUITES = "tests"
POLICY_FILES = ("policy.csv", "catalogue.yaml", "model.conf")


def cases() -> list[str]:
    """The names of every broken case, sorted."""
    return sorted(path.name for path in BROKEN.iterdir() if path.is_dir() and (path / EXPECTED).is_file())


def removed(case: str) -> list[str]:
    """The paths CASE leaves out of the shipped policy."""
    path = BROKEN / case / REMOVE
    return [line.strip() for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def materialise(case: str, target_dir: Path) -> Path:
    """Write the policy directory of CASE at TARGET_DIR (which must not exist yet); return it."""
    target_dir = Path(target_dir)
    shutil.copytree(SHIPPED, target_dir, ignore=shutil.ignore_patterns("__pycache__"))
    for name in removed(case):
        gone = target_dir / name
        shutil.rmtree(gone) if gone.is_dir() else gone.unlink()
    for path in (BROKEN / case).rglob("*"):
        if path.is_file() and path.name not in (EXPECTED, REMOVE):
            target = target_dir / path.relative_to(BROKEN / case)
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(path, target)
    return target_dir


def lay_over(source_dir: Path, live_dir: Path) -> None:
    """Make the live policy directory LIVE_DIR hold what SOURCE_DIR holds: the policy
    files, and the suites (replaced whole, or removed if SOURCE_DIR has none)."""
    for name in POLICY_FILES:
        shutil.copyfile(source_dir / name, live_dir / name)
    if (live_dir / SUITES).exists():
        shutil.rmtree(live_dir / SUITES)
    if (source_dir / SUITES).is_dir():
        shutil.copytree(source_dir / SUITES, live_dir / SUITES)


def expected_problems(case: str) -> list[str]:
    """The substrings that must each appear among the problems reported for CASE."""
    lines = (BROKEN / case / EXPECTED).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def pin_decisions(policy_dir: Path) -> Path:
    """Replace the suites of POLICY_DIR with one that expects exactly what its policy
    decides now, for every role, application and level (so it exercises every rule).
    For tests of the machinery around suites (hot reload), where a policy change is
    the point and what the change decides is not."""
    table = compile_policy(policy_dir)
    principals, cases = {}, []
    for role in table.catalogue.roles:
        for app_id, app in table.catalogue.applications.items():
            for level in table.level_order(app_id):
                name = f"{role}_{app_id}_{level}"
                principals[name] = {"role": role, "levels": {app_id: level}}
                verdicts = {action: table.verdict(role, action, level).allowed for action in app.actions}
                case = {"name": name, "principal": name}
                case.update(
                    {
                        key: [a for a, ok in verdicts.items() if ok is want]
                        for key, want in (("allow", True), ("deny", False))
                    }
                )
                cases.append({key: value for key, value in case.items() if value != []})
    suites = policy_dir / SUITES
    if suites.exists():
        shutil.rmtree(suites)
    suites.mkdir()
    suite = {"suite": "decisions as they are", "principals": principals, "cases": cases}
    (suites / "pinned_test.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))
    return suites
