"""Server time to render each console page for a site with 10,000 members, in process
(the falcon app the workers run, called through falcon's test client: no network, no
browser), signed in as the site's primary contact through the demo sign-in.

    .venv/bin/python bench/console.py                 # 10,000 members, 50 renders a page
    .venv/bin/python bench/console.py --members 1000 --renders 20

The site is the demo data's Acme (1001) plus MEMBERS generated people, imported in one
transaction by raw inserts, with a few pending access requests and
audit records from real changes. Each page is rendered once to warm up, then RENDERS
times; the median and p95 of the wall time per render are reported in ms. Goal: < 100 ms.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from falcon import testing  # noqa: E402

from api.app import create_app  # noqa: E402
from authz.config import IdentitySettings, Settings  # noqa: E402
from authz.service import Service  # noqa: E402
from tests.integration.console.data import CONTACT  # noqa: E402

SITE = "1001"
PRIMARY = "alice@acme.example"
GOAL_MS = 100.0
CREATED_AT = "2024-01-01 00:00:00"
SESSION_SECRET = "bench-console-session-secret-0123456789"
DEMO_DATA = ROOT / "deploy" / "demo-data.yaml"
# Levels a generated user holds: spread so the list's filters have something to find.
USER_LEVELS = [
    {"purchase_download": "downloads", "reporting": "view"},
    {"purchase_download": "full", "entitlements": "view"},
    {"reporting": "view", "allocations": "update"},
    {},
]


def add_members(count: int) -> None:
    """COUNT generated people, each a user of SITE, written with raw executemany in one
    transaction like bench/generate.py (the importer checks row by row: about 40 s for
    10,000); member_lookup rebuilt from the membership tables, as record_change keeps it."""
    from models.db import db
    from models.directory import member_lookup_rows

    logins = [f"member{i:05d}@acme.example" for i in range(count)]
    with db.atomic():
        cursor = db.cursor()
        cursor.executemany(
            "INSERT INTO person (login_id, login_key, email, first_name, last_name, phone, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (login, login, login, f"Member{i:05d}", "Generated", f"+1 555 {i:05d}", CREATED_AT)
                for i, login in enumerate(logins)
            ),
        )
        site_id = cursor.execute("SELECT id FROM site WHERE number = ?", (SITE,)).fetchone()[0]
        cursor.execute(
            "INSERT INTO membership (site_id, person_id, role, created_at, created_by) "
            "SELECT ?, id, 'user', ?, 'bench' FROM person WHERE login_key LIKE 'member%@acme.example'",
            (site_id, CREATED_AT),
        )
        ids = cursor.execute(
            "SELECT m.id, p.login_key FROM membership m JOIN person p ON p.id = m.person_id "
            "WHERE m.site_id = ? AND p.login_key LIKE 'member%@acme.example'",
            (site_id,),
        ).fetchall()
        cursor.executemany(
            "INSERT INTO membership_level (membership_id, application, level) VALUES (?, ?, ?)",
            (
                (membership_id, application, level)
                for membership_id, login in ids
                for application, level in USER_LEVELS[int(login[6:11]) % len(USER_LEVELS)].items()
            ),
        )
        cursor.execute("DELETE FROM member_lookup")
        cursor.execute(
            "INSERT INTO member_lookup (login_key, site_number, role, levels) " + member_lookup_rows(postgres=False)
        )


def prepare(folder: Path, members: int) -> Settings:
    """A migrated SQLite database with the demo data and MEMBERS more members on SITE."""
    from authz.service.schema import migrate

    settings = Settings(
        database_url=f"sqlite:///{folder}/authz.db",
        identity=IdentitySettings(demo_sign_in=True, session_secrets=(SESSION_SECRET,)),
    )
    migrate(settings, None)
    Service.start(settings).data.load_demo(DEMO_DATA)
    started = time.perf_counter()
    add_members(members)
    print(f"added {members} members in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return settings


def seed(client: testing.TestClient, admin: dict) -> tuple[int, int]:
    """A contact and a pending access request on SITE, through the API: (contact id, request id)."""
    acting = {**admin, "X-Acting-User": PRIMARY}
    made = client.simulate_post(f"/v1/sites/{SITE}/contacts", json=CONTACT, headers=acting)
    assert made.status_code == 201, made.text
    asked = client.simulate_post(
        f"/v1/sites/{SITE}/access-requests",
        json={"business_justification": "Ships media."},
        headers={**admin, "X-Acting-User": "frank@globex.example"},
    )
    assert asked.status_code == 201, asked.text
    return made.json["id"], asked.json["id"]


def pages(contact_id: int, request_id: int) -> dict[str, str]:
    site = f"/console/sites/{SITE}"
    return {
        "Your sites": "/console/",
        "Overview": f"{site}/",
        "Contact updates": f"{site}/contacts",
        "Contact form": f"{site}/contacts/{contact_id}",
        "Manage access (first page)": f"{site}/members",
        "Manage access (search)": f"{site}/members?q=member09999",
        "Manage access (filter: secondaries)": f"{site}/members?role=secondary",
        "Member form (matrix)": f"{site}/member?login=carol%40acme.example",
        "Approve requests": f"{site}/requests",
        "Grant form": f"{site}/requests/{request_id}/grant",
        "Add new user": f"{site}/add-user",
        "Audit trail": f"{site}/audit",
        "My preferences": "/console/preferences",
    }


def measure(client: testing.TestClient, cookie: str, path: str, renders: int) -> list[float]:
    """Wall time of each of RENDERS renders of PATH, in ms, after one to warm up."""
    headers = {"Cookie": cookie}
    first = client.simulate_get(path, headers=headers)
    assert first.status_code == 200, f"{path}: {first.status_code} {first.text[:300]}"
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        answer = client.simulate_get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[-1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000, help="members added to site 1001")
    parser.add_argument("--renders", type=int, default=50, help="timed renders per page")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-console-") as folder:
        settings = prepare(Path(folder), args.members)
        service = Service.start(settings)
        admin_key, _ = service.callers.create_key("bench", "admin")
        client = testing.TestClient(create_app(service))
        contact_id, request_id = seed(client, {"Authorization": f"Bearer {admin_key}"})
        session = service.sign_in.demo_sign_in(PRIMARY, "/console/", None).session_cookie
        cookie = f"authz_session={session}"
        print(
            f"Console pages, site {SITE} with {args.members + 4:,} members, signed in as its primary; "
            f"{args.renders} renders a page after one to warm up; {platform.python_implementation()} "
            f"{platform.python_version()}, in process (falcon's test client)\n"
        )
        print("| page | median ms | p95 ms | goal < 100 ms |")
        print("| --- | --: | --: | --- |")
        worst = 0.0
        for name, path in pages(contact_id, request_id).items():
            times = measure(client, cookie, path, args.renders)
            worst = max(worst, p95(times))
            verdict = "pass" if p95(times) < GOAL_MS else "FAIL"
            print(f"| {name} | {statistics.median(times):.1f} | {p95(times):.1f} | {verdict} |")
        # A download, not a page: every member, streamed (the API's CSV); no goal.
        times = measure(client, cookie, f"/console/sites/{SITE}/members.csv", max(3, args.renders // 10))
        print(
            f"| Download the complete list (CSV, {args.members + 4:,} rows) | {statistics.median(times):.0f} | "
            f"{max(times):.0f} (max) | no goal: a download |"
        )
    return 0 if worst < GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
