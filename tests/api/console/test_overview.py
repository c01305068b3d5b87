"""Overview: what the person may do on the site (their effective permissions), the
entries their role and levels allow, and for the primary the review reminder and the
advice to name a secondary contact."""

from __future__ import annotations

from authz.contract.actors import Actor
from tests.api.console.conftest import text_of

OVERVIEW = "/console/sites/1001/"
ENTRIES = ("Contact updates", "Manage access", "Approve requests", "Add new user", "Audit trail")


def nav_of(page) -> list[str]:
    text = page.text
    if 'class="site-nav"' not in text:
        return []
    nav = text[text.index('class="site-nav"') : text.index("</nav>", text.index('class="site-nav"'))]
    return [label for label in ("Overview", *ENTRIES) if f">{label}</a>" in nav]


def test_the_primary_sees_every_entry_and_the_review_reminder(browser):
    alice = browser("alice@acme.example")
    page = alice.get(OVERVIEW)
    assert page.status_code == 200
    assert nav_of(page) == ["Overview", *ENTRIES]
    assert 'aria-current="page">Overview</a>' in page.text
    text = text_of(page)
    assert "You are Primary Contact of site 1001, Acme Manufacturing." in text
    assert "due for their monthly review" in text
    assert "no secondary contact" not in text  # Bob is one
    assert "Purchase & Download Software downloads, media access, quotes, product catalogs and license renewals" in text


def test_the_primary_is_warned_when_the_site_has_no_secondary(browser, service):
    service.members.remove(Actor.person("alice@acme.example"), "1001", "bob@acme.example")
    service.contacts.mark_reviewed(Actor.person("alice@acme.example"), "1001")
    text = text_of(browser("alice@acme.example").get(OVERVIEW))
    assert "This site has no secondary contact." in text
    assert "due for their monthly review" not in text


def test_a_secondary_sees_the_entries_their_levels_allow(browser):
    dana = browser("Dana.Diaz")  # 2002: manage_access view, contact_updates update
    page = dana.get("/console/sites/2002/")
    assert nav_of(page) == ["Overview", "Contact updates", "Manage access", "Approve requests", "Audit trail"]
    text = text_of(page)
    assert "You are Secondary Contact" in text and "no secondary contact" not in text
    assert "due for their monthly review" not in text  # a reminder for the primary only


def test_a_plain_user_sees_what_they_may_do_and_no_entry(browser):
    carol = browser("carol@acme.example")
    page = carol.get(OVERVIEW)
    assert nav_of(page) == []
    text = text_of(page)
    assert "You are User of site 1001" in text
    assert "Download software" in text and "View reports" in text
    assert "Request physical media" not in text  # downloads only


def test_an_outsider_gets_the_page_of_a_missing_site(browser):
    frank = browser("frank@globex.example")
    theirs, missing = frank.get(OVERVIEW), frank.get("/console/sites/9999/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text == missing.text
