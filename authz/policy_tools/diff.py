"""What changes if a policy change ships: the semantic difference of two compiled
decision tables, and the members it touches.

Only allowed-ness counts. Two policies that decide every (role, application,
level, action) alike have an empty diff, however differently they are written;
a rule that moved, a new comment or another explanation is no change.

A cell is (role, application, level) with the actions gained or lost there. A
level is the one a member stores (absent: the lowest); a cell absent from one
side (a level, action or application that side does not have) is denied there,
as the service denies what its table does not know. A role that holds the
highest level whatever is stored (the primary) answers the same at every level,
so its cells collapse into one, at ANY_LEVEL.

The impact report counts and lists, in SQL (models/impact.py), the members whose
role and level sit on a changed cell."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from authz.engine.table import DecisionTable
from authz.errors import DomainError

ANY_LEVEL = None  # CellChange.level of a role whose answer does not depend on its level
# CellChange.level of the members who store no level, where the two sides disagree
# on which level that is (the application's lowest level was renamed, or the
# application exists on one side only). Never a level id: those are plain names.
UNSTORED = "(unstored)"


@dataclass(frozen=True)
class CellChange:
    role: str
    application: str
    level: str | None  # ANY_LEVEL (None), a level id, or UNSTORED
    gained: tuple[str, ...]
    lost: tuple[str, ...]
    unstored: bool = False  # members without a stored level in the application sit here too

    @property
    def any_level(self) -> bool:
        return self.level is ANY_LEVEL

    @property
    def level_label(self) -> str:
        return "any level" if self.level is ANY_LEVEL else self.level

    def changes(self) -> list[str]:
        return [f"+{a}" for a in self.gained] + [f"-{a}" for a in self.lost]


@dataclass(frozen=True)
class CatalogueChange:
    change: str  # "+" added, "-" removed
    kind: str  # role, application, level, action
    name: str
    application: str | None = None  # of a level or an action

    @property
    def qualified(self) -> str:
        return f"{self.application}.{self.name}" if self.application else self.name


@dataclass(frozen=True)
class PolicyDiff:
    base_version: str
    head_version: str
    cells: tuple[CellChange, ...]
    catalogue: tuple[CatalogueChange, ...]

    @property
    def changed(self) -> bool:
        return bool(self.cells or self.catalogue)

    def counts(self) -> tuple[int, int]:
        """(action grants gained, action grants lost) over all cells."""
        return sum(len(c.gained) for c in self.cells), sum(len(c.lost) for c in self.cells)


class _Side:
    """One table asked as the service would: anything it does not know is denied."""

    def __init__(self, table: DecisionTable):
        self.table = table
        self.catalogue = table.catalogue

    def has(self, role: str, application: str) -> bool:
        return role in self.catalogue.roles and application in self.catalogue.applications

    def level_independent(self, role: str, application: str) -> bool:
        return not self.has(role, application) or self.catalogue.roles[role].holds_highest_level

    def levels(self, application: str) -> tuple[str, ...]:
        return self.table.level_order(application) if application in self.catalogue.applications else ()

    def lowest(self, application: str) -> str | None:
        levels = self.levels(application)
        return levels[0] if levels else None

    def allowed(self, role: str, application: str, action: str, level: str | None) -> bool:
        """May ROLE holding LEVEL (ANY_LEVEL for a level-independent role, UNSTORED
        for "nothing stored") perform ACTION of APPLICATION?"""
        if not self.has(role, application) or action not in self.catalogue.applications[application].actions:
            return False
        order = self.levels(application)
        if self.catalogue.roles[role].holds_highest_level:
            level = order[-1]  # whatever is stored
        elif level == UNSTORED:
            level = order[0]
        elif level not in order:
            return False
        return self.table.verdict(role, action, level).allowed


def _union(*sequences) -> list:
    seen: dict = {}
    for sequence in sequences:
        for item in sequence:
            seen.setdefault(item, None)
    return list(seen)


def diff_tables(base: DecisionTable, head: DecisionTable) -> PolicyDiff:
    b, h = _Side(base), _Side(head)
    roles = _union(head.catalogue.roles, base.catalogue.roles)
    applications = _union(head.catalogue.applications, base.catalogue.applications)
    cells: list[CellChange] = []
    for role in roles:
        for app in applications:
            actions = _union(
                *(side.catalogue.applications[app].actions for side in (h, b) if app in side.catalogue.applications)
            )
            keys: list[str | None]
            if b.level_independent(role, app) and h.level_independent(role, app):
                keys = [ANY_LEVEL]
            else:
                same_lowest = b.lowest(app) is not None and b.lowest(app) == h.lowest(app)
                keys = ([] if same_lowest else [UNSTORED]) + _union(h.levels(app), b.levels(app))
            for level in keys:
                before = {a for a in actions if b.allowed(role, app, a, level)}
                after = {a for a in actions if h.allowed(role, app, a, level)}
                gained = tuple(a for a in actions if a in after - before)
                lost = tuple(a for a in actions if a in before - after)
                if gained or lost:
                    at_lowest = level is not ANY_LEVEL and level == b.lowest(app) == h.lowest(app)
                    cells.append(CellChange(role, app, level, gained, lost, unstored=level == UNSTORED or at_lowest))
    return PolicyDiff(base.version, head.version, tuple(cells), tuple(_catalogue_changes(base, head)))


def _catalogue_changes(base: DecisionTable, head: DecisionTable) -> list[CatalogueChange]:
    b, h = base.catalogue, head.catalogue
    changes = [CatalogueChange(sign, "role", r) for sign, r in _added_removed(b.roles, h.roles)]
    changes += [CatalogueChange(sign, "application", a) for sign, a in _added_removed(b.applications, h.applications)]
    for app in _union(h.applications, b.applications):
        if app in b.applications and app in h.applications:
            changes += [
                CatalogueChange(sign, "level", level, app)
                for sign, level in _added_removed(b.applications[app].levels, h.applications[app].levels)
            ]
    for sign, action in _added_removed(b.action_application, h.action_application):
        changes.append(CatalogueChange(sign, "action", action, (h if sign == "+" else b).action_application[action]))
    for action in h.action_application:  # moved to another application: removed from one, added to the other
        if action in b.action_application and b.action_application[action] != h.action_application[action]:
            changes.append(CatalogueChange("-", "action", action, b.action_application[action]))
            changes.append(CatalogueChange("+", "action", action, h.action_application[action]))
    return changes


def _added_removed(before: Mapping, after: Mapping) -> list[tuple[str, str]]:
    return [("+", k) for k in after if k not in before] + [("-", k) for k in before if k not in after]


# --- impact ------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberImpact:
    login_id: str
    role: str
    levels: Mapping[str, str]  # application -> level the member holds there (changed cells only)
    gained: tuple[str, ...]
    lost: tuple[str, ...]


@dataclass(frozen=True)
class SiteImpact:
    number: str
    name: str
    members: int  # every member of the site on a changed cell
    gained: Mapping[str, int]  # action -> members of the site who gain it
    lost: Mapping[str, int]
    listed: tuple[MemberImpact, ...]  # the first of them, by login id

    @property
    def more(self) -> int:
        return self.members - len(self.listed)


@dataclass(frozen=True)
class Impact:
    members: int  # memberships on at least one changed cell, on every site
    sites: int
    per_cell: tuple[int, ...]  # members on each of PolicyDiff.cells, in order
    site_list: tuple[SiteImpact, ...] = field(default=())  # the sites with most members first

    @property
    def more_sites(self) -> int:
        return self.sites - len(self.site_list)

    @property
    def more_sites_members(self) -> int:
        return self.members - sum(s.members for s in self.site_list)


def impact_of(diff: PolicyDiff, *, max_sites: int = 100, max_members: int = 50) -> Impact:
    """Count and list the members on DIFF's changed cells in the bound database:
    every member is counted; MAX_SITES sites are shown (most members first), each
    with its first MAX_MEMBERS members (by login id)."""
    from models import impact as sql

    targets = [
        sql.Target(
            key,
            c.role,
            c.application,
            level=None if c.any_level or c.level == UNSTORED else c.level,
            unstored=c.unstored,
            any_level=c.any_level,
        )
        for key, c in enumerate(diff.cells)
    ]
    with sql.read_snapshot():
        counts = sql.count(targets, max_sites)
        site_ids = [site_id for site_id, *_ in counts.top_sites]
        per_site = sql.per_site_keys(targets, site_ids)
        hits = sql.first_members(targets, site_ids, max_members)
    members_of: dict[int, dict[int, list]] = {}
    for hit in hits:
        members_of.setdefault(hit.site_id, {}).setdefault(hit.membership_id, []).append(hit)
    sites = []
    for site_id, number, name, n in counts.top_sites:
        gained: dict[str, int] = {}
        lost: dict[str, int] = {}
        for key, on_key in sorted(per_site.get(site_id, {}).items()):
            for action in diff.cells[key].gained:
                gained[action] = gained.get(action, 0) + on_key
            for action in diff.cells[key].lost:
                lost[action] = lost.get(action, 0) + on_key
        listed = tuple(_member(diff, member_hits) for member_hits in members_of.get(site_id, {}).values())
        sites.append(SiteImpact(number, name, n, gained, lost, listed))
    return Impact(
        counts.members, counts.sites, tuple(counts.per_key.get(k, 0) for k in range(len(diff.cells))), tuple(sites)
    )


def _member(diff: PolicyDiff, hits: list) -> MemberImpact:
    gained: list[str] = []
    lost: list[str] = []
    levels: dict[str, str] = {}
    for hit in hits:
        cell = diff.cells[hit.key]
        gained += cell.gained
        lost += cell.lost
        if not cell.any_level:  # a member who stores nothing sits on the lowest level's cell (or UNSTORED)
            levels[hit.application] = hit.level or cell.level
    # An action that moved between applications may be lost through one and gained through the other.
    both = set(gained) & set(lost)
    return MemberImpact(
        hits[0].login_id,
        hits[0].role,
        levels,
        tuple(a for a in gained if a not in both),
        tuple(a for a in lost if a not in both),
    )


# --- where the two sides come from ---------------------------------------------------


class PolicySourceError(DomainError):
    code = "policy_source"


@dataclass(frozen=True)
class Side:
    spec: str  # as given on the command line
    label: str  # for the report: a directory, or "REV (abc1234)"
    directory: Path


@contextmanager
def resolve(spec: str, default_dir: Path, cwd: Path | None = None) -> Iterator[Side]:
    """SPEC as a policy directory: itself if it is one, otherwise a git revision
    (REV, or REV:PATH) of the repository around CWD, written out to a temporary
    directory for as long as the context lasts. A revision names the policy
    directory at the same place in the repository as DEFAULT_DIR (else policies/)."""
    cwd = Path(cwd or Path.cwd())
    path = Path(spec)
    if not path.is_absolute():
        path = cwd / path
    if path.is_dir():
        yield Side(spec, spec, path)
        return
    if spec.startswith("-"):
        raise PolicySourceError(f"'{spec}' is neither a policy directory nor a git revision")
    root = _git(
        cwd,
        "rev-parse",
        "--show-toplevel",
        missing=(f"'{spec}' is neither a policy directory nor a git revision (no git repository at {cwd})"),
    )
    root_path = Path(root.decode().strip())
    revision, sep, inside = spec.partition(":")
    if not sep:
        inside = _policy_path_in(root_path, default_dir)
    commit = (
        _git(
            root_path,
            "rev-parse",
            "--verify",
            "--quiet",
            f"{revision}^{{commit}}",
            missing=(f"'{spec}' is neither a policy directory nor a git revision of {root_path}"),
        )
        .decode()
        .strip()
    )
    archive = _git(
        root_path,
        "archive",
        "--format=tar",
        f"{commit}:{inside}",
        missing=(f"revision '{revision}' ({commit[:10]}) has no directory '{inside}'"),
    )
    with tempfile.TemporaryDirectory(prefix="authz-policy-") as tmp:
        target = Path(tmp) / "policies"
        target.mkdir()
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            tar.extractall(target, filter="data")
        yield Side(spec, f"{spec} ({commit[:10]})", target)


def _policy_path_in(root: Path, default_dir: Path) -> str:
    try:
        return Path(default_dir).resolve().relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        return "policies"


def _git(cwd: Path, *args: str, missing: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise PolicySourceError(f"{missing}; git is not installed") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise PolicySourceError(missing + (f" (git: {detail[-1]})" if detail else ""))
    return done.stdout
