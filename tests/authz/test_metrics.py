"""The in-memory tally behind the per-request metrics (authz/metrics.py): what
reaches Prometheus is exactly what was counted, bucket by bucket."""

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from authz.metrics import Tally


def test_counts_and_observations_reach_prometheus_on_flush():
    registry = CollectorRegistry()
    counter = Counter("tally_test_total", "t", ["kind"], registry=registry).labels("a")
    histogram = Histogram("tally_test_seconds", "t", buckets=(0.1, 1.0), registry=registry)
    tally = Tally(interval=None)  # no flush thread: the test decides when
    for _ in range(3):
        tally.count(counter)
    tally.count(counter, 4)
    for value in (0.05, 0.1, 0.5, 2.0):  # 0.1 falls in the 0.1 bucket: le means <=
        tally.observe(histogram, value)
    assert registry.get_sample_value("tally_test_total", {"kind": "a"}) == 0  # held until flushed
    tally.flush()
    assert registry.get_sample_value("tally_test_total", {"kind": "a"}) == 7
    buckets = {le: registry.get_sample_value("tally_test_seconds_bucket", {"le": le}) for le in ("0.1", "1.0", "+Inf")}
    assert buckets == {"0.1": 2, "1.0": 3, "+Inf": 4}
    assert registry.get_sample_value("tally_test_seconds_count") == 4
    assert registry.get_sample_value("tally_test_seconds_sum") == pytest.approx(2.65)
    tally.flush()  # nothing new: nothing added twice
    assert registry.get_sample_value("tally_test_seconds_count") == 4


def test_what_is_counted_between_flushes_is_written_once():
    registry = CollectorRegistry()
    counter = Counter("tally_more_total", "t", registry=registry)
    histogram = Histogram("tally_more_seconds", "t", buckets=(0.1,), registry=registry)
    tally = Tally(interval=None)
    for round_number in range(1, 4):
        tally.count(counter, 2)
        tally.observe(histogram, 0.05)
        tally.observe(histogram, 0.5)
        tally.flush()
        assert registry.get_sample_value("tally_more_total") == 2 * round_number
        assert registry.get_sample_value("tally_more_seconds_bucket", {"le": "0.1"}) == round_number
        assert registry.get_sample_value("tally_more_seconds_count") == 2 * round_number
        assert registry.get_sample_value("tally_more_seconds_sum") == pytest.approx(0.55 * round_number)


def test_counting_while_another_thread_flushes_loses_nothing():
    """The serving thread counts without a lock while the flush thread runs."""
    import threading

    registry = CollectorRegistry()
    counter = Counter("tally_race_total", "t", registry=registry)
    histogram = Histogram("tally_race_seconds", "t", buckets=(0.1,), registry=registry)
    tally = Tally(interval=None)
    done = threading.Event()

    def flush_until_done():
        while not done.is_set():
            tally.flush()

    flusher = threading.Thread(target=flush_until_done)
    flusher.start()
    for _ in range(200_000):
        tally.count(counter)
        tally.observe(histogram, 0.05)
    done.set()
    flusher.join()
    tally.flush()
    assert registry.get_sample_value("tally_race_total") == 200_000
    assert registry.get_sample_value("tally_race_seconds_count") == 200_000
    assert registry.get_sample_value("tally_race_seconds_sum") == pytest.approx(200_000 * 0.05)
