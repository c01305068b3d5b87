"""A real browser for the console's tests: Debian's Chromium driven by Playwright, with
axe-core's accessibility rules run in each page and a screenshot of it kept for review.

Playwright never downloads a browser here (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD): it drives
the system's /usr/bin/chromium, which `make test` installs (apt package
`chromium`). axe-core comes from the npm registry at the version locked in
tests/support/axe/package-lock.json, installed by `npm ci` on first use.

    with launch() as browser:
        page = browser.new_page()
        page.goto(url)
        check_page(page, "overview")   # axe: no serious or critical violation; var/screenshots/overview.png
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.npm import npm_ci

CHROMIUM = Path(os.environ.get("AUTHZ_TEST_CHROMIUM", "/usr/bin/chromium"))
AXE_DIR = Path(__file__).with_name("axe")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# axe-core's impact scale is minor, moderate, serious, critical: the last two fail a test.
FAILING_IMPACTS = frozenset({"serious", "critical"})


class BrowserMissing(RuntimeError):
    pass


@contextmanager
def launch() -> Iterator[Browser]:
    """Headless Chromium (the system's), closed on exit."""
    if not CHROMIUM.exists():
        raise BrowserMissing(
            f"The console's browser tests need Chromium at {CHROMIUM}: "
            "`apt-get install -y chromium` as root (`make test` and .ci/run do it when they run as root)."
        )
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()


_axe_source: str | None = None


def axe_source() -> str:
    """axe.min.js, installed from the lock on first use."""
    global _axe_source
    if _axe_source is None:
        npm_ci(AXE_DIR)
        _axe_source = (AXE_DIR / "node_modules" / "axe-core" / "axe.min.js").read_text()
    return _axe_source


def violations(page: Page) -> list[dict]:
    """axe-core's serious and critical violations of the page as it is now (WCAG 2.x A
    and AA rules, and axe's best practices)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not as a <script>: the page's Content
        # Security Policy (script-src 'self') stays in force for the page itself.
        page.evaluate(axe_source())
    result = page.evaluate("async () => JSON.stringify((await window.axe.run(document)).violations)")
    return [v for v in json.loads(result) if v.get("impact") in FAILING_IMPACTS]


def describe(found: list[dict]) -> str:
    lines = []
    for v in found:
        targets = "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        lines.append(f"{v['impact']}: {v['id']} ({v['help']}) at {targets}")
    return "\n".join(lines)


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """The page saved as var/screenshots/NAME.png (gitignored), for a person to review."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def check_page(page: Page, name: str) -> None:
    """A screenshot of the page, then axe-core on it: no serious or critical violation."""
    screenshot(page, name)
    found = violations(page)
    assert not found, f"accessibility violations on {name} ({page.url}):\n{describe(found)}"
