"""Health, readiness, metrics, error shapes."""

from models.db import db


def test_readiness_reports_policy_and_database(client, policy_table):
    resp = client.simulate_get("/readyz")
    assert resp.status_code == 200
    assert resp.json == {"ready": True, "database": "ok", "policy_version": policy_table.version}


def test_not_ready_when_schema_is_behind(client, database):
    from models.migrate import migrate

    migrate("0000")
    resp = client.simulate_get("/readyz")
    assert resp.status_code == 503 and resp.json["ready"] is False


def test_metrics_count_decisions(client, auth, demo):
    def allowed_count():
        text = client.simulate_get("/metrics").text
        line = next(line for line in text.splitlines() if line.startswith('authz_decisions_total{allowed="true"}'))
        return float(line.split()[-1])

    before = allowed_count()
    client.simulate_post(
        "/v1/check", json={"user": "alice@acme.example", "site": "1001", "action": "add_user"}, headers=auth
    )
    assert allowed_count() == before + 1


def test_unknown_route_and_method_use_the_error_shape(client, auth):
    resp = client.simulate_get("/v1/nope", headers=auth)
    assert resp.status_code == 404 and resp.json["error"] == "not_found"
    resp = client.simulate_get("/v1/check", headers=auth)
    assert resp.status_code == 405


def test_database_failure_is_503_never_a_decision(client, auth, demo, service):
    body = {"user": "ghost@example.test", "site": "1001", "action": "view_reports"}
    db.execute_sql("DROP TABLE member_lookup")  # the lookup now fails inside the database
    resp = client.simulate_post("/v1/check", json=body, headers=auth)
    assert resp.status_code == 503
    assert "allowed" not in resp.json


def test_request_durations_reach_metrics_as_a_histogram(client, auth, demo):
    labels = ('method="POST"', 'route="/v1/check"', 'status="200"')

    def series() -> dict[str, float]:
        text = client.simulate_get("/metrics").text
        return {
            line.split()[0]: float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith("authz_http_request_duration_seconds") and all(label in line for label in labels)
        }

    before = series()
    body = {"user": "alice@acme.example", "site": "1001", "action": "add_user"}
    for _ in range(5):
        assert client.simulate_post("/v1/check", json=body, headers=auth).status_code == 200
    after = series()
    count = next(k for k in after if k.startswith("authz_http_request_duration_seconds_count"))
    infinite = next(k for k in after if k.startswith("authz_http_request_duration_seconds_bucket") and 'le="+Inf"' in k)
    total = next(k for k in after if k.startswith("authz_http_request_duration_seconds_sum"))
    assert after[count] - before.get(count, 0) == 5
    assert after[infinite] == after[count]  # every observation lands in some bucket
    assert after[total] > before.get(total, 0)
    buckets = [v for k, v in after.items() if "_bucket" in k]
    assert buckets == sorted(buckets)  # cumulative, in exposition order


def test_every_answer_carries_a_request_id_the_callers_own_if_given(client, auth):
    body = {"user": "nobody@example.test", "site": "1001", "action": "add_user"}
    given = client.simulate_post("/v1/check", json=body, headers={**auth, "X-Request-Id": "trace-123"})
    assert given.headers["X-Request-Id"] == "trace-123"
    first, second = (
        client.simulate_post("/v1/check", json=body, headers=auth).headers["X-Request-Id"] for _ in range(2)
    )
    assert len(first) == 32 and first != second
    assert client.simulate_get("/v1/nope").headers["X-Request-Id"]  # errors too
