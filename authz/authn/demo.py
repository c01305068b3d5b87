"""The console's demo sign-in, for `make run`: pick a person of the demo data and be
signed in as them, without a password. Dangerous anywhere but a demo, so it is on only
when AUTHZ_DEMO_SIGN_IN says so (never with OpenID Connect: authz/config.py), and the
server refuses to start with it on a database holding any site the demo data does not
name: a demo sign-in never opens real data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from authz.config import ConfigError
from models.schema import Site


@dataclass(frozen=True)
class DemoPerson:
    login_id: str
    name: str
    sites: tuple[tuple[str, str], ...]  # (site number, role)


@dataclass(frozen=True)
class DemoData:
    sites: dict[str, str]  # number -> name
    people: tuple[DemoPerson, ...]


def read_demo_data(path: Path) -> DemoData:
    """The sites and people of the demo data file (ConfigError if unreadable)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        sites = {str(s["number"]): str(s["name"]) for s in raw.get("sites", [])}
        held: dict[str, list[tuple[str, str]]] = {}
        for m in raw.get("memberships", []):
            held.setdefault(str(m["user"]), []).append((str(m["site"]), str(m["role"])))
        people = tuple(
            DemoPerson(
                str(p["login_id"]),
                f"{p.get('first_name', '')} {p.get('last_name', '')}".strip() or str(p["login_id"]),
                tuple(held.get(str(p["login_id"]), ())),
            )
            for p in raw.get("people", [])
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"AUTHZ_DEMO_SIGN_IN: cannot read the demo data {str(path)!r} ({exc})") from None
    return DemoData(sites, people)


def check_demo_database(data: DemoData) -> None:
    """Refuse (ConfigError) a database holding a site the demo data does not name."""
    for site in Site.select(Site.number, Site.name):
        if data.sites.get(site.number) != site.name:
            raise ConfigError(
                f"AUTHZ_DEMO_SIGN_IN is refused: the database holds site {site.number!r}, which is not demo data "
                "(demo sign-in is for `make run` on the demo data only)"
            )
