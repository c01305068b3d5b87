"""Reading the policy files: the Casbin model and the rules of policy.csv, each
rule kept with its file and line so that problems and decisions can cite it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from authz.engine.catalogue import CATALOGUE_FILE
from authz.engine.model import MODEL_FILE, check_model
from authz.engine.text import decode, invisible_character, lines_of, quoted
from authz.errors import PolicyInvalid, Problem

RULES_FILE = "policy.csv"
END_MARKER = "# end-of-policy"

# The fields each kind of rule has, as model.conf defines them (authz/engine/model.py).
RULE_FIELDS = {"p": ("role", "level", "act"), "g": ("_", "_"), "g2": ("_", "_")}
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
    problems: tuple[Problem, ...]  # lines that did not parse
    refused_names: frozenset[str] = frozenset()  # every field of those lines

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


def read_policy_source(policy_dir: Path, files: dict[str, bytes | None]) -> PolicySource:
    """Model and rules from FILES. Raise PolicyInvalid if a file is missing, not
    UTF-8, empty or cut short, or the model is not the expected one; otherwise keep
    the lines that parse and list those that don't, so that validation can report
    every problem in one pass."""
    fatal: list[Problem] = []
    model_text = _text(files, MODEL_FILE, fatal)
    if model_text is not None:
        fatal.extend(check_model(model_text))
    rules_text = _text(files, RULES_FILE, fatal)
    problems: list[Problem] = []
    rules: list[Rule] = []
    refused: set[str] = set()
    if rules_text is not None:
        lines = lines_of(rules_text)
        whole = _whole_file_problem(lines)
        if whole is not None:
            fatal.append(whole)
        else:
            rules = _parse_rules(lines, problems, refused)
    if fatal:
        raise PolicyInvalid("policy", fatal + problems)
    return PolicySource(
        policy_dir, model_text or "", tuple(rules), policy_version(files), tuple(problems), frozenset(refused)
    )


def _text(files: dict[str, bytes | None], name: str, problems: list[Problem]) -> str | None:
    data = files[name]
    if data is None:
        problems.append(Problem(name, None, "file not found"))
        return None
    text = decode(name, data)
    if isinstance(text, Problem):
        problems.append(text)
        return None
    return text


def _whole_file_problem(lines: list[str]) -> Problem | None:
    """The one problem of a file with no rules or cut short; after either, nothing
    else in it can be judged, so nothing else is reported."""
    written = [(number, line.strip()) for number, line in enumerate(lines, start=1) if line.strip()]
    if not any(not line.startswith("#") for _, line in written):
        what = "the file holds no rules" if written else "the file is empty"
        return Problem(RULES_FILE, None, f"{what} (a policy needs its rules, then '{END_MARKER}')")
    last_number, last = written[-1]
    if last != END_MARKER:
        return Problem(
            RULES_FILE, last_number, f"the file does not end with '{END_MARKER}': it may have been cut short"
        )
    return None


def _parse_rules(lines: list[str], problems: list[Problem], refused: set[str]) -> list[Rule]:
    """The rules of LINES; a line that is not one goes to PROBLEMS, and its fields
    to REFUSED (validation does not report again what such a line was about)."""
    rules = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        problem = _line_problem(line)
        if problem:
            problems.append(Problem(RULES_FILE, number, problem))
            refused.update(token.strip() for token in line.split(","))
            continue
        kind, *fields = [token.strip() for token in line.split(",")]
        rules.append(Rule(kind, tuple(fields), number))
    return rules


def _line_problem(line: str) -> str | None:
    """What keeps LINE from being a rule, or None."""
    invisible = invisible_character(line)
    if invisible:
        return invisible
    kind, *fields = [token.strip() for token in line.split(",")]
    if kind not in RULE_FIELDS:
        return f"unknown rule type {quoted(kind)} (expected p, g or g2)"
    expected = len(RULE_FIELDS[kind])
    if len(fields) != expected:
        return f"'{kind}' rule needs {expected} fields, found {len(fields)}"
    bad = [field for field in fields if not _PLAIN_FIELD.match(field)]
    if bad:
        return (
            f"{quoted(bad[0])} is not a plain name: wildcards, patterns and function calls are not part of this model"
        )
    return None
