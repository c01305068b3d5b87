"""Grant and revoke latency at 1k and at 1M memberships on PostgreSQL, under 20
concurrent administrators. See bench/README.md.

    .venv/bin/python bench/write_path.py                      # or: make bench-writes
    .venv/bin/python bench/write_path.py --seconds 20 --admins 20
    .venv/bin/python bench/write_path.py --quick              # smoke: 1 round of 3 s

For each size, a scratch copy of the data set's PostgreSQL database
(bench/pg_data.py; CREATE DATABASE ... TEMPLATE) is served by one gunicorn
replica (deploy/gunicorn.conf.py, the default settings, --workers sync
workers). ADMINS threads each act as the primary contact of a site of their
own and, for --seconds, alternately grant (`downloads`) and revoke (`none`)
purchase_download to a user of that site: PATCH /v1/sites/{site}/members/{user}
with an admin key and X-Acting-User, the whole write path (authorization by the
policy, row lock on the site, the change, audit record chained by HMAC, change
log, member_lookup, NOTIFY). Both sizes run in alternation, --rounds times;
latencies from every round are pooled. Writes bench/RESULTS-writes.md (with
--quick, var/bench/RESULTS-writes-quick.md).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import goals  # noqa: E402
import pg_data  # noqa: E402
import psycopg2  # noqa: E402

import bench as core  # noqa: E402

RESULTS = BENCH / "RESULTS-writes.md"
QUICK_RESULTS = core.ROOT / "var" / "bench" / "RESULTS-writes-quick.md"  # a smoke run keeps RESULTS
GOAL = 1.5  # 1M within 1.5x of 1k


def scratch_copy(template: str) -> tuple[str, str]:
    name = f"{template}_w{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(pg_data.SERVER_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    admin.close()
    return name, pg_data.url_of(name)


def drop(name: str) -> None:
    admin = psycopg2.connect(pg_data.SERVER_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def administrators(url: str, count: int) -> tuple[str, list[tuple[str, str, str]]]:
    """An admin key, and COUNT (site, primary's login, a user's login) on distinct sites."""
    from authz.authn.keys import create_key
    from models.db import db, open_database

    open_database(url)
    key = create_key("bench-writes", "admin")[0]
    rows = db.execute_sql(
        "SELECT s.number, max(CASE WHEN m.role = 'primary' THEN p.login_id END), "
        "min(CASE WHEN m.role = 'user' THEN p.login_id END) "
        "FROM site s JOIN membership m ON m.site_id = s.id JOIN person p ON p.id = m.person_id "
        "GROUP BY s.number HAVING count(*) FILTER (WHERE m.role = 'user') > 0 "
        "ORDER BY s.number LIMIT %s",
        (count,),
    ).fetchall()
    db.close()
    if len(rows) < count:
        raise RuntimeError(f"only {len(rows)} sites with a user")
    return key, [tuple(r) for r in rows]


def drive(port: int, key: str, sites: list[tuple[str, str, str]], seconds: float) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {"grant": [], "revoke": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def admin(site: str, primary: str, user: str) -> None:
        grant = True
        while time.monotonic() < stop:
            body = json.dumps({"levels": {"purchase_download": "downloads" if grant else "none"}})
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request(
                    "PATCH",
                    f"/v1/sites/{site}/members/{user}",
                    body=body,
                    headers={
                        "Authorization": f"Bearer {key}",
                        "X-Acting-User": primary,
                        "Content-Type": "application/json",
                    },
                )
                response = connection.getresponse()
                raw = response.read()
            finally:
                connection.close()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if response.status == 200:
                    latencies["grant" if grant else "revoke"].append(elapsed)
                else:
                    errors.append(f"{response.status} {raw[:200]!r}")
            grant = not grant

    threads = [threading.Thread(target=admin, args=site, daemon=True) for site in sites]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} writes failed, first: {errors[0]}")
    return latencies


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50": statistics.median(ordered),
        "p99": ordered[max(0, int(0.99 * len(ordered) + 0.999999) - 1)],
        "mean": statistics.fmean(ordered),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admins", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2, as deployed)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 3 s per size")
    goals.add_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds = 1, 3.0
    core.WORKERS = args.workers
    sizes = {"1k": generate.ensure(1_000), "1M": generate.ensure(1_000_000)}
    templates = {label: pg_data.database_name(data) for label, data in sizes.items()}
    for data in sizes.values():
        pg_data.ensure(data)
    pooled: dict[str, dict[str, list[float]]] = {label: {"grant": [], "revoke": []} for label in sizes}
    for round_number in range(args.rounds):
        order = list(sizes) if round_number % 2 == 0 else list(sizes)[::-1]
        for label in order:
            name, url = scratch_copy(templates[label])
            server = core.Server(f"writes-{label}", url)
            try:
                key, sites = administrators(url, args.admins)
                server.start()
                drive(server.port, key, sites, 2)  # warm-up
                measured = drive(server.port, key, sites, args.seconds)
            finally:
                server.stop()
                drop(name)
            for op, values in measured.items():
                pooled[label][op].extend(values)
            print(
                f"round {round_number + 1} {label}: "
                + ", ".join(
                    f"{op} p50 {summary(v)['p50']:.1f} ms p99 {summary(v)['p99']:.1f} ms" for op, v in measured.items()
                ),
                flush=True,
            )
    report(args, argv, pooled)
    return 0


def report(args, argv: list[str], pooled: dict[str, dict[str, list[float]]]) -> None:
    rows, verdicts, measured = [], [], []
    command = ("python bench/write_path.py " + " ".join(argv)).strip()
    for op in ("grant", "revoke"):
        small, big = summary(pooled["1k"][op]), summary(pooled["1M"][op])
        for stat in ("p50", "p99", "mean"):
            ratio = big[stat] / small[stat]
            measured.append(
                goals.Goal(
                    f"{op}_{stat}",
                    f"{op} latency {stat}: 1M vs 1k, {args.admins} administrators",
                    "<=",
                    GOAL,
                    "x",
                    ratio,
                    f"write_path.py: {op}s at 1M / at 1k, {args.rounds} x {args.seconds:g} s per size",
                    f"{small[stat]:.1f} ms at 1k, {big[stat]:.1f} ms at 1M",
                )
            )
            rows.append(
                [
                    op,
                    stat,
                    f"{small[stat]:.1f}",
                    f"{big[stat]:.1f}",
                    f"{ratio:.2f}x",
                    "PASS" if ratio <= GOAL else "MISS",
                ]
            )
        verdicts.append(f"{op}: {small['count']:,} at 1k, {big['count']:,} at 1M")
    header = ["operation", "statistic", "1k ms", "1M ms", "1M / 1k", f"<= {GOAL}x"]
    print()
    print(core.text_table(header, rows))
    core.write_report(
        QUICK_RESULTS if args.quick else RESULTS,
        f"""# Write path: grant and revoke at 1k and 1M memberships (PostgreSQL)

Date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}
Command: `{command}`

{args.admins} concurrent administrators (each the primary of a site of their own), one replica of
{args.workers} sync workers, {args.rounds} rounds of {args.seconds:g} s per size (sizes alternated).
Latency: from sending the PATCH to reading the whole answer, as the administrator's client sees it
(it includes waiting for a free worker).

{core.markdown_table(header, rows)}

Writes measured: {"; ".join(verdicts)}.

## Machine

{chr(10).join("- " + fact for fact in core.machine_facts())}
- PostgreSQL on the same machine, sharing its cores.
""",
    )
    goals.write(args.goals_json, "write_path.py", command, measured)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
