"""model.conf is held to the one shape the engine relies on; every problem names the
line of the key or section it is about (or only the file, for a key that is missing
from a section that is missing)."""

from authz.engine.model import check_model
from tests.conftest import POLICY_DIR

SHIPPED = (POLICY_DIR / "model.conf").read_text()


def problems(text: str) -> list[str]:
    return [str(p) for p in check_model(text)]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.split("\n"), start=1) if needle in line)


def test_the_shipped_model_passes():
    assert problems(SHIPPED) == []


def test_a_value_continued_with_a_backslash_is_read_as_casbin_reads_it():
    text = SHIPPED.replace("m = g(r.role, p.role) && ", "m = g(r.role, p.role) && \\\n    ")
    assert problems(text) == []


def test_each_wrong_value_is_reported_at_its_key():
    text = SHIPPED.replace("r = role, level, act", "r = sub, obj, act").replace("g2 = _, _", "g2 = _, _, _")
    assert problems(text) == [
        f"model.conf:{line_of(text, 'r = sub')}: request_definition must be 'r = role, level, act'",
        f"model.conf:{line_of(text, 'g2 = _')}: 'g2' must relate two names ('g2 = _, _')",
    ]


def test_a_missing_key_is_reported_at_its_section_or_the_file():
    text = SHIPPED.replace("g2 = _, _\n", "")
    assert problems(text) == [
        f"model.conf:{line_of(text, '[role_definition]')}: the model must define 'g2 = _, _' in [role_definition]"
    ]
    text = SHIPPED.replace("[policy_effect]\ne = some(where (p.eft == allow))\n", "")
    assert problems(text) == ["model.conf: the model must define 'e = some(where (p.eft == allow))' in [policy_effect]"]


def test_unknown_sections_keys_twice_defined_keys_and_stray_lines_are_reported_at_their_lines():
    text = SHIPPED + "\n[extras]\nx = 1\n"
    text = text.replace("g2 = _, _\n", "g2 = _, _\ng3 = _, _\ng = _, _\n")
    text = text.replace("[matchers]\n", "[matchers]\nnot a setting\n")
    assert sorted(problems(text)) == sorted(
        [
            f"model.conf:{line_of(text, 'g3 =')}: 'g3' is not part of this model ([role_definition])",
            f"model.conf:{line_of(text, 'g3 =') + 1}: 'g' is defined twice (first at line {line_of(text, 'g = _')})",
            f"model.conf:{line_of(text, 'not a setting')}: expected 'key = value'",
            f"model.conf:{line_of(text, '[extras]')}: [extras] is not part of this model",
        ]
    )


def test_a_key_outside_any_section_is_reported_at_its_line():
    text = "x = 1\n" + SHIPPED
    assert problems(text) == ["model.conf:1: 'x' is outside any [section]"]
