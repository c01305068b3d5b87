"""Readers for the files in deploy/, and what the application accepts, for the tests
that hold the one against the other. Standard library and PyYAML only."""

from __future__ import annotations

import argparse
import ast
import functools
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
SYSTEMD = DEPLOY / "systemd"

# Read by the interpreter or by pip while the image is built, not by the application.
PLATFORM_ENV = {
    "PYTHONDONTWRITEBYTECODE": "the interpreter: no .pyc written at run time (read-only root)",
    "PYTHONUNBUFFERED": "the interpreter: logs reach the container runtime at once",
    "PIP_NO_CACHE_DIR": "pip, at image build time",
    "PIP_DISABLE_PIP_VERSION_CHECK": "pip, at image build time",
}


# -- YAML ----------------------------------------------------------------------


def yaml_documents(path: Path) -> list:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def k8s_objects() -> list[dict]:
    """Every Kubernetes object in deploy/k8s (the example Secrets included; not the
    kustomization, which is kustomize's file)."""
    return [
        doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml_documents(path) if doc.get("kind") != "Kustomization"
    ]


def k8s_object(kind: str, name: str | None = None) -> dict:
    found = [o for o in k8s_objects() if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''} in deploy/k8s, found {len(found)}"
    return found[0]


def pod_spec(obj: dict) -> dict:
    """The pod spec of a Deployment, Job or CronJob."""
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def pod_labels(obj: dict) -> dict:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return obj["spec"]["template"]["metadata"]["labels"]


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def cpu_cores(quantity) -> float:
    """A Kubernetes CPU quantity ("500m", "2", 1.5) in cores."""
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


# -- Dockerfile ------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str
    line: int


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comment lines dropped (also those
    inside a continued instruction, as Docker does)."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        text = " ".join(part for part in pending if part)
        pending = []
        keyword, _, args = text.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
    assert not pending, f"{path}: the last instruction ends with a continuation"
    return instructions


def dockerfile_stages(path: Path) -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for ins in dockerfile_instructions(path):
        if ins.keyword == "FROM":
            stages.append([])
        assert stages, f"{path}:{ins.line}: {ins.keyword} before the first FROM"
        stages[-1].append(ins)
    return stages


def exec_form(args: str) -> list[str] | None:
    """The argv of a JSON-form CMD/ENTRYPOINT/RUN, None for the shell form."""
    if args.startswith("["):
        value = json.loads(args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
        return value
    return None


def env_instruction(args: str) -> dict[str, str]:
    """ENV k=v k2="v 2" (and the legacy ENV k v)."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: args.split(None, 1)[1] if len(words) > 1 else ""}
    pairs = {}
    for word in words:
        name, sep, value = word.partition("=")
        assert sep, f"ENV {args!r}: {word!r} is not NAME=VALUE"
        pairs[name] = value
    return pairs


def image_env(path: Path = DEPLOY / "Dockerfile") -> dict[str, str]:
    """The environment the final stage of the image sets."""
    env: dict[str, str] = {}
    for ins in dockerfile_stages(path)[-1]:
        if ins.keyword == "ENV":
            env.update(env_instruction(ins.args))
    return env


def copy_sources_and_dest(args: str) -> tuple[list[str], str, dict[str, str]]:
    """COPY [--from=x] [--chown=..] src... dest -> (sources, dest, flags)."""
    words = exec_form(args) or shlex.split(args)
    flags = {}
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        flags[name] = value
    assert len(words) >= 2, f"COPY {args!r}"
    return words[:-1], words[-1], flags


def image_files(path: Path = DEPLOY / "Dockerfile") -> dict[str, str]:
    """Paths the final stage copies from the build context: image path -> repository path
    (a directory maps to a directory)."""
    files: dict[str, str] = {}
    workdir = PurePosixPath("/")
    for ins in dockerfile_stages(path)[-1]:
        if ins.keyword == "WORKDIR":
            workdir = workdir / ins.args
        elif ins.keyword == "COPY":
            sources, dest, flags = copy_sources_and_dest(ins.args)
            if "from" in flags:
                continue
            target = workdir / dest
            for source in sources:
                if dest.endswith("/") or len(sources) > 1:
                    files[str(target / PurePosixPath(source).name)] = source
                else:
                    files[str(target)] = source
    return files


# -- systemd -------------------------------------------------------------------


def unit_file(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file as lists of (key, value), repeated keys kept in order, as
    systemd reads them (comments start with # or ;, a trailing backslash continues)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    logical = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not logical and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        line, logical = logical + line, ""
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, [])
            continue
        assert current is not None, f"{path}:{number}: a setting outside any section"
        key, sep, value = line.partition("=")
        assert sep, f"{path}:{number}: not KEY=VALUE: {line!r}"
        sections[current].append((key.strip(), value.strip()))
    return sections


def unit_values(unit: dict, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def unit_value(unit: dict, section: str, key: str) -> str | None:
    """The value that counts (the last one), None if not set."""
    values = unit_values(unit, section, key)
    return values[-1] if values else None


def exec_argv(value: str) -> list[str]:
    """The argv of an Exec*= line, without systemd's prefixes (-, @, +, !, :)."""
    argv = shlex.split(value)
    argv[0] = argv[0].lstrip("-@+!:")
    return argv


def environment_file(path: Path) -> dict[str, str]:
    """An EnvironmentFile: KEY=VALUE lines, # or ; comments, optional quotes."""
    env = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()), f"{path}:{number}: {line!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


# -- commands --------------------------------------------------------------------


def parse_cli(argv: list[str]) -> argparse.Namespace:
    """argv (authz first) parsed by the application's own command-line parser."""
    from authz.cli import build_parser

    assert PurePosixPath(argv[0]).name == "authz", f"not an authz command: {argv}"
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit as exc:  # argparse reports on stderr and exits 2
        raise AssertionError(f"the authz CLI refuses {argv[1:]} (exit {exc.code})") from None


def command_name(args: argparse.Namespace) -> str:
    """ "notify deliver", "serve", ...: the subcommand path argparse chose."""
    words = [args.command]
    for key, value in vars(args).items():
        if key.endswith("_command") and isinstance(value, str):
            words.append(value)
    return " ".join(words)


_SHELLS = {"sh", "bash", "dash"}
_SEPARATORS = {";", "&&", "||", "|", "&", "(", ")"}
_REDIRECTS = {">", ">>", "<", ">&", "<&", "&>", ">|"}
_KEYWORDS = {"do", "done", "then", "else", "elif", "fi", "while", "until", "if", "for", "!", "{", "}"}


def shell_commands(script: str, substitutions: Mapping[str, str] = {}) -> list[list[str]]:
    """The simple commands of a small shell script, as argv lists (separators, control
    keywords and redirections removed). SUBSTITUTIONS replace text before parsing."""
    for old, new in substitutions.items():
        script = script.replace(old, new)
    commands: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        tokens = list(lexer)
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token in _SEPARATORS:
                commands.append(current)
                current = []
            elif token in _REDIRECTS:
                if current and current[-1].isdigit():
                    current.pop()  # the file descriptor of 2>...
                i += 1  # and the target
            elif not current and token in _KEYWORDS:
                pass
            else:
                current.append(token)
            i += 1
        commands.append(current)
    return [c for c in commands if c]


def authz_commands(argv: list[str], substitutions: Mapping[str, str] = {}) -> list[list[str]]:
    """The authz commands an argv runs: itself, or those of an `sh -c SCRIPT`."""
    name = PurePosixPath(argv[0]).name
    if name == "authz":
        return [argv]
    if name in _SHELLS and len(argv) >= 3 and argv[1] == "-c":
        return [c for c in shell_commands(argv[2], substitutions) if PurePosixPath(c[0]).name == "authz"]
    return []


# -- settings the application reads ----------------------------------------------


class RecordingEnv(dict):
    """An empty environment that notes every name looked up in it."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def get(self, key, default=None):
        self.names.add(key)
        return default

    def __getitem__(self, key):
        self.names.add(key)
        raise KeyError(key)

    def __contains__(self, key):
        self.names.add(key)
        return False


def settings_env_names() -> set[str]:
    """Names Settings.from_env (authz/config.py) reads."""
    from authz.config import Settings

    env = RecordingEnv()
    Settings.from_env(env)
    return env.names


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _constant_str(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def environ_names(source: str) -> set[str]:
    """String literals looked up in os.environ (get, [], in, pop, setdefault) or os.getenv."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        name = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in {"get", "pop", "setdefault"}
                and _is_environ(func.value)
            ) or (isinstance(func, ast.Attribute) and func.attr == "getenv"):
                name = _constant_str(node.args[0])
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            name = _constant_str(node.slice)
        elif (
            isinstance(node, ast.Compare)
            and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops)
            and any(_is_environ(c) for c in node.comparators)
        ):
            name = _constant_str(node.left)
        if name:
            names.add(name)
    return names


def application_sources() -> Iterator[Path]:
    """The application's Python files (not tests, benchmarks or the venv) and the gunicorn
    configuration in deploy/."""
    skip = {"tests", "bench", "deploy", "build", "policies", "var"}
    for top in sorted(REPO.iterdir()):
        if top.is_dir() and not (top.name in skip or top.name.startswith(".") or top.name.endswith(".egg-info")):
            yield from sorted(top.rglob("*.py"))
    yield DEPLOY / "gunicorn.conf.py"


@functools.cache
def application_env_names() -> frozenset[str]:
    """Every environment variable the application reads: Settings.from_env, plus those the
    code looks up itself (gunicorn.conf.py's HOST, PORT, ...; AUTHZ_GUNICORN_CONF, ...)."""
    names = settings_env_names()
    for path in application_sources():
        names |= environ_names(path.read_text(encoding="utf-8"))
    return frozenset(names)
