"""The README's pictures of the console (docs/console/*.png), taken from the real pages:
the demo data served as `make run` serves it, the demo sign-in, Chromium 1000 px wide.

    .venv/bin/python -m tests.integration.console.screenshots      # rewrites docs/console/

A request and a contact are added first so that those pages show something."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page

from tests.integration.console.conftest import DEMO_SIGN_IN, VIEWPORT, Console, fresh_page, start_console
from tests.integration.console.data import CONTACT
from tests.integration.console.steps import ACME, demo_sign_in, go_to, open_site
from tests.support.browser import launch

DOCS = Path(__file__).resolve().parents[3] / "docs" / "console"
MAX_HEIGHT = 1100  # px: a long page is cut here (the README shows its top)


def shoot(page: Page, name: str, from_heading: str | None = None) -> Path:
    """The page's top (or, with FROM_HEADING, the part from that heading on), at most
    MAX_HEIGHT px high."""
    top = 0
    if from_heading:
        box = page.get_by_role("heading", name=from_heading).bounding_box()
        assert box is not None
        top = max(0, int(box["y"]) - 24)
    height = min(MAX_HEIGHT, page.evaluate("() => document.documentElement.scrollHeight") - top)
    path = DOCS / f"{name}.png"
    clip = {"x": 0, "y": top, "width": VIEWPORT["width"], "height": height}
    page.screenshot(path=str(path), clip=clip, full_page=True)
    return path


def take(console: Console, page: Page) -> list[Path]:
    shots = []
    page.goto("/console/")
    shots.append(shoot(page, "sign-in"))
    demo_sign_in(page, "alice@acme.example")
    shots.append(shoot(page, "sites"))
    open_site(page, ACME)
    shots.append(shoot(page, "overview"))
    go_to(page, "Contact updates")
    shots.append(shoot(page, "contacts"))
    page.get_by_role("main").get_by_role("link", name="Rita Renewals").first.click()
    shots.append(shoot(page, "contact-form"))
    go_to(page, "Manage access")
    shots.append(shoot(page, "manage-access"))
    page.get_by_role("main").get_by_role("link", name="Carol Chen").click()
    shots.append(shoot(page, "member-form", from_heading="Privileges"))
    go_to(page, "Approve requests")
    shots.append(shoot(page, "approve-requests"))
    go_to(page, "Add new user")
    shots.append(shoot(page, "add-user"))
    go_to(page, "Audit trail")
    shots.append(shoot(page, "audit"))
    return shots


def main() -> int:
    DOCS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="console-shots-") as folder:
        workdir = Path(folder)
        database_url, admin_key, server = start_console(workdir, **DEMO_SIGN_IN)
        with server as running, launch() as browser:
            console = Console(running, workdir, database_url, admin_key)
            console.api("POST", f"/v1/sites/{ACME}/contacts", CONTACT, acting="alice@acme.example")
            console.api(
                "POST",
                f"/v1/sites/{ACME}/access-requests",
                {"business_justification": "I ship Acme's media from Globex."},
                acting="frank@globex.example",
            )
            with fresh_page(browser, console.base) as page:
                shots = take(console, page)
            for path in shots:
                print(f"{path.relative_to(DOCS.parents[1])}: {path.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
