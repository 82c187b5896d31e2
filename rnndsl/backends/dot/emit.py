"""Checked IR -> Graphviz DOT text, in two views.

* unrolled: one column per step, one swim-lane per stream (input streams at the bottom),
  the values that feed the streams on the left, the head as one table node on the right.
* folded: one node per stream and value; recurrent reads are loops labelled t-1, t-2, ...,
  with the guards they hold under.

Layer applications inside an equation are folded into the edge labels (named layers by
name, inline ones by kind).  Specs without streams are drawn as a layer-level dataflow.
The text is built by hand in a fixed order, so the same spec gives byte-identical DOT.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import networkx as nx

from ...catalogue import KINDS, Category, fmt_shape
from ...checks import Checked
from ...ir import INIT, EdgeKind, Role, Window
from ...ir.dump import steps_text

__all__ = ["emit_dot", "Read", "value_reads", "EDGE_STYLE"]

# colour, style, pen width, and a word for the legend
EDGE_STYLE: dict[EdgeKind, tuple[str, str, str, str]] = {
    EdgeKind.FEED: ("#555555", "solid", "1.0", "feed (same step)"),
    EdgeKind.SAME: ("#1f5fbf", "solid", "2.0", "same stream, t-1"),
    EdgeKind.CROSS: ("#d62728", "bold", "2.6", "crossed between streams, t-1"),
    EdgeKind.LAG_K: ("#8e44ad", "dashed", "2.0", "lag-k (t-k, k >= 2)"),
    EdgeKind.REVERSED: ("#2a9d4b", "dashed", "2.0", "reversed time (t+k)"),
    EdgeKind.FIXED: ("#d35400", "dashed", "1.6", "one fixed step ([3], [last]) at every step"),
    EdgeKind.WINDOW: ("#138d75", "solid", "1.2", "a range of steps ([lo..hi]), reduced"),
}
_STREAM_FILL = ["#dbe8fb", "#fde0dc", "#e3f4e1", "#f3e5f5", "#fff3cd", "#e0f2f1"]


def _hidden(kind_name: str | None) -> bool:
    """Infix operators are implied by the layers around them."""
    return kind_name is None or KINDS[kind_name].operator is not None


@dataclass(frozen=True)
class Read:
    """A value-level read: `dst` uses `src` (at t - lag, or step `at`), through layers `via`."""

    src: str
    dst: str
    kind: EdgeKind
    lag: int | None
    at: int | None
    via: tuple[str, ...]
    steps: tuple[int, ...] | None  # the dst steps it holds at (None: all)
    window: Window | None = None  # a read of a range of steps


def _op_label(c: Checked, name: str) -> str | None:
    a = c.program.node(name)
    if _hidden(a.kind):
        return None
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
                reads.append(Read(src, dst, e.kind, e.lag, e.at, via, steps, e.window))

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
                reads.append(Read(src, name, e.kind, e.lag, e.at, (), steps, e.window))
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
    if show_lag and r.lag:
        parts.append(f"t-{r.lag}" if r.lag > 0 else f"t+{-r.lag}")
    if show_lag and r.window is not None:
        parts.append(str(r.window))
    if r.via:
        parts.append(" > ".join(r.via))
    if guard and r.steps is not None:
        parts.append(f"when t in {steps_text(r.steps)}")
    if shapes is not None and r.src in shapes:
        parts.append(fmt_shape(shapes[r.src]))
    return "\\n".join(parts)


def _header(dot: _Dot, c: Checked, view: str, rankdir: str) -> None:
    p = c.program
    title = _text(p.title)
    steps = f"{p.steps} step{'s' if p.steps != 1 else ''}" if p.streams else "no recurrence"
    if p.steps_from_data and p.streams:
        steps = f"steps from the data (drawn at {p.steps})"
    sub = f"{p.name}: {view} view, {steps}, {c.total_params:,} parameters"
    if p.about:
        sub += "\\n" + _text(p.about)
    dot.add(f"digraph {_q(p.name)} {{", 0)
    dot.add(f"graph {_attrs(label=title + chr(92) + 'n' + sub, labelloc='t', fontsize='16', fontname='Helvetica', rankdir=rankdir, nodesep='0.35', ranksep='0.7', newrank='true', bgcolor='white')};")
    dot.add(f"node {_attrs(fontname='Helvetica', fontsize='11', shape='box', style='rounded,filled', fillcolor='white')};")
    dot.add(f"edge {_attrs(fontname='Helvetica', fontsize='9', arrowsize='0.7')};")


def _legend(dot: _Dot, kinds: list[str], pos: str | None = None) -> None:
    rows = "".join(
        f'<tr><td><font color="{EDGE_STYLE[k][0]}">{"- - -&gt;" if EDGE_STYLE[k][1] == "dashed" else "———&gt;"}</font></td>'
        f'<td align="left">{escape(EDGE_STYLE[k][3])}</td></tr>' for k in kinds)
    note = ('<tr><td colspan="2" align="left"><font point-size="9">edge labels name the layers on the way; '
            'a named layer (e.g. H) is one set of weights wherever it appears</font></td></tr>')
    where = f", pos={_q(pos)}" if pos else ""
    dot.add(f'legend [shape=plaintext, style=""{where}, label=<<table border="0" cellborder="0" cellspacing="2">'
            f'<tr><td colspan="2" align="left"><b>edges</b></td></tr>{rows}{note}</table>>];')


def _head_table(c: Checked, value: str, shapes: bool) -> str:
    """An HTML table listing the layers of an untimed value's definition, in order."""
    p = c.program
    ops = [n for n in sorted(p.folded.nodes, key=p.order)
           if p.node(n).owner == value and p.node(n).role is Role.OP and not _hidden(p.node(n).kind)]
    rows = [f'<tr><td bgcolor="#eeeeee"><b>{escape(value)}</b></td></tr>']
    for n in ops:
        a = p.node(n)
        label = _op_label(c, n) or KINDS[a.kind or ""].describe(a.params)
        if a.layer and a.layer.split(".")[0] in p.named_layers:
            label = f"{KINDS[a.kind or ''].describe(a.params)} [{a.layer.split('.')[0]}, shared]"
        if shapes and n in c.shapes:
            label += f"  {fmt_shape(c.shapes[n])}"
        rows.append(f'<tr><td align="left">{escape(label)}</td></tr>')
    return Html(f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">{"".join(rows)}</table>>')


def _value_style(c: Checked, name: str) -> dict[str, str]:
    """How an untimed value is drawn: an ellipse; a learned `param` tensor shaded, with its shape."""
    a = c.program.node(name)
    if a.role is Role.PARAM:
        return {"label": f"param {name}\\n{fmt_shape(tuple(a.params['shape']))}", "shape": "ellipse",
                "fillcolor": "#fdebd0"}
    return {"shape": "ellipse", "fillcolor": "#f4f4f4"}


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


def _input_streams(c: Checked, reads: list[Read]) -> set[str]:
    """Streams that read no stream: the per-step inputs, drawn at the bottom."""
    p = c.program
    return {s for s in p.streams if not any(r.dst == s and r.src in p.streams for r in reads)}


_COL, _ROW = 150, 78  # grid spacing of the unrolled view, in points
_SPLINE_LIMIT = 200  # unrolled edges above which edges are drawn straight


def _pos(col: float, row: float) -> str:
    return f"{col * _COL:.0f},{-row * _ROW:.0f}!"


def _unrolled(c: Checked, shapes: bool, max_steps: int | None) -> str:
    """Pinned positions (neato): column = step, row = stream, so lanes line up exactly."""
    p = c.program
    T = p.steps
    reads = value_reads(c)
    up, down = _upstream_downstream(c, sequences=False)
    inputs = _input_streams(c, reads)
    sequences = [i.name for i in p.inputs if i.sequence]  # read step by step: a lane at the bottom
    timed = set(p.streams) | set(sequences)
    lanes = [s for s in p.streams if s not in inputs] + [s for s in p.streams if s in inputs] + sequences
    row = {s: i for i, s in enumerate(lanes)}
    shown = list(range(T)) if max_steps is None or max_steps >= T else list(range(max_steps)) + [T - 1]
    elided = len(shown) < T
    col = {t: i + (1 if elided and i == len(shown) - 1 else 0) for i, t in enumerate(shown)}
    last_col = max(col.values())
    shape_map = dict(c.shapes) if shapes else None
    dot = _Dot()
    _header(dot, c, "unrolled", "LR")
    # neato's obstacle-avoiding splines cost O(edges^2) time (54 s at 589 edges): past a few
    # hundred edges, straight lines keep rendering well under a second.
    n_edges = p.unrolled.number_of_edges() * len(shown) // max(T, 1)  # about what is drawn
    splines = "true" if n_edges <= _SPLINE_LIMIT else "false"
    dot.add(f"graph {_attrs(layout='neato', inputscale='72', splines=splines, overlap='true', outputorder='edgesfirst')};")
    kinds_used: set[str] = set()

    # step headings
    for t in shown:
        dot.add(f"{_q(f'step {t}')} {_attrs(label=f't = {t}', shape='plaintext', style='', fontcolor='#666666', pos=_pos(col[t], -0.8))};")
    if elided:
        dot.add(f"{_q('step ...')} {_attrs(label='...', shape='plaintext', style='', pos=_pos(last_col - 1, -0.8))};")
    # the values feeding the streams: below and left of the lanes, so their edges fan out
    first_row = len(lanes) + 0.4
    for i, v in enumerate(up):
        dot.add(f"{_q(v)} {_attrs(**_value_style(c, v), pos=_pos(-1.6 + 0.35 * i, first_row + 0.9 * i))};")
    for r in reads:
        if r.dst in up:
            dot.add(f"{_q(r.src)} -> {_q(r.dst)} {_edge_attrs(EdgeKind.FEED, _read_label(r, shape_map, False, False))};")
            kinds_used.add(EdgeKind.FEED)
    # the grid
    fill = {s: _STREAM_FILL[i % len(_STREAM_FILL)] for i, s in enumerate(p.streams)}
    fill.update({s: "#f4f4f4" for s in sequences})
    for s in lanes:
        for t in shown:
            label = f"{s}[{t}]" + (f"\\n{fmt_shape(c.shapes[s])}" if shapes and s in c.shapes else "")
            dot.add(f"{_q(_node_id(s, t))} {_attrs(label=label, fillcolor=fill[s], pos=_pos(col[t], row[s]))};")
        if elided:
            dot.add(f"{_q(s + '@...')} {_attrs(label='...', shape='plaintext', style='', pos=_pos(last_col - 1, row[s]))};")
        if (s, INIT) in p.unrolled:
            lags = [p.unrolled.edges[e]["attr"].lag or 0 for e in p.unrolled.out_edges((s, INIT))]
            at = last_col + 1 if lags and all(lag < 0 for lag in lags) else -1
            label = f"{s} init\\n{p.inits[s]}" if s in p.streams else f"{s} before 0\\nzeros"
            dot.add(f"{_q(_node_id(s, INIT))} {_attrs(label=label, style='dashed,rounded', color='#888888', fontcolor='#666666', pos=_pos(at, row[s]))};")
    # the reads, per step
    for r in reads:
        if r.dst not in p.streams:
            continue
        for t in shown:
            if r.steps is not None and t not in r.steps:
                continue
            if r.window is not None:  # a fan of edges, one per step of the range, labelled once (at the last step)
                kinds_used.add(r.kind)
                fan = [s for s in r.window.steps(t, T) if s in shown]
                for i, s_step in enumerate(fan):
                    label = _read_label(r, shape_map, True, False) if i == len(fan) - 1 and t == shown[-1] else ""
                    dot.add(f"{_q(_node_id(r.src, s_step))} -> {_q(_node_id(r.dst, t))} {_edge_attrs(r.kind, label)};")
                continue
            if r.src in timed:
                s_step = r.at if r.at is not None else t - (r.lag or 0)
                if not 0 <= s_step < T:
                    src_id = _node_id(r.src, INIT)
                elif s_step not in shown:
                    continue
                else:
                    src_id = _node_id(r.src, s_step)
            else:
                src_id = r.src
            kinds_used.add(r.kind)
            label = _read_label(r, shape_map, r.kind in (EdgeKind.LAG_K, EdgeKind.REVERSED), False)
            if r.kind is EdgeKind.FIXED:
                label = f"[{'last' if r.at == T - 1 else r.at}]" + ("\\n" + label if label else "")
            dot.add(f"{_q(src_id)} -> {_q(_node_id(r.dst, t))} {_edge_attrs(r.kind, label)};")
    if elided:
        for s in lanes:
            dot.add(f"{_q(_node_id(s, shown[-2]))} -> {_q(s + '@...')} -> {_q(_node_id(s, shown[-1]))} "
                    f"{_attrs(style='dotted', color='#999999', arrowhead='none')};")
    # the head, right of the last step
    head_col = last_col + (2 if any((s, INIT) in p.unrolled for s in lanes) else 1.3)
    for i, v in enumerate(down):
        dot.add(f"{_q(v)} [shape=plaintext, style=\"\", pos={_q(_pos(head_col, (len(lanes) - 1) / 2 + 3 * i))}, "
                f"label={_head_table(c, v, shapes)}];")
    for r in reads:
        if r.dst not in down:
            continue
        if r.window is not None and r.src in timed:
            kinds_used.add(r.kind)
            fan = [s for s in r.window.steps(None, T) if s in shown]
            for i, s_step in enumerate(fan):
                label = str(r.window) if i == len(fan) - 1 else ""
                dot.add(f"{_q(_node_id(r.src, s_step))} -> {_q(r.dst)} {_edge_attrs(r.kind, label)};")
            continue
        if r.src in p.streams:
            step = r.at if r.at is not None else T - 1
            src_id = _node_id(r.src, step) if step in shown else f"{r.src}@..."
            label = f"[{'last' if step == T - 1 else step}]"
        else:
            src_id, label = r.src, ""
        kinds_used.add(EdgeKind.FEED)
        dot.add(f"{_q(src_id)} -> {_q(r.dst)} {_edge_attrs(EdgeKind.FEED, label)};")
    legend_row = first_row + 0.9 * len(up) + 0.2
    _legend(dot, [k for k in EdgeKind if k in kinds_used], _pos(-2, legend_row + 0.8))
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
        dot.add(f"{_q(v)} {_attrs(**_value_style(c, v))};")
    for s in p.streams:
        init = p.inits[s]
        label = f"{s}[t]" + (f"\\n{fmt_shape(c.shapes[s])}" if shapes and s in c.shapes else "") \
            + ("" if init == "zeros" else f"\\ninit {init}") + (f"({p.init_fills[s]})" if s in p.init_fills else "")
        dot.add(f"{_q(s)} {_attrs(label=label, fillcolor=fill[s], shape='box', peripheries='2')};")
    for v in down:
        dot.add(f"{_q(v)} [shape=plaintext, style=\"\", label={_head_table(c, v, shapes)}];")
    kinds_used: set[str] = set()
    for r in reads:
        kinds_used.add(r.kind)
        # the head table lists its own layers; its edges say only which step they read
        label = "" if r.dst in down else _read_label(r, shape_map, True, True)
        if r.at is not None:
            label = f"[{'last' if r.at == p.steps - 1 else r.at}]" + ("\\n" + label if label else "")
        elif r.window is not None and r.dst in down:
            label = str(r.window)
        extra = {"constraint": "false"} if r.kind in (EdgeKind.SAME, EdgeKind.LAG_K, EdgeKind.REVERSED) \
            and r.src == r.dst else {}
        dot.add(f"{_q(r.src)} -> {_q(r.dst)} {_edge_attrs(r.kind, label, extra)};")
    _legend(dot, [k for k in EdgeKind if k in kinds_used])
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
                dot.add(f"{_q(name)} {_attrs(label=label, shape='circle', width='0.3')};")
                continue
            label = (_op_label(c, name) or KINDS[a.kind or ""].describe(a.params))
            label += "".join(f" + {x}" for x in extra.get(name, []))
            last = next((x for x in reversed(list(into)) if into[x] == name), name)
            if shapes and last in c.shapes:
                label += f"\\n{fmt_shape(c.shapes[last])}"
            dot.add(f"{_q(name)} {_attrs(label=label)};")
        else:
            style = _value_style(c, name)
            if p.node(name).role is not Role.PARAM:
                style = {"label": name + (f"\\n{fmt_shape(c.shapes[name])}" if shapes and name in c.shapes else ""),
                         **style}
            dot.add(f"{_q(name)} {_attrs(**style)};")
    for src, dst, data in sorted(g.edges(data=True), key=lambda e: (p.order(e[1]), e[2]["attr"].port)):
        if p.node(src).role is Role.CONST or rep(src) == rep(dst):
            continue
        dot.add(f"{_q(rep(src))} -> {_q(rep(dst))} {_edge_attrs(EdgeKind.FEED, '')};")
    dot.add("}", 0)
    return "\n".join(dot.lines) + "\n"


def emit_dot(checked: Checked, view: str = "unrolled", shapes: bool = False, max_steps: int | None = None) -> str:
    """DOT text for the `unrolled` or `folded` view of a checked spec."""
    if view not in ("unrolled", "folded"):
        raise ValueError(f"unknown view {view!r}")
    if not checked.program.streams:
        return _dataflow(checked, shapes, view)
    return _unrolled(checked, shapes, max_steps) if view == "unrolled" else _folded(checked, shapes)
