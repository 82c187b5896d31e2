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


# ---- the unrolled view's geometry: lanes, routed edges, labels, windows -----------------------
_NODE = re.compile(r'^\s*"([^"]+)" \[(.*)\];$', re.M)
_EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$', re.M)


def _attr(attrs: str, key: str) -> str | None:
    m = re.search(rf'(?:^|, ){key}="((?:[^"\\]|\\.)*)"', attrs)
    return m.group(1) if m else None


def _boxes(dot: str) -> dict[str, tuple[float, float, float, float]]:
    """Node id -> (x, y, half width, half height) of every sized node (lane boxes, inits, values)."""
    out = {}
    for name, attrs in _NODE.findall(dot):
        pos, w, h = _attr(attrs, "pos"), _attr(attrs, "width"), _attr(attrs, "height")
        if pos and w and h:
            x, y = (float(v) for v in pos.rstrip("!").split(","))
            out[name] = (x, y, float(w) * 36, float(h) * 36)
    return out


def _curve_points(pos: str, n: int = 24) -> list[tuple[float, float]]:
    """Points along an edge's `pos` (cubic Bezier segments after an optional e,x,y)."""
    pts = [tuple(float(v) for v in p.split(",")) for p in pos.split() if not p.startswith(("e,", "s,"))]
    out = []
    for i in range(0, len(pts) - 3, 3):
        p0, p1, p2, p3 = pts[i:i + 4]
        for k in range(n + 1):
            u = k / n
            v = 1 - u
            out.append((v ** 3 * p0[0] + 3 * v * v * u * p1[0] + 3 * v * u * u * p2[0] + u ** 3 * p3[0],
                        v ** 3 * p0[1] + 3 * v * v * u * p1[1] + 3 * v * u * u * p2[1] + u ** 3 * p3[1]))
    return out


def _edges_through_boxes(dot: str) -> list[tuple[str, str, str]]:
    """Edges that pass through the box of a node that is neither of their ends."""
    boxes = _boxes(dot)
    bad = []
    for src, dst, attrs in _EDGE.findall(dot):
        pos = _attr(attrs, "pos")
        assert pos, f"{src} -> {dst} has no routed pos"
        for x, y in _curve_points(pos):
            hit = next((n for n, (bx, by, hw, hh) in boxes.items()
                        if n not in (src, dst) and abs(x - bx) < hw - 1 and abs(y - by) < hh - 1), None)
            if hit:
                bad.append((src, dst, hit))
                break
    return bad


def _dilated(steps: int) -> str:
    text = (ROOT / "specs" / "patterns" / "dilated.rnn").read_text()
    return text.replace("steps 28", f"steps {steps}").replace("image | row | flatten", "image | flatten | dense(28)")


def test_lanes_are_stacked_so_each_stream_sits_above_what_it_reads() -> None:
    from rnndsl.backends.dot import lane_order

    assert lane_order(compile_text((ROOT / "specs" / "patterns" / "dilated.rnn").read_text())) == ["h3", "h2", "h1", "x"]
    gated = lane_order(compile_text((ROOT / "specs" / "patterns" / "gated_feedback.rnn").read_text()))
    assert gated[-1] == "x" and gated.index("h2") < gated.index("h1")  # inputs at the bottom, h2 above h1
    assert gated.index("prev") == gated.index("g11") + 1  # read only through t-1: just below its first reader
    boxes = _boxes(emit_dot(compile_text((ROOT / "specs" / "patterns" / "dilated.rnn").read_text())))
    assert boxes["h1@0"][1] - boxes["x@0"][1] == boxes["h2@0"][1] - boxes["h1@0"][1] == 78  # adjacent rows


@pytest.mark.parametrize("name,steps", [("gated_feedback", 6), ("convlstm", None), ("peephole_lstm", 4),
                                        ("dilated", 8), ("attention", 6), ("lstmn", 6), ("higher_order", None)])
def test_no_edge_runs_through_a_box_it_does_not_connect(name: str, steps: int | None) -> None:
    dot = emit_dot(compile_text((ROOT / "specs" / "patterns" / f"{name}.rnn").read_text()), max_steps=steps)
    assert _edges_through_boxes(dot) == []


def test_long_lags_bow_out_of_the_lane_at_any_length() -> None:
    # --steps 8 of 1,000 steps: lag-2 and lag-4 edges curve around the boxes between, none straight
    dot = emit_dot(compile_text(_dilated(1000)), max_steps=8)
    assert "splines" not in dot and 'layout="nop2"' in dot  # no routing left to Graphviz, no size threshold
    boxes = _boxes(dot)
    lagged = [(s, d, _attr(a, "pos")) for s, d, a in _EDGE.findall(dot) if f'color="{EDGE_STYLE["lag-k"][0]}"' in a]
    assert len(lagged) > 10
    for src, dst, pos in lagged:
        lane_y = boxes[dst][1]
        assert max(abs(y - lane_y) for _, y in _curve_points(pos)) > boxes[dst][3], (src, dst)
    assert _edges_through_boxes(dot) == []


def test_a_crossed_lag_k_read_has_its_own_style() -> None:
    from rnndsl.backends.dot import CROSS_LAG_K

    text = ("model m\ndata mnist\nsteps 5\nx[t] = image | row | flatten\n"
            "a[t] = tanh(dense(x[t], 8) + dense(b[t-2], 8) + dense(a[t-2], 8))\n"
            "b[t] = tanh(dense(x[t], 8) + dense(a[t-1], 8))\nout = b[last] | dense(10)\n")
    dot = emit_dot(compile_text(text))
    crossed, same = _edges_of_kind(dot, CROSS_LAG_K), _edges_of_kind(dot, "lag-k")
    assert ("b@1", "a@3") in crossed and ("a@1", "a@3") in same
    assert all(s.startswith("b@") for s, _ in crossed) and all(s.startswith("a@") for s, _ in same)
    assert EDGE_STYLE[CROSS_LAG_K][0] not in (EDGE_STYLE["lag-k"][0], EDGE_STYLE["cross"][0])
    assert EDGE_STYLE[CROSS_LAG_K][1] == "dashed" and 'label="t-2\\ndense 8"' in dot
    assert "crossed between streams, t-k" in dot and "same stream, t-k" in dot  # the legend says which is which
    folded = emit_dot(compile_text(text), view="folded")
    assert _edges_of_kind(folded, CROSS_LAG_K) == [("b", "a")] and _edges_of_kind(folded, "lag-k") == [("a", "a")]


@pytest.mark.parametrize("name", ["convlstm", "peephole_lstm", "gated_feedback"])
def test_labels_overlap_no_node_and_no_other_label(name: str) -> None:
    from rnndsl.backends.dot.geometry import text_size

    dot = emit_dot(compile_text((ROOT / "specs" / "patterns" / f"{name}.rnn").read_text()), max_steps=4)
    boxes = list(_boxes(dot).values())
    labels = []
    for _, _, attrs in _EDGE.findall(dot):
        label, lp = _attr(attrs, "label"), _attr(attrs, "lp")
        if label:
            assert lp, "a label without a placed spot"
            w, h = text_size(label, 9)
            x, y = (float(v) for v in lp.split(","))
            labels.append((x, y, w / 2, h / 2))
    assert labels
    for i, (x, y, hw, hh) in enumerate(labels):
        assert not any(abs(x - bx) < hw + bhw and abs(y - by) < hh + bhh for bx, by, bhw, bhh in boxes)
        assert not any(abs(x - ox) < hw + ohw and abs(y - oy) < hh + ohh for ox, oy, ohw, ohh in labels[i + 1:])


def test_each_read_is_labelled_once() -> None:
    dot = emit_dot(compile_text((ROOT / "specs" / "patterns" / "attention.rnn").read_text()), max_steps=6)
    assert dot.count('label="dense 32"') == 1 and dot.count('label="gru(64)"') == 2  # x -> h and h[t-1] -> h
    assert dot.count('label="row > flatten"') == 1
    dot = emit_dot(compile_text((ROOT / "specs" / "patterns" / "dilated.rnn").read_text()))
    assert dot.count('label="t-4\\ndense 64"') == 1 and dot.count('label="dense 64"') == 4  # x, h1[t-1], h1, h2
    # labelled at the latest step drawn before the ...
    dot = emit_dot(compile_text((ROOT / "specs" / "patterns" / "dilated.rnn").read_text()), max_steps=8)
    assert re.search(r'"h2@3" -> "h2@5" \[[^\]]*label="t-2', dot) is None
    assert re.search(r'"h2@5" -> "h2@7" \[[^\]]*label="t-2', dot)


def test_the_head_table_shows_arithmetic_with_numbers_and_params() -> None:
    text = ("model m\ndata mnist\nsteps 3\nx[t] = image | row | flatten\nparam b: (10,) init=zeros\n"
            "h[t] = tanh(dense(x[t], 8) + dense(h[t-1], 8))\nout = (-(h[last] * 0.5) / 2 | dense(10)) + b | softmax\n")
    for view in ("unrolled", "folded"):
        dot = emit_dot(compile_text(text), view=view)
        rows = re.findall(r'<td align="left">([^<]*)</td>', dot.split('"out" [', 1)[1].split("\n", 1)[0])
        assert rows == ["\u00d7 0.5", "negate", "\u00f7 2", "dense 10", "+ param b", "softmax"], (view, rows)


def test_window_draws_only_its_steps_with_stubs_for_reads_from_outside() -> None:
    checked = compile_text(_dilated(1000))
    dot = emit_dot(checked, window=(500, 506))
    for s in ("x", "h1", "h2", "h3"):
        assert f'"{s}@500"' in dot and f'"{s}@506"' in dot and f'"{s}@499"' not in dot and f'"{s}@507"' not in dot
        assert f'"{s}@..." [' in dot and f'"{s}@later" [' in dot
    # t-4 at steps 500..503 comes from before the window, t-4 at 504 from 500; the head reads h3[last]
    assert sorted(_edges_of_kind(dot, "lag-k"))[:3] == [("h2@...", "h2@500"), ("h2@...", "h2@501"), ("h2@500", "h2@502")]
    assert ('"h3@..." -> "h3@503"' in dot and '"h3@500" -> "h3@504"' in dot and '"h3@later" -> "out"' in dot)
    assert "steps 500..506 drawn" in dot and '"step 499"' not in dot and "t &lt; 500" not in dot and '"t < 500"' in dot
    assert len(re.findall(r'^\s*"h1@\d+" \[', dot, flags=re.M)) == 7
    assert _edges_through_boxes(dot) == []
    with pytest.raises(ValueError):
        emit_dot(checked, window=(990, 1000))
    with pytest.raises(ValueError):
        emit_dot(checked, window=(1, 2), max_steps=3)


def test_window_option_of_the_cli(tmp_path: Path, capsys) -> None:
    from rnndsl.backends.dot import parse_window

    assert parse_window("3..7", 28) == (3, 7) and parse_window("20..last", 28) == (20, 27)
    assert parse_window("0..last-25", 28) == (0, 2)
    spec = tmp_path / "d.rnn"
    spec.write_text(_dilated(1000))
    assert main(["render", str(spec), "--window", "995..last", "-o", str(tmp_path / "w.dot")]) == 0
    text = (tmp_path / "w.dot").read_text()
    assert '"h1@995"' in text and '"h1@999"' in text and '"h1@994"' not in text and '"h1@later"' not in text
    assert main(["render", str(spec), "--window", "995..1000"]) == 2
    assert "0 <= A <= B <= 999" in capsys.readouterr().err
    assert main(["render", str(spec), "--window", "5..9", "--steps", "3"]) == 2
    assert main(["render", str(spec), "--window", "nine"]) == 2


@needs_dot
def test_a_window_renders(tmp_path: Path) -> None:
    spec = tmp_path / "d.rnn"
    spec.write_text(_dilated(1000))
    out = tmp_path / "w.svg"
    assert main(["render", str(spec), "--window", "500..505", "-o", str(out)]) == 0
    titles = [el.text for el in ET.parse(out).getroot().iter("{http://www.w3.org/2000/svg}title")]
    assert "h3@500" in titles and "h3@..." in titles and "h3@later" in titles and "h3@499" not in titles
