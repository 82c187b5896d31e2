"""Checked IR -> Graphviz DOT text, in two views.

* unrolled: one column per step, one swim-lane per stream, lanes ordered bottom-up so that each
  stream sits just above what it reads at the same step (inputs at the bottom); the values that
  feed the streams on the left, the head as one table node on the right.  Every node is pinned
  and every edge carries its own curve (see geometry.py): edges bow around the nodes they would
  cross, and each read is labelled once.
* folded: one node per stream and value; recurrent reads are loops labelled t-1, t-2, ...,
  with the guards they hold under.

Layer applications inside an equation are folded into the edge labels (named layers by
name, inline ones by kind).  Specs without streams are drawn as a layer-level dataflow.
Every node and edge carries a `tooltip` (`h[3]: stream, shape (64,)`, `h[2] -> h[3]: same
stream, t-1`), which Graphviz keeps in the SVG: the playground shows it on hover.
The text is built by hand in a fixed order, so the same spec gives byte-identical DOT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

import networkx as nx

from ...catalogue import KINDS, Category, fmt_shape
from ...checks import Checked
from ...ir import INIT, EdgeKind, Fixed, Lag, Range, ReadForm, Role
from ...ir.dump import steps_text
from .geometry import Box, Canvas, pos_text, text_size

__all__ = ["emit_dot", "Read", "value_reads", "EDGE_STYLE", "CROSS_LAG_K", "style_of"]

CROSS_LAG_K = "cross-lag-k"  # a lag-k read of another stream: a style of its own, not an EdgeKind

# colour, style, pen width, and a word for the legend (keys: EdgeKind values and CROSS_LAG_K)
EDGE_STYLE: dict[str, tuple[str, str, str, str]] = {
    EdgeKind.FEED: ("#555555", "solid", "1.0", "feed (same step)"),
    EdgeKind.SAME: ("#1f5fbf", "solid", "2.0", "same stream, t-1"),
    EdgeKind.CROSS: ("#d62728", "bold", "2.6", "crossed between streams, t-1"),
    EdgeKind.LAG_K: ("#8e44ad", "dashed", "2.0", "same stream, t-k (k >= 2)"),
    CROSS_LAG_K: ("#b0122b", "dashed", "2.4", "crossed between streams, t-k (k >= 2)"),
    EdgeKind.REVERSED: ("#2a9d4b", "dashed", "2.0", "reversed time (t+k)"),
    EdgeKind.FIXED: ("#d35400", "dashed", "1.6", "one fixed step ([3], [last]) at every step"),
    EdgeKind.WINDOW: ("#138d75", "solid", "1.2", "a range of steps ([lo..hi]), reduced"),
}
_STYLE_ORDER = [EdgeKind.FEED, EdgeKind.SAME, EdgeKind.CROSS, EdgeKind.LAG_K, CROSS_LAG_K, EdgeKind.REVERSED,
                EdgeKind.FIXED, EdgeKind.WINDOW]
_STREAM_FILL = ["#dbe8fb", "#fde0dc", "#e3f4e1", "#f3e5f5", "#fff3cd", "#e0f2f1"]
# element-wise operators with a constant or a param: shown as "x 0.5", "+ param b"
_SYMBOL = {"add": "+", "sub": "\u2212", "mul": "\u00d7", "div": "\u00f7"}


def _hidden(kind_name: str | None) -> bool:
    """Infix operators are implied by the layers around them."""
    return kind_name is None or KINDS[kind_name].operator is not None


@dataclass(frozen=True)
class Read:
    """A value-level read: `dst` uses `src` in a read form (a lag, a fixed step, a range), through layers `via`."""

    src: str
    dst: str
    kind: EdgeKind
    form: ReadForm
    via: tuple[str, ...]
    steps: tuple[int, ...] | None  # the dst steps it holds at (None: all)


def style_of(r: Read) -> str:
    """The drawing style of a read: its EdgeKind, or CROSS_LAG_K for t-k (k >= 2) of another stream."""
    if r.kind is EdgeKind.LAG_K and r.src != r.dst:
        return CROSS_LAG_K
    return r.kind


def _number(v: float) -> str:
    return f"{v:g}"


def _scalar_label(c: Checked, name: str, operands: bool = True) -> str | None:
    """An element-wise operator whose other operand is a number or a learned param: "x 0.5", "+ param b".

    `operands=False` counts numbers only (a param is drawn as a node of its own)."""
    p = c.program
    a = p.node(name)
    if a.kind not in _SYMBOL:
        return None
    ins = sorted(p.folded.in_edges(name, data=True), key=lambda e: e[2]["attr"].port)
    kinds = [p.node(src).role for src, _, _ in ins]

    def says(src: str) -> str | None:
        s = p.node(src)
        if s.role is Role.CONST:
            return _number(float(s.params["value"]))
        if operands and s.role is Role.PARAM:
            return f"param {src}"
        return None

    if len(ins) != 2:
        return None
    sym = _SYMBOL[a.kind]
    right, left = says(ins[1][0]), says(ins[0][0])
    if right is not None and left is None:
        return f"{sym} {right}"
    if left is not None and right is None:
        return f"{sym} {left}" if a.kind in ("add", "mul") else f"{left} {sym} \u00b7"
    if left is not None and right is not None and kinds[0] is not Role.CONST:
        return f"{sym} {right}"
    return None


def _op_label(c: Checked, name: str) -> str | None:
    a = c.program.node(name)
    if _hidden(a.kind):
        return _scalar_label(c, name, operands=False)
    if a.layer is not None and a.layer.split(".")[0] in c.program.named_layers:
        return a.layer.split(".")[0]
    kind = KINDS[a.kind]
    if kind.category is Category.ACTIVATION:
        return None  # implied: it follows the layers named on the edge
    return kind.describe(a.params) + (" @train" if a.mode == "train" else "")


def value_reads(c: Checked) -> list[Read]:
    """Every value-level read of every stream and value, ops folded into `via` (declaration order)."""
    p = c.program
    reads: list[Read] = []

    def walk(node: str, dst: str, steps, via: tuple[str, ...]) -> None:
        a = p.node(node)
        edges = sorted(p.folded.in_edges(node, keys=True, data=True), key=lambda e: e[2])
        for src, _, _, data in edges:
            e = data["attr"]
            s = p.node(src)
            if s.role is Role.OP and s.owner == a.owner:
                label = _op_label(c, src)
                walk(src, dst, steps, ((label,) if label and (not via or via[0] != label) else ()) + via)
            elif s.role is Role.CONST:
                continue
            else:
                reads.append(Read(src, dst, e.kind, e.read, via, steps))

    for name in sorted(p.folded.nodes, key=p.order):
        a = p.node(name)
        if a.role not in (Role.STREAM, Role.VALUE):
            continue
        for src, _, port, data in sorted(p.folded.in_edges(name, keys=True, data=True), key=lambda e: e[2]):
            e = data["attr"]
            steps = e.steps if e.steps is not None and len(e.steps) != p.steps else None
            s = p.node(src)
            if s.role is Role.OP:
                label = _op_label(c, src)
                walk(src, name, steps, (label,) if label else ())
            elif s.role is not Role.CONST:
                reads.append(Read(src, name, e.kind, e.read, (), steps))
    return reads


class _Dot:
    """A tiny DOT writer: statements in insertion order, quoted ids."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str, indent: int = 1) -> None:
        self.lines.append("  " * indent + text)


class Html(str):
    """An HTML-like label the emitter built itself (user text inside is escaped with `html.escape`)."""


def _q(text: str) -> str:
    # backslashes are kept: "\\n" in a label is DOT's line break; user text goes through _text first
    return '"' + text.replace('"', '\\"') + '"'


def _text(user: str) -> str:
    """User text (a title, an about line) made literal inside a quoted DOT string."""
    return user.replace("\\", "\\\\").replace("\n", " ").replace("\r", " ")  # _q escapes the quotes


def _attrs(**kw: str) -> str:
    return "[" + ", ".join(f"{k}={v if isinstance(v, Html) else _q(v)}" for k, v in kw.items()) + "]"


def _edge_attrs(kind: str, label: str, extra: dict[str, str] | None = None) -> str:
    color, style, width, _ = EDGE_STYLE[kind]
    kw = {"color": color, "style": style, "penwidth": width, "fontcolor": color}
    if label:
        kw["label"] = label
    kw.update(extra or {})
    return _attrs(**kw)


def _read_label(r: Read, shapes: dict[str, tuple[int, ...]] | None, show_lag: bool, guard: bool) -> str:
    parts = []
    if show_lag and isinstance(r.form, (Lag, Range)) and r.form.label:
        parts.append(r.form.label)
    if r.via:
        parts.append(" > ".join(r.via))
    if guard and r.steps is not None:
        parts.append(f"when t in {steps_text(r.steps)}")
    if shapes is not None and r.src in shapes:
        parts.append(fmt_shape(shapes[r.src]))
    return "\\n".join(parts)


def _wrap(label: str, width: int = 30) -> str:
    """A long chain of layers ("dense 32 > dense 1 > softmax over steps") broken after a ">"."""
    out = []
    for line in label.split("\\n"):
        parts = line.split(" > ")
        cur = parts[0]
        for part in parts[1:]:
            if len(cur) + 3 + len(part) > width:
                out.append(cur + " >")
                cur = part
            else:
                cur += " > " + part
        out.append(cur)
    return "\\n".join(out)


def _header(dot: _Dot, c: Checked, view: str, rankdir: str, drawn: str = "") -> None:
    p = c.program
    title = _text(p.title)
    steps = f"{p.steps} step{'s' if p.steps != 1 else ''}" if p.streams else "no recurrence"
    if p.steps_from_data and p.streams:
        steps = f"steps from the data (drawn at {p.steps})"
    sub = f"{p.name}: {view} view, {steps}{drawn}, {c.total_params:,} parameters"
    if p.about:
        sub += "\\n" + _text(p.about)
    dot.add(f"digraph {_q(p.name)} {{", 0)
    dot.add(f"graph {_attrs(label=title + chr(92) + 'n' + sub, labelloc='t', fontsize='16', fontname='Helvetica', rankdir=rankdir, nodesep='0.35', ranksep='0.7', newrank='true', bgcolor='white')};")
    dot.add(f"node {_attrs(fontname='Helvetica', fontsize='11', shape='box', style='rounded,filled', fillcolor='white')};")
    dot.add(f"edge {_attrs(fontname='Helvetica', fontsize='9', arrowsize='0.7')};")


_LEGEND_NOTE = ("edge labels name the layers on the way; a named layer (e.g. H) is one set of weights "
                "wherever it appears")


def _legend(dot: _Dot, kinds: list[str], pos: str | None = None, note: str = _LEGEND_NOTE) -> None:
    rows = "".join(
        f'<tr><td><font color="{EDGE_STYLE[k][0]}">{"- - -&gt;" if EDGE_STYLE[k][1] == "dashed" else "———&gt;"}</font></td>'
        f'<td align="left">{escape(EDGE_STYLE[k][3])}</td></tr>' for k in kinds)
    note_row = f'<tr><td colspan="2" align="left"><font point-size="9">{escape(note)}</font></td></tr>'
    where = f", pos={_q(pos)}" if pos else ""
    dot.add(f'legend [shape=plaintext, style=""{where}, tooltip="what the edges mean", '
            f'label=<<table border="0" cellborder="0" cellspacing="2">'
            f'<tr><td colspan="2" align="left"><b>edges</b></td></tr>{rows}{note_row}</table>>];')


def _head_rows(c: Checked, value: str, shapes: bool) -> list[str]:
    """The rows of a head table: the layers of an untimed value's definition, in order, with the
    element-wise arithmetic on numbers and params ("x 0.5", "+ param b") that no layer names."""
    p = c.program
    rows = []
    for n in sorted(p.folded.nodes, key=p.order):
        a = p.node(n)
        if a.owner != value or a.role is not Role.OP:
            continue
        if _hidden(a.kind):
            label = _scalar_label(c, n)
            if label is None:
                continue
        else:
            label = _op_label(c, n) or KINDS[a.kind or ""].describe(a.params)
            if a.layer and a.layer.split(".")[0] in p.named_layers:
                label = f"{KINDS[a.kind or ''].describe(a.params)} [{a.layer.split('.')[0]}, shared]"
        if shapes and n in c.shapes:
            label += f"  {fmt_shape(c.shapes[n])}"
        rows.append(label)
    return rows


def _head_table(c: Checked, value: str, shapes: bool, width: float | None = None) -> str:
    """An HTML table listing the layers of an untimed value's definition, in order."""
    w = f' width="{width:.0f}"' if width is not None else ""
    rows = [f'<tr><td bgcolor="#eeeeee"{w}><b>{escape(value)}</b></td></tr>']
    rows += [f'<tr><td align="left">{escape(label)}</td></tr>' for label in _head_rows(c, value, shapes)]
    return Html(f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">{"".join(rows)}</table>>')


def _value_style(c: Checked, name: str) -> dict[str, str]:
    """How an untimed value is drawn: an ellipse; a learned `param` tensor shaded, with its shape."""
    a = c.program.node(name)
    if a.role is Role.PARAM:
        return {"label": f"param {name}\\n{fmt_shape(tuple(a.params['shape']))}", "shape": "ellipse",
                "fillcolor": "#fdebd0"}
    return {"shape": "ellipse", "fillcolor": "#f4f4f4"}


def _tip(c: Checked, name: str, shown: str | None = None) -> str:
    """A node's tooltip: `h[3]: stream, shape (64,)`, `image: input, shape (28, 28, 1)`, `a.Ha: conv 8 3x3, ...`."""
    a = c.program.node(name)
    what = KINDS[a.kind or ""].describe(a.params) if a.role is Role.OP else a.role.value
    return _text(f"{shown or name}: {what}, {_shape_of(c, name)}")


def _shape_of(c: Checked, name: str) -> str:
    return f"shape {fmt_shape(c.shapes[name])}" if name in c.shapes else "shape ?"


def _edge_tip(src: str, dst: str, style: str) -> str:
    """An edge's tooltip: its ends as the node tooltips name them, and what its style means."""
    word = EDGE_STYLE[style][3] if style in EDGE_STYLE else "steps not drawn"
    return _text(f"{src} \u2192 {dst}: {word}")


def _node_id(name: str, t: int | None) -> str:
    if t is None:
        return name
    return f"{name}@init" if t == INIT else f"{name}@{t}"


def _upstream_downstream(c: Checked, sequences: bool = True) -> tuple[list[str], list[str]]:
    """Untimed values that feed streams (drawn left) and those that read streams (the head).

    `sequences=False` leaves out sequence inputs (the unrolled view draws them as lanes)."""
    p = c.program
    timed_reach: set[str] = set()
    for name in p.streams:
        timed_reach |= nx.descendants(p.folded, name)
    values = [n for n in sorted(p.folded.nodes, key=p.order) if p.node(n).role in (Role.INPUT, Role.VALUE, Role.PARAM)
              and (sequences or not p.node(n).timed)]
    down = [v for v in values if v in timed_reach]
    up = [v for v in values if v not in timed_reach]
    return up, down


def lane_order(c: Checked, reads: list[Read] | None = None) -> list[str]:
    """The lanes of the unrolled view, top to bottom.

    Built bottom-up: a lane goes in once every lane it reads at the same step is in, and of the
    lanes that can go in, the one whose same-step sources were placed last goes first (so each
    stream sits just above what it reads; a stream read only through t-1 waits until a reader
    needs it); ties in declaration order, sequence inputs first."""
    p = c.program
    reads = value_reads(c) if reads is None else reads
    sequences = [i.name for i in p.inputs if i.sequence]
    todo = sequences + list(p.streams)
    index = {s: i for i, s in enumerate(todo)}
    deps: dict[str, set[str]] = {s: set() for s in todo}
    for r in reads:
        if r.dst in deps and r.src in deps and r.src != r.dst and r.kind is EdgeKind.FEED:
            deps[r.dst].add(r.src)
    placed: dict[str, int] = {}
    while len(placed) < len(todo):
        ready = [s for s in todo if s not in placed and deps[s] <= placed.keys()]
        if not ready:  # a same-step cycle cannot pass the checks; draw it anyway
            ready = [s for s in todo if s not in placed]
        best = max(ready, key=lambda s: (max((placed[d] for d in deps[s]), default=-1), -index[s]))
        placed[best] = len(placed)
    return sorted(placed, key=lambda s: -placed[s])


_COL, _ROW = 150, 78  # grid spacing of the unrolled view, in points
_ARROW = 7.0  # arrowsize 0.7: the arrowhead's length in points
_HEAD_ROW = 20.0  # height of one row of a head table, in points


def _pos(col: float, row: float) -> str:
    return f"{col * _COL:.0f},{-row * _ROW:.0f}!"


def _xy(col: float, row: float) -> tuple[float, float]:
    return float(f"{col * _COL:.0f}"), float(f"{-row * _ROW:.0f}")


def _inches(points: float) -> str:
    return f"{points / 72:.2f}"


@dataclass
class _Edge:
    """One drawn edge of the unrolled view, before routing."""

    src: str
    dst: str
    style: str  # an EDGE_STYLE key, or "chain" (the dotted line past the steps not drawn)
    label: str = ""
    group: object = None  # edges of one read share a group and a label, drawn once
    rank: tuple = ()  # the edge of its group that carries the label: the highest rank
    bow: float = 0.0
    attrs: dict[str, str] = field(default_factory=dict)


def parse_window(text: str, steps: int) -> tuple[int, int]:
    """`A..B` (B may be `last` or `last-K`) as the steps A..B, both drawn; ValueError if out of range."""
    def one(s: str) -> int:
        s = s.strip()
        if s == "last":
            return steps - 1
        if s.startswith("last-") and s[5:].isdigit():
            return steps - 1 - int(s[5:])
        if s.isdigit():
            return int(s)
        raise ValueError(f"--window wants A..B with step numbers (or last, last-K), not '{text}'")

    if ".." not in text:
        raise ValueError(f"--window wants A..B with step numbers (or last, last-K), not '{text}'")
    a, b = (one(x) for x in text.split("..", 1))
    if not 0 <= a <= b <= steps - 1:
        raise ValueError(f"--window {text}: the steps must satisfy 0 <= A <= B <= {steps - 1} "
                         f"(the spec has {steps} steps)")
    return a, b


def _unrolled(c: Checked, shapes: bool, max_steps: int | None, window: tuple[int, int] | None = None) -> str:
    """Pinned positions: column = step, row = stream, so lanes line up exactly; every edge routed here."""
    p = c.program
    T = p.steps
    reads = value_reads(c)
    up, down = _upstream_downstream(c, sequences=False)
    sequences = [i.name for i in p.inputs if i.sequence]  # read step by step: a lane of its own
    timed = set(p.streams) | set(sequences)
    lanes = lane_order(c, reads)
    row = {s: i for i, s in enumerate(lanes)}
    # the steps drawn and their columns: all, the first N then ... then the last, or a window A..B
    if window is not None:
        shown = list(range(window[0], window[1] + 1))
        col = {t: i for i, t in enumerate(shown)}
        gap = None
    elif max_steps is None or max_steps >= T - 1:
        shown = list(range(T))
        col = {t: t for t in shown}
        gap = None
    else:
        shown = list(range(max_steps)) + [T - 1]
        col = {t: i + (1 if i == len(shown) - 1 else 0) for i, t in enumerate(shown)}
        gap = max_steps  # the column of the ...
    shown_set = set(shown)
    first_block = {t for t in shown if gap is None or col[t] < gap}
    left_cut, right_cut = shown[0] > 0, shown[-1] < T - 1  # a window that leaves out steps at an end
    last_col = max(col.values())
    shape_map = dict(c.shapes) if shapes else None
    canvas = Canvas()
    nodes: list[str] = []  # DOT node statements, in order

    names: dict[str, str] = {}  # node id -> how tooltips name it (h[3], h (initial state), h[13..38])

    def node(node_id: str, box: Box, shown: str, tooltip: str, **kw: str) -> None:
        canvas.add(node_id, box)
        names[node_id] = shown
        nodes.append(f"{_q(node_id)} {_attrs(**kw, tooltip=tooltip)};")

    def span(a: int, b: int) -> str:
        return f"step {a}" if a == b else f"steps {a}..{b}"

    drawn = ""
    if window is not None and (left_cut or right_cut):
        drawn = f" ({span(shown[0], shown[-1])} drawn)"
    elif gap is not None:
        drawn = f" ({span(0, max_steps - 1)} and {T - 1} drawn)"
    dot = _Dot()
    _header(dot, c, "unrolled", "LR", drawn)
    dot.add(f"graph {_attrs(layout='nop2', overlap='true', outputorder='edgesfirst')};")

    # step headings
    for t in shown:
        x, y = _xy(col[t], -0.8)
        node(f"step {t}", Box(x, y, text_size(f"t = {t}", 11)[0] / 2, 8), f"step {t}", f"step {t}",
             label=f"t = {t}", shape="plaintext", style="", fontcolor="#666666", pos=_pos(col[t], -0.8))
    if gap is not None:
        x, y = _xy(gap, -0.8)
        node("step ...", Box(x, y, 8, 8), "...", f"{span(max_steps, T - 2)}, not drawn", label="...", shape="plaintext",
             style="", pos=_pos(gap, -0.8))
    if left_cut:
        x, y = _xy(-1, -0.8)
        text = f"t < {shown[0]}"
        node("step before", Box(x, y, text_size(text, 11)[0] / 2, 8), text, f"{span(0, shown[0] - 1)}, not drawn",
             label=text, shape="plaintext", style="", fontcolor="#666666", pos=_pos(-1, -0.8))
    if right_cut:
        x, y = _xy(last_col + 1, -0.8)
        text = f"t > {shown[-1]}"
        node("step after", Box(x, y, text_size(text, 11)[0] / 2, 8), text, f"{span(shown[-1] + 1, T - 1)}, not drawn",
             label=text, shape="plaintext", style="", fontcolor="#666666", pos=_pos(last_col + 1, -0.8))

    # the values feeding the streams: below and left of the lanes, so their edges fan out
    first_row = len(lanes) + 0.6
    for i, v in enumerate(up):
        style = _value_style(c, v)
        w, h = text_size(style.get("label", v), 11)
        w, h = max(54.0, w * 1.45 + 12), max(36.0, h * 1.45 + 8)
        x, y = _xy(-1.6 + 0.35 * i, first_row + 0.9 * i)
        node(v, Box(x, y, w / 2, h / 2, ellipse=True), v, _tip(c, v), **style, width=_inches(w), height=_inches(h),
             pos=_pos(-1.6 + 0.35 * i, first_row + 0.9 * i))

    # the grid: a box per lane and step, the same width along a lane
    fill = {s: _STREAM_FILL[i % len(_STREAM_FILL)] for i, s in enumerate(p.streams)}
    fill.update({s: "#f4f4f4" for s in sequences})
    for s in lanes:
        extra = f"\\n{fmt_shape(c.shapes[s])}" if shapes and s in c.shapes else ""
        w, h = text_size(f"{s}[{max(shown)}]{extra}", 11)
        w, h = max(54.0, w + 18), max(36.0, h + 10)
        for t in shown:
            x, y = _xy(col[t], row[s])
            node(_node_id(s, t), Box(x, y, w / 2, h / 2), f"{s}[{t}]", _tip(c, s, f"{s}[{t}]"),
                 label=f"{s}[{t}]{extra}", fillcolor=fill[s], width=_inches(w), height=_inches(h),
                 pos=_pos(col[t], row[s]))
    extra_nodes: dict[str, None] = {}  # the init and ... nodes the edges need, made on demand

    def stub(s: str, where: str) -> str:
        """The ... node of lane s standing for the steps not drawn: before, in the gap, after."""
        node_id = f"{s}@later" if where == "after" else f"{s}@..."
        if node_id not in extra_nodes:
            at = {"before": -1, "gap": gap, "after": last_col + 1}[where]
            x, y = _xy(at, row[s])
            lo, hi = {"before": (0, shown[0] - 1), "gap": (max_steps, T - 2), "after": (shown[-1] + 1, T - 1)}[where]
            steps = f"{s}[{lo}]" if lo == hi else f"{s}[{lo}..{hi}]"
            node(node_id, Box(x, y, 9, 8), steps, _text(f"{steps}: steps not drawn"), label="...",
                 shape="plaintext", style="", pos=_pos(at, row[s]))
            extra_nodes[node_id] = None
        return node_id

    def init_node(s: str) -> str:
        node_id = _node_id(s, INIT)
        if node_id not in extra_nodes:
            ways = [p.unrolled.edges[e]["attr"].read.direction() or 0 for e in p.unrolled.out_edges((s, INIT))] \
                if (s, INIT) in p.unrolled else []
            at = last_col + 1 if ways and all(way < 0 for way in ways) else -1  # read only as a later step
            label = f"{s} init\\n{p.inits[s]}" if s in p.streams else f"{s} before 0\\nzeros"
            w, h = text_size(label, 11)
            w, h = max(54.0, w + 18), max(36.0, h + 10)
            x, y = _xy(at, row[s])
            when = f"after step {T - 1}" if at > last_col else "before step 0"
            init = p.inits.get(s, "zeros") + (f"({p.init_fills[s]})" if s in p.init_fills else "")
            node(node_id, Box(x, y, w / 2, h / 2), f"{s} (initial state)",
                 _text(f"{s} {when}: initial state ({init}), {_shape_of(c, s)}"), label=label,
                 style="dashed,rounded", color="#888888", fontcolor="#666666", width=_inches(w), height=_inches(h),
                 pos=_pos(at, row[s]))
            extra_nodes[node_id] = None
        return node_id

    def source(s: str, step: int) -> tuple[str, bool]:
        """The node that stands for lane s at `step`, and whether it is that step's own box."""
        if step in shown_set:
            return _node_id(s, step), True
        if step < 0:
            return (stub(s, "before") if left_cut else init_node(s)), False
        if step >= T:
            return (stub(s, "after") if right_cut else init_node(s)), False
        if step < shown[0]:
            return stub(s, "before"), False
        if step > shown[-1]:
            return stub(s, "after"), False
        return stub(s, "gap"), False

    edges: list[_Edge] = []

    def rank(t: int, real: bool, i: int = 0) -> tuple:
        # label the instance drawn from a real box, in the first block of steps, the latest there
        return (real, t in first_block, t, i)

    # the reads, per step
    for k, r in enumerate(reads):
        if r.dst in up and r.dst not in timed:
            edges.append(_Edge(r.src, r.dst, EdgeKind.FEED, _wrap(_read_label(r, shape_map, False, False)), k))
            continue
        if r.dst not in p.streams:
            continue
        style = style_of(r)
        label = _wrap(_read_label(r, shape_map, r.kind in (EdgeKind.LAG_K, EdgeKind.REVERSED, EdgeKind.WINDOW),
                                  False))
        if r.kind is EdgeKind.FIXED:
            label = f"[{'last' if r.form.step == T - 1 else r.form.step}]" + ("\\n" + label if label else "")
        for t in shown:
            if r.steps is not None and t not in r.steps:
                continue
            dst = _node_id(r.dst, t)
            if isinstance(r.form, Range):  # a fan of edges, one per step of the range (one from each ...)
                fan: dict[str, bool] = {}
                for s_step in r.form.sources(t, T):
                    src, real = source(r.src, s_step)
                    fan.setdefault(src, real)
                for i, (src, real) in enumerate(fan.items()):
                    edges.append(_Edge(src, dst, style, label, k, rank(t, real, i)))
                continue
            if r.src in timed:
                (s_step,) = r.form.sources(t, T)
                src, real = source(r.src, s_step)
            else:
                src, real = r.src, True
            lag = r.form.depth
            bow = 14.0 + 6.0 * lag if r.src == r.dst and lag >= 2 else 0.0
            edges.append(_Edge(src, dst, style, label, k, rank(t, real), bow))
    # the dotted line past the steps not drawn
    chain = {"style": "dotted", "color": "#999999", "arrowhead": "none"}
    for s in lanes:
        if gap is not None:
            before = max(t for t in shown if col[t] < gap)
            after = min(t for t in shown if col[t] > gap)
            edges.append(_Edge(_node_id(s, before), stub(s, "gap"), "chain", attrs=chain))
            edges.append(_Edge(stub(s, "gap"), _node_id(s, after), "chain", attrs=chain))
        if left_cut:
            edges.append(_Edge(stub(s, "before"), _node_id(s, shown[0]), "chain", attrs=chain))
        if right_cut:
            edges.append(_Edge(_node_id(s, shown[-1]), stub(s, "after"), "chain", attrs=chain))

    # the head, right of the last step: one table per value, stacked
    head_col = last_col + (2 if any(n.endswith(("@init", "@later")) for n in extra_nodes) else 1.3)
    hx, hy = _xy(head_col, (len(lanes) - 1) / 2)
    for v in down:
        rows = [v] + _head_rows(c, v, shapes)
        w = max(text_size(r, 11)[0] for r in rows) + 12
        h = _HEAD_ROW * len(rows)
        box = Box(hx + w / 2, hy, w / 2 + 1, h / 2 + 1)  # left-aligned at the head column
        node(v, box, v, _tip(c, v), shape="plaintext", style="", pos=f"{box.x:.0f},{hy:.0f}!",
             label=_head_table(c, v, shapes, w - 8))
        hy -= h + 50
    for k, r in enumerate(reads):
        if r.dst not in down:
            continue
        if isinstance(r.form, Range) and r.src in timed:
            fan = {}
            for s_step in r.form.sources(None, T):
                src, real = source(r.src, s_step)
                fan.setdefault(src, real)
            for i, (src, real) in enumerate(fan.items()):
                edges.append(_Edge(src, r.dst, r.kind, r.form.label, k, (real, i)))
            continue
        if r.src in timed:
            step = r.form.step if isinstance(r.form, Fixed) else T - 1
            src, _ = source(r.src, step)
            label = f"[{'last' if step == T - 1 else step}]"
        else:
            src, label = r.src, ""
        edges.append(_Edge(src, r.dst, EdgeKind.FEED, label, k))
    legend_row = first_row + 0.9 * len(up) + 0.2
    kinds_used = [k for k in _STYLE_ORDER if any(e.style == k for e in edges)]
    lx, ly = _xy(-2, legend_row + 0.8)
    canvas.add("legend", Box(lx, ly, 170, 14 * (len(kinds_used) + 2)))

    # route every edge, then label each read once: shortest edges first (they have the least room)
    def side(e: _Edge) -> int:
        # edges from one lane bow to one side, lanes alternating, so the arcs of a column spread out
        lane = e.src.rsplit("@", 1)[0] if "@" in e.src else None
        return -1 if lane in row and row[lane] % 2 else 1

    def detours(e: _Edge) -> list[list[tuple[float, float]]]:
        """Paths along the gaps: out of a lane box sideways into the gap between columns, along the
        gap between lanes, down (or up) the gap beside the target, and into it from the side."""
        a, b = canvas.boxes[e.src], canvas.boxes[e.dst]
        if abs(a.x - b.x) < 1 and "@" in e.src and "@" in e.dst:  # one column: up or down the gap beside it
            first = -1 if (b.y > a.y) == (side(e) == 1) else 1
            return [[(a.x + sx * 0.4 * _COL, a.y), (a.x + sx * 0.4 * _COL, b.y)] for sx in (first, -first)]
        sx = 1 if b.x >= a.x else -1
        xb = b.x - sx * (_COL / 2 if "@" in e.dst else b.hw + 24)
        if "@" not in e.src:  # a value outside the lanes: along its own height, then up the gap
            return [[(xb, a.y), (xb, b.y)]]
        xa = a.x + sx * _COL / 2
        out = [[(xa, a.y), (xa, b.y)]] if abs(xa - xb) < 1 else []
        toward = 1 if b.y > a.y else -1
        for dy in (toward, -toward):
            yh = a.y + dy * _ROW / 2
            out.append([(xa, a.y), (xa, yh), (xb, yh), (xb, b.y)])
        return out

    routes = [canvas.route(e.src, e.dst, e.bow, 1 if e.bow else side(e), () if e.bow else detours(e),
                           prefer_detours="@" not in e.src) for e in edges]
    # the edges of one value on the left, or of one read into the head, take one shape: when
    # any of them cannot go straight, all run along the gaps (a bus, not a tangle)
    bundles: dict[object, list[int]] = {}
    for i, e in enumerate(edges):
        if "@" not in e.src and "@" in e.dst:
            bundles.setdefault(("from", e.src), []).append(i)
        elif "@" not in e.dst:
            bundles.setdefault(("into", e.dst, e.group), []).append(i)
    for members in bundles.values():
        if len(members) > 1 and any(routes[i][1] != "straight" for i in members):
            for i in members:
                e = edges[i]
                routes[i] = canvas.route(e.src, e.dst, 0.0, side(e), detours(e), prefer_detours=True, direct=False)
    curves = [path for path, _ in routes]
    best: dict[object, int] = {}
    for i, e in enumerate(edges):
        key = e.group if e.group is not None else ("edge", i)
        if e.label and (key not in best or e.rank >= edges[best[key]].rank):
            best[key] = i
    labelled = set(best.values())
    clipped = [canvas.clip(cv, e.src, e.dst, 0.0 if e.style == "chain" else _ARROW) for cv, e in zip(curves, edges)]
    for i, (cv, _) in enumerate(clipped):
        canvas.add_ink(cv, i)
    spots: dict[int, tuple[float, float]] = {}
    for i in sorted(labelled, key=lambda i: (abs(curves[i][-1][3][0] - curves[i][0][0][0])
                                             + abs(curves[i][-1][3][1] - curves[i][0][0][1]), i)):
        spots[i] = canvas.place_label(clipped[i][0], edges[i].label, 9, i)

    for line in nodes:
        dot.add(line)
    for i, e in enumerate(edges):
        geometry = {"pos": pos_text(*clipped[i])}
        tip = {"tooltip": _edge_tip(names[e.src], names[e.dst], e.style)}
        if e.style == "chain":
            dot.add(f"{_q(e.src)} -> {_q(e.dst)} {_attrs(**e.attrs, **geometry, **tip)};")
            continue
        label = e.label if i in labelled else ""
        if label:
            geometry["lp"] = f"{spots[i][0]:.1f},{spots[i][1]:.1f}"
        dot.add(f"{_q(e.src)} -> {_q(e.dst)} {_edge_attrs(e.style, label, geometry | tip)};")
    _legend(dot, kinds_used, _pos(-2, legend_row + 0.8),
            _LEGEND_NOTE + "; each read is labelled once")
    dot.add("}", 0)
    return "\n".join(dot.lines) + "\n"


def _folded(c: Checked, shapes: bool) -> str:
    p = c.program
    reads = value_reads(c)
    up, down = _upstream_downstream(c)
    shape_map = dict(c.shapes) if shapes else None
    dot = _Dot()
    _header(dot, c, "folded", "LR")
    fill = {s: _STREAM_FILL[i % len(_STREAM_FILL)] for i, s in enumerate(p.streams)}
    for v in up:
        dot.add(f"{_q(v)} {_attrs(**_value_style(c, v), tooltip=_tip(c, v))};")
    for s in p.streams:
        init = p.inits[s]
        label = f"{s}[t]" + (f"\\n{fmt_shape(c.shapes[s])}" if shapes and s in c.shapes else "") \
            + ("" if init == "zeros" else f"\\ninit {init}") + (f"({p.init_fills[s]})" if s in p.init_fills else "")
        dot.add(f"{_q(s)} {_attrs(label=label, fillcolor=fill[s], shape='box', peripheries='2', tooltip=_tip(c, s))};")
    for v in down:
        dot.add(f"{_q(v)} [shape=plaintext, style=\"\", tooltip={_q(_tip(c, v))}, label={_head_table(c, v, shapes)}];")
    kinds_used: set[str] = set()
    for r in reads:
        kinds_used.add(style_of(r))
        # the head table lists its own layers; its edges say only which step they read
        label = "" if r.dst in down else _read_label(r, shape_map, True, True)
        if isinstance(r.form, Fixed):
            label = f"[{'last' if r.form.step == p.steps - 1 else r.form.step}]" + ("\\n" + label if label else "")
        elif isinstance(r.form, Range) and r.dst in down:
            label = r.form.label
        extra = {"constraint": "false"} if r.kind in (EdgeKind.SAME, EdgeKind.LAG_K, EdgeKind.REVERSED) \
            and r.src == r.dst else {}
        extra["tooltip"] = _edge_tip(r.src, r.dst, style_of(r))
        dot.add(f"{_q(r.src)} -> {_q(r.dst)} {_edge_attrs(style_of(r), label, extra)};")
    _legend(dot, [k for k in _STYLE_ORDER if k in kinds_used])
    dot.add("}", 0)
    return "\n".join(dot.lines) + "\n"


def _dataflow(c: Checked, shapes: bool, view: str) -> str:
    """Specs with no streams: every layer a node, top to bottom; an activation joins the layer before it."""
    p = c.program
    g = p.folded
    into: dict[str, str] = {}  # activation -> the layer it is drawn with
    for name in sorted(g.nodes, key=p.order):
        a = p.node(name)
        preds = list(g.predecessors(name))
        if a.role is Role.OP and KINDS[a.kind or ""].category is Category.ACTIVATION and len(preds) == 1 \
                and p.node(preds[0]).role is Role.OP and g.out_degree(preds[0]) == 1:
            into[name] = into.get(preds[0], preds[0])

    def rep(n: str) -> str:
        return into.get(n, n)

    extra: dict[str, list[str]] = {}
    for act, base in into.items():
        extra.setdefault(base, []).append(p.node(act).kind or "")
    dot = _Dot()
    _header(dot, c, view, "TB")
    dot.add(f"graph {_attrs(ranksep='0.3')};")
    for name in sorted(g.nodes, key=p.order):
        a = p.node(name)
        if a.role is Role.CONST or name in into:
            continue
        if a.role is Role.OP:
            if _hidden(a.kind):
                label = KINDS[a.kind or ""].operator or "?"
                dot.add(f"{_q(name)} {_attrs(label=label, shape='circle', width='0.3', tooltip=_tip(c, name))};")
                continue
            label = (_op_label(c, name) or KINDS[a.kind or ""].describe(a.params))
            label += "".join(f" + {x}" for x in extra.get(name, []))
            last = next((x for x in reversed(list(into)) if into[x] == name), name)
            if shapes and last in c.shapes:
                label += f"\\n{fmt_shape(c.shapes[last])}"
            dot.add(f"{_q(name)} {_attrs(label=label, tooltip=_tip(c, name))};")
        else:
            style = _value_style(c, name)
            if p.node(name).role is not Role.PARAM:
                style = {"label": name + (f"\\n{fmt_shape(c.shapes[name])}" if shapes and name in c.shapes else ""),
                         **style}
            dot.add(f"{_q(name)} {_attrs(**style, tooltip=_tip(c, name))};")
    for src, dst, data in sorted(g.edges(data=True), key=lambda e: (p.order(e[1]), e[2]["attr"].port)):
        if p.node(src).role is Role.CONST or rep(src) == rep(dst):
            continue
        dot.add(f"{_q(rep(src))} -> {_q(rep(dst))} "
                f"{_edge_attrs(EdgeKind.FEED, '', {'tooltip': _edge_tip(rep(src), rep(dst), EdgeKind.FEED)})};")
    dot.add("}", 0)
    return "\n".join(dot.lines) + "\n"


def emit_dot(checked: Checked, view: str = "unrolled", shapes: bool = False, max_steps: int | None = None,
             window: tuple[int, int] | None = None) -> str:
    """DOT text for the `unrolled` or `folded` view of a checked spec.

    The unrolled view draws every step, or with `max_steps` N the first N steps, ... and the
    last, or with `window` (A, B) the steps A..B only, the reads from steps outside it drawn from
    a ... node at that end of each lane."""
    if view not in ("unrolled", "folded"):
        raise ValueError(f"unknown view {view!r}")
    if max_steps is not None and window is not None:
        raise ValueError("max_steps and window cannot be used together")
    if window is not None and not 0 <= window[0] <= window[1] <= checked.program.steps - 1:
        raise ValueError(f"window {window[0]}..{window[1]} is outside the steps 0..{checked.program.steps - 1}")
    if not checked.program.streams:
        return _dataflow(checked, shapes, view)
    return _unrolled(checked, shapes, max_steps, window) if view == "unrolled" else _folded(checked, shapes)
