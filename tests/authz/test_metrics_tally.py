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
