"""Approve requests through the pages: pending requests newest first, Grant with a
justification, role, matrix and preview; Deny with exactly one reason; a request
decided meanwhile by someone else shown as decided."""

from __future__ import annotations

from authz.audit import trail
from authz.contract.access_requests import AccessRequestInput, Denial
from authz.contract.actors import Actor
from models.access_requests import AccessRequest
from models.identifiers import login_key
from models.outbox import OutboxMessage
from models.schema import Membership, Person
from tests.api.console.conftest import text_of

REQUESTS = "/console/sites/1001/requests"


def asked(service, login: str, justification: str | None = None, site: str = "1001") -> int:
    return service.access_requests.ask(Actor.person(login), site, AccessRequestInput(justification)).id


def test_pending_requests_newest_first_with_the_requesters_details(browser, service):
    first = asked(service, "frank@globex.example", "Supports Acme deployments")
    second = asked(service, "erin@globex.example")
    alice = browser("alice@acme.example")
    page = alice.get(REQUESTS)
    assert page.status_code == 200
    text = text_of(page)
    assert text.index("Erin Evans") < text.index("Frank Fox")
    assert "Supports Acme deployments" in text and "None given" in text
    assert f"requests/{first}/grant" in page.text and f"requests/{second}/deny" in page.text


def test_grant_needs_a_justification_when_the_request_gave_none_then_previews_and_grants(browser, service):
    number = asked(service, "erin@globex.example")
    alice = browser("alice@acme.example")
    grant = f"/console/sites/1001/requests/{number}/grant"
    page = alice.get(grant)
    assert "Required: the request gave none." in page.text
    fields = {"role": "user", "level.reporting": "view"}
    refused = alice.post(grant, {**fields, "do": "save", "business_justification": ""})
    assert refused.status_code == 422 and 'id="f-business_justification-error" role="alert"' in refused.text
    assert AccessRequest.get_by_id(number).status == "pending"
    preview = alice.post(grant, {**fields, "do": "preview", "business_justification": "Globex audits Acme"})
    assert "View reports" in text_of(preview) and "Submit: grant access" in preview.text
    done = alice.post(grant, {**fields, "do": "save", "business_justification": "Globex audits Acme"})
    assert done.status_code == 303
    assert "The request of erin@globex.example was granted" in alice.get(done.headers["location"]).text
    request = AccessRequest.get_by_id(number)
    assert (request.status, request.justification, request.decided_by) == (
        "granted",
        "Globex audits Acme",
        "alice@acme.example",
    )
    assert Membership.select().where(Membership.person == Person.by_key(login_key("erin@globex.example"))).count() == 2
    assert OutboxMessage.select().where(OutboxMessage.kind == "request_granted").count() == 1


def test_deny_takes_exactly_one_of_the_three_reasons(browser, service):
    number = asked(service, "frank@globex.example", "Please")
    bob = browser("bob@acme.example")  # a secondary with manage-access update decides too
    deny = f"/console/sites/1001/requests/{number}/deny"
    page = bob.get(deny)
    for reason in ("The requestor is unknown", "access is not necessary", "no business relationship to this site"):
        assert reason in page.text
    none = bob.post(deny, {})
    assert none.status_code == 422 and "Choose exactly one reason." in none.text
    two = bob.post(deny, [("reason", "requestor_unknown"), ("reason", "access_not_necessary")])
    assert two.status_code == 422
    assert AccessRequest.get_by_id(number).status == "pending"
    done = bob.post(deny, {"reason": "no_business_relationship"})
    assert done.status_code == 303
    request = AccessRequest.get_by_id(number)
    assert (request.status, request.deny_reason) == ("denied", "no_business_relationship")
    assert OutboxMessage.select().where(OutboxMessage.kind == "request_denied").count() == 1


def test_a_request_decided_meanwhile_is_shown_as_decided_not_as_an_error(browser, service):
    number = asked(service, "frank@globex.example", "Please")
    alice = browser("alice@acme.example")
    grant = f"/console/sites/1001/requests/{number}/grant"
    alice.get(grant)
    service.access_requests.deny(Actor.person("bob@acme.example"), "1001", number, Denial("requestor_unknown"))
    late = alice.post(grant, {"do": "save", "role": "user", "business_justification": ""})
    assert late.headers["content-type"].startswith("text/html")
    assert "This request was already denied by bob@acme.example" in text_of(late)
    assert "Submit: grant access" not in late.text and "Preview" not in late.text
    assert alice.get(f"/console/sites/1001/requests/{number}/deny").status_code == 200
    late_deny = alice.post(f"/console/sites/1001/requests/{number}/deny", {"reason": "access_not_necessary"})
    assert "already denied by bob@acme.example" in text_of(late_deny)
    assert AccessRequest.get_by_id(number).deny_reason == "requestor_unknown"


def test_who_may_not_decide_sees_no_grant_and_is_refused(browser, service):
    number = asked(service, "bob@acme.example", "Please", site="2002")
    # Dana is a secondary of 2002 with manage-access view: she sees requests, may not decide.
    dana = browser("Dana.Diaz")
    page = dana.get("/console/sites/2002/requests")
    assert page.status_code == 200 and "Bob Baker" in page.text
    assert f"requests/{number}/grant" not in page.text
    dana.get("/console/sites/2002/requests")
    refused = dana.post(f"/console/sites/2002/requests/{number}/deny", {"reason": "requestor_unknown"})
    assert refused.status_code == 403
    assert AccessRequest.get_by_id(number).status == "pending"
    assert trail.page("2002", limit=1)[0]["outcome"] == "refused"
    carol = browser("carol@acme.example")
    assert carol.get(REQUESTS).status_code == 403


def test_another_sites_request_answers_like_a_missing_one(browser, service):
    theirs = asked(service, "carol@acme.example", "Please", site="2002")
    alice = browser("alice@acme.example")  # primary of 1001, not a member of 2002
    for path in (f"/console/sites/2002/requests/{theirs}/grant", "/console/sites/2002/requests"):
        assert alice.get(path).status_code == 404
    # Through her own site's URL, another site's request is missing too.
    assert (
        alice.get(f"/console/sites/1001/requests/{theirs}/grant").text
        == alice.get("/console/sites/1001/requests/99999/grant").text
    )
    assert alice.get("/console/sites/1001/requests/x1/grant").status_code == 404
    alice.get(REQUESTS)
    assert alice.post(f"/console/sites/1001/requests/{theirs}/deny", {"reason": "requestor_unknown"}).status_code == 404
    assert AccessRequest.get_by_id(theirs).status == "pending"
