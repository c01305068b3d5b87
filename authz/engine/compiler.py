"""Load, validate and compile a policy directory into a DecisionTable.

Casbin is the source of semantics: every cell of the table is Casbin's answer
(and matched rule) for that role, level and action. The table only freezes it."""

from __future__ import annotations

from pathlib import Path

import casbin
from casbin.persist.adapter import Adapter

from authz.contract.checks import Reason
from authz.engine.catalogue import CATALOGUE_FILE, Catalogue, load_catalogue
from authz.engine.source import PolicySource, read_policy_files, read_policy_source
from authz.engine.table import Cell, DecisionTable, Verdict
from authz.engine.validation import PolicyStructure, validate
from authz.errors import PolicyInvalid


class _RulesAdapter(Adapter):
    """Hands Casbin exactly the rules we parsed (and validated), nothing else."""

    def __init__(self, source: PolicySource):
        self._source = source

    def load_policy(self, model):
        for rule in self._source.rules:
            section = "p" if rule.kind == "p" else "g"
            model.model[section][rule.kind].policy.append(list(rule.fields))


def compile_policy(policy_dir: Path | str) -> DecisionTable:
    """Raise PolicyInvalid (every problem, with file and line) or return the table.
    This is the policy alone: a policy is accepted for service only with its suites
    (authz/engine/acceptance.py)."""
    return compile_files(Path(policy_dir), read_policy_files(Path(policy_dir)))


def compile_files(policy_dir: Path, files: dict[str, bytes | None]) -> DecisionTable:
    """compile_policy, from the bytes of its files as already read (read_policy_files)."""
    catalogue, source = _read(policy_dir, files)
    structure = validate(source, catalogue)
    model = casbin.Enforcer.new_model(text=source.model_text)
    enforcer = casbin.Enforcer(model, _RulesAdapter(source))
    cells = _ask_every_cell(enforcer, source, catalogue, structure)
    return DecisionTable(source.version, catalogue, structure, cells, rules=source.rules, source_files=files)


def _read(policy_dir: Path, files: dict[str, bytes | None]) -> tuple[Catalogue, PolicySource]:
    """The catalogue and the rules; PolicyInvalid with the problems of both if either
    cannot be read (the rules are judged against the catalogue only once both can)."""
    problems = []
    catalogue: Catalogue | None = None
    source: PolicySource | None = None
    try:
        catalogue = load_catalogue(files[CATALOGUE_FILE])
    except PolicyInvalid as exc:
        problems.extend(exc.problems)
    try:
        source = read_policy_source(policy_dir, files)
    except PolicyInvalid as exc:
        problems.extend(exc.problems)
    if catalogue is None or source is None:
        raise PolicyInvalid("policy", problems + list(source.problems if source else ()))
    return catalogue, source


def _ask_every_cell(
    enforcer: casbin.Enforcer, source: PolicySource, catalogue: Catalogue, structure: PolicyStructure
) -> dict[Cell, Verdict]:
    """Casbin's answer for every (role, action, level), with the rule that allowed
    it; each denial names the lowest level that would do, or says that no level
    would."""
    line_of = {rule.fields: rule.line for rule in source.of_kind("p")}
    cells: dict[Cell, Verdict] = {}
    for role in catalogue.roles.values():
        for app in catalogue.applications.values():
            order = structure.level_order[app.id]
            if not catalogue.may_hold(role.id, app.id):
                barred = Verdict(False, Reason("role_may_not_hold", role=role.id, application=app.id))
                cells.update({(role.id, action, level): barred for action in app.actions for level in order})
                continue
            for action in app.actions:
                matched: dict[str, tuple[str, ...]] = {}
                for level in order:
                    # A role that holds the highest level is asked about it, whatever it stores.
                    asked = order[-1] if role.holds_highest_level else level
                    allowed, rule = enforcer.enforce_ex(role.id, f"{app.id}:{asked}", action)
                    if allowed:
                        matched[level] = tuple(rule)
                lowest_allowing = next((level for level in order if level in matched), None)
                for level in order:
                    asked = order[-1] if role.holds_highest_level else level
                    cells[(role.id, action, level)] = _verdict(
                        role.id, app.id, asked, matched.get(level), lowest_allowing, line_of
                    )
    return cells


def _verdict(
    role: str,
    application: str,
    level: str,
    rule: tuple[str, ...] | None,
    lowest_allowing: str | None,
    line_of: dict[tuple[str, ...], int],
) -> Verdict:
    if rule is not None:
        return Verdict(
            True,
            Reason(
                "allowed",
                role=role,
                application=application,
                level=level,
                rule=", ".join(("p", *rule)),
                source=f"policy.csv:{line_of[rule]}",
            ),
        )
    if lowest_allowing is None:
        return Verdict(False, Reason("not_permitted_for_role", role=role, application=application, level=level))
    return Verdict(
        False, Reason("level_too_low", role=role, application=application, level=level, required_level=lowest_allowing)
    )
