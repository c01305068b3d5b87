"""`authz export memberships [--site S]`: one site's members, or every site's, in
the formats `authz import` reads (CSV, JSON lines), streamed: rows are read in
batches from one read transaction (models.bulk.membership_rows), so memory stays
flat however large the site. The export is audited before its first byte, like
the user list's download.

Levels are the ones that count (a primary's: the highest), as members.csv shows
them. CSV cells that a spreadsheet would run as a formula (and cells that begin
with an apostrophe) get a leading apostrophe, which the importer drops again."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import msgspec

from authz.audit import trail
from authz.contract.bulk import BulkFormat
from authz.engine.table import DecisionTable
from authz.errors import NotFound
from models import bulk
from models.db import write_transaction
from models.schema import Membership, Site

COLUMNS = ("site", "site_name", "login_id", "email", "first_name", "last_name", "phone", "role")
# A cell starting with one of these is a formula to a spreadsheet (CSV injection);
# the apostrophe is the mark itself, so a value starting with one is marked too.
_MARKED = ("=", "+", "-", "@", "\t", "\r", "'")


def export_memberships(table: DecisionTable, actor: str, site: str | None, fmt: BulkFormat) -> Iterator[bytes]:
    """The memberships of SITE (None: every site) as FMT, in chunks. NotFound if
    SITE does not exist. The audit record (who, which site, how many rows) is
    written now; the rows are read as the caller consumes the chunks."""
    with write_transaction():
        query = Membership.select()
        if site is not None:
            found = Site.get_or_none(Site.number == site)
            if found is None:
                raise NotFound(f"site {site} does not exist")
            query = query.where(Membership.site == found)
        trail.record(actor, "export_memberships", site_number=site, after={"rows": query.count(), "format": fmt})
    encode = _csv_chunks if fmt == "csv" else _jsonl_chunks
    return encode(table, bulk.membership_rows(site))


def _levels(table: DecisionTable, role: str, stored: str) -> dict[str, str]:
    held = dict(pair.split(":", 1) for pair in stored.split(",")) if stored else {}
    return table.effective_levels(role, held)


def _csv_chunks(table: DecisionTable, batches: Iterator[list[tuple]]) -> Iterator[bytes]:
    apps = list(table.catalogue.applications)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*COLUMNS, *apps])
    yield _drain(buffer)
    for batch in batches:
        for *fields, role, stored in batch:
            levels = _levels(table, role, stored)
            writer.writerow([*(csv_cell(v) for v in fields), role, *(levels[app] for app in apps)])
        yield _drain(buffer)


def _jsonl_chunks(table: DecisionTable, batches: Iterator[list[tuple]]) -> Iterator[bytes]:
    encoder = msgspec.json.Encoder()
    for batch in batches:
        out = bytearray()
        for *fields, role, stored in batch:
            record = dict(zip(COLUMNS, (*fields, role), strict=True))
            record["levels"] = _levels(table, role, stored)
            encoder.encode_into(record, out, len(out))
            out += b"\n"
        yield bytes(out)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def csv_cell(value: object) -> str:
    """VALUE as a spreadsheet-safe cell that the importer reads back as VALUE."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_MARKED) else text
