"""The text of the policy files: a leading UTF-8 byte-order mark is accepted (and
changes no decision); bytes that are not UTF-8 are reported at their line, in
every file; an invisible character is named, never printed raw."""

import shutil

import pytest

from authz.engine.acceptance import accept_policy
from authz.engine.compiler import compile_policy
from authz.engine.text import BOM, decode, invisible_character, quoted
from authz.errors import PolicyInvalid, Problem
from tests.conftest import POLICY_DIR

BOM_BYTES = BOM.encode()


@pytest.fixture
def policy_copy(tmp_path):
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def refusal(policy_dir) -> list[str]:
    with pytest.raises(PolicyInvalid) as caught:
        compile_policy(policy_dir)
    return [str(p) for p in caught.value.problems]


def test_a_byte_order_mark_opening_any_file_is_accepted_and_decides_nothing(policy_copy):
    files = [policy_copy / name for name in ("policy.csv", "model.conf", "catalogue.yaml")]
    files += sorted((policy_copy / "tests").glob("*_test.yaml"))
    for path in files:
        path.write_bytes(BOM_BYTES + path.read_bytes())
    table, shipped = accept_policy(policy_copy), compile_policy(POLICY_DIR)
    assert dict(table.cells()) == dict(shipped.cells())
    assert [r.source for r in table.rules] == [r.source for r in shipped.rules]  # lines unchanged
    assert table.version != shipped.version  # the bytes differ, so does the content hash


def test_a_byte_order_mark_inside_a_file_is_named_at_its_line(policy_copy):
    path = policy_copy / "policy.csv"
    rule = "p, user, reporting:view, view_reports"
    number = path.read_text().splitlines().index(rule) + 1
    path.write_text(path.read_text().replace(rule, BOM + rule))
    [problem] = refusal(policy_copy)
    assert problem == (
        f"policy.csv:{number}: invisible character U+FEFF (ZERO WIDTH NO-BREAK SPACE) at column 1; "
        "a byte-order mark may only open the file"
    )


@pytest.mark.parametrize(
    "name,anchor",
    [
        ("policy.csv", "# Reporting"),
        ("model.conf", "[matchers]"),
        ("catalogue.yaml", "  reporting:"),
    ],
)
def test_bytes_that_are_not_utf8_are_reported_at_their_line(policy_copy, name, anchor):
    path = policy_copy / name
    lines = path.read_bytes().split(b"\n")
    number = lines.index(anchor.encode()) + 1
    lines.insert(number, b"# caf\xe9")  # Latin-1, on the line after the anchor
    path.write_bytes(b"\n".join(lines))
    assert refusal(policy_copy) == [
        f"{name}:{number + 1}: not UTF-8 text: byte 0xE9 at column 6 cannot be read (save the file as UTF-8)"
    ]


def test_decode():
    assert decode("f", BOM_BYTES + b"a\nb") == "a\nb"
    assert decode("f", b"a\n\nb\xffc") == Problem(
        "f", 3, "not UTF-8 text: byte 0xFF at column 2 cannot be read (save the file as UTF-8)"
    )


def test_an_invisible_character_is_named_and_a_quoted_name_shows_it():
    assert invisible_character("p, user,\u200b x") == "invisible character U+200B (ZERO WIDTH SPACE) at column 9"
    assert invisible_character("p,\tuser") is None
    assert quoted("us\u200ber") == "'us\\u200ber'"
