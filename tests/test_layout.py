"""The import contract: each stage imports only the stages before it, and the front end never TensorFlow.

    errors, limits -> catalogue -> syntax -> ir -> semantics -> checks -> pipeline -> passes -> data -> backends
        -> training -> cli
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SPECS

PKG = ROOT / "rnndsl"
# Each layer may import itself and the layers before it, never one after it.
LAYERS = ["errors", "limits", "catalogue", "syntax", "ir", "semantics", "checks", "pipeline", "passes", "data", "backends",
          "lsp", "serve", "training", "cli"]
FRONT_END = ["errors", "limits", "catalogue", "syntax", "ir", "semantics", "checks", "pipeline", "passes"]
HEAVY = ("tensorflow", "keras", "matplotlib")


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        out.append((name, path))
    return out


def _imports(module: str, path: Path) -> list[str]:
    """Absolute names of the modules a file imports (top level and inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                found.append(".".join(base + ([node.module] if node.module else [])))
            else:
                found.append(node.module or "")
    return found


def test_every_stage_has_its_folder() -> None:
    for layer in LAYERS:
        assert (PKG / layer).is_dir() or (PKG / f"{layer}.py").is_file(), layer


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_imports_go_only_backwards(module: str, path: Path) -> None:
    mine = _layer(module)
    if mine not in LAYERS:
        return  # rnndsl/__init__.py and __main__.py are the public entry points
    rank = LAYERS.index(mine)
    for imported in _imports(module, path):
        if imported.split(".")[0] in HEAVY:
            assert mine in ("backends", "training", "cli"), f"{module} imports {imported}"
            if mine == "cli":  # only inside a function, after the spec was checked
                assert imported not in _top_level(path), f"{module} imports {imported} at import time"
        if not imported.startswith("rnndsl"):
            continue
        other = _layer(imported)
        if other in LAYERS:
            assert LAYERS.index(other) <= rank, f"{module} ({mine}) imports {imported} ({other}), a later stage"


def _top_level(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_front_end_never_imports_a_backend_or_training() -> None:
    for module, path in _modules():
        if _layer(module) in FRONT_END:
            bad = [i for i in _imports(module, path) if i.startswith(("rnndsl.backends", "rnndsl.training"))]
            assert not bad, f"{module} imports {bad}"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_importing_the_whole_front_end_loads_no_tensorflow() -> None:
    mods = [m for m, _ in _modules() if _layer(m) in FRONT_END or m == "rnndsl.backends.dot"
            or m.startswith("rnndsl.backends.dot.")]
    code = ("import sys, importlib\n"
            f"for m in {mods!r}: importlib.import_module(m)\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]\n"
            "assert not bad, bad\n")
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr


def test_check_and_render_never_import_tensorflow(tmp_path: Path) -> None:
    specs = [str(p) for p in SPECS]
    code = ("import sys; from rnndsl.cli import main\n"
            f"assert main(['check', '-q', *{specs!r}]) == 0\n"
            f"assert main(['render', {specs[0]!r}, '-o', {str(tmp_path / 'a.dot')!r}]) == 0\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}]\n"
            "assert not bad, bad\n")
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
