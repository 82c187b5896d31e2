"""Shapes on the folded graph: a fixpoint over streams, then one reporting pass.

A stream has one shape at every step, so shapes are inferred once per folded node, not
once per step: the cost does not grow with the number of steps.  Each stream starts
unknown; every pass computes what its known inputs allow (an element-wise operator
with an unknown operand takes the known ones, which is how `h[t] = x[t] + h[t-1]` gets
its shape from x) until nothing changes.  The last pass reports what does not fit.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import networkx as nx

from ..catalogue import KINDS, Shape, ShapeError, fmt_shape
from ..errors import Diagnostic
from ..ir import EdgeAttr, NodeAttr, Program, Role
from .facts import Facts

__all__ = ["infer_shapes", "folded_inputs", "same_step_order"]


def folded_inputs(program: Program, name: str) -> list[tuple[int, str, EdgeAttr]]:
    """(port, source, edge) for every input of a folded node, by port."""
    out = [(k, src, d["attr"]) for src, _, k, d in program.folded.in_edges(name, keys=True, data=True)]
    out.sort(key=lambda x: x[0])
    return out


def _reads_state(program: Program, e: EdgeAttr, src: str) -> bool:
    return program.node(src).role is Role.STREAM and (bool(e.lag) or e.at is not None)


def same_step_order(program: Program) -> list[str]:
    """Folded nodes so that same-step inputs come first (declaration order where guards make a loop)."""
    g = program.folded
    dag = nx.DiGraph()
    dag.add_nodes_from(g.nodes)
    dag.add_edges_from((s, d) for s, d, data in g.edges(data=True) if not _reads_state(program, data["attr"], s))
    try:
        return list(nx.lexicographical_topological_sort(dag, key=program.order))
    except nx.NetworkXUnfeasible:  # a zero-lag cycle, reported by its own rule, or one that guards break
        return sorted(g.nodes, key=program.order)


class _Pass:
    def __init__(self, program: Program, order: list[str], streams: Mapping[str, Shape], report: bool):
        self.p, self.order, self.streams, self.report = program, order, streams, report
        self.shapes: dict[str, Shape] = {}
        self.errors: dict[tuple[str, str], Diagnostic] = {}

    def source(self, src: str, e: EdgeAttr) -> Shape | None:
        if _reads_state(self.p, e, src):
            return self.streams.get(src)
        return self.shapes.get(src)

    def run(self) -> dict[str, Shape]:
        for name in self.order:
            a = self.p.node(name)
            shape: Shape | None
            if a.role is Role.INPUT:
                decl = self.p.input(name)
                shape = decl.shape if decl else None
            elif a.role is Role.CONST:
                shape = ()
            elif a.role is Role.VALUE:
                ins = folded_inputs(self.p, name)
                shape = self.source(ins[0][1], ins[0][2]) if ins else None
            elif a.role is Role.STREAM:
                roots = [self.source(src, e) for _, src, e in folded_inputs(self.p, name)]
                shape = next((s for s in roots if s is not None), None)
            else:
                shape = self.op(name, a)
            if shape is not None:
                self.shapes[name] = shape
        return self.shapes

    def op(self, name: str, a: NodeAttr) -> Shape | None:
        kind = KINDS[a.kind or ""]
        ins = folded_inputs(self.p, name)
        ports = [port for port, _, _ in ins]
        if ports[:kind.ports] != list(range(kind.ports)):
            return None  # an input failed to lower (already reported)
        in_shapes = [self.source(src, e) for _, src, e in ins]
        x_shapes = in_shapes[:kind.min_inputs] if kind.is_cell else in_shapes
        if any(s is None for s in x_shapes):
            known = [s for s in x_shapes if s is not None]
            if not (kind.operator and known and not self.report):
                return None
            x_shapes = known  # an operand reads a state not yet known: the others decide for now
        t = max(a.steps) if a.steps else 0  # a step-dependent kind is checked at its last step
        try:
            out = kind.shape(tuple(x_shapes), a.params, t)  # type: ignore[arg-type]
        except ShapeError as err:
            if self.report:
                self._error(a, str(err), self._operands(ins, in_shapes))
            return None
        if kind.is_cell and self.report and len(in_shapes) > kind.min_inputs:
            state = in_shapes[kind.min_inputs]
            if state is not None and state != out:
                self._error(a, f"{kind.name} state has shape {fmt_shape(state)}, but the cell gives {fmt_shape(out)}")
        return out

    def _error(self, a: NodeAttr, message: str, notes: tuple[str, ...] = ()) -> None:
        self.errors.setdefault((a.name, message), Diagnostic("shape", message, a.span, notes))

    def _operands(self, ins, in_shapes) -> tuple[str, ...]:
        notes = []
        for (_, src, e), s in zip(ins, in_shapes):
            if s is None:
                continue
            a = self.p.node(src)
            what = src if a.role is not Role.OP else f"{a.kind} ({src})"
            if a.role is Role.STREAM:
                what += f"[{e.label[1:-1] if e.at is not None else ('t' + (e.label[1:] if e.label else ''))}]"
            where = f"line {a.span.line}" if a.span.known else ("the input" if a.role is Role.INPUT else "")
            notes.append(f"{what} has shape {fmt_shape(s)}" + (f" ({where})" if where else ""))
        return tuple(notes)


def _stream_shapes(program: Program, shapes: Mapping[str, Shape]) -> dict[str, Shape]:
    return {s: shapes[s] for s in program.streams if s in shapes}


def _equation_line(program: Program, e: EdgeAttr, stream: str) -> int:
    return e.span.line if e.span.known else program.node(stream).span.line


def infer_shapes(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """Infer every folded node's shape; report shape errors, streams whose shape changes, unknowable streams."""
    if facts.stop:
        return facts, []
    order = same_step_order(program)
    streams: dict[str, Shape] = {}
    settled = False
    previous: dict[str, Shape] = {}
    for _ in range(4 + 2 * len(program.streams)):
        shapes = _Pass(program, order, streams, report=False).run()
        new = {**streams, **_stream_shapes(program, shapes)}  # a shape once known stays until another is found
        if new == streams:
            settled = True
            break
        previous, streams = streams, new
    final = _Pass(program, order, streams, report=True)
    shapes = final.run()
    errors: list[Diagnostic] = list(final.errors.values())
    if not settled:
        for s in program.streams:
            if previous.get(s) != streams.get(s) and s in streams:
                errors.append(Diagnostic(
                    "shape", f"the shape of stream '{s}' does not settle: from {fmt_shape(previous[s]) if s in previous else 'its initial state'} "
                    f"its equation gives {fmt_shape(streams[s])}, which gives another shape at the next step",
                    program.node(s).span, ("every step of a stream must have the same shape",)))
    errors += _equations_agree(program, shapes, streams)
    prior_errors = any(d.severity == "error" for d in diags) or errors
    for s in program.streams:
        if s not in streams and not prior_errors and _reads_only_states(program, s, shapes):
            errors.append(Diagnostic("shape", f"cannot infer the shape of stream '{s}': no step computes it "
                                     f"without its own earlier state", program.node(s).span,
                                     ("give one step an equation that does not read a stream's earlier steps, "
                                      "such as h[t] = tanh(dense(x, 8)) when t == 0",)))
    return dataclasses.replace(facts, shapes=shapes), errors


def _reads_only_states(program: Program, stream: str, shapes: Mapping[str, Shape]) -> bool:
    """Whether the stream's shape is unknown only because it waits for streams' states."""
    for anc in nx.ancestors(program.folded, stream) | {stream}:
        a = program.node(anc)
        if a.role is Role.OP:
            kind = KINDS[a.kind or ""]
            ports = [p for p, _, _ in folded_inputs(program, anc)]
            if ports[:kind.ports] != list(range(kind.ports)):
                return False  # a gap left by an error: not this stream's fault
    return True


def _equations_agree(program: Program, shapes: Mapping[str, Shape], streams: Mapping[str, Shape]) -> list[Diagnostic]:
    errors = []
    for s in program.streams:
        want = streams.get(s)
        if want is None:
            continue
        ins = folded_inputs(program, s)
        first = next(((p, e) for p, src, e in ins if shapes.get(src) == want), None)
        for port, src, e in ins:
            got = shapes.get(src)
            if got is None or got == want or first is None:
                continue
            errors.append(Diagnostic(
                "shape", f"stream '{s}' has shape {fmt_shape(got)} in the equation on line "
                f"{_equation_line(program, e, s)} but {fmt_shape(want)} in the one on line "
                f"{_equation_line(program, first[1], s)}", e.span, ("every step of a stream must have the same shape",)))
            break
    return errors
