"""Reading the policy files: the Casbin model and the rules of policy.csv, each
rule kept with its file and line so that problems and decisions can cite it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import casbin

from authz.engine.catalogue import CATALOGUE_FILE
from authz.errors import PolicyInvalid, Problem

MODEL_FILE = "model.conf"
RULES_FILE = "policy.csv"
END_MARKER = "# end-of-policy"

# The shape of model.conf that the rest of the engine relies on: the table, the
# level orders and the explanations all assume this matcher and an allow-only effect.
EXPECTED_FIELDS = {"p": ("role", "level", "act"), "g": ("_", "_"), "g2": ("_", "_")}
EXPECTED_MATCHER = "g(r_role, p_role) && g2(r_level, p_level) && r_act == p_act"
EXPECTED_EFFECT = "some(where (p_eft == allow))"
# A field is a plain identifier (levels: application:level). Anything else
# (wildcards, regex, function calls, quotes) is not something the model expects.
_PLAIN_FIELD = re.compile(r"^[a-z][a-z0-9_]*(:[a-z][a-z0-9_]*)?$")


@dataclass(frozen=True)
class Rule:
    kind: str  # p, g or g2
    fields: tuple[str, ...]
    line: int

    @property
    def text(self) -> str:
        return ", ".join((self.kind, *self.fields))

    @property
    def source(self) -> str:
        return f"{RULES_FILE}:{self.line}"


@dataclass(frozen=True)
class PolicySource:
    directory: Path
    model_text: str
    rules: tuple[Rule, ...]  # the lines that parsed
    version: str
    problems: tuple[Problem, ...]  # lines that did not parse, a missing end marker

    def of_kind(self, kind: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.kind == kind]


POLICY_FILES = (MODEL_FILE, RULES_FILE, CATALOGUE_FILE)


def read_policy_files(policy_dir: Path) -> dict[str, bytes | None]:
    """Each file that decides, read once (None if missing). Everything after works
    from these bytes, so a file rewritten meanwhile cannot mix two versions."""
    files: dict[str, bytes | None] = {}
    for name in POLICY_FILES:
        try:
            files[name] = (Path(policy_dir) / name).read_bytes()
        except FileNotFoundError:
            files[name] = None
    return files


def policy_version(files: dict[str, bytes | None]) -> str:
    """Content hash of the files that decide: same files, same version."""
    digest = hashlib.sha256()
    for name in POLICY_FILES:
        digest.update(name.encode() + b"\0" + (files[name] or b"") + b"\0")
    return digest.hexdigest()[:16]


def decode(files: dict[str, bytes | None], name: str, problems: list[Problem]) -> str:
    data = files[name]
    if data is None:
        problems.append(Problem(name, None, "file not found"))
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, None, f"not UTF-8 text: {exc}"))
        return ""


def read_policy_source(policy_dir: Path, files: dict[str, bytes | None]) -> PolicySource:
    """Model and rules from FILES. Raise PolicyInvalid if a file is missing or the
    model is unusable; otherwise keep the lines that parse and list those that
    don't, so that validation can report every problem in one pass."""
    problems: list[Problem] = []
    model_text = decode(files, MODEL_FILE, problems)
    rules_text = decode(files, RULES_FILE, problems)
    if problems:
        raise PolicyInvalid("policy", problems)
    problems.extend(_check_model(model_text))
    if problems:
        raise PolicyInvalid("policy", problems)
    rules = _parse_rules(rules_text, problems)
    return PolicySource(policy_dir, model_text, tuple(rules), policy_version(files), tuple(problems))


def _check_model(model_text: str) -> list[Problem]:
    try:
        model = casbin.Enforcer.new_model(text=model_text)
    except Exception as exc:  # casbin raises bare exceptions for a bad model
        return [Problem(MODEL_FILE, None, f"Casbin cannot read the model: {exc}")]
    problems = []
    for kind, expected in EXPECTED_FIELDS.items():
        section = "p" if kind == "p" else "g"
        assertion = model.model.get(section, {}).get(kind)
        if assertion is None:
            problems.append(Problem(MODEL_FILE, None, f"the model must define '{kind}'"))
        elif kind == "p" and tuple(t.split("_", 1)[1] for t in assertion.tokens) != expected:
            problems.append(Problem(MODEL_FILE, None, "policy_definition must be 'p = role, level, act'"))
        elif kind != "p" and len(assertion.tokens) != len(expected):
            problems.append(Problem(MODEL_FILE, None, f"'{kind}' must relate two names ('{kind} = _, _')"))
    matcher = " ".join(model.model.get("m", {}).get("m").value.split()) if "m" in model.model else ""
    if matcher != EXPECTED_MATCHER:
        problems.append(
            Problem(
                MODEL_FILE,
                None,
                "the matcher must be "
                "'g(r.role, p.role) && g2(r.level, p.level) && r.act == p.act' "
                "(other functions or patterns are not part of this model)",
            )
        )
    effect = model.model.get("e", {}).get("e")
    if effect is None or effect.value != EXPECTED_EFFECT:
        problems.append(
            Problem(MODEL_FILE, None, "the policy effect must be allow-only: 'e = some(where (p.eft == allow))'")
        )
    return problems


def _parse_rules(text: str, problems: list[Problem]) -> list[Rule]:
    rules = []
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, *fields = [token.strip() for token in line.split(",")]
        if kind not in EXPECTED_FIELDS:
            problems.append(Problem(RULES_FILE, number, f"unknown rule type '{kind}' (expected p, g or g2)"))
            continue
        expected = len(EXPECTED_FIELDS[kind])
        if len(fields) != expected:
            problems.append(Problem(RULES_FILE, number, f"'{kind}' rule needs {expected} fields, found {len(fields)}"))
            continue
        bad = [field for field in fields if not _PLAIN_FIELD.match(field)]
        if bad:
            problems.append(
                Problem(
                    RULES_FILE,
                    number,
                    f"'{bad[0]}' is not a plain name: "
                    "wildcards, patterns and function calls are not part of this model",
                )
            )
            continue
        rules.append(Rule(kind, tuple(fields), number))
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    if last != END_MARKER:
        problems.append(
            Problem(
                RULES_FILE,
                len(lines) or None,
                f"the file does not end with '{END_MARKER}': it may have been cut short",
            )
        )
    return rules
