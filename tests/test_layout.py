"""The import contract: each stage imports only the stages before it, and the front end never TensorFlow.

    version, errors, limits, fileio -> catalogue -> syntax -> ir -> semantics -> checks -> pipeline -> passes -> data -> backends
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
LAYERS = ["version", "errors", "limits", "fileio", "catalogue", "syntax", "ir", "semantics", "checks", "pipeline", "passes", "data", "backends",
          "lsp", "serve", "training", "cli"]
FRONT_END = ["version", "errors", "limits", "fileio", "catalogue", "syntax", "ir", "semantics", "checks", "pipeline", "passes"]
HEAVY = ("tensorflow", "keras", "matplotlib")


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _modules(pkg: Path = PKG) -> list[tuple[str, Path]]:
    out = []
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg.parent).with_suffix("")
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


def _import_graph(pkg: Path = PKG) -> "nx.DiGraph":
    """Module -> module it imports, over a package (top level and inside functions; `from . import x` is module x)."""
    import networkx as nx

    names = {m for m, _ in _modules(pkg)}
    g = nx.DiGraph()
    for module, path in _modules(pkg):
        g.add_node(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in names else base for a in node.names]
            else:
                continue
            g.add_edges_from((module, t) for t in targets if t in names and t != module)
    return g


def _cycles(pkg: Path = PKG) -> list[list[str]]:
    import networkx as nx

    return list(nx.simple_cycles(_import_graph(pkg), length_bound=8))


def test_no_import_cycle_anywhere() -> None:
    assert _import_graph().number_of_edges() > 100  # (the graph is really built)
    cycles = _cycles()
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + c[:1]) for c in cycles[:5])


def test_the_cycle_test_finds_a_cycle_closed_inside_a_function(tmp_path: Path) -> None:
    # two modules that import each other, one of them only inside a function (as emit.py and looped.py did)
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .a import f\n")
    (pkg / "sub" / "a.py").write_text("from . import b\n\ndef f():\n    return b.g()\n")
    (pkg / "sub" / "b.py").write_text("def g():\n    from .a import f\n    return f\n")
    assert _cycles(pkg) and {"pkg.sub.a", "pkg.sub.b"} == set(_cycles(pkg)[0])
    (pkg / "sub" / "b.py").write_text("def g():\n    return 1\n")
    assert not _cycles(pkg)


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


def test_binding_data_to_a_spec_loads_no_tensorflow() -> None:
    # compile reads and checks the data, and binds it to the spec, before it imports TensorFlow
    code = ("import sys, numpy as np\n"
            "from rnndsl.training.binding import bind\n"
            "from rnndsl.data import read\n"
            "from rnndsl.pipeline import analyse\n"
            f"text = open({str(ROOT / 'specs' / 'sequences' / 'italy_power.rnn')!r}).read()\n"
            "checked = analyse(text).checked\n"
            f"data = read({str(ROOT / 'data' / 'ItalyPowerDemand' / 'ItalyPowerDemand_TRAIN.ts')!r})\n"
            "bindings, _ = bind(checked.program, data, dict(checked.shapes))\n"
            "assert analyse(text, bindings).checked.program.steps == 24\n"
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
