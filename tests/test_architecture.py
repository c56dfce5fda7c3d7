"""pipeline/ is plain Python: bytes in, dataclasses out, no Django anywhere."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PIPELINE = Path(__file__).resolve().parents[2] / "pipeline"


def test_no_pipeline_module_imports_django_or_reviewapp() -> None:
    offenders = []
    for source in PIPELINE.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{source.relative_to(PIPELINE.parent)}: {name}"
                for name in names
                if name.split(".")[0] in {"django", "reviewapp", "rest_framework"}
            ]
    assert offenders == []


def test_importing_the_whole_pipeline_loads_no_django() -> None:
    modules = sorted(
        ".".join(path.relative_to(PIPELINE.parent).with_suffix("").parts)
        for path in PIPELINE.rglob("*.py")
        if path.name != "__init__.py"
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'reviewapp'))\n"
        "print(leaked)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PIPELINE.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


REVIEWAPP = PIPELINE.parent / "reviewapp"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PIPELINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported_modules(source: Path, known: set[str]) -> set[str]:
    """The reviewapp modules `source` imports anywhere (inside functions too,
    where a cycle likes to hide), except under `if TYPE_CHECKING:`."""
    tree = ast.parse(source.read_text(), filename=str(source))
    skipped = {
        id(inner)
        for block in ast.walk(tree)
        if _is_type_checking_block(block)
        for inner in ast.walk(block)
    }
    package = _module_name(source)
    if source.name != "__init__.py":
        package = package.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in known else base)
    resolved = set()
    for target in targets:
        # Importing a.b.c runs a/__init__ and a/b/__init__ first.
        parts = target.split(".")
        for end in range(2, len(parts) + 1):
            name = ".".join(parts[:end])
            if name in known:
                resolved.add(name)
    return resolved


def reviewapp_import_cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    sources = {
        _module_name(path): path
        for path in REVIEWAPP.rglob("*.py")
        if "migrations" not in path.parts
    }
    known = set(sources)
    graph = {
        name: _imported_modules(path, known) - {name} for name, path in sources.items()
    }
    # A package's __init__ importing its own submodules (models/) is how Django
    # finds them, not a dependency of the package on itself.
    for name in graph:
        graph[name] = {
            target
            for target in graph[name]
            if not (target.startswith(name + ".") or name.startswith(target + "."))
        }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_reviewapp_has_no_import_cycle() -> None:
    assert reviewapp_import_cycles() == []


def test_the_cycle_check_finds_a_cycle(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "reviewapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("from reviewapp import second\n")
    (package / "second.py").write_text(
        "def later():\n    from reviewapp.first import thing\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PIPELINE", tmp_path / "pipeline")
    monkeypatch.setattr(sys.modules[__name__], "REVIEWAPP", package)
    assert reviewapp_import_cycles() == [["reviewapp.first", "reviewapp.second"]]
