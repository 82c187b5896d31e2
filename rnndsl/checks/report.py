"""Checked IR -> the text `rnndsl check` prints (and a stable IR dump for golden tests)."""

from __future__ import annotations

from ..catalogue import KINDS, fmt_shape
from ..ir import EdgeKind, Role
from ..ir.dump import dump_program, steps_text
from .facts import Checked

__all__ = ["summary", "ir_dump", "steps_text", "rows"]


def rows(c: Checked) -> list[tuple[str, str, str, str, str, str]]:
    """The table `check` prints: name, kind, shape, steps, params, FLOPs per sample (one row per node)."""
    p = c.program
    layer_params = {layer.id: layer.params for layer in c.layers}
    flops_by_node = c.flops
    seen: set[str] = set()
    out = []
    for name in sorted(p.folded.nodes, key=lambda n: _grouped(c, n)):
        a = p.node(name)
        if a.role is Role.CONST:
            continue
        shape = fmt_shape(c.shapes[name]) if name in c.shapes else "?"
        if a.role is Role.OP:
            kind = KINDS[a.kind or ""]
            what = kind.describe(a.params) + (" @train" if a.mode == "train" else "")
            if a.layer is None:
                params = "-"
            elif a.layer in seen:
                params = f"shared {a.layer}"
            else:
                seen.add(a.layer)
                params = f"{layer_params[a.layer]:,}" if a.layer in layer_params else "?"
            out.append(("  " + name, what, shape, steps_text(a.steps), params, f"{flops_by_node.get(name, 0):,}"))
        else:
            init = p.inits.get(name)
            what = a.role.value + (f", init {init}" if a.role is Role.STREAM and init != "zeros" else "")
            if name in p.init_fills:
                what += f"({p.init_fills[name]})"
            if a.role is Role.PARAM:
                what += f", init {a.params['init']}"
            params = f"{c.tensors[name]:,}" if name in c.tensors else "-"
            out.append((name, what, shape, steps_text(a.steps), params, "-"))
    return out


def _grouped(c: Checked, name: str) -> tuple[int, int, int]:
    """Each value or stream, followed by the layers of its definition."""
    p = c.program
    owner = p.node(name).owner
    return (p.order(owner), 0 if name == owner else 1, p.order(name))


def summary(c: Checked) -> str:
    """The report `rnndsl check` prints for one spec."""
    p = c.program
    lines = [f"{p.name}: {p.title}"]
    if p.about:
        lines.append(f"  {p.about}")
    ins = ", ".join(f"{i.name}{'[t]' if i.sequence else ''} {fmt_shape(i.shape) if i.shape else '(from the data)'}"
                    for i in p.inputs) or "none"
    outs = ", ".join(f"{o.name}{'[t]' if o.per_step else ''}: {o.target.value}"
                     + (f"({o.size})" if o.size else " (size from the data)") + f", loss {o.loss.value}"
                     for o in p.outputs)
    steps = f"from the data (checked at {p.steps})" if p.steps_from_data else str(p.steps)
    lines.append(f"  data {p.data or 'from a file'}: inputs {ins}; targets {outs or 'none'}; steps {steps}"
                 + ("; masked" if p.masked else ""))
    lines.append(f"  streams: {', '.join(p.streams) or 'none'}")
    for graph in ("folded", "unrolled"):
        counts = c.edge_counts(graph)
        lines.append(f"  edges ({graph}): " + ", ".join(f"{k.value} {counts[k.value]}" for k in EdgeKind))
    table = [("name", "kind", "shape", "steps", "params", "FLOPs/sample"), *rows(c)]
    widths = [max(len(r[i]) for r in table) for i in range(6)]
    lines.append("")
    for i, r in enumerate(table):
        cells = [r[j].ljust(widths[j]) if j < 4 else r[j].rjust(widths[j]) for j in range(6)]
        lines.append("  " + "  ".join(cells).rstrip())
        if i == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"  total: {c.total_params:,} parameters, {c.total_flops:,} FLOPs per sample")
    if any(i.shape is None for i in p.inputs):
        lines.append("  (an input's shape comes from the data: the layers after it, shown '?', are sized and "
                     "counted when the data is read)")
    return "\n".join(lines)


def ir_dump(c: Checked) -> str:
    """A stable text form of the checked IR (nodes, edges, shapes, totals) for golden files."""
    return dump_program(c.program, c.shapes, c.total_params, c.total_flops)
