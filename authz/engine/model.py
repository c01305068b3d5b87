"""model.conf: read the way Casbin reads it (sections, `key = value`, a trailing
backslash continues a line) and held to the one shape the rest of the engine
relies on: the table, the level orders and the explanations all assume this
matcher and an allow-only effect. Each problem names the line of the key (or
section) it is about."""

from __future__ import annotations

from dataclasses import dataclass

import casbin

from authz.engine.text import invisible_character, lines_of
from authz.errors import Problem

MODEL_FILE = "model.conf"

# (section, key) -> (the value expected, what to say when it is something else)
EXPECTED = {
    ("request_definition", "r"): ("role, level, act", "request_definition must be 'r = role, level, act'"),
    ("policy_definition", "p"): ("role, level, act", "policy_definition must be 'p = role, level, act'"),
    ("role_definition", "g"): ("_, _", "'g' must relate two names ('g = _, _')"),
    ("role_definition", "g2"): ("_, _", "'g2' must relate two names ('g2 = _, _')"),
    (
        "policy_effect",
        "e",
    ): ("some(where (p.eft == allow))", "the policy effect must be allow-only: 'e = some(where (p.eft == allow))'"),
    ("matchers", "m"): (
        "g(r.role, p.role) && g2(r.level, p.level) && r.act == p.act",
        "the matcher must be 'g(r.role, p.role) && g2(r.level, p.level) && r.act == p.act' "
        "(other functions or patterns are not part of this model)",
    ),
}
SECTIONS = {section for section, _ in EXPECTED}


@dataclass(frozen=True)
class _Entry:
    section: str | None
    key: str
    value: str
    line: int


def check_model(text: str) -> list[Problem]:
    """Every way TEXT differs from the expected model, each at its line."""
    problems: list[Problem] = []
    entries, headers = _read(text, problems)
    seen: dict[tuple[str | None, str], _Entry] = {}
    for entry in entries:
        where = (entry.section, entry.key)
        if entry.section is None:
            problems.append(Problem(MODEL_FILE, entry.line, f"'{entry.key}' is outside any [section]"))
        elif entry.section not in SECTIONS:
            continue  # the section itself is reported
        elif where not in EXPECTED:
            problems.append(
                Problem(MODEL_FILE, entry.line, f"'{entry.key}' is not part of this model ([{entry.section}])")
            )
        elif where in seen:
            problems.append(
                Problem(MODEL_FILE, entry.line, f"'{entry.key}' is defined twice (first at line {seen[where].line})")
            )
        else:
            seen[where] = entry
            expected, complaint = EXPECTED[where]
            if _squeezed(entry.value) != _squeezed(expected):
                problems.append(Problem(MODEL_FILE, entry.line, complaint))
    for section, line in headers.items():
        if section not in SECTIONS:
            problems.append(Problem(MODEL_FILE, line, f"[{section}] is not part of this model"))
    for (section, key), (expected, _) in EXPECTED.items():
        if (section, key) not in seen:
            problems.append(
                Problem(MODEL_FILE, headers.get(section), f"the model must define '{key} = {expected}' in [{section}]")
            )
    if not problems:
        problems.extend(_casbin_reads(text))
    return problems


def _read(text: str, problems: list[Problem]) -> tuple[list[_Entry], dict[str, int]]:
    """The entries of TEXT and the line of each section header, as Casbin's Config parses them."""
    entries: list[_Entry] = []
    headers: dict[str, int] = {}
    section: str | None = None
    pending: tuple[int, str] | None = None  # a value continued with a backslash: (first line, text so far)
    for number, raw in enumerate(lines_of(text), start=1):
        line = raw.strip()
        invisible = invisible_character(line)
        if invisible:
            problems.append(Problem(MODEL_FILE, number, invisible))
            continue
        if pending is None and (not line or line[0] in "#;"):
            continue
        if pending is None and line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            headers.setdefault(section, number)
            continue
        first, so_far = pending or (number, "")
        if line.endswith("\\"):
            pending = (first, so_far + line[:-1].strip() + " ")
            continue
        pending = None
        key, equals, value = (so_far + line).partition("=")
        if not equals:
            problems.append(Problem(MODEL_FILE, first, "expected 'key = value'"))
            continue
        entries.append(_Entry(section, key.strip(), value.strip(), first))
    return entries, headers


def _squeezed(value: str) -> str:
    return "".join(value.split())


def _casbin_reads(text: str) -> list[Problem]:
    """A last guard: Casbin itself must read what passed the checks above."""
    try:
        casbin.Enforcer.new_model(text=text)
    except Exception as exc:  # casbin raises bare exceptions for a bad model
        return [Problem(MODEL_FILE, None, f"Casbin cannot read the model: {exc}")]
    return []
