"""The compiled decision table: every (role, action, level) answered once by
Casbin at load time, frozen, and looked up in O(1) per check.

`decide` is the one function that answers a (role, levels, action) cell: the
check path and administrative authorization both ask it. Verdicts and their
reasons are immutable and shared between requests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from authz.contract.checks import ApplicationPermissions, Reason
from authz.contract.policy import PolicyAction, PolicyApplication, PolicyLevel, PolicyRole
from authz.engine.catalogue import Catalogue
from authz.engine.source import Rule
from authz.engine.validation import PolicyStructure


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: Reason


Cell = tuple[str, str, str]  # (role, action, level)


class DecisionTable:
    def __init__(
        self,
        version: str,
        catalogue: Catalogue,
        structure: PolicyStructure,
        cells: Mapping[Cell, Verdict],
        rules: tuple[Rule, ...] = (),
        source_files: Mapping[str, bytes | None] | None = None,
    ):
        self.version = version
        self.source_files = MappingProxyType(dict(source_files or {}))  # the exact bytes compiled
        self.catalogue = catalogue
        self.structure = structure
        self.rules = rules  # the rules of policy.csv it was compiled from, with their lines
        self._cells = MappingProxyType(dict(cells))
        self._levels_allowing = MappingProxyType(
            {
                (role, action): tuple(
                    level for level in structure.level_order[app] if cells[(role, action, level)].allowed
                )
                for role in catalogue.roles
                for action, app in catalogue.action_application.items()
            }
        )
        self._action_application = catalogue.action_application
        self._lowest = {app: order[0] for app, order in structure.level_order.items()}

    def application_of(self, action: str) -> str | None:
        return self._action_application.get(action)

    def level_order(self, application: str) -> tuple[str, ...]:
        return self.structure.level_order[application]

    def lowest_level(self, application: str) -> str:
        return self._lowest[application]

    def decide(self, role: str, levels: Mapping[str, str], action: str) -> Verdict:
        """May a member in ROLE, holding LEVELS (application -> level; an application
        not named is at its lowest level), do ACTION? Anything the table does not
        know (an action, a role or a level) is denied."""
        application = self._action_application.get(action)
        if application is None:
            return Verdict(False, Reason("not_permitted_for_role", role=role))
        level = levels.get(application) or self._lowest[application]
        return self._cells.get((role, action, level)) or self.verdict(role, action, level)

    def verdict(self, role: str, action: str, level: str) -> Verdict:
        """The cell for a member in ROLE holding LEVEL of ACTION's application."""
        verdict = self._cells.get((role, action, level))
        if verdict is not None:
            return verdict
        if role not in self.catalogue.roles:
            return Verdict(False, Reason("unknown_role", role=role))
        application = self.application_of(action)
        # A level the policy does not define (stored before a level was renamed, or
        # written by hand) takes nothing from a role that holds the highest level,
        # and gives nothing to one that may not hold the application at all.
        if application is not None and (
            self.catalogue.roles[role].holds_highest_level or not self.catalogue.may_hold(role, application)
        ):
            return self._cells[(role, action, self.level_order(application)[-1])]
        return Verdict(False, Reason("unknown_level", application=application, level=level))

    def effective_levels(self, role: str, stored: Mapping[str, str]) -> dict[str, str]:
        """The level that counts in every application for a member in ROLE who stores
        STORED: the highest for a role that holds it, else what is stored (the
        lowest where nothing is)."""
        highest = self.catalogue.roles[role].holds_highest_level
        return {
            app: (order[-1] if highest else stored.get(app, order[0]))
            for app, order in self.structure.level_order.items()
        }

    def levels_allowing(self, role: str, action: str) -> tuple[str, ...]:
        """Levels at which ROLE may perform ACTION (possibly none), lowest first."""
        return self._levels_allowing.get((role, action), ())

    def cells(self) -> Iterator[tuple[Cell, Verdict]]:
        return iter(self._cells.items())

    def effective_permissions(self, role: str, levels: Mapping[str, str]) -> list[ApplicationPermissions]:
        """Per application: the level that counts and the actions it allows."""
        result = []
        for app_id, app in self.catalogue.applications.items():
            level = levels.get(app_id, self.lowest_level(app_id))
            verdicts = {action: self.verdict(role, action, level) for action in app.actions}
            shown_level = next((v.reason.level for v in verdicts.values() if v.allowed and v.reason.level), level)
            result.append(
                ApplicationPermissions(
                    application=app_id,
                    level=shown_level,
                    allowed_actions=[action for action, v in verdicts.items() if v.allowed],
                )
            )
        return result

    def describe(self) -> tuple[list[PolicyRole], list[PolicyApplication]]:
        """The roles and applications as the policy orders them, for GET /v1/policy."""
        cat = self.catalogue
        roles = [PolicyRole(r.id, r.label, r.holds_highest_level) for r in cat.roles.values()]
        applications = [
            PolicyApplication(
                id=app.id,
                label=app.label,
                holders=sorted(r for r in cat.roles if cat.may_hold(r, app.id)),
                account_management=app.account_management,
                levels=[PolicyLevel(level, app.levels[level]) for level in self.level_order(app.id)],
                actions=[
                    PolicyAction(
                        action, label, {role: (self.levels_allowing(role, action) or (None,))[0] for role in cat.roles}
                    )
                    for action, label in app.actions.items()
                ],
            )
            for app in cat.applications.values()
        ]
        return roles, applications
