"""The layers of docs/architecture.md, read from the imports: no module imports from a higher layer, and no two
modules import each other (directly or round a loop), local imports inside functions included. Imports under
`if TYPE_CHECKING:` are annotations only and are left out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (layer, package or module prefix); the longest matching prefix decides.
LAYERS = (
    (0, "generators"),
    (1, "ood_fixtures"),  # the package's __init__ only
    (1, "ood_fixtures.images"),
    (1, "ood_fixtures.stats"),
    (1, "ood_fixtures.adapters"),
    (2, "ood_fixtures.catalog"),
    (3, "ood_fixtures.gating"),
    (4, "ood_fixtures.evaluation"),
    (5, "ood_fixtures.store"),
    (6, "ood_fixtures.reports"),
    (7, "ood_fixtures.plugin"),
    (8, "ood_fixtures.tools"),
    (8, "ood_fixtures.training"),
    (8, "ood_fixtures.__main__"),
    (8, "ood_fixtures.api"),
    (8, "ood_fixtures.cli"),
)
OURS = ("generators", "ood_fixtures")


def layer(module: str) -> int:
    matches = [(len(prefix), level) for level, prefix in LAYERS if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} is in no layer: add it to LAYERS and to docs/architecture.md"
    return max(matches)[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports inside `if TYPE_CHECKING:` blocks."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for inner in ast.walk(child):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        lines.add(inner.lineno)
    return lines


def imports(path: Path, known: set[str]) -> set[str]:
    """Our modules that `path` imports at run time (`from package import module` resolves to the module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    found = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name.split(".")[0] in OURS:
                found.add(name)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for package in OURS for p in (ROOT / package).rglob("*.py")}
    known = set(files)
    return {name: imports(path, known) - {name} for name, path in files.items()}


def test_no_module_imports_from_a_higher_layer(graph):
    upward = sorted(f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
                    for module, targets in graph.items() for target in targets
                    if layer(target) > layer(module) and not module.startswith(target + "."))  # fmt: skip
    assert not upward, "\n".join(upward)


def test_no_import_cycle(graph):
    # A package's __init__ importing its own modules (and they it) is how a package exposes its names, not a loop.
    def edges(module: str) -> set[str]:
        return {t for t in graph[module] if not module.startswith(t + ".") and not t.startswith(module + ".")}

    cycles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append(" -> ".join(path[path.index(module):] + [module]))
            return
        if module in done:
            return
        for target in sorted(edges(module)):
            visit(target, path + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert not cycles, "\n".join(sorted(set(cycles)))
