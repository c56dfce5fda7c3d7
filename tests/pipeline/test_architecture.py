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
