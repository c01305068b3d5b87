"""The catalogue (policies/catalogue.yaml): which roles, applications, levels and
actions exist. Order of levels and what they permit are policy, not catalogue."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import yaml

from authz.engine.invariants import ACCOUNT_MANAGEMENT_ACTIONS, PLAIN_USER
from authz.engine.invariants import ROLES as STORED_ROLES
from authz.engine.text import decode, quoted
from authz.errors import PolicyInvalid, Problem

CATALOGUE_FILE = "catalogue.yaml"
# Ids are what policy.csv can name (authz/engine/source.py), and the member lookup
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
    account_management: bool = False  # never held by a plain user (authz/engine/invariants.py)


@dataclass(frozen=True)
class Catalogue:
    roles: Mapping[str, Role]
    applications: Mapping[str, Application]
    action_application: Mapping[str, str]  # action id -> application id

    def may_hold(self, role: str, application: str) -> bool:
        app = self.applications[application]
        if app.account_management and role == PLAIN_USER:
            return False  # whatever a holders list says (load_catalogue refuses one that says so)
        return app.holders is None or role in app.holders


# Reports a problem about the entry at a dotted path (roles.user, applications.x.holders),
# at the line of that entry or, given, of another (a key below it).
Report = Callable[..., None]


def load_catalogue(data: bytes | None) -> Catalogue:
    """Check the catalogue (the bytes of catalogue.yaml, None if missing); raise
    PolicyInvalid listing every problem, each at the line of the entry it is about."""
    if data is None:
        raise PolicyInvalid("catalogue", [Problem(CATALOGUE_FILE, None, "file not found")])
    raw, root = _parse(data)
    problems: list[Problem] = []

    def problem(path: str, message: str, at: str | None = None) -> None:
        problems.append(Problem(CATALOGUE_FILE, _line_of(root, at or path), f"{path}: {message}"))

    roles = _read_roles(raw.get("roles"), problem)
    applications = _read_applications(raw.get("applications"), set(roles), problem)
    _check_identifiers(roles, applications, problem)
    action_application: dict[str, str] = {}
    for app in applications.values():
        for action in app.actions:
            if action in action_application:
                problem(
                    f"applications.{app.id}.actions",
                    f"action '{action}' is also listed under '{action_application[action]}'",
                    at=f"applications.{app.id}.actions.{action}",
                )
            action_application[action] = app.id
    if problems:
        raise PolicyInvalid("catalogue", problems)
    return Catalogue(
        roles=MappingProxyType(roles),
        applications=MappingProxyType(applications),
        action_application=MappingProxyType(action_application),
    )


def _parse(data: bytes) -> tuple[dict, yaml.Node | None]:
    """The catalogue as data and as YAML nodes (for lines); PolicyInvalid if it is neither."""
    text = decode(CATALOGUE_FILE, data)
    if isinstance(text, Problem):
        raise PolicyInvalid("catalogue", [text])
    try:
        raw, root = yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise PolicyInvalid("catalogue", [Problem(CATALOGUE_FILE, line, f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise PolicyInvalid(
            "catalogue", [Problem(CATALOGUE_FILE, None, "must be a mapping with 'roles' and 'applications'")]
        )
    return raw, root


def _line_of(root, dotted_path: str) -> int | None:
    """Line of the key at DOTTED_PATH (roles.user, applications.x.holders), or of
    the deepest key of it that exists, or None."""
    node, line = root, None
    for key in dotted_path.split("."):
        if not isinstance(node, yaml.MappingNode):
            return line
        entry = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
        if entry is None:
            return line
        line, node = entry[0].start_mark.line + 1, entry[1]
    return line


def _read_roles(raw, problem: Report) -> dict[str, Role]:
    if not isinstance(raw, dict) or not raw:
        problem("roles", "must be a non-empty mapping")
        return {}
    roles = {}
    for role_id, spec in raw.items():
        spec = spec or {}
        if not isinstance(spec, dict) or not isinstance(spec.get("label", ""), str):
            problem(f"roles.{role_id}", "must be a mapping with a 'label'")
            continue
        roles[str(role_id)] = Role(
            str(role_id), spec.get("label", str(role_id)), bool(spec.get("holds_highest_level", False))
        )
    for role_id in roles:
        if role_id not in STORED_ROLES:
            problem(
                f"roles.{role_id}",
                f"{quoted(role_id)} is not a role a membership can hold (the roles are {', '.join(STORED_ROLES)})",
            )
    for missing in (r for r in STORED_ROLES if r not in roles):
        problem("roles", f"the role '{missing}' is missing (the roles are {', '.join(STORED_ROLES)})")
    return roles


def _read_applications(raw, role_ids: set[str], problem: Report) -> dict[str, Application]:
    if not isinstance(raw, dict) or not raw:
        problem("applications", "must be a non-empty mapping")
        return {}
    applications = {}
    for app_id, spec in raw.items():
        app = _read_application(str(app_id), spec, role_ids, problem)
        if app is not None:
            applications[app.id] = app
    return applications


def _read_application(app_id: str, spec, role_ids: set[str], problem: Report) -> Application | None:
    where = f"applications.{app_id}"
    if not isinstance(spec, dict):
        problem(where, "must be a mapping")
        return None
    levels, actions = spec.get("levels"), spec.get("actions")
    if not isinstance(levels, dict) or len(levels) < 2:
        problem(f"{where}.levels", "needs at least two levels (the lowest grants nothing)")
        return None
    if not isinstance(actions, dict) or not actions:
        problem(f"{where}.actions", "needs at least one action")
        return None
    holders = spec.get("holders")
    if holders is not None:
        if not isinstance(holders, list) or not holders:
            problem(f"{where}.holders", "must be a non-empty list of roles")
            return None
        for role in holders:
            if role not in role_ids:
                problem(f"{where}.holders", f"unknown role {quoted(str(role))}")
    marked = spec.get("account_management", False)
    if not isinstance(marked, bool):
        problem(f"{where}.account_management", "must be true or false")
        return None
    app = Application(
        id=app_id,
        label=str(spec.get("label", app_id)),
        levels=MappingProxyType({str(k): str(v) for k, v in levels.items()}),
        actions=MappingProxyType({str(k): str(v) for k, v in actions.items()}),
        holders=frozenset(holders) if holders is not None else None,
        account_management=marked,
    )
    _check_account_management(app, problem)
    return app


def _check_account_management(app: Application, problem: Report) -> None:
    """The invariant of authz/engine/invariants.py, for one application."""
    where = f"applications.{app.id}"
    unmarked = sorted(a for a in app.actions if a in ACCOUNT_MANAGEMENT_ACTIONS)
    if unmarked and not app.account_management:
        problem(
            where,
            f"holds account-management actions ({', '.join(unmarked)}) and must be marked 'account_management: true'",
        )
    elif app.account_management and app.holders is None:
        problem(where, f"an account-management application must list its holders, and never '{PLAIN_USER}' among them")
    elif app.account_management and PLAIN_USER in (app.holders or ()):
        problem(
            f"{where}.holders",
            f"'{PLAIN_USER}' may never hold an account-management application "
            "(a plain user never holds account-management privileges)",
        )


def _check_identifiers(roles: dict[str, Role], applications: dict[str, Application], problem: Report) -> None:
    """Ids are what policy.csv can name; a bad one is reported at its own line."""
    complaint = "is not an identifier (a-z, 0-9 and _, starting with a letter)"
    for path, ids in [("roles", roles), ("applications", applications)] + [
        (f"applications.{app.id}.{part}", getattr(app, part))
        for app in applications.values()
        for part in ("levels", "actions")
    ]:
        for bad in (i for i in ids if not _IDENTIFIER.fullmatch(i)):
            problem(path, f"{quoted(bad)} {complaint}", at=f"{path}.{bad}")
