"""Semantic checks of the rules against the catalogue, and the structure they
define: one order of levels per application and the role hierarchy."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from authz.catalogue import Catalogue
from authz.errors import PolicyInvalid, Problem
from authz.policy_source import RULES_FILE, PolicySource, Rule


@dataclass(frozen=True)
class PolicyStructure:
    level_order: Mapping[str, tuple[str, ...]]  # application -> levels, lowest first
    inherited_by: Mapping[str, frozenset[str]]  # role -> roles that inherit its rules (itself included)

    def rank(self, application: str, level: str) -> int:
        return self.level_order[application].index(level)


def validate(source: PolicySource, catalogue: Catalogue) -> PolicyStructure:
    """Check every rule; raise PolicyInvalid listing every problem found."""
    problems: list[Problem] = list(source.problems)
    inherited_by = _role_hierarchy(source.of_kind("g"), catalogue, problems)
    level_order = _level_orders(source.of_kind("g2"), catalogue, problems)
    orders_known = all(len(level_order[a]) == len(app.levels) for a, app in catalogue.applications.items())
    structure = PolicyStructure(MappingProxyType(level_order), MappingProxyType(inherited_by))
    if orders_known:  # rules can only be judged against complete level orders
        _check_permission_rules(source.of_kind("p"), catalogue, structure, problems)
    if problems:
        raise PolicyInvalid("policy", problems)
    return structure


def _problem(problems: list[Problem], rule: Rule | None, message: str) -> None:
    problems.append(Problem(RULES_FILE, rule.line if rule else None, message))


def _role_hierarchy(rules: list[Rule], catalogue: Catalogue, problems) -> dict[str, frozenset[str]]:
    parents: dict[str, set[str]] = {role: set() for role in catalogue.roles}
    for rule in rules:
        higher, lower = rule.fields
        unknown = [r for r in (higher, lower) if r not in catalogue.roles]
        if unknown:
            _problem(problems, rule, f"unknown role '{unknown[0]}' (known: {', '.join(catalogue.roles)})")
        elif higher == lower:
            _problem(problems, rule, f"role '{higher}' inherits from itself")
        else:
            parents[lower].add(higher)
    inherited_by = {}
    for role in catalogue.roles:
        seen, stack = {role}, [role]
        while stack:
            for higher in parents[stack.pop()]:
                if higher == role:
                    _problem(problems, None, f"role inheritance has a cycle through '{role}'")
                if higher not in seen:
                    seen.add(higher)
                    stack.append(higher)
        inherited_by[role] = frozenset(seen)
    return inherited_by


def _level_orders(rules: list[Rule], catalogue: Catalogue, problems) -> dict[str, tuple[str, ...]]:
    lower_of: dict[str, dict[str, Rule]] = {app: {} for app in catalogue.applications}
    higher_of: dict[str, dict[str, Rule]] = {app: {} for app in catalogue.applications}
    for rule in rules:
        parsed = [_split_level(field, catalogue) for field in rule.fields]
        errors = [p for p in parsed if isinstance(p, str)]
        if errors:
            _problem(problems, rule, errors[0])
            continue
        (app, higher), (other_app, lower) = parsed
        if app != other_app:
            _problem(problems, rule, f"a level of '{app}' cannot include a level of '{other_app}'")
        elif higher == lower:
            _problem(problems, rule, f"level '{app}:{higher}' includes itself")
        elif higher in lower_of[app]:
            _problem(problems, rule, f"'{app}:{higher}' already includes '{lower_of[app][higher].fields[1]}' (line {lower_of[app][higher].line}); levels must form one order")
        elif lower in higher_of[app]:
            _problem(problems, rule, f"'{app}:{lower}' is already included by '{higher_of[app][lower].fields[0]}' (line {higher_of[app][lower].line}); levels must form one order")
        else:
            lower_of[app][higher] = rule
            higher_of[app][lower] = rule
    orders = {}
    for app_id, app in catalogue.applications.items():
        bottoms = [level for level in app.levels if level not in lower_of[app_id]]
        order = _walk_up(bottoms[0], higher_of[app_id], app.levels) if len(bottoms) == 1 else []
        if len(order) != len(app.levels):
            _problem(problems, None, f"the levels of '{app_id}' do not form one order from lowest to highest "
                                     f"(g2 lines must chain every level of {', '.join(app.levels)}; cycles are not allowed)")
        orders[app_id] = tuple(order)
    return orders


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


def _check_permission_rules(rules: list[Rule], catalogue: Catalogue, structure: PolicyStructure, problems) -> None:
    kept: list[tuple[Rule, str, str]] = []
    granted: set[str] = set()
    for rule in rules:
        role, level_field, action = rule.fields
        if role not in catalogue.roles:
            _problem(problems, rule, f"unknown role '{role}' (known: {', '.join(catalogue.roles)})")
            continue
        parsed = _split_level(level_field, catalogue)
        if isinstance(parsed, str):
            _problem(problems, rule, parsed)
            continue
        app, level = parsed
        if action not in catalogue.action_application:
            _problem(problems, rule, f"unknown action '{action}'")
            continue
        if catalogue.action_application[action] != app:
            _problem(problems, rule, f"action '{action}' belongs to '{catalogue.action_application[action]}', not '{app}'")
            continue
        barred = sorted(r for r in structure.inherited_by[role] if not catalogue.may_hold(r, app))
        if barred:
            _problem(problems, rule, f"this rule would allow role '{barred[0]}', which may not hold '{app}', to {action}")
            continue
        kept.append((rule, app, level))
        granted.add(action)
    for rule, app, level in kept:
        cover = _covering_rule(kept, rule, app, level, structure)
        if cover is not None:
            what = "duplicates" if cover.fields == rule.fields else "is shadowed by"
            _problem(problems, rule, f"rule {what} line {cover.line} ({cover.text})")
    for action in catalogue.action_application:
        if action not in granted:
            _problem(problems, None, f"action '{action}' is allowed by no rule (is the policy incomplete?)")


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
