"""The browser harness itself: Chromium starts, axe-core runs in a page and reports
what is wrong (so a clean console page means something), screenshots are written."""

from __future__ import annotations

import pytest

from tests.support.browser import check_page, screenshot, violations

pytestmark = pytest.mark.integration

ACCESSIBLE = """<!doctype html><html lang="en"><head><title>Fine</title></head>
<body><main><h1>Fine</h1><form><label for="q">Search</label><input id="q" name="q">
<button type="submit">Go</button></form></main></body></html>"""
# An input with no label and a button with no name: both "critical" in axe-core.
INACCESSIBLE = """<!doctype html><html lang="en"><head><title>Broken</title></head>
<body><main><h1>Broken</h1><form><input name="q"><button type="submit"></button></form></main></body></html>"""


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_axe_finds_nothing_serious_on_an_accessible_page(page):
    page.set_content(ACCESSIBLE)
    assert violations(page) == []
    check_page(page, "harness-accessible")


def test_axe_reports_an_unlabelled_field_and_a_nameless_button(page):
    page.set_content(INACCESSIBLE)
    found = {v["id"] for v in violations(page)}
    assert {"label", "button-name"} <= found
    with pytest.raises(AssertionError, match="button-name"):
        check_page(page, "harness-inaccessible")


def test_a_screenshot_is_a_png_file(page):
    page.set_content(ACCESSIBLE)
    path = screenshot(page, "harness-screenshot")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
