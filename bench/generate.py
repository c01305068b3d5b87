"""Benchmark data: a migrated SQLite database with N memberships, an API key, and
a file of ready-made check bodies for the load generator.

    .venv/bin/python bench/generate.py 1000000     # -> var/bench/m1000000/

Everything is written with raw executemany in one transaction (the YAML importer
validates row by row and would take hours at 1M). The data follows the rules the
service enforces elsewhere: one primary per site, at most 4 secondaries, the rest
users; a user never holds a level above the lowest in an application whose
`holders` exclude users; a primary stores no levels (it holds the highest anyway);
only levels above the lowest are stored. The change log gets exactly one row: the
one `create_key` records. Generated sets are cached by size: a rerun reuses them.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import mmap
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from authz.engine.compiler import compile_policy  # noqa: E402
from authz.engine.table import DecisionTable  # noqa: E402

CACHE_DIR = ROOT / "var" / "bench"
MEMBERS_PER_SITE = 10
PEOPLE_PER_MEMBERSHIP = 0.3  # people are reused: on average ~3.3 sites each
MAX_SECONDARIES = 4
REQUEST_LINES = 200_000  # more than a run sends, so the member cache cannot hold them all
MISS_SHARE = 0.05  # of the request lines: unknown user, unknown site, or not a member
CREATED_AT = "2024-01-01 00:00:00"
SEED = 20240101
# Linux mmap flags the mmap module does not export: fault every page in, and lock it.
_MAP_POPULATE, _MAP_LOCKED = 0x8000, 0x2000
FORMAT = 3  # bump when the layout below changes: old caches are then regenerated


@dataclass(frozen=True)
class DataSet:
    """Where a generated data set lives; `ready` once complete."""

    size: int

    @property
    def folder(self) -> Path:
        return CACHE_DIR / f"m{self.size}"

    @property
    def database(self) -> Path:
        return self.folder / "authz.db"

    def load_into_page_cache(self) -> None:
        """Read the database file once so its pages are in the OS page cache, as a
        serving database's would be (the fallback when they cannot be locked)."""
        with open(self.database, "rb") as file:
            while file.read(1 << 20):
                pass

    @contextlib.contextmanager
    def held_in_memory(self):
        """Lock the database file's pages in RAM for the duration (mmap with
        MAP_LOCKED): this VM's host evicts file pages within seconds (about 6% of
        the 1M file in 25 s, idle), which turns a share of a 1M phase's lookups into
        disk reads. Yields False if the lock was refused (no CAP_IPC_LOCK or a low
        RLIMIT_MEMLOCK); the caller then reads the file before each phase instead."""
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype, libc.mmap.argtypes = (
            ctypes.c_void_p,
            [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long],
        )
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        size = self.database.stat().st_size
        with open(self.database, "rb") as file:
            address = libc.mmap(
                None, size, mmap.PROT_READ, mmap.MAP_SHARED | _MAP_POPULATE | _MAP_LOCKED, file.fileno(), 0
            )
        if address in (None, ctypes.c_void_p(-1).value):
            yield False
            return
        try:
            yield True
        finally:
            libc.munmap(address, size)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.database}"

    @property
    def key_file(self) -> Path:
        return self.folder / "check.key"

    @property
    def requests(self) -> Path:
        return self.folder / "requests.jsonl"

    @property
    def stamp(self) -> Path:
        return self.folder / "READY"

    @property
    def ready(self) -> bool:
        return self.stamp.exists() and self.stamp.read_text().strip() == str(FORMAT)

    def key(self) -> str:
        return self.key_file.read_text().strip()


def ensure(size: int, log=print) -> DataSet:
    """The data set of SIZE memberships, generated first if it is not cached."""
    data = DataSet(size)
    if data.ready:
        _migrate(data)  # the schema may have moved on since the set was cached
        return data
    log(f"generating {size:,} memberships into {data.folder.relative_to(ROOT)} (once; cached for later runs)")
    started = time.perf_counter()
    generate(data)
    log(f"  done in {time.perf_counter() - started:.1f} s")
    return data


def _migrate(data: DataSet) -> None:
    from models.db import db, open_database
    from models.migrate import migrate

    open_database(data.url)
    migrate()
    db.close()


def generate(data: DataSet) -> None:
    # Built in a scratch folder and renamed at the end: a run cut short leaves no half set.
    scratch = data.folder.with_name(data.folder.name + ".tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    table = compile_policy(ROOT / "policies")
    rng = random.Random(SEED + data.size)
    plan = _plan(data.size, table, rng)
    key = _write_database(scratch / "authz.db", plan)
    (scratch / "check.key").write_text(key + "\n")
    _write_requests(scratch / "requests.jsonl", plan, table, rng)
    (scratch / "READY").write_text(f"{FORMAT}\n")
    shutil.rmtree(data.folder, ignore_errors=True)
    scratch.rename(data.folder)


@dataclass
class _Plan:
    sites: int
    people: int
    memberships: list[tuple[int, int, int, str]]  # (id, site index, person index, role)
    levels: list[tuple[int, str, str]]  # (membership id, application, level)


def _plan(size: int, table: DecisionTable, rng: random.Random) -> _Plan:
    sites = max(1, size // MEMBERS_PER_SITE)
    people = max(MEMBERS_PER_SITE, int(size * PEOPLE_PER_MEMBERSHIP))
    choosers = _level_choosers(table)
    memberships, levels = [], []
    for site in range(sites):
        per_site = MEMBERS_PER_SITE if site < sites - 1 else size - MEMBERS_PER_SITE * (sites - 1)
        secondaries = rng.randint(0, min(MAX_SECONDARIES, per_site - 1))
        roles = ["primary"] + ["secondary"] * secondaries + ["user"] * (per_site - 1 - secondaries)
        for person, role in zip(rng.sample(range(people), per_site), roles, strict=True):
            member_id = len(memberships) + 1
            memberships.append((member_id, site, person, role))
            for application, allowed in choosers[role]:
                level = rng.choice(allowed)
                if level is not None:
                    levels.append((member_id, application, level))
    return _Plan(sites, people, memberships, levels)


def _level_choosers(table: DecisionTable) -> dict[str, list[tuple[str, list[str | None]]]]:
    """Per role: (application, levels to draw from). None stands for the lowest
    level, which is never stored. Primaries store nothing; users only draw in
    applications they may hold (the catalogue's `holders`)."""
    catalogue = table.catalogue
    choosers = {}
    for role in catalogue.roles.values():
        if role.holds_highest_level:
            choosers[role.id] = []
            continue
        choosers[role.id] = [
            (app, [None, *table.level_order(app)[1:]])
            for app in catalogue.applications
            if catalogue.may_hold(role.id, app)
        ]
    return choosers


def _site_number(index: int) -> str:
    return str(1_000_000 + index)


def _login_id(index: int) -> str:
    # Mixed case on purpose: the service must match login ids case-insensitively.
    return f"Person{index:07d}@Org{index % 5_000}.example"


def _write_database(path: Path, plan: _Plan) -> str:
    from authz.authn.keys import create_key
    from models.db import db, open_database
    from models.directory import member_lookup_rows
    from models.migrate import migrate

    database = open_database(f"sqlite:///{path}")
    migrate()
    with database.atomic():
        cursor = database.cursor()
        cursor.executemany(
            "INSERT INTO site (id, number, name, created_at) VALUES (?, ?, ?, ?)",
            ((i + 1, _site_number(i), f"Site {i}", CREATED_AT) for i in range(plan.sites)),
        )
        cursor.executemany(
            "INSERT INTO person (id, login_id, login_key, email, first_name, last_name, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (i + 1, _login_id(i), _login_id(i).lower(), _login_id(i).lower(), "Pat", f"Example{i}", CREATED_AT)
                for i in range(plan.people)
            ),
        )
        cursor.executemany(
            "INSERT INTO membership (id, site_id, person_id, role, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, 'bench')",
            ((m_id, site + 1, person + 1, role, CREATED_AT) for m_id, site, person, role in plan.memberships),
        )
        cursor.executemany(
            "INSERT INTO membership_level (membership_id, application, level) VALUES (?, ?, ?)", plan.levels
        )
        cursor.execute(
            "INSERT INTO member_lookup (login_key, site_number, role, levels) " + member_lookup_rows(postgres=False)
        )  # what record_change keeps up to date
    key, _ = create_key("bench", "check")  # also the change log's one row
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return key


def _write_requests(path: Path, plan: _Plan, table: DecisionTable, rng: random.Random) -> None:
    """One JSON check body per line: members drawn uniformly from all memberships,
    plus MISS_SHARE of misses of the three kinds."""
    actions = sorted(table.catalogue.action_application)
    members = {(site, person) for _, site, person, _ in plan.memberships}
    with path.open("w") as out:
        for _ in range(REQUEST_LINES):
            site, person = _pick(plan, members, rng)
            user = _login_id(person) if person >= 0 else f"nobody{rng.randrange(10**9)}@nowhere.example"
            number = _site_number(site) if site >= 0 else f"9{rng.randrange(10**8)}"
            out.write(
                json.dumps({"user": user, "site": number, "action": rng.choice(actions)}, separators=(",", ":")) + "\n"
            )


def _pick(plan: _Plan, members: set[tuple[int, int]], rng: random.Random) -> tuple[int, int]:
    """(site index, person index); -1 for an unknown one."""
    if rng.random() >= MISS_SHARE:
        _, site, person, _ = plan.memberships[rng.randrange(len(plan.memberships))]
        return site, person
    kind = rng.randrange(3)
    if kind == 0:  # unknown user
        return rng.randrange(plan.sites), -1
    if kind == 1:  # unknown site
        return -1, rng.randrange(plan.people)
    while True:  # both exist, but no membership
        site, person = rng.randrange(plan.sites), rng.randrange(plan.people)
        if (site, person) not in members:
            return site, person


def main(argv: list[str]) -> int:
    sizes = [int(a.replace("_", "")) for a in argv] or [1_000, 1_000_000]
    for size in sizes:
        data = ensure(size)
        print(
            f"{size:>9,} memberships: {data.database.relative_to(ROOT)} "
            f"({data.database.stat().st_size / 2**20:.0f} MiB), {data.requests.relative_to(ROOT)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
