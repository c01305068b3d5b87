"""Test data factories: a site with its primary, and members with levels."""

from __future__ import annotations

import itertools

from authz.accounts.importer import import_data
from authz.engine.table import DecisionTable

_counter = itertools.count(1)


class Factory:
    def __init__(self, table: DecisionTable):
        self.table = table

    def site(self, number: str | None = None, primary: str | None = None) -> str:
        """A site with its primary contact; returns the site number."""
        number = number or f"S{next(_counter):05d}"
        primary = primary or f"primary-{number}@example.test"
        import_data(
            {
                "sites": [{"number": number, "name": f"Site {number}"}],
                "people": [{"login_id": primary, "email": _email(primary)}],
                "memberships": [{"site": number, "user": primary, "role": "primary"}],
            },
            self.table,
        )
        return number

    def member(self, site: str, login_id: str | None = None, role: str = "user", **levels: str) -> str:
        login_id = login_id or f"member-{next(_counter)}@example.test"
        import_data(
            {
                "people": [{"login_id": login_id, "email": _email(login_id)}],
                "memberships": [{"site": site, "user": login_id, "role": role, "levels": levels or None}],
            },
            self.table,
        )
        return login_id


def _email(login_id: str) -> str:
    return login_id if "@" in login_id else f"{login_id}@example.test"
