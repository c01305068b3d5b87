"""bench/scale.py's collection and table: each benchmark is stood in for by a small
script that reports (or fails to report) its goals as the real ones do, so no
server or wrk runs. A goal no script reported is never a PASS."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from authz.config import PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench"


def _load(name: str):
    """A bench script as a module (bench/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    path = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = path  # the script puts bench/ first: its file names must not shadow others
    return module


scale = _load("scale")
goals = scale.goals  # the module the script itself reads goal files with

ISSUE = [
    ("fast", "alpha", "1", "alpha is fast"),
    ("small", "alpha", "1", "alpha is small"),
    ("fresh", "beta", "2", "beta is fresh"),
]


def script(tmp_path: Path, name: str, reported: list[tuple[str, float]], exit_code: int = 0) -> scale.Script:
    """A stand-in benchmark: reports REPORTED (key, measured; each goal `<= 1x`)
    with --goals-json, then exits EXIT_CODE. Empty REPORTED: it fails before reporting."""
    path = tmp_path / f"{name}.py"
    path.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(BENCH)!r})
            import goals
            reported = {reported!r}
            if reported:
                path = sys.argv[sys.argv.index("--goals-json") + 1]
                measured = [goals.Goal(k, "goal " + k, "<=", 1.0, "x", v, "{name}.py: phase") for k, v in reported]
                goals.write(goals.Path(path), "{name}.py", "python {name}.py", measured)
            sys.exit({exit_code})
            """
        )
    )
    return scale.Script(name, path, f"RESULTS-{name}.md")


def beta(tmp_path: Path) -> scale.Script:
    return script(tmp_path, "beta", [("fresh", 0.1)])


def collect(tmp_path: Path, scripts: list[scale.Script], skip: frozenset[str] = frozenset()):
    outcomes = scale.run_all(scripts, quick=True, skip=set(skip), folder=tmp_path / "goals")
    rows = scale.goal_rows(outcomes, ISSUE)
    return outcomes, {row[0]: row for row in rows}, scale.exit_status(outcomes, rows)


def test_measured_goals_pass_or_miss_and_the_run_succeeds(tmp_path):
    scripts = [script(tmp_path, "alpha", [("fast", 0.5), ("small", 1.25)]), script(tmp_path, "beta", [("fresh", 1.0)])]
    _, rows, status = collect(tmp_path, scripts)
    assert rows["1. goal fast"][1:4] == ["<= 1x", "0.500x", "PASS"]
    assert rows["1. goal small"][1:4] == ["<= 1x", "1.250x", "MISS"]
    assert rows["2. goal fresh"][3:5] == ["PASS", "beta.py: phase"]
    assert status == 0  # a miss is in the table, not in the exit status


def test_a_failed_script_leaves_its_goals_not_measured_and_the_run_fails(tmp_path):
    scripts = [script(tmp_path, "alpha", [], exit_code=1), beta(tmp_path)]
    outcomes, rows, status = collect(tmp_path, scripts)
    assert [o.status for o in outcomes] == ["failed", "ok"]
    for label in ("1. alpha is fast", "1. alpha is small"):
        assert rows[label][2:5] == [scale.NOT_MEASURED, "", "alpha.py: failed (exit 1)"]
    assert rows["2. goal fresh"][3] == "PASS"
    assert status == 1


def test_goals_reported_before_a_non_zero_exit_still_count(tmp_path):
    """replicas.py reports its goals and then exits 1 when one misses."""
    scripts = [script(tmp_path, "alpha", [("fast", 2.0), ("small", 0.5)], exit_code=1), beta(tmp_path)]
    outcomes, rows, _ = collect(tmp_path, scripts)
    assert outcomes[0].status == "ok"
    assert rows["1. goal fast"][3] == "MISS"


def test_a_report_left_by_an_earlier_run_does_not_count(tmp_path):
    left = tmp_path / "goals" / "goals-alpha.json"
    goals.write(left, "alpha.py", "earlier", [goals.Goal("fast", "goal fast", "<=", 1.0, "x", 0.1, "earlier")])
    _, rows, status = collect(tmp_path, [script(tmp_path, "alpha", [], exit_code=3)])
    assert rows["1. alpha is fast"][2] == scale.NOT_MEASURED
    assert status == 1


def test_a_goal_the_script_did_not_report_is_not_measured(tmp_path):
    scripts = [script(tmp_path, "alpha", [("fast", 0.5)]), beta(tmp_path)]
    _, rows, status = collect(tmp_path, scripts)
    assert rows["1. alpha is small"][2:5] == [scale.NOT_MEASURED, "", "alpha.py: did not report it"]
    assert status == 1


def test_skipped_scripts_are_not_measured_but_do_not_fail_the_run(tmp_path):
    scripts = [script(tmp_path, "alpha", [("fast", 0.5)]), beta(tmp_path)]
    scripts[0] = scale.Script("alpha", tmp_path / "never-run.py", "")
    _, rows, status = collect(tmp_path, scripts, skip=frozenset({"alpha"}))
    assert rows["1. alpha is fast"][2:5] == [scale.NOT_MEASURED, "", "never-run.py: skipped (--skip)"]
    assert status == 0


def test_goals_a_script_judges_beyond_the_issue_are_listed_after_them(tmp_path):
    scripts = [script(tmp_path, "alpha", [("fast", 0.5), ("small", 0.5), ("extra", 3.0)]), beta(tmp_path)]
    _, rows, _ = collect(tmp_path, scripts)
    assert list(rows)[-1] == "(also) goal extra"
    assert rows["(also) goal extra"][3] == "MISS"


@pytest.mark.parametrize(
    ("comparison", "target", "measured", "passed"),
    [
        (">=", 0.8, 0.8, True),
        (">=", 0.8, 0.79, False),
        ("<", 60.0, 60.0, False),
        ("<", 60.0, 59.9, True),
        ("==", 0, 0, True),
        ("==", 0, 1, False),
        ("measured", 0, 123.0, True),  # the goal is to have measured it
    ],
)
def test_a_goal_passes_by_its_comparison_and_survives_the_file(tmp_path, comparison, target, measured, passed):
    goal = goals.Goal("k", "goal", comparison, target, "x", measured, "by")
    goals.write(tmp_path / "g.json", "s.py", "cmd", [goal])
    assert goals.read(tmp_path / "g.json") == [goal]
    assert goal.passed is passed
