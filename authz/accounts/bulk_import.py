"""`authz import FILE.csv` / `FILE.jsonl`: memberships in bulk (README, "Bulk data").

The file is read as a stream. Each row is checked on its own here (the login-id
rule of every door, roles, levels, what a role may hold); rows that pass are
staged in batches (models/bulk.py). Then, in one write transaction, the checks
that span rows run as queries over the staged rows and the stored data, and if
nothing at all was wrong the rows are merged, member_lookup refreshed, one
change-log entry and one audit record (with the counts) written. Every problem
is reported by its line; if there is any, nothing is written.

A row is one membership: the site (created if new: then give its site_name), the
person (created if new, else their details updated), their role and a level per
application (blank: the lowest). Memberships the file does not name are kept."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from authz.audit import trail
from authz.contract.bulk import BulkFormat, ImportProgress, ImportReport
from authz.engine.table import DecisionTable
from authz.errors import ImportInvalid, Problem
from models import bulk
from models.db import write_transaction
from models.directory import record_bulk_change
from models.identifiers import MAX_LENGTH, is_acceptable, login_id_problem, login_key
from models.schema import ROLES

BATCH_ROWS = 5000  # rows staged per COPY / executemany
MAX_PROBLEMS = 100_000  # listed; beyond, one line says how many more
REQUIRED = ("site", "login_id", "email", "role")
DETAILS = ("site_name", "first_name", "last_name", "phone")
# Longest accepted text per column (the database's, which SQLite does not enforce).
LIMITS = {"site": 64, "site_name": 255, "email": 320, "first_name": 100, "last_name": 100, "phone": 50}

Progress = Callable[[ImportProgress], None]
Record = dict[str, Any]  # column -> text (None: blank)


def _quiet(_: ImportProgress) -> None:
    pass


def import_bulk(
    path: Path,
    fmt: BulkFormat,
    table: DecisionTable,
    actor: str,
    *,
    progress: Progress = _quiet,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """Load the memberships of PATH (FMT: csv or jsonl), all or nothing; ImportInvalid
    lists every problem by line. ACTOR is the audit record's actor."""
    source = path.name
    checker = _RowChecker(table, fmt)
    problems: list[Problem] = []
    digest = _sha256(path)
    with open(path, "rb") as binary:
        size = os.fstat(binary.fileno()).st_size
        bulk.create_staging(len(checker.apps))
        try:
            rows = _stage(binary, size, fmt, source, checker, problems, progress, batch_rows)
            if rows == 0 and not problems:
                problems.append(Problem(source, None, "no rows to import"))
            progress(ImportProgress("checking", rows))
            bulk.index_staging()
            with write_transaction():
                found = bulk.cross_row_problems()
                problems += [Problem(source, p.line, f"{p.field}: {p.message}") for p in found]
                if problems:
                    raise ImportInvalid(source, _listed(problems))
                progress(ImportProgress("writing", rows))
                counts = bulk.merge(checker.apps, created_by=actor)
                seq = record_bulk_change("import", bulk.STAGING)
                report = ImportReport(rows, *_counts(counts), change_seq=seq)
                trail.record(actor, "import", after={"file": source, "format": fmt, "sha256": digest, **_audit(report)})
        finally:
            bulk.drop_staging()
    progress(ImportProgress("done", rows))
    return report


def _stage(
    binary: IO[bytes],
    size: int,
    fmt: BulkFormat,
    source: str,
    checker: _RowChecker,
    problems: list[Problem],
    progress: Progress,
    batch_rows: int,
) -> int:
    """Read, check and stage every row; problems go to PROBLEMS. Returns the rows read."""
    progress(ImportProgress("reading", 0, 0, size))
    batch: list[tuple] = []
    rows = 0
    records = _csv_records(binary, checker) if fmt == "csv" else _jsonl_records(binary, checker)
    try:
        for line, record in records:
            rows += 1
            checked = checker.check(line, record) if not isinstance(record, str) else [("row", record)]
            if isinstance(checked, tuple):
                batch.append(checked)
            else:
                problems += [Problem(source, line, f"{field}: {message}") for field, message in checked]
            if len(batch) >= batch_rows:
                bulk.stage(batch, len(checker.apps))
                batch = []
                progress(ImportProgress("reading", rows, binary.tell(), size))
    except _Unreadable as unreadable:
        problems.append(Problem(source, unreadable.line, unreadable.message))
        raise ImportInvalid(source, problems) from None
    bulk.stage(batch, len(checker.apps))
    progress(ImportProgress("reading", rows, size, size))
    return rows


def _counts(counts: bulk.MergeCounts) -> tuple[int, int, int, int, int]:
    return (
        counts.sites_created,
        counts.people_created,
        counts.people_updated,
        counts.memberships_created,
        counts.memberships_updated,
    )


def _audit(report: ImportReport) -> dict[str, int]:
    return {f: getattr(report, f) for f in report.__struct_fields__ if f != "change_seq"}


def _listed(problems: list[Problem]) -> list[Problem]:
    problems.sort(key=lambda p: p.line or 0)
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], Problem(problems[0].source, None, f"... and {more:,} more problems")]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# -- reading -------------------------------------------------------------------------


class _Unreadable(Exception):
    """The rest of the file cannot be read (bad header, bytes that are not UTF-8)."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def _csv_records(binary: IO[bytes], checker: _RowChecker) -> Iterator[tuple[int, Record | str]]:
    """(line, record) per row: LINE where the row starts; a str instead of a record
    says what is wrong with the row as a whole. A cell's one leading apostrophe is
    dropped: it is how a spreadsheet, and the export, mark text that could read as a formula."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = _columns(header, checker)
        width, end = len(columns), reader.line_num
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not cells:
                continue  # a blank line
            if len(cells) != width:
                yield line, f"has {len(cells)} fields; the header has {width}"
                continue
            yield line, dict(zip(columns, cells, strict=True))
    except UnicodeDecodeError as error:
        raise _Unreadable(reader.line_num + 1, f"is not UTF-8 ({error.reason})") from None
    except csv.Error as error:
        raise _Unreadable(reader.line_num, f"is not CSV: {error}") from None
    finally:
        text.detach()  # the caller's file stays the caller's to close


def _columns(header: list[str], checker: _RowChecker) -> list[str]:
    known = {*REQUIRED, *DETAILS, *checker.apps}
    problems = [f"unknown column {c!r}" for c in header if c not in known]
    problems += [f"column {c!r} appears twice" for c in sorted({c for c in header if header.count(c) > 1})]
    problems += [f"required column {c!r} is missing" for c in REQUIRED if c not in header]
    if problems:
        raise _Unreadable(
            1,
            "header: " + "; ".join(problems) + f" (columns: {', '.join([*REQUIRED, *DETAILS])}, "
            f"and an application each: {', '.join(checker.apps)})",
        )
    return header


def _jsonl_records(binary: IO[bytes], checker: _RowChecker) -> Iterator[tuple[int, Record | str]]:
    """(line, record) per non-blank line: one JSON object with the CSV's columns,
    levels as {"application": "level"}."""
    fields = {*REQUIRED, *DETAILS, "levels"}
    for line, raw in enumerate(binary, start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            yield line, f"is not a JSON object: {error}"
            continue
        if not isinstance(value, dict):
            yield line, "is not a JSON object"
            continue
        unknown = sorted(set(value) - fields)
        levels = value.pop("levels", None) or {}
        if unknown or not isinstance(levels, dict):
            yield line, f"unknown field(s) {', '.join(unknown)}" if unknown else "levels: must be an object"
            continue
        strange = sorted(set(levels) - set(checker.apps))
        if strange:
            yield line, f"levels: unknown application(s) {', '.join(strange)} (known: {', '.join(checker.apps)})"
            continue
        yield line, {**value, **levels}


# -- one row ------------------------------------------------------------------------


def _csv_cell(value: Any) -> Any:
    """A CSV cell as the checks read it: blank is None; one leading apostrophe (the
    spreadsheet's mark for text that could read as a formula, which the export
    writes) is dropped."""
    if not value:
        return None
    if value[0] == "'":
        return value[1:] or None
    return value


def _json_value(value: Any) -> Any:
    """A JSON value as the checks read it: "" and null are None."""
    return value if value != "" else None


class _RowChecker:
    """The checks one row can pass alone, with the policy in force. Runs on every
    row of a file of millions: the common case is kept to a few cheap tests."""

    def __init__(self, table: DecisionTable, fmt: BulkFormat):
        self._cell = _csv_cell if fmt == "csv" else _json_value
        catalogue = table.catalogue
        self.apps = list(catalogue.applications)
        self._plans: dict[str, list[tuple[str, tuple[str, ...], Callable[[str], str | None]]]] = {
            role: [(app, table.level_order(app), self._judge(table, role, app)) for app in self.apps] for role in ROLES
        }

    @staticmethod
    def _judge(table: DecisionTable, role: str, app: str) -> Callable[[str], str | None]:
        """What is wrong with LEVEL (known, above the lowest) for ROLE in APP, or None."""
        catalogue, order = table.catalogue, table.level_order(app)
        if catalogue.roles[role].holds_highest_level:
            highest = order[-1]
            return lambda level: (
                None if level == highest else (f"a {role} holds the highest level, '{highest}': leave it blank")
            )
        if not catalogue.may_hold(role, app):
            holders = ", ".join(sorted(catalogue.applications[app].holders or ROLES))
            return lambda level: f"a {role} may not hold '{app}' (only {holders})"
        return lambda level: None

    def check(self, line: int, record: Record) -> tuple | list[tuple[str, str]]:
        """The row to stage (models.bulk.STAGED, then the levels), or its problems as (field, message)."""
        problems: list[tuple[str, str]] = []
        _cell = self._cell
        site = _identifier(_cell(record.get("site")), "site", problems)
        login = _identifier(_cell(record.get("login_id")), "login_id", problems)
        email = _text(_cell(record.get("email")), "email", problems)
        if email is None:
            if not any(f == "email" for f, _ in problems):
                problems.append(("email", "is required"))
        elif "@" not in email:
            problems.append(("email", f"{email!r} is not an email address"))
        site_name, first_name, last_name, phone = (_text(_cell(record.get(f)), f, problems) for f in DETAILS)
        role = _cell(record.get("role"))
        levels: list[str | None] = []
        if role in self._plans:
            for app, order, judge in self._plans[role]:
                level = _cell(record.get(app))
                if level is None or level == order[0]:
                    levels.append(None)
                elif level not in order:
                    problems.append((app, f"unknown level {level!r} (known: {', '.join(order)})"))
                elif (problem := judge(level)) is not None:
                    problems.append((app, problem))
                else:
                    levels.append(None if role == "primary" else level)
        else:
            problems.append(("role", f"must be one of {', '.join(ROLES)}, got {role!r}"))
        if problems:
            return problems
        assert site is not None and login is not None  # else a problem was found
        held = ",".join(f"{app}:{level}" for app, level in sorted(zip(self.apps, levels, strict=True)) if level)
        return (
            line,
            site,
            site_name,
            login,
            login_key(login),
            email,
            first_name,
            last_name,
            phone,
            role,
            held,
            *levels,
        )


def _identifier(value: Any, field: str, problems: list[tuple[str, str]]) -> str | None:
    """A login id or site number as every door accepts them (models.identifiers):
    never trimmed or repaired."""
    limit = LIMITS.get(field, MAX_LENGTH)
    if isinstance(value, str) and 0 < len(value) <= limit and is_acceptable(value):
        return value
    if not isinstance(value, str):
        problems.append((field, "is required" if value is None else "must be text"))
        return None
    problem = login_id_problem(value) or f"is longer than {limit} characters"
    problems.append((field, f"{problem}: {value!r}"))
    return None


def _text(value: Any, field: str, problems: list[tuple[str, str]]) -> str | None:
    """Optional text (None: not given), trimmed, printable, within its column's length."""
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append((field, "must be text"))
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > LIMITS[field]:
        problems.append((field, f"is longer than {LIMITS[field]} characters"))
    elif not value.isprintable():
        problems.append((field, f"holds a character that is not printable: {value!r}"))
    else:
        return value
    return None
