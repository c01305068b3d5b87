"""The layout holds: every package says what it owns and what it may import,
and no module reaches into another's private names. (Who may import whom is
checked by `lint-imports`, from pyproject.toml.)"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("authz", "api", "models")
PACKAGES = sorted(p.parent for top in OURS for p in (ROOT / top).rglob("__init__.py") if "migrations" not in p.parts)
MODULES = sorted(p for top in OURS for p in (ROOT / top).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_package_says_what_it_owns_and_may_import(package):
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    assert len(doc) > 80, f"{package}: the __init__ docstring should say what the package owns"
    assert "import" in doc.lower(), f"{package}: the docstring should say what the package may import"


def _ours(module: str) -> bool:
    return module.split(".")[0] in OURS


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_is_imported_from_another_module(path):
    tree = ast.parse(path.read_text())
    modules = {}  # local name -> one of our modules, imported whole
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and _ours(node.module):
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            assert not private, f"{path.name} imports {private} from {node.module}"
            for alias in node.names:
                modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(alias.name):
                    modules[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            pytest.fail(f"{path.name}:{node.lineno} reads {node.value.id}.{node.attr}")
