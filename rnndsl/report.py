"""Checked IR -> the text `rnndsl check` prints (and a stable IR dump for golden tests)."""

from __future__ import annotations

from .check import Checked
from .ir import EDGE_KINDS, INIT
from .registry import KINDS, fmt_shape, fmt_value

__all__ = ["summary", "ir_dump", "steps_text"]


def steps_text(steps: tuple[int, ...] | None) -> str:
    """Compact step sets: 0..3, {1, 3}."""
    if steps is None:
        return "-"
    if not steps:
        return "{}"
    if list(steps) == list(range(steps[0], steps[-1] + 1)) and len(steps) > 2:
        return f"{steps[0]}..{steps[-1]}"
    return "{" + ", ".join(str(s) for s in steps) + "}"


def _rows(c: Checked) -> list[tuple[str, str, str, str, str, str]]:
    p = c.program
    layer_params = {layer.id: layer.params for layer in c.layers}
    flops_by_node: dict[str, int] = {}
    for (name, _), f in c.flops.items():
        flops_by_node[name] = flops_by_node.get(name, 0) + f
    seen: set[str] = set()
    rows = []
    for name in sorted(p.folded.nodes, key=lambda n: _grouped(c, n)):
        a = p.node(name)
        if a.role == "const":
            continue
        shape = fmt_shape(c.shapes[name]) if name in c.shapes else "?"
        if a.role == "op":
            kind = KINDS[a.kind or ""]
            what = kind.describe(a.params) + (" @train" if a.mode == "train" else "")
            if a.layer is None:
                params = "-"
            elif a.layer in seen:
                params = f"shared {a.layer}"
            else:
                seen.add(a.layer)
                params = f"{layer_params.get(a.layer, 0):,}"
            rows.append(("  " + name, what, shape, steps_text(a.steps), params, f"{flops_by_node.get(name, 0):,}"))
        else:
            init = p.inits.get(name)
            what = a.role + (f", init {init}" if a.role == "stream" and init != "zeros" else "")
            params = f"{c.init_params[name]:,}" if name in c.init_params else "-"
            rows.append((name, what, shape, steps_text(a.steps), params, "-"))
    return rows


def _grouped(c: Checked, name: str) -> tuple[int, int, int]:
    """Each value or stream, followed by the layers of its definition."""
    p = c.program
    owner = p.node(name).owner
    return (p.order(owner), 0 if name == owner else 1, p.order(name))


def summary(c: Checked) -> str:
    """The report `rnndsl check` prints for one spec."""
    p = c.program
    ds = p.dataset
    lines = [f"{p.name}: {p.title}"]
    if p.about:
        lines.append(f"  {p.about}")
    lines.append(f"  data {ds.name} {fmt_shape(ds.shape)}, {ds.classes} classes; steps {p.steps}" if ds else "")
    lines.append(f"  streams: {', '.join(p.streams) or 'none'}")
    for graph in ("folded", "unrolled"):
        counts = c.edge_counts(graph)
        lines.append(f"  edges ({graph}): " + ", ".join(f"{k} {counts[k]}" for k in EDGE_KINDS))
    rows = [("name", "kind", "shape", "steps", "params", "FLOPs/sample"), *_rows(c)]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    lines.append("")
    for i, r in enumerate(rows):
        cells = [r[j].ljust(widths[j]) if j < 4 else r[j].rjust(widths[j]) for j in range(6)]
        lines.append("  " + "  ".join(cells).rstrip())
        if i == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"  total: {c.total_params:,} parameters, {c.total_flops:,} FLOPs per sample")
    return "\n".join(lines)


def ir_dump(c: Checked) -> str:
    """A stable text form of the checked IR (nodes, edges, shapes, totals) for golden files."""
    p = c.program
    out = [f"program {p.name} steps={p.steps} data={p.dataset.name if p.dataset else '?'} output={p.output}"]
    out.append(f"train {p.train.optimizer}({', '.join(f'{k}={v:g}' for k, v in p.train.optimizer_params.items())}) "
               f"batch={p.train.batch} epochs={p.train.epochs}")
    for name in sorted(p.folded.nodes, key=p.order):
        a = p.node(name)
        bits = [f"node {name}", a.role]
        if a.kind:
            bits.append(KINDS[a.kind].describe(a.params))
            extra = ", ".join(f"{k}={_dump_value(v)}" for k, v in a.params.items())
            if extra:
                bits.append(f"[{extra}]")
        if a.layer:
            bits.append(f"layer={a.layer}")
        if a.role == "const":
            bits.append(f"value={a.params['value']:g}")
        bits.append(f"steps={steps_text(a.steps)}")
        if a.mode:
            bits.append(f"mode={a.mode}")
        if a.role == "stream":
            bits.append(f"init={p.inits[name]}")
        bits.append(f"shape={fmt_shape(c.shapes[name]) if name in c.shapes else '?'}")
        out.append(" ".join(bits))
    edges = sorted(p.folded.edges(data=True), key=lambda e: (p.order(e[1]), e[2]["attr"].port))
    for src, dst, data in edges:
        e = data["attr"]
        bits = [f"edge {src} -> {dst}:{e.port}", e.kind]
        if e.lag is not None:
            bits.append(f"lag={e.lag}")
        if e.at is not None:
            bits.append(f"at={e.at}")
        if e.steps is not None:
            bits.append(f"when={steps_text(e.steps)}")
        out.append(" ".join(bits))
    inits = sorted(n for n, t in p.unrolled.nodes if t == INIT)
    out.append(f"unrolled nodes={p.unrolled.number_of_nodes()} edges={p.unrolled.number_of_edges()} "
               f"init-reads={','.join(inits) or '-'}")
    out.append(f"params={c.total_params} flops={c.total_flops}")
    return "\n".join(out) + "\n"


def _dump_value(v: object) -> str:
    return "(" + ",".join(fmt_value(x) for x in v) + ")" if isinstance(v, tuple) else fmt_value(v)
