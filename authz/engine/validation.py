"""Semantic checks of the rules against the catalogue, and the structure they
define: one order of levels per application and the role hierarchy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from authz.engine.catalogue import Catalogue
from authz.engine.source import RULES_FILE, PolicySource, Rule
from authz.errors import PolicyInvalid, Problem


@dataclass(frozen=True)
class PolicyStructure:
    level_order: Mapping[str, tuple[str, ...]]  # application -> levels, lowest first
    inherited_by: Mapping[str, frozenset[str]]  # role -> roles that inherit its rules (itself included)

    def rank(self, application: str, level: str) -> int:
        return self.level_order[application].index(level)


def validate(source: PolicySource, catalogue: Catalogue) -> PolicyStructure:
    """Check every rule; raise PolicyInvalid listing every problem found, one per cause."""
    problems: list[Problem] = list(source.problems)
    inherited_by, lower_of = _role_hierarchy(source.of_kind("g"), catalogue, problems)
    unparsed_apps = {name.partition(":")[0] for name in source.refused_names if ":" in name}
    level_order = _level_orders(source.of_kind("g2"), catalogue, unparsed_apps, problems)
    orders_known = all(len(level_order[a]) == len(app.levels) for a, app in catalogue.applications.items())
    structure = PolicyStructure(MappingProxyType(level_order), MappingProxyType(inherited_by))
    kept, refused = _check_permission_rules(source.of_kind("p"), catalogue, problems)
    _check_inherited_holding(kept, catalogue, structure, lower_of, problems)
    _check_every_action_allowed(kept, refused, source.refused_names, catalogue, problems)
    if orders_known:  # shadowing can only be judged against complete level orders
        _check_shadowing(kept, structure, problems)
    if problems:
        raise PolicyInvalid("policy", sorted(problems, key=lambda p: (p.line is None, p.line or 0)))
    return structure


def _problem(problems: list[Problem], rule: Rule | None, message: str) -> None:
    problems.append(Problem(RULES_FILE, rule.line if rule else None, message))


def _role_hierarchy(
    rules: list[Rule], catalogue: Catalogue, problems
) -> tuple[dict[str, frozenset[str]], dict[str, dict[str, Rule]]]:
    """Role -> the roles that inherit its rules (itself included), and the g rules kept."""
    lower_of: dict[str, dict[str, Rule]] = {role: {} for role in catalogue.roles}  # role -> roles it inherits
    for rule in rules:
        higher, lower = rule.fields
        unknown = [r for r in (higher, lower) if r not in catalogue.roles]
        if unknown:
            _problem(problems, rule, f"unknown role '{unknown[0]}' (known: {', '.join(catalogue.roles)})")
        elif higher == lower:
            _problem(problems, rule, f"role '{higher}' inherits from itself")
        elif (path := _inheritance_path(lower_of, lower, higher)) is not None:
            _problem(
                problems,
                rule,
                f"role inheritance has a cycle: '{higher}' would inherit '{lower}', "
                f"which already inherits '{higher}' ({_lines(path)})",
            )
        else:
            lower_of[higher][lower] = rule
    inherited_by = {
        role: frozenset(r for r in catalogue.roles if r == role or _inheritance_path(lower_of, r, role))
        for role in catalogue.roles
    }
    return inherited_by, lower_of


def _inheritance_path(lower_of: dict[str, dict[str, Rule]], start: str, goal: str) -> list[Rule] | None:
    """The g rules through which START inherits GOAL's rules, or None if it does not."""
    for lower, rule in lower_of[start].items():
        if lower == goal:
            return [rule]
        rest = _inheritance_path(lower_of, lower, goal)
        if rest is not None:
            return [rule, *rest]
    return None


def _level_orders(
    rules: list[Rule], catalogue: Catalogue, unparsed_apps: set[str], problems
) -> dict[str, tuple[str, ...]]:
    """Application -> its levels, lowest first (empty where the g2 lines do not
    form one order). An application whose order is broken because one of its
    lines was refused is not reported again: that line is the cause."""
    lower_of: dict[str, dict[str, Rule]] = {app: {} for app in catalogue.applications}
    higher_of: dict[str, dict[str, Rule]] = {app: {} for app in catalogue.applications}
    refused = set(unparsed_apps)
    for rule in rules:
        wrong = _level_line_problem(rule, catalogue, lower_of, higher_of)
        if wrong:
            _problem(problems, rule, wrong)
            refused.add(rule.fields[0].partition(":")[0])
            continue
        (app, higher), (_, lower) = (field.split(":", 1) for field in rule.fields)
        lower_of[app][higher] = rule
        higher_of[app][lower] = rule
    orders = {}
    for app_id, application in catalogue.applications.items():
        bottoms = [level for level in application.levels if level not in lower_of[app_id]]
        order = _walk_up(bottoms[0], higher_of[app_id], application.levels) if len(bottoms) == 1 else []
        if len(order) != len(application.levels) and app_id not in refused:
            _problem(
                problems,
                None,
                f"the levels of '{app_id}' do not form one order from lowest to highest "
                f"(g2 lines must chain every level of {', '.join(application.levels)}; cycles are not allowed)",
            )
        orders[app_id] = tuple(order)
    return orders


def _level_line_problem(
    rule: Rule, catalogue: Catalogue, lower_of: dict[str, dict[str, Rule]], higher_of: dict[str, dict[str, Rule]]
) -> str | None:
    """What is wrong with the g2 line RULE given the lines kept so far, or None."""
    first, second = (_split_level(field, catalogue) for field in rule.fields)
    if isinstance(first, str):
        return first
    if isinstance(second, str):
        return second
    (app, higher), (other_app, lower) = first, second
    return _level_rule_problem(app, higher, other_app, lower, lower_of.get(app, {}), higher_of.get(app, {}))


def _level_rule_problem(
    app: str, higher: str, other_app: str, lower: str, lower_of: dict[str, Rule], higher_of: dict[str, Rule]
) -> str | None:
    """What is wrong with 'APP:HIGHER includes OTHER_APP:LOWER' given the g2 rules kept so far."""
    if app != other_app:
        return f"a level of '{app}' cannot include a level of '{other_app}'"
    if higher == lower:
        return f"level '{app}:{higher}' includes itself"
    if higher in lower_of:
        return (
            f"'{app}:{higher}' already includes '{lower_of[higher].fields[1]}' "
            f"(line {lower_of[higher].line}); levels must form one order"
        )
    if lower in higher_of:
        return (
            f"'{app}:{lower}' is already included by '{higher_of[lower].fields[0]}' "
            f"(line {higher_of[lower].line}); levels must form one order"
        )
    path = _inclusion_path(lower_of, lower, higher)
    if path is not None:
        return (
            f"levels of '{app}' would form a cycle: '{app}:{lower}' already includes '{app}:{higher}' "
            f"({_lines(path)}); levels must form one order"
        )
    return None


def _lines(rules: list[Rule]) -> str:
    return ("line " if len(rules) == 1 else "lines ") + ", ".join(str(rule.line) for rule in rules)


def _inclusion_path(lower_of: dict[str, Rule], start: str, goal: str) -> list[Rule] | None:
    """The g2 rules through which level START includes level GOAL, or None."""
    path: list[Rule] = []
    level = start
    while level in lower_of and len(path) < len(lower_of):
        path.append(lower_of[level])
        level = lower_of[level].fields[1].split(":", 1)[1]
        if level == goal:
            return path
    return None


def _walk_up(bottom: str, higher_of: dict[str, Rule], levels) -> list[str]:
    order, level = [bottom], bottom
    while level in higher_of and len(order) <= len(levels):
        level = higher_of[level].fields[0].split(":", 1)[1]
        order.append(level)
    return order


def _split_level(field: str, catalogue: Catalogue) -> tuple[str, str] | str:
    app, sep, level = field.partition(":")
    if not sep:
        return f"'{field}' is not a level (expected application:level)"
    if app not in catalogue.applications:
        return f"unknown application '{app}'"
    if level not in catalogue.applications[app].levels:
        known = ", ".join(catalogue.applications[app].levels)
        return f"unknown level '{level}' of '{app}' (known: {known})"
    return app, level


def _check_permission_rules(
    rules: list[Rule], catalogue: Catalogue, problems
) -> tuple[list[tuple[Rule, str, str]], list[Rule]]:
    """Check each p rule on its own; return the sound ones as (rule, application,
    level), and the refused ones."""
    kept, refused = [], []
    for rule in rules:
        parsed = _permission_rule(rule, catalogue)
        if isinstance(parsed, str):
            _problem(problems, rule, parsed)
            refused.append(rule)
        else:
            kept.append((rule, *parsed))
    return kept, refused


def _permission_rule(rule: Rule, catalogue: Catalogue) -> tuple[str, str] | str:
    """(application, level) of a sound rule, or what is wrong with it."""
    role, level_field, action = rule.fields
    if role not in catalogue.roles:
        return f"unknown role '{role}' (known: {', '.join(catalogue.roles)})"
    parsed = _split_level(level_field, catalogue)
    if isinstance(parsed, str):
        return parsed
    app, level = parsed
    if action not in catalogue.action_application:
        return f"unknown action '{action}'"
    if catalogue.action_application[action] != app:
        return f"action '{action}' belongs to '{catalogue.action_application[action]}', not '{app}'"
    if not catalogue.may_hold(role, app):
        return f"this rule would allow role '{role}', which may not hold '{app}', to {action}"
    return app, level


def _check_inherited_holding(
    kept: list[tuple[Rule, str, str]],
    catalogue: Catalogue,
    structure: PolicyStructure,
    lower_of: dict[str, dict[str, Rule]],
    problems,
) -> None:
    """A role must not inherit, through g lines, rules of an application it may not
    hold (a plain user inheriting a secondary's account management). The cause is
    the g line through which it inherits: reported there, once."""
    reached: dict[Rule, tuple[str, str, set[str]]] = {}  # g line -> (barred role, role inherited, applications)
    for rule, app, _ in kept:
        role = rule.fields[0]
        for barred in sorted(r for r in structure.inherited_by[role] if not catalogue.may_hold(r, app)):
            path = _inheritance_path(lower_of, barred, role)
            if path:
                reached.setdefault(path[0], (barred, role, set()))[2].add(app)
    for line, (barred, role, apps) in reached.items():
        _problem(
            problems,
            line,
            f"role '{barred}' would inherit the rules of '{role}' on {', '.join(sorted(apps))}, "
            f"which '{barred}' may not hold",
        )


def _check_every_action_allowed(
    kept: list[tuple[Rule, str, str]], refused: list[Rule], unparsed: frozenset[str], catalogue: Catalogue, problems
) -> None:
    """An action no rule allows. An action named on a refused line is not reported
    again: that line's own problem is the cause."""
    granted = {rule.fields[2] for rule, _, _ in kept} | {rule.fields[2] for rule in refused} | unparsed
    for action in catalogue.action_application:
        if action not in granted:
            _problem(problems, None, f"action '{action}' is allowed by no rule (is the policy incomplete?)")


def _check_shadowing(kept: list[tuple[Rule, str, str]], structure: PolicyStructure, problems) -> None:
    for rule, app, level in kept:
        cover = _covering_rule(kept, rule, app, level, structure)
        if cover is not None:
            what = "duplicates" if cover.fields == rule.fields else "is shadowed by"
            _problem(problems, rule, f"rule {what} line {cover.line} ({cover.text})")


def _covering_rule(kept, rule: Rule, app: str, level: str, structure: PolicyStructure) -> Rule | None:
    """Another rule that already allows everything this one does, or None.
    Of two rules that cover each other (duplicates) only the later is reported."""
    role, _, action = rule.fields
    rank = structure.rank(app, level)
    for other, other_app, other_level in kept:
        other_role, _, other_action = other.fields
        if other is rule or other_action != action:
            continue
        covers = role in structure.inherited_by[other_role] and structure.rank(other_app, other_level) <= rank
        covered_back = other_role in structure.inherited_by[role] and rank <= structure.rank(other_app, other_level)
        if covers and (not covered_back or other.line < rule.line):
            return other
    return None
