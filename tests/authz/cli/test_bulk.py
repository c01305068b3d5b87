"""`authz import FILE.csv|.jsonl` and `authz export memberships`, as an operator
runs them: progress on stderr (plain lines when stderr is not a terminal), the
summary on stdout, every problem by line and exit 2, export to stdout or a file."""

from __future__ import annotations

import hashlib
import io
import json

from authz.cli.progress import ImportMeter
from authz.contract.bulk import ImportProgress
from models.audit import AuditRecord
from models.identifiers import login_key
from models.schema import Membership, Person
from tests.queries import role_of, stored_levels

CSV = (
    "site,site_name,login_id,email,role,reporting,manage_access\n"
    "7,Seven,ann@example.test,ann@example.test,primary,,\n"
    "7,,ben@example.test,ben@example.test,secondary,view,update\n"
    "7,,cat@example.test,cat@example.test,user,view,\n"
)


def test_import_csv_prints_plain_progress_lines_and_a_summary(cli, database, tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(CSV)
    code, out, err = cli("import", str(path), "--batch-rows", "2")
    assert code == 0, err
    assert out.strip() == (
        "imported 3 memberships (3 new, 0 updated); 1 sites and 3 people created, 0 people updated; change 1"
    )
    lines = err.splitlines()
    assert lines[0] == "authz import: reading members.csv"
    assert lines[1:3] == ["authz import: read 2 rows (100%)", "authz import: read 3 rows (100%)"]
    assert [line.split(" rows")[0] for line in lines[-3:]] == [
        "authz import: checking 3",
        "authz import: writing 3",
        "authz import: done: 3",
    ]
    assert "\r" not in err  # no bar redrawn in place: stderr is not a terminal
    assert role_of("7", "ben@example.test") == "secondary"
    assert stored_levels("7", "ben@example.test") == {"reporting": "view", "manage_access": "update"}


def test_import_with_bad_rows_exits_2_listing_each_and_loads_nothing(cli, database, tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(CSV + "7,,dan@example.test,dan@example.test,user,,view\n7,,e\u0301@x.test,e@x.test,user,,\n")
    code, out, err = cli("import", str(path))
    assert code == 2 and out == ""
    assert "authz: members.csv: 2 problem(s)" in err
    assert "members.csv:5: manage_access: a user may not hold 'manage_access' (only primary, secondary)" in err
    assert "members.csv:6: login_id: is not in Unicode normalization form C (NFC)" in err
    assert Membership.select().count() == 0 and Person.by_key(login_key("ann@example.test")) is None


def test_import_needs_a_known_format(cli, database, tmp_path):
    path = tmp_path / "members.txt"
    path.write_text(CSV)
    code, _, err = cli("import", str(path))
    assert code == 2 and "give --format" in err
    code, _, err = cli("import", str(path), "--format", "csv")
    assert code == 0, err


def test_yaml_still_goes_through_the_original_importer(cli, database, tmp_path):
    path = tmp_path / "data.yaml"
    path.write_text(
        "sites: [{number: '7', name: Seven}]\n"
        "people: [{login_id: ann@example.test, email: ann@example.test}]\n"
        "memberships: [{site: '7', user: ann@example.test, role: primary}]\n"
    )
    code, out, err = cli("import", str(path))
    assert code == 0, err
    assert out.strip() == "imported 1 sites, 1 people, 1 memberships"
    [record] = AuditRecord.select().where(AuditRecord.action == "import")
    assert json.loads(record.after) == {
        "file": "data.yaml",
        "format": "yaml",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "sites": 1,
        "people": 1,
        "memberships": 1,
    }


def test_a_yaml_import_refused_writes_no_audit_record(cli, database, tmp_path):
    path = tmp_path / "data.yaml"
    path.write_text("memberships: [{site: '7', user: nobody@example.test, role: primary}]\n")
    code, _, err = cli("import", str(path))
    assert code == 2, err
    assert AuditRecord.select().count() == 0


def test_export_memberships_round_trips_through_import(cli, database, tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(CSV)
    assert cli("import", str(path))[0] == 0
    code, out, err = cli("export", "memberships", "--site", "7")
    assert code == 0, err
    assert out.splitlines()[0].startswith("site,site_name,login_id,email,first_name,last_name,phone,role,")
    assert len(out.splitlines()) == 4
    target = tmp_path / "out.jsonl"
    code, _, err = cli("export", "memberships", "--format", "jsonl", "-o", str(target))
    assert code == 0, err
    assert len(target.read_text().splitlines()) == 3
    code, out, err = cli("import", str(target))
    assert code == 0, err
    assert "(0 new, 3 updated)" in out and "0 people updated" in out
    code, _, err = cli("export", "memberships", "--site", "9")
    assert code == 2 and "site 9 does not exist" in err


class Terminal(io.StringIO):
    """What the meter writes to, claiming to be a terminal."""

    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_bar_is_redrawn_in_place():
    out, now = Terminal(), [0.0]
    meter = ImportMeter("big.csv", out, clock=lambda: now[0])
    meter(ImportProgress("reading", 0, 0, 1000))
    now[0] = 1.0
    meter(ImportProgress("reading", 5000, 500, 1000))
    now[0] = 1.01  # within the redraw interval: not drawn
    meter(ImportProgress("reading", 5001, 501, 1000))
    now[0] = 2.0
    meter(ImportProgress("reading", 10000, 1000, 1000))
    meter(ImportProgress("checking", 10000))
    text = out.getvalue()
    draws = text.split("\r")[1:]
    assert len(draws) == 4  # start, 50%, 100%, and the final draw before the phase changes
    assert "[" + "#" * 15 + "." * 15 + "]  50% 5,000 rows 1.0 s" in draws[1]
    assert "5,001" not in text
    assert text.endswith("\nauthz import: checking 10,000 rows (2.0 s)\n")


def test_plain_lines_come_once_per_tenth_of_the_file():
    out = io.StringIO()
    meter = ImportMeter("big.csv", out)
    meter(ImportProgress("reading", 0, 0, 1000))
    for read in range(50, 1001, 50):
        meter(ImportProgress("reading", read * 10, read, 1000))
    lines = out.getvalue().splitlines()
    assert lines[0] == "authz import: reading big.csv"
    assert [line.split("(")[-1] for line in lines[1:]] == [f"{p}%)" for p in range(10, 101, 10)]
