"""`authz policy diff` as one function: resolve both sides, compile them, diff
the tables, and count the impact in a database."""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from authz.engine.compiler import compile_policy
from authz.engine.table import DecisionTable
from authz.errors import DomainError, PolicyInvalid, Problem
from authz.policy_tools.diff import Impact, PolicyDiff, diff_tables, impact_of, resolve
from authz.policy_tools.report import Report, redact


class SidesInvalid(DomainError):
    """One side or both do not compile."""

    code = "policy_invalid"

    def __init__(self, failures: list[tuple[str, str, list[Problem]]]):
        self.failures = failures  # (base|head, label, problems)
        super().__init__("; ".join(f"{name} {label} does not compile" for name, label, _ in failures))


class ImpactUnavailable(DomainError):
    code = "impact_unavailable"


@dataclass(frozen=True)
class DiffOptions:
    database_url: str | None  # None: report the policy change alone
    max_sites: int = 100
    max_members: int = 50


def compare(base: str, head: str | None, policy_dir: Path, options: DiffOptions) -> Report:
    """The report of what changes from BASE to HEAD (each a policy directory or a
    git revision; HEAD None: POLICY_DIR, the working tree's)."""
    tables: dict[str, DecisionTable] = {}
    labels: dict[str, str] = {}
    failures: list[tuple[str, str, list[Problem]]] = []
    with ExitStack() as stack:
        for name, spec in (("base", base), ("head", head)):
            if spec is None:
                side = stack.enter_context(resolve(str(policy_dir), policy_dir))
                shown = os.path.relpath(policy_dir)
                labels[name] = shown if not shown.startswith("..") else str(policy_dir)
            else:
                side = stack.enter_context(resolve(spec, policy_dir))
                labels[name] = side.label
            try:
                tables[name] = compile_policy(side.directory)
            except PolicyInvalid as exc:
                failures.append((name, labels[name], exc.problems))
    if failures:
        raise SidesInvalid(failures)
    diff = diff_tables(tables["base"], tables["head"])
    impact, note, database = None, None, None
    if options.database_url is None:
        note = "not computed (--no-impact)"
    elif not diff.cells:
        note = "none: no cell changed"
    else:
        database = redact(options.database_url)
        impact = _impact_from(options.database_url, diff, options.max_sites, options.max_members)
    return Report(labels["base"], labels["head"], diff, impact, note, database, options.max_sites, options.max_members)


def _impact_from(url: str, diff: PolicyDiff, max_sites: int, max_members: int) -> Impact:
    """The impact counted in the database at URL, which must exist: it is read, never created."""
    from models.db import db, open_database
    from models.errors import DRIVER_ERRORS

    database = redact(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not Path(path).is_file():
            raise ImpactUnavailable(f"cannot count the impact in {database}: no database file at {path}")
    try:
        open_database(url)
        try:
            if not db.table_exists("membership"):
                raise ImpactUnavailable(
                    f"cannot count the impact in {database}: the database has no membership table (run `authz migrate`)"
                )
            return impact_of(diff, max_sites=max_sites, max_members=max_members)
        finally:
            db.close()
    except DRIVER_ERRORS as exc:
        raise ImpactUnavailable(f"cannot count the impact in {database}: {exc}".rstrip()) from exc
