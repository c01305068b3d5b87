"""On SQLite, what the change-log poll costs a worker: CPU per poll, and its share of
a core at a given AUTHZ_CHANGE_POLL_MS. See bench/README.md.

    .venv/bin/python bench/poll_cost.py             # on the 1M data set (bench/generate.py)
    .venv/bin/python bench/poll_cost.py --quick     # a smoke run: the 1k set, fewer lookups

In one process, as a worker reads: a read snapshot (models/snapshot.py) and the check
path's member lookup (models.directory.member_finder) on the generated SQLite database,
members drawn uniformly. Each round times LOOKUPS lookups alone, then the same lookups
each after a poll as the feed makes it (the snapshot ended, then the change log read:
authz/service/runtime.py's _ChangeLog), in CPU time of this thread; a poll's cost is
the difference per lookup (it includes the new snapshot the next lookup starts), the
median over rounds. A worker polls at most once an interval, on a request, so the poll
costs it cost / interval of a core; a change reaches the worker within the interval
plus the wait for its next request (the bound the README documents).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import goals  # noqa: E402

INTERVALS_MS = (250, 10)  # the default, and a much shorter one
BATCH = 1000  # the feed's batch (authz/decisions/freshness.py)


def members(count: int) -> list[tuple[str, str]]:
    from models.db import db

    return list(db.execute_sql("SELECT login_key, site_number FROM member_lookup ORDER BY random() LIMIT ?", (count,)))


def timed(keys: list[tuple[str, str]], find, poll) -> float:
    """CPU seconds of this thread for a lookup of each key, each after POLL if given."""
    started = time.thread_time()
    for login_key, site_number in keys:
        if poll is not None:
            poll()
        find(login_key, site_number)
    return time.thread_time() - started


def measure(url: str, lookups: int, rounds: int) -> dict[str, float]:
    from models.db import open_database
    from models.directory import changes_since, latest_change_seq, member_finder
    from models.snapshot import ReadSnapshot

    open_database(url)
    snapshot = ReadSnapshot()
    find = member_finder(snapshot.rows)
    seq = latest_change_seq()

    def poll() -> None:
        snapshot.renew()
        changes_since(seq, BATCH)

    keys = members(lookups)
    timed(keys, find, poll)  # warm: pages and statements
    alone, polled = [], []
    for _ in range(rounds):
        alone.append(timed(keys, find, None) / len(keys))
        polled.append(timed(keys, find, poll) / len(keys))
    snapshot.close()
    return {
        "lookup_us": 1e6 * statistics.median(alone),
        "poll_us": 1e6 * statistics.median(p - a for p, a in zip(polled, alone, strict=True)),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="memberships of the data set")
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smoke run: the 1k set, 2 rounds of 2,000 lookups")
    goals.add_option(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.lookups, args.rounds = 1_000, 2_000, 2
    data = generate.ensure(args.size)
    result = measure(data.url, args.lookups, args.rounds)
    shares = {ms: 100 * result["poll_us"] / (ms * 1000) for ms in INTERVALS_MS}
    print(
        f"SQLite @{args.size:,}: a lookup {result['lookup_us']:.0f} µs of CPU, a poll {result['poll_us']:.0f} µs more; "
        + ", ".join(f"{share:.3f}% of a core per worker at {ms} ms" for ms, share in shares.items())
    )
    command = ("python bench/poll_cost.py " + " ".join(argv)).strip()
    goal = goals.Goal(
        "sqlite_poll_cost",
        "SQLite: the poll's cost per worker, measured",
        "measured",
        0,
        "µs",
        result["poll_us"],
        f"poll_cost.py: {args.rounds} x {args.lookups:,} lookups @{args.size:,}, with and without a poll",
        "; ".join(f"{share:.3f}% of a core at {ms} ms" for ms, share in shares.items()),
    )
    goals.write(args.goals_json, "poll_cost.py", command, [goal])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
