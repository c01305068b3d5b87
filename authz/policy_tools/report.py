"""`authz policy diff` output: text for a terminal, JSON for tools, Markdown for a
pull-request comment. Each renders the same Report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from authz.policy_tools.diff import Impact, PolicyDiff

FORMATS = ("text", "json", "markdown")


@dataclass(frozen=True)
class Report:
    base_label: str
    head_label: str
    diff: PolicyDiff
    impact: Impact | None
    impact_note: str | None = None  # why there is no impact: skipped, nothing changed, ...
    database: str | None = None  # where the impact was counted (password hidden)
    max_sites: int = 100
    max_members: int = 50


def render(report: Report, fmt: str) -> str:
    return {"text": render_text, "json": render_json, "markdown": render_markdown}[fmt](report)


def redact(url: str) -> str:
    """URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = f"{parts.username}:***" if parts.username else ":***"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{netloc[-1]}"))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _summary(report: Report) -> str:
    diff = report.diff
    if not diff.changed:
        return "no change: both policies decide every role, application, level and action alike"
    gained, lost = diff.counts()
    parts = [f"{_plural(len(diff.cells), 'changed cell')} ({gained:,} gained, {lost:,} lost)"]
    parts.append(f"{_plural(len(diff.catalogue), 'catalogue change')}" if diff.catalogue else "catalogue unchanged")
    if report.impact is not None:
        parts.append(f"{_plural(report.impact.members, 'member')} affected on {_plural(report.impact.sites, 'site')}")
    elif report.impact_note:
        parts.append(f"impact {report.impact_note}")
    return "; ".join(parts)


def _catalogue_line(change) -> str:
    return f"{'added' if change.change == '+' else 'removed'} {change.kind} {change.qualified}"


def _counted(counts) -> list[str]:
    return [f"{action} {n:,}" for action, n in counts.items()]


# --- text ------------------------------------------------------------------------------


def render_text(report: Report) -> str:
    diff, impact = report.diff, report.impact
    out = [
        f"policy diff {report.base_label} -> {report.head_label}",
        f"  (policy versions {diff.base_version} -> {diff.head_version})",
        _summary(report),
    ]
    if diff.catalogue:
        out += ["", "Catalogue:"] + [f"  {_catalogue_line(c)}" for c in diff.catalogue]
    if diff.cells:
        out += ["", "Changed cells (role, application, level: +gained -lost):"]
        for i, cell in enumerate(diff.cells):
            line = f"  {cell.role}, {cell.application}, {cell.level_label}: {' '.join(cell.changes())}"
            if impact is not None:
                line += f"  [{_plural(impact.per_cell[i], 'member')}]"
            out.append(line)
    if impact is not None:
        out += [
            "",
            f"Impact ({report.database}): {_plural(impact.members, 'member')} on {_plural(impact.sites, 'site')}",
        ]
        for site in impact.site_list:
            changes = [f"+{a} {n:,}" for a, n in site.gained.items()] + [f"-{a} {n:,}" for a, n in site.lost.items()]
            out.append(f"  site {site.number} {site.name}: {_plural(site.members, 'member')} ({', '.join(changes)})")
            for member in site.listed:
                levels = ", ".join(f"{app}={level}" for app, level in member.levels.items()) or "any level"
                change = " ".join([f"+{a}" for a in member.gained] + [f"-{a}" for a in member.lost])
                change = change or "(no net change)"
                out.append(f"    {member.login_id}  {member.role}  {levels}  {change}")
            if site.more:
                out.append(f"    ... and {site.more:,} more")
        if impact.more_sites:
            out.append(
                f"  ... and {_plural(impact.more_sites, 'more site')} ({_plural(impact.more_sites_members, 'member')})"
            )
    elif report.impact_note and diff.cells:
        out += ["", f"Impact {report.impact_note}"]
    return "\n".join(out) + "\n"


# --- JSON --------------------------------------------------------------------------------


def render_json(report: Report) -> str:
    diff, impact = report.diff, report.impact
    gained, lost = diff.counts()
    document = {
        "changed": diff.changed,
        "base": {"source": report.base_label, "version": diff.base_version},
        "head": {"source": report.head_label, "version": diff.head_version},
        "summary": {
            "cells": len(diff.cells),
            "gained": gained,
            "lost": lost,
            "catalogue_changes": len(diff.catalogue),
            "members": impact.members if impact else None,
            "sites": impact.sites if impact else None,
        },
        "catalogue": [
            {"change": c.change, "kind": c.kind, "name": c.name, "application": c.application} for c in diff.catalogue
        ],
        "cells": [
            {
                "role": c.role,
                "application": c.application,
                "level": c.level,
                "any_level": c.any_level,
                "gained": list(c.gained),
                "lost": list(c.lost),
                "members": impact.per_cell[i] if impact else None,
            }
            for i, c in enumerate(diff.cells)
        ],
        "impact": None
        if impact is None
        else {
            "database": report.database,
            "members": impact.members,
            "sites": impact.sites,
            "max_sites": report.max_sites,
            "max_members": report.max_members,
            "site_list": [
                {
                    "site": s.number,
                    "name": s.name,
                    "members": s.members,
                    "gained": dict(s.gained),
                    "lost": dict(s.lost),
                    "listed": [
                        {
                            "login_id": m.login_id,
                            "role": m.role,
                            "levels": dict(m.levels),
                            "gained": list(m.gained),
                            "lost": list(m.lost),
                        }
                        for m in s.listed
                    ],
                    "more": s.more,
                }
                for s in impact.site_list
            ],
            "more_sites": impact.more_sites,
            "more_sites_members": impact.more_sites_members,
        },
        "impact_note": report.impact_note,
    }
    return json.dumps(document, indent=2) + "\n"


# --- Markdown ----------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans(
    {
        "|": "\\|",
        "<": "&lt;",
        ">": "&gt;",
        "*": "\\*",
        "_": "\\_",
        "`": "'",
        "[": "\\[",
        "]": "\\]",
        "\n": " ",
        "\r": " ",
    }
)


def _md(text: str) -> str:
    """Data (site names, login ids) made inert in Markdown and table cells."""
    return str(text).translate(_MD_SPECIAL)


def _code(text: str) -> str:
    return f"`{str(text).replace('`', '')}`"


def _codes(names) -> str:
    return ", ".join(_code(n) for n in names)


# GitHub refuses a comment longer than 65,536 characters: leave room for a bot's own words.
MARKDOWN_LIMIT = 60_000


def render_markdown(report: Report) -> str:
    """A pull-request comment. If the shown sites make it too long for one, fewer
    are shown (every member is still counted), and the comment says so."""
    shown = len(report.impact.site_list) if report.impact is not None else 0
    text = _markdown(report, shown, shortened=False)
    while len(text) > MARKDOWN_LIMIT and shown > 0:
        shown //= 2
        text = _markdown(report, shown, shortened=True)
    return text


def _markdown(report: Report, shown: int, shortened: bool) -> str:
    diff, impact = report.diff, report.impact
    out = [
        f"### Policy diff {_code(report.base_label)} → {_code(report.head_label)}",
        "",
        f"**{_summary(report)}**",
        "",
    ]
    if diff.cells:
        members = impact is not None
        out += [
            "| Role | Application | Level | Gained | Lost |" + (" Members |" if members else ""),
            "| --- | --- | --- | --- | --- |" + (" ---: |" if members else ""),
        ]
        for i, c in enumerate(diff.cells):
            level = "*any level*" if c.level is None else _code(c.level)
            row = f"| {c.role} | {c.application} | {level} | {_codes(c.gained)} | {_codes(c.lost)} |"
            out.append(row + (f" {impact.per_cell[i]:,} |" if impact is not None else ""))
        out.append("")
    if diff.catalogue:
        out += ["#### Catalogue", ""] + [
            f"- {'added' if c.change == '+' else 'removed'} {c.kind} {_code(c.qualified)}" for c in diff.catalogue
        ]
        out.append("")
    if impact is not None and diff.cells:
        sites = impact.site_list[:shown]
        out += [f"#### Impact per site ({_plural(impact.members, 'member')} on {_plural(impact.sites, 'site')})", ""]
        if sites:
            out += ["| Site | Name | Members | Gained | Lost |", "| --- | --- | ---: | --- | --- |"]
            for s in sites:
                gained = ", ".join(f"{_code(a)} ({n:,})" for a, n in s.gained.items())
                lost = ", ".join(f"{_code(a)} ({n:,})" for a, n in s.lost.items())
                out.append(f"| {_md(s.number)} | {_md(s.name)} | {s.members:,} | {gained} | {lost} |")
            more_sites = impact.sites - len(sites)
            if more_sites:
                more_members = impact.members - sum(s.members for s in sites)
                out.append(f"| … {_plural(more_sites, 'more site')} | | {more_members:,} | | |")
            if shortened:
                out += [
                    "",
                    f"*Shortened to fit a comment: {len(sites):,} sites shown. "
                    "`--format text` or `--format json` show more.*",
                ]
            out += ["", f"<details><summary>Members per site (the first {report.max_members:,} of each)</summary>", ""]
            for s in sites:
                out.append(f"**{_md(s.number)} {_md(s.name)}**: {_plural(s.members, 'member')}")
                out.append("")
                for m in s.listed:
                    levels = "; ".join(f"{app}: {level}" for app, level in m.levels.items()) or "any level"
                    change = " ".join([f"+{_code(a)}" for a in m.gained] + [f"\u2212{_code(a)}" for a in m.lost])
                    out.append(f"- {_md(m.login_id)} ({m.role}; {_md(levels)}): {change or 'no net change'}")
                if s.more:
                    out.append(f"- … and {s.more:,} more")
                out.append("")
            out += ["</details>", ""]
        elif impact.sites:
            out += [f"*{_plural(impact.sites, 'site')} not shown.*", ""]
        else:
            out += ["No member holds a changed cell.", ""]
    elif report.impact_note and diff.cells:
        out += [f"Impact {report.impact_note}.", ""]
    source = f"; impact counted in {_code(report.database)}" if impact is not None and report.database else ""
    out.append(f"<sub>policy versions {_code(diff.base_version)} → {_code(diff.head_version)}{source}</sub>")
    return "\n".join(out) + "\n"
