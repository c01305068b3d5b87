"""The catalogue (policies/catalogue.yaml): which roles, applications, levels and
actions exist. Order of levels and what they permit are policy, not catalogue."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import yaml

from authz.errors import PolicyInvalid, Problem

CATALOGUE_FILE = "catalogue.yaml"
# Ids are what policy.csv can name (authz/policy_source.py), and the member lookup
# joins stored levels with ':' and ',' (models/directory.py): neither may hold them.
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Role:
    id: str
    label: str
    holds_highest_level: bool


@dataclass(frozen=True)
class Application:
    id: str
    label: str
    levels: Mapping[str, str]  # level id -> label
    actions: Mapping[str, str]  # action id -> label
    holders: frozenset[str] | None  # None: every role may hold it


@dataclass(frozen=True)
class Catalogue:
    roles: Mapping[str, Role]
    applications: Mapping[str, Application]
    action_application: Mapping[str, str]  # action id -> application id

    def may_hold(self, role: str, application: str) -> bool:
        holders = self.applications[application].holders
        return holders is None or role in holders


def load_catalogue(data: bytes | None) -> Catalogue:
    """Check the catalogue (the bytes of catalogue.yaml, None if missing); raise
    PolicyInvalid listing every problem."""
    problems: list[Problem] = []

    def problem(message: str, line: int | None = None) -> None:
        # A message starts with the dotted path it is about ("applications.x.holders: ..."): its line.
        problems.append(Problem(CATALOGUE_FILE, line or _line_of(root, message.partition(": ")[0]), message))

    if data is None:
        raise PolicyInvalid("catalogue", [Problem(CATALOGUE_FILE, None, "file not found")])
    try:
        text = data.decode("utf-8")
        raw, root = yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        raise PolicyInvalid("catalogue", [Problem(CATALOGUE_FILE, None, f"not UTF-8 text: {exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise PolicyInvalid("catalogue", [Problem(CATALOGUE_FILE, line, f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise PolicyInvalid(
            "catalogue", [Problem(CATALOGUE_FILE, None, "must be a mapping with 'roles' and 'applications'")]
        )

    roles = _read_roles(raw.get("roles"), problem)
    applications = _read_applications(raw.get("applications"), set(roles), problem)
    for path, ids in [("roles", roles)] + [
        (f"applications.{app.id}.{part}", getattr(app, part))
        for app in applications.values()
        for part in ("levels", "actions")
    ]:
        for bad in (i for i in ids if not _IDENTIFIER.fullmatch(i)):
            problem(f"{path}: '{bad}' is not an identifier (a-z, 0-9 and _, starting with a letter)")
    for bad in (a for a in applications if not _IDENTIFIER.fullmatch(a)):
        problem(f"applications: '{bad}' is not an identifier (a-z, 0-9 and _, starting with a letter)")
    action_application: dict[str, str] = {}
    for app in applications.values():
        for action in app.actions:
            if action in action_application:
                problem(f"action '{action}' is listed under both '{action_application[action]}' and '{app.id}'")
            action_application[action] = app.id
    if problems:
        raise PolicyInvalid("catalogue", problems)
    return Catalogue(
        roles=MappingProxyType(roles),
        applications=MappingProxyType(applications),
        action_application=MappingProxyType(action_application),
    )


def _line_of(root, dotted_path: str) -> int | None:
    """Line of the key at DOTTED_PATH (roles.user, applications.x.holders), or None."""
    node, line = root, None
    for key in dotted_path.split("."):
        if not isinstance(node, yaml.MappingNode):
            return line
        entry = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
        if entry is None:
            return line
        line, node = entry[0].start_mark.line + 1, entry[1]
    return line


def _read_roles(raw, problem) -> dict[str, Role]:
    if not isinstance(raw, dict) or not raw:
        problem("'roles' must be a non-empty mapping")
        return {}
    roles = {}
    for role_id, spec in raw.items():
        spec = spec or {}
        if not isinstance(spec, dict) or not isinstance(spec.get("label", ""), str):
            problem(f"roles.{role_id}: must be a mapping with a 'label'")
            continue
        roles[str(role_id)] = Role(
            str(role_id), spec.get("label", str(role_id)), bool(spec.get("holds_highest_level", False))
        )
    return roles


def _read_applications(raw, role_ids: set[str], problem) -> dict[str, Application]:
    if not isinstance(raw, dict) or not raw:
        problem("'applications' must be a non-empty mapping")
        return {}
    applications = {}
    for app_id, spec in raw.items():
        where = f"applications.{app_id}"
        if not isinstance(spec, dict):
            problem(f"{where}: must be a mapping")
            continue
        levels, actions = spec.get("levels"), spec.get("actions")
        if not isinstance(levels, dict) or len(levels) < 2:
            problem(f"{where}.levels: needs at least two levels (the lowest grants nothing)")
            continue
        if not isinstance(actions, dict) or not actions:
            problem(f"{where}.actions: needs at least one action")
            continue
        holders = spec.get("holders")
        if holders is not None:
            if not isinstance(holders, list) or not holders:
                problem(f"{where}.holders: must be a non-empty list of roles")
                continue
            for role in holders:
                if role not in role_ids:
                    problem(f"{where}.holders: unknown role '{role}'")
        applications[str(app_id)] = Application(
            id=str(app_id),
            label=str(spec.get("label", app_id)),
            levels=MappingProxyType({str(k): str(v) for k, v in levels.items()}),
            actions=MappingProxyType({str(k): str(v) for k, v in actions.items()}),
            holders=frozenset(holders) if holders is not None else None,
        )
    return applications
