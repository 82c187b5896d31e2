"""The checked IR as stable text, for golden files (`rnndsl check --dump-ir`)."""

from __future__ import annotations

from typing import Mapping

from ..catalogue import KINDS, Shape, fmt_shape, fmt_value
from .graph import INIT, Loss, Program, Role, TargetKind

__all__ = ["dump_program", "steps_text"]


def steps_text(steps: tuple[int, ...] | None) -> str:
    """Compact step sets: 0..3, {1, 3}."""
    if steps is None:
        return "-"
    if not steps:
        return "{}"
    if len(steps) > 2 and steps[-1] - steps[0] == len(steps) - 1:
        return f"{steps[0]}..{steps[-1]}"
    return "{" + ", ".join(str(s) for s in steps) + "}"


def dump_program(p: Program, shapes: Mapping[str, Shape], params: int, flops: int) -> str:
    """A stable text form of the checked IR (nodes, edges, shapes, totals) for golden files."""
    out = [f"program {p.name} steps={p.steps} data={p.data or '?'}"]
    if p.steps_from_data or p.masked:
        out.append(f"steps from-data={p.steps_from_data} masked={p.masked}")
    for i in p.inputs:
        out.append(f"input {i.name}{'[t]' if i.sequence else ''} shape={fmt_shape(i.shape) if i.shape else '?'}")
    for o in p.outputs:
        size = (f" classes={o.size}" if o.target is TargetKind.CLASS else f" size={o.size}") if o.size else ""
        loss = "" if o.loss in (Loss.CROSSENTROPY, Loss.SIGMOID, Loss.MSE) else f" loss={o.loss.value}"
        out.append(f"output {o.name}{'[t]' if o.per_step else ''} target={o.target.value}{size}{loss}")
    for name in sorted(p.folded.nodes, key=p.order):
        a = p.node(name)
        bits = [f"node {name}", a.role.value]
        if a.kind:
            bits.append(KINDS[a.kind].describe(a.params))
            extra = ", ".join(f"{k}={_dump_value(v)}" for k, v in a.params.items())
            if extra:
                bits.append(f"[{extra}]")
        if a.layer:
            bits.append(f"layer={a.layer}")
        if a.role is Role.CONST:
            bits.append(f"value={a.params['value']:g}")
        bits.append(f"steps={steps_text(a.steps)}")
        if a.mode:
            bits.append(f"mode={a.mode}")
        if a.role is Role.STREAM:
            bits.append(f"init={p.inits[name]}" + (f"({p.init_fills[name]})" if name in p.init_fills else ""))
        if a.role is Role.PARAM:
            bits.append(f"init={a.params['init']}")
        if a.window is not None:
            bits.append(f"over={a.window}")
        bits.append(f"shape={fmt_shape(shapes[name]) if name in shapes else '?'}")
        out.append(" ".join(bits))
    edges = sorted(p.folded.edges(data=True), key=lambda e: (p.order(e[1]), e[2]["attr"].port))
    for src, dst, data in edges:
        e = data["attr"]
        bits = [f"edge {src} -> {dst}:{e.port}", e.kind.value]
        if e.read.dump():
            bits.append(e.read.dump())
        if e.steps is not None:
            bits.append(f"when={steps_text(e.steps)}")
        out.append(" ".join(bits))
    inits = sorted(n for n, t in p.unrolled.nodes if t == INIT)
    out.append(f"unrolled nodes={p.unrolled.number_of_nodes()} edges={p.unrolled.number_of_edges()} "
               f"init-reads={','.join(inits) or '-'}")
    out.append(f"params={params} flops={flops}")
    return "\n".join(out) + "\n"


def _dump_value(v: object) -> str:
    return "(" + ",".join(fmt_value(x) for x in v) + ")" if isinstance(v, tuple) else fmt_value(v)
