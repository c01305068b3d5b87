"""The compiled decision table: every (role, action, level) answered once by
Casbin at load time, frozen, and looked up in O(1) per check.

Verdicts and their reasons are shared between requests: treat them as read-only."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterator, Mapping

from authz.engine.catalogue import Catalogue
from authz.engine.source import Rule
from authz.engine.validation import PolicyStructure


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: dict  # read-only by convention: serialised as is into every answer


Cell = tuple[str, str, str]  # (role, action, level)


class DecisionTable:
    def __init__(self, version: str, catalogue: Catalogue, structure: PolicyStructure,
                 cells: Mapping[Cell, Verdict], rules: tuple[Rule, ...] = (),
                 source_files: Mapping[str, bytes | None] | None = None):
        self.version = version
        self.source_files = MappingProxyType(dict(source_files or {}))  # the exact bytes compiled
        self.catalogue = catalogue
        self.structure = structure
        self.rules = rules  # the rules of policy.csv it was compiled from, with their lines
        self._cells = MappingProxyType(dict(cells))
        self._levels_allowing = MappingProxyType({
            (role, action): tuple(level for level in structure.level_order[app]
                                  if cells[(role, action, level)].allowed)
            for role in catalogue.roles
            for action, app in catalogue.action_application.items()
        })

    def application_of(self, action: str) -> str | None:
        return self.catalogue.action_application.get(action)

    def level_order(self, application: str) -> tuple[str, ...]:
        return self.structure.level_order[application]

    def lowest_level(self, application: str) -> str:
        return self.structure.level_order[application][0]

    def verdict(self, role: str, action: str, level: str) -> Verdict:
        """The answer for a member in ROLE holding LEVEL of ACTION's application.
        Anything the table does not know is denied."""
        verdict = self._cells.get((role, action, level))
        if verdict is not None:
            return verdict
        if role not in self.catalogue.roles:
            return Verdict(False, {"code": "unknown_role", "role": role})
        return Verdict(False, {"code": "unknown_level", "application": self.application_of(action), "level": level})

    def levels_allowing(self, role: str, action: str) -> tuple[str, ...]:
        """Levels at which ROLE may perform ACTION (possibly none), lowest first."""
        return self._levels_allowing.get((role, action), ())

    def cells(self) -> Iterator[tuple[Cell, Verdict]]:
        return iter(self._cells.items())

    def effective_permissions(self, role: str, levels: Mapping[str, str]) -> list[dict]:
        """Per application: the level that counts and the actions it allows."""
        result = []
        for app_id, app in self.catalogue.applications.items():
            level = levels.get(app_id, self.lowest_level(app_id))
            verdicts = {action: self.verdict(role, action, level) for action in app.actions}
            shown_level = next((v.reason["level"] for v in verdicts.values() if v.allowed), level)
            result.append({
                "application": app_id,
                "level": shown_level,
                "allowed_actions": [action for action, v in verdicts.items() if v.allowed],
            })
        return result

    def describe(self) -> dict:
        """The catalogue as the policy orders it, for GET /v1/policy."""
        cat = self.catalogue
        return {
            "version": self.version,
            "roles": [{"id": r.id, "label": r.label, "holds_highest_level": r.holds_highest_level}
                      for r in cat.roles.values()],
            "applications": [
                {
                    "id": app.id,
                    "label": app.label,
                    "holders": sorted(app.holders) if app.holders is not None else sorted(cat.roles),
                    "levels": [{"id": level, "label": app.levels[level]} for level in self.level_order(app.id)],
                    "actions": [
                        {"id": action, "label": label,
                         "minimum_level": {role: (self.levels_allowing(role, action) or (None,))[0]
                                           for role in cat.roles}}
                        for action, label in app.actions.items()
                    ],
                }
                for app in cat.applications.values()
            ],
        }
