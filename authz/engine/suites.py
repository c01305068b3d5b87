"""Policy test suites (policies/tests/*_test.yaml): expectations about what members
in a role, holding given levels, may and may not do, checked against a compiled
DecisionTable, and how much of policy.csv those expectations exercise.

The format and the definition of coverage are documented in policies/tests/README.md.
A malformed suite is refused (PolicyInvalid, every problem with file and line): a
suite that cannot be read must never pass silently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from authz.contract.checks import Reason
from authz.engine.source import Rule
from authz.engine.table import DecisionTable, Verdict
from authz.engine.text import decode
from authz.errors import PolicyInvalid, Problem

SUITE_GLOB = "*_test.yaml"


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    levels: Mapping[str, str]  # application -> level; an application not named is at its lowest


@dataclass(frozen=True)
class Expectation:
    action: str
    allowed: bool


@dataclass(frozen=True)
class Case:
    file: str  # the suite's file name, e.g. reporting_test.yaml
    suite: str  # the suite's title
    name: str
    principals: tuple[Principal, ...]
    expectations: tuple[Expectation, ...]
    source: str = ""  # the file as problems name it, e.g. tests/reporting_test.yaml
    line: int | None = None  # where the case starts

    @property
    def id(self) -> str:
        return f"{self.suite}::{self.name}"


@dataclass(frozen=True)
class CaseOutcome:
    failures: tuple[Problem, ...]  # one sentence per expectation that does not hold, at its case
    exercised: frozenset[int]  # lines of policy.csv that the expectations which hold exercise
    expectations: int


@dataclass(frozen=True)
class SuiteReport:
    cases: int
    expectations: int
    failures: list[Problem]  # file:line of the case, and a sentence
    covered: int  # rules of policy.csv exercised
    total: int  # rules of policy.csv (p, g and g2 lines)
    uncovered: list[Rule]  # in file order

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def coverage(self) -> float:
        """Percentage of the rules of policy.csv exercised (0 when the table carries no rules)."""
        return 100.0 * self.covered / self.total if self.total else 0.0

    def summary(self) -> str:
        return (
            f"{self.cases} cases, {self.expectations} expectations, {len(self.failures)} failed; "
            f"rule coverage {self.coverage:.1f}% ({self.covered}/{self.total})"
        )


def run_suites(table: DecisionTable, suites_dir: Path, suites: Mapping[str, bytes | None] | None = None) -> SuiteReport:
    """Check every case of every suite in SUITES_DIR (or of SUITES, its files as
    already read: see read_suites) against TABLE and measure coverage. Raise
    PolicyInvalid (every problem, with file and line) if a suite is malformed or
    there is none."""
    cases = load_cases(table, Path(suites_dir), suites)
    outcomes = [run_case(table, case) for case in cases]
    exercised = frozenset().union(*(o.exercised for o in outcomes))
    uncovered = [rule for rule in table.rules if rule.line not in exercised]
    return SuiteReport(
        cases=len(cases),
        expectations=sum(o.expectations for o in outcomes),
        failures=[failure for o in outcomes for failure in o.failures],
        covered=len(table.rules) - len(uncovered),
        total=len(table.rules),
        uncovered=uncovered,
    )


# -- evaluating --------------------------------------------------------------


def run_case(table: DecisionTable, case: Case) -> CaseOutcome:
    """Evaluate every expectation of CASE for each of its principals."""
    failures: list[Problem] = []
    exercised: set[int] = set()
    for principal in case.principals:
        for expectation in case.expectations:
            app = table.catalogue.action_application[expectation.action]  # known: load_cases checked it
            level = principal.levels.get(app, table.lowest_level(app))
            verdict = table.verdict(principal.role, expectation.action, level)
            if verdict.allowed == expectation.allowed:
                exercised |= _exercised_lines(table, verdict)
            else:
                failures.append(_failure(case, principal, expectation, app, level, verdict))
    return CaseOutcome(tuple(failures), frozenset(exercised), len(case.principals) * len(case.expectations))


def _failure(
    case: Case, principal: Principal, expectation: Expectation, app: str, level: str, verdict: Verdict
) -> Problem:
    reason = verdict.reason
    who = f"{principal.name} ({principal.role}, {app} {reason.level or level})"
    wanted = "allowed" if expectation.allowed else "denied"
    return Problem(
        case.source or case.file,
        case.line,
        f"'{case.name}': {who} was expected to be {wanted} {expectation.action}, but {_why(reason)}",
    )


def _why(reason: Reason) -> str:
    code = reason.code
    if code == "allowed":
        return f"{reason.source} allows it ({reason.rule})"
    if code == "level_too_low":
        return f"a {reason.role} needs {reason.application} {reason.required_level} or higher for it"
    if code == "not_permitted_for_role":
        return f"no rule allows it to a {reason.role} at any level of {reason.application}"
    if code == "role_may_not_hold":
        return f"a {reason.role} may not hold {reason.application} (catalogue.yaml holders)"
    return f"it is denied ({code})"


def _exercised_lines(table: DecisionTable, verdict: Verdict) -> set[int]:
    """The lines of policy.csv an expectation that holds depends on (see README).
    Allowed: the matched p rule, the g lines from the member's role to the rule's
    role, the g2 lines from the member's level down to the rule's level.
    Denied for want of level: the g2 lines between the level held and the level required."""
    r = verdict.reason
    if verdict.allowed and r.source and r.role and r.level:
        rule = _rule_at(table, r.source)
        if rule is None:
            return set()
        rule_app, rule_level = rule.fields[1].split(":", 1)
        return (
            {rule.line}
            | _role_lines(table, r.role, rule.fields[0])
            | _level_lines(table, rule_app, rule_level, r.level)
        )
    if r.code == "level_too_low" and r.application and r.level and r.required_level:
        return _level_lines(table, r.application, r.level, r.required_level)
    return set()


def _rule_at(table: DecisionTable, source: str) -> Rule | None:
    line = int(source.rsplit(":", 1)[1])
    return next((rule for rule in table.rules if rule.line == line), None)


def _role_lines(table: DecisionTable, member_role: str, rule_role: str) -> set[int]:
    """g lines on an inheritance path from MEMBER_ROLE down to RULE_ROLE."""
    above = table.structure.inherited_by
    return {
        rule.line
        for rule in table.rules
        if rule.kind == "g" and member_role in above[rule.fields[0]] and rule.fields[1] in above[rule_role]
    }


def _level_lines(table: DecisionTable, app: str, low: str, high: str) -> set[int]:
    """g2 lines of APP that chain the levels from HIGH down to LOW."""
    rank = table.structure.rank
    lines = set()
    for rule in table.rules:
        if rule.kind != "g2" or not rule.fields[0].startswith(f"{app}:"):
            continue
        higher, lower = (field.split(":", 1)[1] for field in rule.fields)
        if rank(app, low) <= rank(app, lower) and rank(app, higher) <= rank(app, high):
            lines.add(rule.line)
    return lines


# -- loading -----------------------------------------------------------------


def read_suites(suites_dir: Path) -> dict[str, bytes | None]:
    """The bytes of every suite in SUITES_DIR, by file name (None: it vanished
    between listing and reading). A directory that does not exist holds none."""
    suites: dict[str, bytes | None] = {}
    for path in sorted(Path(suites_dir).glob(SUITE_GLOB)):
        try:
            suites[path.name] = path.read_bytes()
        except OSError:
            suites[path.name] = None
    return suites


def load_cases(table: DecisionTable, suites_dir: Path, suites: Mapping[str, bytes | None] | None = None) -> list[Case]:
    """Every case of every suite in SUITES_DIR (or of SUITES, its files as already
    read), checked against TABLE's catalogue. Raise PolicyInvalid listing every
    problem, with file and line."""
    suites = read_suites(suites_dir) if suites is None else suites
    folder = Path(suites_dir).name
    if not suites:
        raise PolicyInvalid(
            "policy tests",
            [
                Problem(
                    folder,
                    None,
                    f"no {SUITE_GLOB} suites found: a policy is accepted only with suites that exercise every rule",
                )
            ],
        )
    problems: list[Problem] = []
    cases: list[Case] = []
    titles: dict[str, str] = {}
    for name, data in sorted(suites.items()):
        reader = _SuiteReader(table, f"{folder}/{name}", name, problems)
        text = decode(reader.source, data) if data is not None else Problem(reader.source, None, "cannot be read")
        if isinstance(text, Problem):
            problems.append(text)
            continue
        suite_cases = reader.read(text)
        if suite_cases and suite_cases[0].suite in titles:
            reader.problem(None, f"suite '{suite_cases[0].suite}' has the same title as {titles[suite_cases[0].suite]}")
        elif suite_cases:
            titles[suite_cases[0].suite] = name
        cases.extend(suite_cases)
    if problems:
        raise PolicyInvalid("policy tests", problems)
    return cases


class _SuiteReader:
    """Reads one suite from YAML nodes, so that every problem can name its line."""

    def __init__(self, table: DecisionTable, source: str, file: str, problems: list[Problem]):
        self.table, self.source, self.file, self.problems = table, source, file, problems

    def problem(self, node: Node | None, message: str) -> None:
        self.problems.append(Problem(self.source, node.start_mark.line + 1 if node else None, message))

    def read(self, text: str) -> list[Case]:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            what = " ".join(
                str(part) for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part
            )
            self.problems.append(
                Problem(self.source, mark.line + 1 if mark else None, f"not valid YAML: {what or exc}")
            )
            return []
        if root is None:
            self.problem(None, "the suite is empty")
            return []
        top = self.mapping(root, "the suite", required={"suite", "principals", "cases"})
        if top is None:
            return []
        title = self.scalar(top["suite"], "suite")
        principals = self.principals(top["principals"])
        cases = self.sequence(top["cases"], "cases")
        if not cases and isinstance(top["cases"], SequenceNode):
            self.problem(top["cases"], "a suite needs at least one case")
        read = [self.case(node, title or "", principals) for node in cases]
        self.check_unique_names(cases, read)
        return [case for case in read if case is not None] if title else []

    def check_unique_names(self, nodes: list[Node], cases: list[Case | None]) -> None:
        seen: set[str] = set()
        for node, case in zip(nodes, cases, strict=True):
            if case is not None and case.name in seen:
                self.problem(node, f"another case is already named '{case.name}'")
            elif case is not None:
                seen.add(case.name)

    # -- principals --

    def principals(self, node: Node) -> dict[str, Principal | None]:
        """Every principal declared; None for one that is invalid (its problem already reported)."""
        entries = self.mapping(node, "principals", required=set(), optional=None)
        if entries is None:
            return {}
        if not entries:
            self.problem(node, "principals: name at least one principal")
        return {name: self.principal(name, spec) for name, spec in entries.items()}

    def principal(self, name: str, node: Node) -> Principal | None:
        spec = self.mapping(node, f"principal '{name}'", required={"role"}, optional={"levels"})
        if spec is None:
            return None
        role = self.scalar(spec["role"], f"principal '{name}': role")
        if role is not None and role not in self.table.catalogue.roles:
            self.problem(
                spec["role"],
                f"principal '{name}': unknown role '{role}' (known: {', '.join(self.table.catalogue.roles)})",
            )
            role = None
        levels = self.levels(name, spec["levels"]) if "levels" in spec else {}
        return Principal(name, role, levels) if role is not None and levels is not None else None

    def levels(self, name: str, node: Node) -> dict[str, str] | None:
        entries = self.mapping(node, f"principal '{name}': levels", required=set(), optional=None)
        if entries is None:
            return None
        levels: dict[str, str] = {}
        ok = True
        for app, level_node in entries.items():
            level = self.scalar(level_node, f"principal '{name}': levels.{app}")
            if app not in self.table.catalogue.applications:
                self.problem(
                    level_node,
                    f"principal '{name}': unknown application '{app}' "
                    f"(known: {', '.join(self.table.catalogue.applications)})",
                )
                ok = False
            elif level is not None and level not in self.table.level_order(app):
                self.problem(
                    level_node,
                    f"principal '{name}': unknown level '{level}' of '{app}' "
                    f"(known: {', '.join(self.table.level_order(app))})",
                )
                ok = False
            if level is None:
                ok = False
            else:
                levels[app] = level
        return levels if ok else None

    # -- cases --

    def case(self, node: Node, title: str, principals: dict[str, Principal | None]) -> Case | None:
        spec = self.mapping(node, "a case", required={"name"}, optional={"principal", "principals", "allow", "deny"})
        if spec is None:
            return None
        name = self.scalar(spec["name"], "a case's name")
        where = f"case '{name}'"
        who = self.case_principals(node, spec, where, principals)
        expectations = self.expectations(node, spec, where)
        if name is None or who is None or expectations is None:
            return None
        return Case(self.file, title, name, who, expectations, self.source, node.start_mark.line + 1)

    def case_principals(
        self, node: Node, spec: dict[str, Node], where: str, principals: dict[str, Principal | None]
    ) -> tuple[Principal, ...] | None:
        if ("principal" in spec) == ("principals" in spec):
            self.problem(node, f"{where}: needs exactly one of 'principal' (a name) or 'principals' (a list)")
            return None
        named = (
            [(self.scalar(spec["principal"], f"{where}: principal"), spec["principal"])]
            if "principal" in spec
            else self.names(spec["principals"], f"{where}: principals")
        )
        if not named and isinstance(spec.get("principals"), SequenceNode):
            self.problem(spec["principals"], f"{where}: principals: name at least one principal")
        unknown = [(n, at) for n, at in named if n is not None and n not in principals]
        for n, at in unknown:
            self.problem(at, f"{where}: unknown principal '{n}' (known: {', '.join(principals) or 'none'})")
        who = [principals.get(n) for n, _ in named if n is not None]
        if not who or len(who) != len(named) or any(p is None for p in who):
            return None
        return tuple(p for p in who if p is not None)

    def expectations(self, node: Node, spec: dict[str, Node], where: str) -> tuple[Expectation, ...] | None:
        listed = [
            (name, at, allowed)
            for key, allowed in (("allow", True), ("deny", False))
            if key in spec
            for name, at in self.names(spec[key], f"{where}: {key}")
        ]
        if not listed:
            self.problem(node, f"{where}: expects nothing (give 'allow' and/or 'deny' actions)")
            return None
        ok, seen = True, set()
        for action, at, _ in listed:
            if action is not None and action not in self.table.catalogue.action_application:
                self.problem(at, f"{where}: unknown action '{action}'")
                ok = False
            elif action in seen:
                self.problem(at, f"{where}: action '{action}' is listed twice")
                ok = False
            seen.add(action)
        if not ok or None in seen:
            return None
        return tuple(Expectation(action, allowed) for action, _, allowed in listed if action is not None)

    # -- YAML shapes --

    def mapping(
        self, node: Node, where: str, required: set[str], optional: frozenset[str] | set[str] | None = frozenset()
    ) -> dict[str, Node] | None:
        """Keys to value nodes; optional=None accepts any key."""
        if not isinstance(node, MappingNode):
            self.problem(node, f"{where}: must be a mapping")
            return None
        entries = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.problem(key, f"{where}: keys must be names")
            elif key.value in entries:
                self.problem(key, f"{where}: '{key.value}' is given twice")
            elif optional is not None and key.value not in required | optional:
                expected = ", ".join(sorted(required | optional))
                self.problem(key, f"{where}: unknown key '{key.value}' (expected: {expected})")
            else:
                entries[key.value] = value
        missing = sorted(required - set(entries))
        for key in missing:
            self.problem(node, f"{where}: '{key}' is missing")
        return None if missing else entries

    def sequence(self, node: Node, where: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.problem(node, f"{where}: must be a list")
            return []
        return list(node.value)

    def scalar(self, node: Node, where: str) -> str | None:
        if not isinstance(node, ScalarNode) or not node.value:
            self.problem(node, f"{where}: must be a non-empty name")
            return None
        return node.value

    def names(self, node: Node, where: str) -> list[tuple[str | None, Node]]:
        return [(self.scalar(item, where), item) for item in self.sequence(node, where)]
