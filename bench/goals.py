"""A benchmark script's goals, as JSON for bench/scale.py: each script that measures a
goal of issue 13 writes what it measured with `--goals-json PATH`, and scale.py
puts every script's goals in one table.

A file is written only once a script has measured its goals (at its end), so a
script that failed leaves none and its goals read as "not measured", never PASS.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

COMPARISONS = {
    ">=": lambda value, target: value >= target,
    "<=": lambda value, target: value <= target,
    "<": lambda value, target: value < target,
    "==": lambda value, target: value == target,
    "measured": lambda value, target: True,  # the goal is the measurement (its target is ignored)
}


@dataclass(frozen=True)
class Goal:
    """KEY names the goal (bench/scale.py lists the keys of issue 13); MEASURED_BY
    says which phase of the script measured it; NOTE adds context (never the verdict)."""

    key: str
    goal: str
    comparison: str
    target: float
    unit: str  # "x" (a ratio), "ms", "s", or a count's noun
    measured: float
    measured_by: str
    note: str = ""

    @property
    def passed(self) -> bool:
        return COMPARISONS[self.comparison](self.measured, self.target)


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--goals-json", type=Path, help="also write the goals measured to this file (bench/scale.py)")


def write(path: Path | None, script: str, command: str, goals: list[Goal]) -> None:
    """Write GOALS to PATH (nothing when PATH is None)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = [{**asdict(goal), "passed": goal.passed, "command": command} for goal in goals]
    path.write_text(json.dumps({"script": script, "command": command, "goals": entries}, indent=2) + "\n")


def read(path: Path) -> list[Goal]:
    fields = Goal.__dataclass_fields__
    return [Goal(**{k: v for k, v in entry.items() if k in fields}) for entry in json.loads(path.read_text())["goals"]]


def show(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.3f}x"
    if unit in ("ms", "s"):
        return f"{value:,.1f} {unit}"
    if unit == "µs":
        return f"{value:,.0f} {unit}"
    return f"{value:g} {unit}"


def show_target(goal: Goal) -> str:
    if goal.comparison == "measured":
        return "measured"
    target = f"{goal.target:g}x" if goal.unit == "x" else show(goal.target, goal.unit)
    return f"{goal.comparison} {target}"
