"""portal.domain stays pure: standard library and Babel only, and no floats."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "portal" / "domain"
ALLOWED = set(sys.stdlib_module_names) | {"babel", "portal"}


def modules() -> list[Path]:
    found = sorted(DOMAIN.glob("*.py"))
    assert len(found) > 5
    return found


def test_imports_only_stdlib_babel_and_the_domain_itself() -> None:
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: use absolute imports"
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] in ALLOWED, f"{path.name} imports {name}"
                if name.startswith("portal"):
                    assert name.startswith("portal.domain"), f"{path.name} imports {name}"


# The one place floats may appear: the IRR's starting point, which only seeds Decimal
# Newton steps (see its docstring); no float value ever reaches a result.
FLOAT_SEED = ("rates.py", "_binary_root")


def _float_free_nodes(path: Path) -> list[ast.AST]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (path.name, node.name) == FLOAT_SEED:
            exempt.update(id(inner) for inner in ast.walk(node))
    return [node for node in ast.walk(tree) if id(node) not in exempt]


def test_the_float_seed_exemption_names_a_real_function() -> None:
    source = (DOMAIN / FLOAT_SEED[0]).read_text(encoding="utf-8")
    assert f"def {FLOAT_SEED[1]}(" in source


def test_no_float_literals_or_conversions() -> None:
    for path in modules():
        for node in _float_free_nodes(path):
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), (
                f"{path.name}:{node.lineno} float literal"
            )
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "float", f"{path.name}:{node.lineno} float()"


def test_module_sizes_stay_reviewable() -> None:
    for path in modules():
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path.name
