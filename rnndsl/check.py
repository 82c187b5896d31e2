"""Checks over the IR: zero-lag cycles, shapes across time, shared layers, the head, totals.

`check(program, diagnostics)` returns a `Checked` program or raises SpecError with every
error found (the lowering's and its own) in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import networkx as nx

from .errors import Diagnostic, Span, SpecError
from .ir import INIT, EDGE_KINDS, EdgeAttr, NodeAttr, Program, UNode
from .registry import KINDS, Shape, ShapeError, fmt_shape

__all__ = ["Checked", "LayerInfo", "check", "topological_order"]


@dataclass(frozen=True)
class LayerInfo:
    """One weight-holding layer (shared by all its applications)."""

    id: str
    kind: str
    label: str
    uses: int
    weights: tuple[tuple[str, Shape], ...]
    params: int


@dataclass(frozen=True, eq=False)
class Checked:
    """A program that passed every check, with what the checks inferred."""

    program: Program
    shapes: Mapping[str, Shape]  # folded node -> shape of one sample
    flops: Mapping[UNode, int]  # unrolled op -> FLOPs per sample
    layers: tuple[LayerInfo, ...]
    init_params: Mapping[str, int]  # learned initial states
    warnings: tuple[Diagnostic, ...]

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers) + sum(self.init_params.values())

    @property
    def total_flops(self) -> int:
        return sum(self.flops.values())

    def edge_counts(self, graph: str = "folded") -> dict[str, int]:
        """Edges by kind (feed, same, cross, lag-k, reversed) in the folded or unrolled graph."""
        g = self.program.folded if graph == "folded" else self.program.unrolled
        counts = dict.fromkeys(EDGE_KINDS, 0)
        for *_, data in g.edges(data=True):
            counts[data["attr"].kind] += 1
        return counts


def topological_order(program: Program) -> list[UNode]:
    """A deterministic topological order of the unrolled graph (steps, then declaration order)."""
    order = program.folded.nodes

    def key(n: UNode) -> tuple[int, int]:
        t = n[1]
        return (-2 if t is None else t, order[n[0]]["order"])

    return list(nx.lexicographical_topological_sort(program.unrolled, key=key))


def _inputs(program: Program, node: UNode) -> list[tuple[int, UNode, EdgeAttr]]:
    out = []
    for src, _, data in program.unrolled.in_edges(node, data=True):
        for port in data["ports"]:
            out.append((port, src, data["attr"]))
    return sorted(out, key=lambda x: x[0])


def _step_text(t: int | None) -> str:
    return "" if t is None else ("[init]" if t == INIT else f"[{t}]")


def _cycle_diagnostic(program: Program, cycle: list[tuple[UNode, UNode]]) -> Diagnostic:
    named = [u for u, _ in cycle if program.node(u[0]).role in ("stream", "value")] or [u for u, _ in cycle]
    path = " -> ".join(f"{n}{_step_text(t)}" for n, t in named + named[:1])
    span = Span.unknown()
    for u, v in cycle:
        attr: EdgeAttr = program.unrolled.edges[u, v]["attr"]
        if program.node(u[0]).role == "stream" and attr.span.known:
            span = attr.span
            break
    else:
        span = next((program.unrolled.edges[u, v]["attr"].span for u, v in cycle
                     if program.unrolled.edges[u, v]["attr"].span.known), span)
    return Diagnostic("zero-lag-cycle", f"cycle with zero total lag: {path}", span,
                      ("every cycle needs a read of an earlier (or later) step, such as h[t-1]",))


class _Inference:
    """Shape inference over the unrolled graph, run twice: the first pass finds each stream's
    shape from the steps that do not depend on its initial state; the second checks every step."""

    def __init__(self, program: Program, order: list[UNode]):
        self.p = program
        self.order = order
        self.errors: dict[tuple[str, str], Diagnostic] = {}

    def run(self, stream_shapes: Mapping[str, Shape], report: bool) -> dict[UNode, Shape | None]:
        shapes: dict[UNode, Shape | None] = {}
        ds = self.p.dataset
        for node in self.order:
            name, t = node
            a = self.p.node(name)
            if a.role == "input":
                shapes[node] = ds.shape if ds else None
            elif a.role == "const":
                shapes[node] = ()
            elif t == INIT:
                shapes[node] = stream_shapes.get(name)
            elif a.role in ("stream", "value"):
                ins = _inputs(self.p, node)
                shapes[node] = shapes.get(ins[0][1]) if ins else None
            else:
                shapes[node] = self._op(node, a, shapes, report)
        return shapes

    def _error(self, code: str, a: NodeAttr, message: str, notes: tuple[str, ...] = ()) -> None:
        self.errors.setdefault((a.name, message), Diagnostic(code, message, a.span, notes))

    def _op(self, node: UNode, a: NodeAttr, shapes: dict[UNode, Shape | None], report: bool) -> Shape | None:
        kind = KINDS[a.kind or ""]
        ins = _inputs(self.p, node)
        if not _complete(kind, ins):
            return None  # an input failed to lower (already reported)
        in_shapes = [shapes.get(src) for _, src, _ in ins]
        if kind.category == "cell":
            x_shapes = in_shapes[:1]
        else:
            x_shapes = in_shapes
        if not x_shapes or any(s is None for s in x_shapes):
            known = [s for s in x_shapes if s is not None]
            if kind.name in ("add", "sub", "mul") and known:
                x_shapes = known  # pass 1: the other operand reads a state not yet known
            else:
                return None
        try:
            out = kind.shape(tuple(x_shapes), a.params, node[1] if node[1] is not None else 0)  # type: ignore[arg-type]
        except ShapeError as err:
            if report:
                self._error("shape", a, str(err), self._operands(ins, in_shapes))
            return None
        if kind.category == "cell" and report and len(in_shapes) > 1 and in_shapes[1] is not None \
                and in_shapes[1] != out:
            self._error("shape", a, f"{kind.name} state has shape {fmt_shape(in_shapes[1])}, "
                        f"but the cell gives {fmt_shape(out)}")
        return out

    def _operands(self, ins, in_shapes) -> tuple[str, ...]:
        notes = []
        for (_, src, attr), s in zip(ins, in_shapes):
            if s is None:
                continue
            where = f"line {attr.span.line}" if attr.span.known else "the input"
            notes.append(f"{src[0]}{_step_text(src[1])} has shape {fmt_shape(s)} ({where})")
        return tuple(notes)


def _complete(kind, ins) -> bool:
    """Whether an op got every input it takes (a failed sub-expression leaves a gap)."""
    ports = [port for port, _, _ in ins]
    want = (kind.arity or 2) + (1 if kind.category == "cell" else 0)
    return len(ports) >= want and ports[:want] == list(range(want))


def _stream_shapes(program: Program, shapes: Mapping[UNode, Shape | None]) -> dict[str, Shape]:
    out: dict[str, Shape] = {}
    for name in program.streams:
        for t in range(program.steps):
            s = shapes.get((name, t))
            if s is not None:
                out[name] = s
                break
    return out


def _check_streams(program: Program, shapes, stream_shapes, errors: list[Diagnostic]) -> None:
    for name in program.streams:
        if name not in stream_shapes:
            continue
        want = stream_shapes[name]
        first = next(t for t in range(program.steps) if shapes.get((name, t)) is not None)
        for t in range(program.steps):
            got = shapes.get((name, t))
            if got is not None and got != want:
                ins = _inputs(program, (name, t))
                span = ins[0][2].span if ins else program.node(name).span
                errors.append(Diagnostic("shape", f"stream '{name}' has shape {fmt_shape(got)} at step {t} "
                                         f"but {fmt_shape(want)} at step {first}", span,
                                         ("every step of a stream must have the same shape",)))
                break


def _check_layers(program: Program, order: list[UNode], shapes, errors: list[Diagnostic]) -> tuple[LayerInfo, ...]:
    first: dict[str, tuple[tuple[tuple[str, Shape], ...], NodeAttr, tuple[Shape, ...]]] = {}
    uses: dict[str, int] = {}
    reported: set[str] = set()
    for node in order:
        a = program.node(node[0])
        if a.role != "op" or a.layer is None or node[1] == INIT:
            continue
        kind = KINDS[a.kind or ""]
        ins = _inputs(program, node)
        in_shapes = tuple(shapes.get(src) for _, src, _ in ins)
        x = in_shapes[:1] if kind.category == "cell" else in_shapes
        if not _complete(kind, ins) or any(s is None for s in x):
            continue
        weights = kind.weights(x, a.params)  # type: ignore[arg-type]
        uses[a.layer] = uses.get(a.layer, 0) + 1
        if a.layer not in first:
            first[a.layer] = (weights, a, x)  # type: ignore[assignment]
        elif first[a.layer][0] != weights and a.layer not in reported:
            reported.add(a.layer)
            w0, a0, x0 = first[a.layer]
            errors.append(Diagnostic(
                "shared-layer", f"shared layer '{a.layer}' gets input {fmt_shape(x[0])} here but "
                f"{fmt_shape(x0[0])} at line {a0.span.line}; its weights cannot fit both", a.span,
                ("a shared layer needs the same input channels at every use",)))
    infos = []
    for layer_id, kind_name in program.layers.items():
        if layer_id not in first:
            continue
        weights, a, _ = first[layer_id]
        kind = KINDS[kind_name]
        infos.append(LayerInfo(layer_id, kind_name, kind.describe(a.params), uses.get(layer_id, 0), weights,
                               sum(_size(s) for _, s in weights)))
    return tuple(infos)


def _size(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _flops(program: Program, order: list[UNode], shapes) -> dict[UNode, int]:
    out: dict[UNode, int] = {}
    for node in order:
        a = program.node(node[0])
        if a.role != "op" or node[1] == INIT or shapes.get(node) is None:
            continue
        kind = KINDS[a.kind or ""]
        ins = tuple(shapes.get(src) for _, src, _ in _inputs(program, node))
        x = ins[:1] if kind.category == "cell" else ins
        out[node] = kind.flops(x, a.params, shapes[node])  # type: ignore[arg-type]
    return out


def _check_head(program: Program, shapes, errors: list[Diagnostic]) -> None:
    ds, out = program.dataset, program.output
    if ds is None or out is None:
        return
    got = shapes.get((out, None))
    if got is None or got == (ds.classes,):
        return
    hint = ("end the head with `| gap` to average over space" if len(got) == 3 and got[-1] == ds.classes
            else f"end the head with a layer that gives {ds.classes} channels, then `| gap` or `| flatten | dense({ds.classes})`")
    errors.append(Diagnostic("head", f"the output 'out' has shape {fmt_shape(got)}, but {ds.name} has "
                             f"{ds.classes} classes: it must end with shape ({ds.classes},)",
                             program.node(out).span, (hint,)))


def _unused(program: Program) -> list[Diagnostic]:
    if program.output is None:
        return []
    used = nx.ancestors(program.folded, program.output) | {program.output}
    out = []
    for name in (*program.values, *program.streams):
        if name not in used:
            what = "stream" if name in program.streams else "value"
            out.append(Diagnostic("unused", f"{what} '{name}' is never used by the output", program.node(name).span,
                                  severity="warning"))
    return out


def check(program: Program, diagnostics: tuple[Diagnostic, ...] = ()) -> Checked:
    """Run every check; return the Checked program or raise SpecError with all errors."""
    errors = [d for d in diagnostics if d.severity == "error"]
    warnings = [d for d in diagnostics if d.severity != "error"]
    if not errors:  # with errors, an unused value is most likely their consequence
        warnings += _unused(program)
    # is_directed_acyclic_graph is a cheap topological sort; find_cycle (an edge DFS) took
    # 2.9 s of a 1,000-step check, so it runs only when there is a cycle to show.
    cycle = None if nx.is_directed_acyclic_graph(program.unrolled) else nx.find_cycle(program.unrolled)
    if cycle is not None:
        errors.append(_cycle_diagnostic(program, [(u, v) for u, v, *_ in cycle]))
        raise SpecError(errors + warnings)
    order = topological_order(program)
    inference = _Inference(program, order)
    first = inference.run({}, report=False)
    stream_shapes = _stream_shapes(program, first)
    for name in program.streams:
        if name not in stream_shapes and not errors:  # otherwise most likely a consequence
            errors.append(Diagnostic("shape", f"cannot infer the shape of stream '{name}': no step computes it "
                                     f"without its own earlier state", program.node(name).span))
    shapes = inference.run(stream_shapes, report=True)
    errors.extend(inference.errors.values())
    _check_streams(program, shapes, stream_shapes, errors)
    layers = _check_layers(program, order, shapes, errors)
    _check_head(program, shapes, errors)
    if errors:
        raise SpecError(errors + warnings)
    folded_shapes: dict[str, Shape] = {}
    for (name, t), s in shapes.items():
        if s is not None and t != INIT:
            folded_shapes.setdefault(name, s)
    init_params = {s: _size(stream_shapes[s]) for s, k in program.inits.items()
                   if k == "learned" and (s, INIT) in program.unrolled}
    return Checked(program, folded_shapes, _flops(program, order, shapes), layers, init_params, tuple(warnings))
