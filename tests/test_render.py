"""Diagrams: golden DOT for every spec in both views, SVG that parses, edge kinds that match the IR."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import ALL_SPECS, ROOT, spec_id
from rnndsl import load
from rnndsl.cli import main
from rnndsl.backends.dot import EDGE_STYLE, emit_dot
from rnndsl.pipeline import compile_text

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz `dot` is not installed (the README commands install it)")


@pytest.mark.parametrize("view", ["unrolled", "folded"])
@pytest.mark.parametrize("path", ALL_SPECS, ids=[spec_id(p) for p in ALL_SPECS])
def test_golden_dot(path: Path, view: str, golden) -> None:
    checked = compile_text(path.read_text())
    dot = emit_dot(checked, view=view)
    assert dot == emit_dot(compile_text(path.read_text()), view=view), "DOT must be byte-identical run to run"
    golden(ROOT / "tests" / "golden" / "dot" / f"{spec_id(path).replace('/', '__')}.{view}.dot", dot)


def _edges_of_kind(dot: str, kind: str) -> list[tuple[str, str]]:
    color = EDGE_STYLE[kind][0]
    return re.findall(rf'^\s*"([^"]+)" -> "([^"]+)" \[color="{color}"', dot, flags=re.M)


def test_zigzag_dot_crosses_at_the_steps_of_the_spec() -> None:
    dot = emit_dot(compile_text((ROOT / "specs" / "zigzag.rnn").read_text()))
    assert sorted(_edges_of_kind(dot, "cross")) == [
        ("a@0", "b@1"), ("a@1", "b@2"), ("a@2", "b@3"), ("b@0", "a@1"), ("b@1", "a@2"), ("b@2", "a@3")]
    assert sorted(_edges_of_kind(dot, "same")) == [("a@init", "a@0"), ("b@init", "b@0")]


def test_mix_dot_alternates() -> None:
    dot = emit_dot(compile_text((ROOT / "specs" / "mix.rnn").read_text()))
    assert sorted({dst.split("@")[1] for _, dst in _edges_of_kind(dot, "cross")}) == ["1", "3"]
    assert sorted({dst.split("@")[1] for _, dst in _edges_of_kind(dot, "same")}) == ["0", "2"]


def test_lag2_dot_has_the_lag_two_edges() -> None:
    dot = emit_dot(compile_text((ROOT / "specs" / "lag2.rnn").read_text()))
    assert sorted(_edges_of_kind(dot, "lag-k")) == [("s@0", "s@2"), ("s@1", "s@3"), ("s@init", "s@0"), ("s@init", "s@1")]
    assert 'label="t-2\\nH2"' in dot


def test_steps_option_elides_the_middle() -> None:
    text = (ROOT / "specs" / "patterns" / "dilated.rnn").read_text().replace("steps 28", "steps 1000") \
        .replace("image | row | flatten", "image | flatten | dense(28)")
    dot = emit_dot(compile_text(text), max_steps=5)
    assert '"h1@4"' in dot and '"h1@999"' in dot and '"h1@5"' not in dot and '"h1@..."' in dot


@needs_dot
@pytest.mark.parametrize("path", ALL_SPECS, ids=[spec_id(p) for p in ALL_SPECS])
def test_svg_parses_and_has_one_node_per_stream_step(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.svg"
    assert main(["render", str(path), "-o", str(out)]) == 0
    root = ET.parse(out).getroot()
    titles = [el.text for el in root.iter("{http://www.w3.org/2000/svg}title")]
    checked = compile_text(path.read_text())
    p = checked.program
    for s in p.streams:
        for t in range(p.steps):
            assert titles.count(f"{s}@{t}") == 1, (s, t)


@needs_dot
@pytest.mark.parametrize("fmt", ["png", "pdf", "svg", "dot"])
def test_formats_by_suffix_and_flag(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"zz.{fmt}"
    assert main(["render", str(ROOT / "specs" / "zigzag.rnn"), "--view", "folded", "-o", str(out)]) == 0
    head = out.read_bytes()[:8]
    assert {"png": head.startswith(b"\x89PNG"), "pdf": head.startswith(b"%PDF"),
            "svg": b"<" in head, "dot": head.startswith(b"digraph")}[fmt]


def test_dot_to_stdout_without_output(capsys) -> None:
    assert main(["render", str(ROOT / "specs" / "vanilla.rnn"), "--shapes"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "vanilla"') and "(28, 28, 5)" in out


def test_image_format_without_dot_says_how_to_install(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on PATH
    assert main(["render", str(ROOT / "specs" / "vanilla.rnn"), "-o", str(tmp_path / "x.svg")]) == 2
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert main(["render", str(ROOT / "specs" / "vanilla.rnn"), "-o", str(tmp_path / "x.dot")]) == 0


@needs_dot
def test_notebook_object_shows_svg() -> None:
    spec = load(ROOT / "specs" / "zigzag.rnn")
    svg = spec._repr_svg_()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg
    assert "762,816" in repr(spec)


def test_a_sequence_input_is_drawn_as_a_lane_of_steps() -> None:
    from rnndsl.backends.dot import emit_dot
    from rnndsl.pipeline import compile_text

    text = "model s\ninput x[t]: (3,)\ntarget y: class(2)\nh[t] = gru(x[t], 4)\ny = h[last] | dense(2)\n"
    dot = emit_dot(compile_text(text))
    assert '"x@0" -> "h@0"' in dot and '"x@3" -> "h@3"' in dot and '"x" ->' not in dot
    assert "steps from the data (drawn at 4)" in dot
