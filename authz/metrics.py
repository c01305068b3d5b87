"""Prometheus metrics of the domain. Under gunicorn, PROMETHEUS_MULTIPROC_DIR is
set before this is imported (deploy/gunicorn.conf.py), so every worker's values
are summed at /metrics."""

from prometheus_client import Counter

DECISIONS = Counter("authz_decisions_total", "Decisions made, by outcome", ["allowed"])
ALLOWED = DECISIONS.labels(allowed="true")
DENIED = DECISIONS.labels(allowed="false")
