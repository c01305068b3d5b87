"""The console's forms: only urlencoded forms, within the limit, in UTF-8."""

from __future__ import annotations

from models.identifiers import login_key
from models.schema import Person


def test_a_post_that_is_not_a_form_is_refused_with_a_page(browser):
    dana = browser("Dana.Diaz")
    dana.get("/console/preferences")
    resp = dana.client.simulate_post(
        "/console/preferences",
        json={"notification_email": "x@example.test", "csrf_token": dana.token()},
        cookies=dana.cookies,
    )
    assert resp.status_code == 415 and resp.headers["content-type"].startswith("text/html")


def test_a_form_over_the_limit_is_refused_before_it_is_read(browser):
    dana = browser("Dana.Diaz")
    dana.get("/console/preferences")
    resp = dana.post("/console/preferences", {"notification_email": "a@b.example", "padding": "x" * 70_000})
    assert resp.status_code == 413
    assert Person.by_key(login_key("Dana.Diaz")).notification_email == "dana.alerts@consult.example"


def test_a_form_that_is_not_utf8_is_refused(browser):
    dana = browser("Dana.Diaz")
    dana.get("/console/preferences")
    body = b"notification_email=%FF%FE&csrf_token=" + dana.token().encode()
    resp = dana.client.simulate_post(
        "/console/preferences",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies=dana.cookies,
    )
    assert resp.status_code == 400
    assert Person.by_key(login_key("Dana.Diaz")).notification_email == "dana.alerts@consult.example"
