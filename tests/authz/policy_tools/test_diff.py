"""`authz policy diff`: the semantic diff of two policies and its impact on members.

Policy variants are copies of policies/ with lines edited; the impact runs on
every database backend through the `database`/`make` fixtures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from authz.cli import main
from authz.engine.compiler import compile_policy
from authz.policy_tools.diff import ANY_LEVEL, diff_tables, impact_of
from tests.conftest import POLICY_DIR

RAISED = ("p, user, purchase_download:media, request_media", "p, user, purchase_download:full, request_media")


def variant(tmp_path: Path, name: str, *replacements: tuple[str, str], transform=None) -> Path:
    """A copy of policies/ with lines of policy.csv replaced (old line, new line;
    new may hold several lines or be empty), then TRANSFORM applied to the text."""
    target = tmp_path / name
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("tests"))
    rules = target / "policy.csv"
    text = rules.read_text()
    for old, new in replacements:
        assert old + "\n" in text, f"no line {old!r} in policy.csv"
        text = text.replace(old + "\n", new + "\n" if new else "")
    if transform:
        text = transform(text)
    rules.write_text(text)
    return target


def detached_primary(tmp_path: Path, name: str, *, without: tuple[str, ...]) -> Path:
    """The primary no longer inherits the secondary: it is given every action by a
    rule of its own at the lowest level (it holds the highest anyway), but WITHOUT."""
    catalogue = compile_policy(POLICY_DIR).catalogue
    own = "".join(
        f"p, primary, {app}:none, {action}\n"
        for action, app in catalogue.action_application.items()
        if action not in without
    )
    return variant(
        tmp_path,
        name,
        ("g, primary, secondary", ""),
        transform=lambda text: text.replace("# Purchase & Download\n", "# Purchase & Download\n" + own),
    )


def cells_of(diff) -> list[tuple]:
    return [(c.role, c.application, c.level, c.gained, c.lost) for c in diff.cells]


@pytest.fixture
def cli(cli_runner, monkeypatch):
    """cli_runner on the shipped policy, with no test database: the shared cli would run each test
    once per backend, and a diff reads a database only when a test passes --database."""
    monkeypatch.setenv("AUTHZ_POLICY_DIR", str(POLICY_DIR))
    return cli_runner


# --- the semantic diff ------------------------------------------------------------------


def test_identical_policies_have_an_empty_diff(tmp_path, cli):
    same = variant(tmp_path, "same")
    diff = diff_tables(compile_policy(POLICY_DIR), compile_policy(same))
    assert not diff.changed and diff.cells == () and diff.catalogue == ()
    code, out, err = cli("policy", "diff", str(same))  # HEAD: the configured policy directory
    assert code == 0, err
    assert "no change" in out


def test_reordered_and_recommented_rules_are_no_change(tmp_path):
    def shuffle(text: str) -> str:
        lines = text.splitlines()
        rules = [line for line in lines if line.startswith(("p,", "g,", "g2,"))]
        return (
            "\n".join(
                ["# rewritten: same rules, other order, other comments"]
                + [f"{rule}   " for rule in reversed(rules)]
                + ["# end-of-policy"]
            )
            + "\n"
        )

    rewritten = variant(tmp_path, "rewritten", transform=shuffle)
    base, head = compile_policy(POLICY_DIR), compile_policy(rewritten)
    assert base.version != head.version  # the files differ, and so do the rules' lines ...
    assert not diff_tables(base, head).changed  # ... but not a single decision


def test_rights_written_per_role_instead_of_inherited_are_no_change(tmp_path):
    """The same rights without role inheritance: every rule written for `user` is
    written for each role, every rule for `secondary` for it and the primary."""

    def flatten(text: str) -> str:
        out = []
        for line in text.splitlines():
            if line.startswith("g,"):
                continue
            if line.startswith("p, user,"):
                out += [line.replace("p, user,", f"p, {role},") for role in ("user", "secondary", "primary")]
            elif line.startswith("p, secondary,"):
                out += [line.replace("p, secondary,", f"p, {role},") for role in ("secondary", "primary")]
            else:
                out.append(line)
        return "\n".join(out) + "\n"

    flat = variant(tmp_path, "flat", transform=flatten)
    assert "g, primary, secondary" not in (flat / "policy.csv").read_text()
    assert not diff_tables(compile_policy(POLICY_DIR), compile_policy(flat)).changed
    # A primary answers at the highest level whatever it stores: a rule for it at the
    # lowest level allows nothing it did not already have.
    extra = variant(
        tmp_path,
        "extra",
        (
            "p, user, reporting:view, view_reports",
            "p, user, reporting:view, view_reports\np, primary, reporting:none, view_reports",
        ),
    )
    assert not diff_tables(compile_policy(POLICY_DIR), compile_policy(extra)).changed


def test_raising_a_level_requirement_loses_the_action_at_the_level_below(tmp_path):
    raised = variant(tmp_path, "raised", RAISED)
    diff = diff_tables(compile_policy(POLICY_DIR), compile_policy(raised))
    assert cells_of(diff) == [
        ("secondary", "purchase_download", "media", (), ("request_media",)),
        ("user", "purchase_download", "media", (), ("request_media",)),
    ]  # not the primary: it holds purchase_download at full whatever it stores
    assert diff.catalogue == ()
    back = diff_tables(compile_policy(raised), compile_policy(POLICY_DIR))
    assert cells_of(back) == [
        ("secondary", "purchase_download", "media", ("request_media",), ()),
        ("user", "purchase_download", "media", ("request_media",), ()),
    ]


def test_a_new_rule_is_a_gain(tmp_path):
    added = variant(
        tmp_path,
        "added",
        (
            "p, user, purchase_download:full, view_quotes",
            "p, user, purchase_download:full, view_quotes\np, secondary, purchase_download:media, view_quotes",
        ),
    )
    diff = diff_tables(compile_policy(POLICY_DIR), compile_policy(added))
    assert cells_of(diff) == [("secondary", "purchase_download", "media", ("view_quotes",), ())]


def test_a_new_action_is_a_catalogue_change_and_a_gain_for_every_role_that_may_do_it(tmp_path):
    head = variant(
        tmp_path,
        "new-action",
        (
            "p, user, purchase_download:full, renew_licenses",
            "p, user, purchase_download:full, renew_licenses\np, user, purchase_download:full, cancel_orders",
        ),
    )
    catalogue = head / "catalogue.yaml"
    catalogue.write_text(
        catalogue.read_text().replace(
            "      renew_licenses: Renew licenses\n",
            "      renew_licenses: Renew licenses\n      cancel_orders: Cancel orders\n",
        )
    )
    diff = diff_tables(compile_policy(POLICY_DIR), compile_policy(head))
    assert [(c.change, c.kind, c.qualified) for c in diff.catalogue] == [
        ("+", "action", "purchase_download.cancel_orders")
    ]
    assert cells_of(diff) == [
        ("primary", "purchase_download", ANY_LEVEL, ("cancel_orders",), ()),
        ("secondary", "purchase_download", "full", ("cancel_orders",), ()),
        ("user", "purchase_download", "full", ("cancel_orders",), ()),
    ]
    removed = diff_tables(compile_policy(head), compile_policy(POLICY_DIR))
    assert [(c.change, c.kind, c.qualified) for c in removed.catalogue] == [
        ("-", "action", "purchase_download.cancel_orders")
    ]
    assert all(c.lost == ("cancel_orders",) and not c.gained for c in removed.cells)


def test_the_primary_cells_collapse_into_any_level(tmp_path):
    """Its answer does not depend on the level it stores: one line per application."""
    account = ("list_users", "export_users", "view_contacts", "view_account_documents")
    diff = diff_tables(compile_policy(POLICY_DIR), compile_policy(detached_primary(tmp_path, "cut", without=account)))
    assert cells_of(diff) == [
        ("primary", "manage_access", ANY_LEVEL, (), ("list_users", "export_users")),
        ("primary", "contact_updates", ANY_LEVEL, (), ("view_contacts",)),
        ("primary", "account_documents", ANY_LEVEL, (), ("view_account_documents",)),
    ]
    assert diff.cells[0].level_label == "any level"
    assert not diff_tables(
        compile_policy(POLICY_DIR), compile_policy(detached_primary(tmp_path, "all", without=()))
    ).changed


# --- the impact, in SQL, on every backend -------------------------------------------------


@pytest.fixture
def sites(make):
    """Two sites of members at every purchase_download level, and a third with none at media."""
    a = make.site("A100", primary="pa@example.test")
    make.member(a, "a-user-media@example.test", purchase_download="media")
    make.member(a, "a-sec-media@example.test", role="secondary", purchase_download="media", reporting="view")
    make.member(a, "a-user-full@example.test", purchase_download="full")
    make.member(a, "a-user-downloads@example.test", purchase_download="downloads")
    make.member(a, "a-user-nothing@example.test")
    b = make.site("B200", primary="pb@example.test")
    make.member(b, "b-user-media@example.test", purchase_download="media", reporting="view")
    make.member(b, "b-sec-full@example.test", role="secondary", purchase_download="full")
    c = make.site("C300", primary="pc@example.test")
    make.member(c, "c-user-full@example.test", purchase_download="full")
    return a, b, c


def test_impact_of_a_raised_level_is_exactly_the_members_at_the_level_below(tmp_path, sites):
    diff = diff_tables(compile_policy(POLICY_DIR), compile_policy(variant(tmp_path, "raised", RAISED)))
    impact = impact_of(diff)
    assert (impact.members, impact.sites) == (3, 2)
    assert impact.per_cell == (1, 2)  # secondary at media, user at media
    by_site = {s.number: s for s in impact.site_list}
    assert set(by_site) == {"A100", "B200"}
    a, b = by_site["A100"], by_site["B200"]
    assert (a.members, dict(a.lost), dict(a.gained), a.more) == (2, {"request_media": 2}, {}, 0)
    assert [(m.login_id, m.role, dict(m.levels), m.gained, m.lost) for m in a.listed] == [
        ("a-sec-media@example.test", "secondary", {"purchase_download": "media"}, (), ("request_media",)),
        ("a-user-media@example.test", "user", {"purchase_download": "media"}, (), ("request_media",)),
    ]
    assert [m.login_id for m in b.listed] == ["b-user-media@example.test"]
    assert impact.site_list[0].number == "A100"  # most members first
    assert impact.more_sites == 0


def test_impact_of_a_lowered_requirement_reaches_members_who_store_nothing(tmp_path, sites):
    """Moving view_reports down to reporting:none reaches the members without a stored
    reporting level (they hold the lowest), and no one who holds `view` already."""
    lowered = variant(
        tmp_path, "lowered", ("p, user, reporting:view, view_reports", "p, user, reporting:none, view_reports")
    )
    diff = diff_tables(compile_policy(POLICY_DIR), compile_policy(lowered))
    assert cells_of(diff) == [
        ("secondary", "reporting", "none", ("view_reports",), ()),
        ("user", "reporting", "none", ("view_reports",), ()),
    ]
    impact = impact_of(diff)
    listed = {s.number: sorted(m.login_id for m in s.listed) for s in impact.site_list}
    assert listed == {
        "A100": [
            "a-user-downloads@example.test",
            "a-user-full@example.test",
            "a-user-media@example.test",
            "a-user-nothing@example.test",
        ],
        "B200": ["b-sec-full@example.test"],
        "C300": ["c-user-full@example.test"],
    }
    assert impact.members == 6 and impact.per_cell == (1, 5)
    member = next(m for s in impact.site_list for m in s.listed if m.login_id == "a-user-nothing@example.test")
    assert dict(member.levels) == {"reporting": "none"} and member.gained == ("view_reports",)


def test_impact_of_lowest_level_changes_in_several_applications(tmp_path, sites):
    """Two applications at once: members are matched per application by what they
    store there (the query reads each member's stored applications once)."""
    lowered = variant(
        tmp_path,
        "lowered2",
        ("p, user, reporting:view, view_reports", "p, user, reporting:none, view_reports"),
        ("p, user, entitlements:view, view_entitlements", "p, user, entitlements:none, view_entitlements"),
    )
    diff = diff_tables(compile_policy(POLICY_DIR), compile_policy(lowered))
    assert [(c.role, c.application, c.level) for c in diff.cells] == [
        ("secondary", "reporting", "none"),
        ("secondary", "entitlements", "none"),
        ("user", "reporting", "none"),
        ("user", "entitlements", "none"),
    ]
    impact = impact_of(diff)
    assert impact.per_cell == (1, 2, 5, 6) and (impact.members, impact.sites) == (8, 3)
    gains = {m.login_id: m.gained for s in impact.site_list for m in s.listed}
    assert gains == {
        "a-user-media@example.test": ("view_reports", "view_entitlements"),
        "a-sec-media@example.test": ("view_entitlements",),  # stores reporting: view
        "a-user-full@example.test": ("view_reports", "view_entitlements"),
        "a-user-downloads@example.test": ("view_reports", "view_entitlements"),
        "a-user-nothing@example.test": ("view_reports", "view_entitlements"),
        "b-user-media@example.test": ("view_entitlements",),  # stores reporting: view
        "b-sec-full@example.test": ("view_reports", "view_entitlements"),
        "c-user-full@example.test": ("view_reports", "view_entitlements"),
    }


def test_impact_of_a_primary_change_is_every_primary_whatever_it_stores(tmp_path, sites):
    diff = diff_tables(
        compile_policy(POLICY_DIR), compile_policy(detached_primary(tmp_path, "no-reports", without=("view_reports",)))
    )
    assert cells_of(diff) == [("primary", "reporting", ANY_LEVEL, (), ("view_reports",))]
    impact = impact_of(diff)
    assert (impact.members, impact.sites) == (3, 3)
    assert sorted((s.number, [m.login_id for m in s.listed]) for s in impact.site_list) == [
        ("A100", ["pa@example.test"]),
        ("B200", ["pb@example.test"]),
        ("C300", ["pc@example.test"]),
    ]
    assert all(dict(m.levels) == {} for s in impact.site_list for m in s.listed)


def test_impact_lists_are_capped_but_everyone_is_counted(tmp_path, sites):
    lowered = variant(
        tmp_path, "lowered", ("p, user, reporting:view, view_reports", "p, user, reporting:none, view_reports")
    )
    diff = diff_tables(compile_policy(POLICY_DIR), compile_policy(lowered))
    impact = impact_of(diff, max_sites=1, max_members=2)
    assert (impact.members, impact.sites) == (6, 3)
    (top,) = impact.site_list
    assert top.number == "A100" and top.members == 4 and top.more == 2
    assert [m.login_id for m in top.listed] == ["a-user-downloads@example.test", "a-user-full@example.test"]
    assert dict(top.gained) == {"view_reports": 4}
    assert (impact.more_sites, impact.more_sites_members) == (2, 2)


# --- the command line -----------------------------------------------------------------------


def test_cli_reports_the_impact_in_every_format(tmp_path, sites, database_url, cli):
    raised = variant(tmp_path, "raised", RAISED)
    code, out, err = cli("policy", "diff", str(POLICY_DIR), str(raised), "--database", database_url)
    assert code == 1, err
    assert "user, purchase_download, media: -request_media  [2 members]" in out
    assert "3 members on 2 sites" in out
    assert "a-user-media@example.test" in out and "a-user-full@example.test" not in out

    code, out, _ = cli("policy", "diff", str(POLICY_DIR), str(raised), "--database", database_url, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["changed"] is True and report["summary"]["members"] == 3
    assert [(c["role"], c["level"], c["lost"], c["members"]) for c in report["cells"]] == [
        ("secondary", "media", ["request_media"], 1),
        ("user", "media", ["request_media"], 2),
    ]
    site_a = next(s for s in report["impact"]["site_list"] if s["site"] == "A100")
    assert [m["login_id"] for m in site_a["listed"]] == ["a-sec-media@example.test", "a-user-media@example.test"]

    code, out, _ = cli(
        "policy",
        "diff",
        str(POLICY_DIR),
        str(raised),
        "--database",
        database_url,
        "--format",
        "markdown",
        "--max-members",
        "1",
    )
    assert code == 1
    assert "| Role | Application | Level | Gained | Lost | Members |" in out
    assert "| user | purchase\\_download |" not in out  # names in the table are the policy's own
    assert "| user | purchase_download | `media` |  | `request_media` | 2 |" in out
    assert "| Site | Name | Members | Gained | Lost |" in out and "| A100 | Site A100 | 2 |" in out
    assert "<details>" in out and "</details>" in out and "… and 1 more" in out


def test_cli_exit_codes_follow_diff(tmp_path, cli, monkeypatch):
    raised = variant(tmp_path, "raised", RAISED)
    assert cli("policy", "diff", str(raised), str(raised))[0] == 0
    code, out, _ = cli("policy", "diff", str(POLICY_DIR), str(raised), "--no-impact", "--format", "json")
    assert code == 1 and json.loads(out)["impact"] is None
    broken = variant(
        tmp_path, "broken", RAISED, ("p, user, reporting:view, view_reports", "p, user, reporting:view, no_such")
    )
    code, out, err = cli("policy", "diff", str(POLICY_DIR), str(broken), "--no-impact")
    assert code == 2 and out == ""
    assert "head" in err and "unknown action 'no_such'" in err and "policy.csv:" in err
    monkeypatch.chdir(tmp_path)  # not a git repository
    code, _, err = cli("policy", "diff", "no-such-dir", "--no-impact")
    assert code == 2 and "neither a policy directory nor a git revision" in err
    code, _, err = cli("policy", "diff", str(POLICY_DIR), str(raised), "--database", f"sqlite:///{tmp_path}/absent.db")
    assert code == 2 and "no database file" in err
    assert not (tmp_path / "absent.db").exists()
    code, _, err = cli(
        "policy", "diff", str(POLICY_DIR), str(raised), "--database", "postgresql://authz:topsecret@127.0.0.1:1/authz"
    )  # nothing listens on port 1
    assert code == 2 and "postgresql://authz:***@127.0.0.1:1/authz" in err and "topsecret" not in err


# --- git revisions ------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A throwaway git repository: policies/ committed twice (the second raises
    request_media to full), and the working tree as the current directory."""
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "repo"
    root.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args):
        subprocess.run(
            ["git", "-c", "user.name=Test", "-c", "user.email=test@example.test", "-c", "commit.gpgsign=false", *args],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    shutil.copytree(POLICY_DIR, root / "policies", ignore=shutil.ignore_patterns("tests"))
    git("add", "policies")
    git("commit", "-q", "-m", "policy")
    rules = root / "policies" / "policy.csv"
    rules.write_text(rules.read_text().replace(*RAISED))
    git("commit", "-q", "-am", "raise request_media to full")
    monkeypatch.chdir(root)
    monkeypatch.setenv("AUTHZ_POLICY_DIR", str(root / "policies"))
    return root


def test_a_git_revision_as_base(repo, capsys):
    code = main(["policy", "diff", "HEAD~1", "--no-impact", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["base"]["source"].startswith("HEAD~1 (")
    assert [(c["role"], c["application"], c["level"], c["lost"]) for c in report["cells"]] == [
        ("secondary", "purchase_download", "media", ["request_media"]),
        ("user", "purchase_download", "media", ["request_media"]),
    ]
    assert main(["policy", "diff", "HEAD", "--no-impact"]) == 0  # the working tree is HEAD
    assert main(["policy", "diff", "HEAD", "HEAD~1:policies", "--no-impact"]) == 1  # both sides revisions
    capsys.readouterr()
    # An uncommitted edit of the working tree shows against HEAD.
    rules = repo / "policies" / "policy.csv"
    rules.write_text(rules.read_text().replace(*reversed(RAISED)))
    assert main(["policy", "diff", "HEAD", "--no-impact"]) == 1
    assert "secondary, purchase_download, media: +request_media" in capsys.readouterr().out
    assert main(["policy", "diff", "HEAD~1", "--no-impact"]) == 0
    assert main(["policy", "diff", "no-such-revision", "--no-impact"]) == 2
    assert "neither a policy directory nor a git revision" in capsys.readouterr().err
    assert main(["policy", "diff", "HEAD:nowhere", "--no-impact"]) == 2
    assert "has no directory 'nowhere'" in capsys.readouterr().err


def test_markdown_is_shortened_to_fit_a_pull_request_comment(tmp_path):
    from authz.policy_tools.diff import Impact, MemberImpact, SiteImpact
    from authz.policy_tools.report import MARKDOWN_LIMIT, Report, render_markdown

    diff = diff_tables(compile_policy(POLICY_DIR), compile_policy(variant(tmp_path, "raised", RAISED)))
    member = MemberImpact(
        "someone-with-a-long-login@example.test", "user", {"purchase_download": "media"}, (), ("request_media",)
    )
    sites = tuple(
        SiteImpact(f"{n:07d}", f"Site | {n}", 50, {}, {"request_media": 50}, (member,) * 50) for n in range(100)
    )
    report = Report("base", "head", diff, Impact(6000, 120, (1000, 5000), sites), database="sqlite:///x.db")
    text = render_markdown(report)
    assert len(text) <= MARKDOWN_LIMIT
    assert "*Shortened to fit a comment:" in text
    assert "| 0000000 | Site \\| 0 | 50 |" in text  # data cannot break the table
    shown = text.count("**00")
    assert 0 < shown < 100 and f"| … {120 - shown} more sites | | {6000 - 50 * shown:,} | | |" in text
