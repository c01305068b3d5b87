"""A generated data set (bench/generate.py) copied into PostgreSQL, for the
production benchmark: the same rows, so the same request files apply.

    .venv/bin/python bench/pg_data.py 1000000     # -> database authz_bench_m1000000_f3

The database is migrated by the project's migrations, then every table is filled
with COPY from the SQLite file (about a minute at 1M memberships), the id
sequences moved past the copied rows, and the statistics gathered (VACUUM
ANALYZE). A copied set is cached: the database's comment names the set it holds.
AUTHZ_BENCH_POSTGRES_URL names the server (default
postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402
import psycopg2  # noqa: E402

SERVER_URL = os.environ.get("AUTHZ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Parents before children (foreign keys); tables migrations fill are emptied first.
TABLES = ["site", "person", "membership", "membership_level", "member_lookup", "api_key", "change_log"]


def database_name(data: generate.DataSet) -> str:
    return f"authz_bench_m{data.size}_f{generate.FORMAT}"


def url_of(name: str) -> str:
    return SERVER_URL.rsplit("/", 1)[0] + "/" + name


def ensure(data: generate.DataSet, log=print) -> str:
    """The URL of a PostgreSQL database holding DATA, copied first if needed."""
    name = database_name(data)
    # The set a database holds, by its API keys (new at every generation): a data set
    # generated again (a new checkout, a cleaned var/) is copied again, or the bench's
    # requests would carry a key the copy never knew (every check a 401).
    stamp = f"{name} ready: {_fingerprint(data.database)}"
    admin = psycopg2.connect(SERVER_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,))
        found = cursor.fetchone()
        if found and found[0] == stamp:
            admin.close()
            _migrate(url_of(name))
            return url_of(name)
        log(f"copying {data.size:,} memberships into PostgreSQL database {name} (once; kept for later runs)")
        started = time.perf_counter()
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
        _migrate(url_of(name))
        _copy(data.database, url_of(name))
        cursor.execute(f"COMMENT ON DATABASE \"{name}\" IS '{stamp}'")
        log(f"  done in {time.perf_counter() - started:.1f} s")
    admin.close()
    return url_of(name)


def _fingerprint(source: Path) -> str:
    lite = sqlite3.connect(source)
    try:
        rows = lite.execute("SELECT key_id, secret_hash FROM api_key ORDER BY id").fetchall()
    finally:
        lite.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def _migrate(url: str) -> None:
    from models.db import db, open_database
    from models.migrate import migrate

    open_database(url)
    migrate()
    db.close()


def _copy(source: Path, url: str) -> None:
    lite = sqlite3.connect(source)
    target = psycopg2.connect(url)
    try:
        with target, target.cursor() as cursor:
            for table in reversed(TABLES):
                cursor.execute(f"DELETE FROM {table}")
            for table in TABLES:
                cursor.execute(f"SELECT * FROM {table} LIMIT 0")
                wanted = [column.name for column in cursor.description]
                present = [row[1] for row in lite.execute(f"PRAGMA table_info({table})")]
                columns = [c for c in wanted if c in present]
                rows = lite.execute(f"SELECT {', '.join(columns)} FROM {table}")
                cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", _Lines(_text(rows)))
                if "id" in columns or "seq" in columns:
                    key = "id" if "id" in columns else "seq"
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), "
                        f"(SELECT coalesce(max({key}), 1) FROM {table}))"
                    )
        target.autocommit = True
        with target.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        target.close()
        lite.close()


def _text(rows) -> Iterator[bytes]:
    """COPY's text format: tab-separated, \\N for NULL."""
    for row in rows:
        yield ("\t".join(_field(v) for v in row) + "\n").encode()


def _field(value) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class _Lines(io.RawIOBase):
    """A file COPY reads from, fed by a generator of lines."""

    def __init__(self, lines: Iterator[bytes]):
        self._lines = lines
        self._rest = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunks, total = [self._rest], len(self._rest)
        while size < 0 or total < size:
            line = next(self._lines, None)
            if line is None:
                break
            chunks.append(line)
            total += len(line)
        data = b"".join(chunks)
        if size < 0:
            self._rest = b""
            return data
        self._rest = data[size:]
        return data[:size]


def main(argv: list[str]) -> int:
    for size in [int(a.replace("_", "")) for a in argv] or [1_000_000]:
        print(ensure(generate.ensure(size)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
