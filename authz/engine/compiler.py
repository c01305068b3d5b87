"""Load, validate and compile a policy directory into a DecisionTable.

Casbin is the source of semantics: every cell of the table is Casbin's answer
(and matched rule) for that role, level and action. The table only freezes it."""

from __future__ import annotations

from pathlib import Path

import casbin
from casbin.persist.adapter import Adapter

from authz.engine.catalogue import CATALOGUE_FILE, Catalogue, load_catalogue
from authz.engine.source import PolicySource, read_policy_files, read_policy_source
from authz.engine.table import Cell, DecisionTable, Verdict
from authz.engine.validation import PolicyStructure, validate


class _RulesAdapter(Adapter):
    """Hands Casbin exactly the rules we parsed (and validated), nothing else."""

    def __init__(self, source: PolicySource):
        self._source = source

    def load_policy(self, model):
        for rule in self._source.rules:
            section = "p" if rule.kind == "p" else "g"
            model.model[section][rule.kind].policy.append(list(rule.fields))


def compile_policy(policy_dir: Path | str) -> DecisionTable:
    """Raise PolicyInvalid (every problem, with file and line) or return the table."""
    policy_dir = Path(policy_dir)
    files = read_policy_files(policy_dir)
    catalogue = load_catalogue(files[CATALOGUE_FILE])
    source = read_policy_source(policy_dir, files)
    structure = validate(source, catalogue)
    model = casbin.Enforcer.new_model(text=source.model_text)
    enforcer = casbin.Enforcer(model, _RulesAdapter(source))
    cells = _ask_every_cell(enforcer, source, catalogue, structure)
    return DecisionTable(source.version, catalogue, structure, cells, rules=source.rules, source_files=files)


def _ask_every_cell(enforcer: casbin.Enforcer, source: PolicySource, catalogue: Catalogue,
                    structure: PolicyStructure) -> dict[Cell, Verdict]:
    line_of = {rule.fields: rule.line for rule in source.of_kind("p")}
    cells: dict[Cell, Verdict] = {}
    for role in catalogue.roles.values():
        for app in catalogue.applications.values():
            order = structure.level_order[app.id]
            for level in order:
                # A role that holds the highest level is asked about it, whatever it stores.
                asked = order[-1] if role.holds_highest_level else level
                for action in app.actions:
                    if not catalogue.may_hold(role.id, app.id):
                        cells[(role.id, action, level)] = Verdict(False, {
                            "code": "role_may_not_hold", "role": role.id, "application": app.id})
                        continue
                    allowed, matched = enforcer.enforce_ex(role.id, f"{app.id}:{asked}", action)
                    base = {"role": role.id, "application": app.id, "level": asked}
                    if allowed:
                        rule = tuple(matched)
                        cells[(role.id, action, level)] = Verdict(True, {
                            "code": "allowed", **base,
                            "rule": ", ".join(("p", *rule)), "source": f"policy.csv:{line_of[rule]}"})
                    else:
                        cells[(role.id, action, level)] = Verdict(False, {"code": "level_too_low", **base})
    _name_required_levels(cells, catalogue, structure)
    return cells


def _name_required_levels(cells: dict[Cell, Verdict], catalogue: Catalogue, structure: PolicyStructure) -> None:
    """Complete each 'level too low' reason with the lowest level that would do,
    or mark the action as out of reach for that role at any level."""
    for role in catalogue.roles:
        for action, app in catalogue.action_application.items():
            order = structure.level_order[app]
            allowing = [level for level in order if cells[(role, action, level)].allowed]
            for level in order:
                verdict = cells[(role, action, level)]
                if verdict.reason["code"] != "level_too_low":
                    continue
                if allowing:
                    verdict.reason["required_level"] = allowing[0]
                else:
                    verdict.reason["code"] = "not_permitted_for_role"
