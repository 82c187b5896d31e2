"""Shapes on the folded graph: a fixpoint over streams, then one reporting pass.

A stream has one shape at every step, so shapes are inferred once per folded node, not
once per step: the cost does not grow with the number of steps.  Each stream starts
unknown; every pass computes what its known inputs allow (an element-wise operator
with an unknown operand takes the known ones, which is how `h[t] = x[t] + h[t-1]` gets
its shape from x) until nothing changes.  The last pass reports what does not fit.
"""

from __future__ import annotations

import dataclasses
import heapq
from typing import Mapping

import networkx as nx

from ..catalogue import KINDS, Shape, ShapeError, fmt_shape
from ..errors import Diagnostic
from ..ir import EdgeAttr, Fixed, NodeAttr, Program, Range, Role, Window
from .facts import Facts

__all__ = ["infer_shapes", "folded_inputs", "same_step_order", "input_window"]


def folded_inputs(program: Program, name: str) -> list[tuple[int, str, EdgeAttr]]:
    """(port, source, edge) for every input of a folded node, by port."""
    out = [(k, src, d["attr"]) for src, _, k, d in program.folded.in_edges(name, keys=True, data=True)]
    out.sort(key=lambda x: x[0])
    return out


def input_window(program: Program, name: str) -> Window | None:
    """The range of steps an op reads (a range read, or an op over one), if any."""
    for _, src, e in folded_inputs(program, name):
        window = e.read.window if isinstance(e.read, Range) else program.node(src).window
        if window is not None:
            return window
    return None


def _reads_state(program: Program, e: EdgeAttr, src: str) -> bool:
    return program.node(src).role is Role.STREAM and e.read.carries_state


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
    """One pass over the folded nodes in `order`: streams' earlier steps read `streams`, the rest this pass.

    A same-step input later in the order (only where a cycle forced declaration order) is
    not known yet in the pass, so it reads as unknown.

    `lenient` (the fixpoint, and the search for what keeps a stream unknown): an operator
    with an unknown operand takes the known ones, and its shape is *tentative*, as is
    every shape computed from a tentative one.  An operator whose operands do not fit
    because of a tentative one takes its firm operands alone: in
    `h[t] = relu(dense(x[t], 64) + u * h[t-1])` the sum gives h the shape of the dense,
    and the next pass reports `u * h[t-1]` (not the sum) when u does not fit.
    """

    def __init__(self, program: Program, order: list[str], streams: Mapping[str, Shape], report: bool,
                 lenient: bool | None = None):
        self.p, self.order, self.streams, self.report = program, order, streams, report
        self.lenient = not report if lenient is None else lenient
        self.pos = {name: i for i, name in enumerate(order)}
        self.shapes: dict[str, Shape] = {}
        self.tentative: set[str] = set()  # nodes whose shape rests on an operand not known yet
        self.errors: dict[tuple[str, str], Diagnostic] = {}
        self.reader = ""  # the node being computed

    def source(self, src: str, e: EdgeAttr) -> Shape | None:
        if _reads_state(self.p, e, src):
            return self.streams.get(src)
        if self.pos[src] >= self.pos[self.reader]:
            return None
        return self.shapes.get(src)

    def run(self) -> dict[str, Shape]:
        for name in self.order:
            shape = self.node(name)
            if shape is not None:
                self.shapes[name] = shape
        return self.shapes

    def is_tentative(self, src: str, e: EdgeAttr) -> bool:
        return src in self.tentative and not _reads_state(self.p, e, src)

    def node(self, name: str) -> Shape | None:
        """The shape of one node from what is known of its inputs (None: unknown)."""
        self.reader = name
        self.tentative.discard(name)
        a = self.p.node(name)
        if a.role is Role.INPUT:
            decl = self.p.input(name)
            return decl.shape if decl else None
        if a.role is Role.CONST:
            return ()
        if a.role is Role.PARAM:
            return tuple(a.params["shape"])
        if a.role in (Role.VALUE, Role.STREAM):
            for _, src, e in folded_inputs(self.p, name):
                shape = self.source(src, e)
                if shape is not None:
                    if self.is_tentative(src, e):
                        self.tentative.add(name)
                    return shape
                if a.role is Role.VALUE:
                    return None
            return None
        return self.op(name, a)

    def op(self, name: str, a: NodeAttr) -> Shape | None:
        kind = KINDS[a.kind or ""]
        ins = folded_inputs(self.p, name)
        ports = [port for port, _, _ in ins]
        if ports[:kind.ports] != list(range(kind.ports)):
            return None  # an input failed to lower (already reported)
        in_shapes = [self.source(src, e) for _, src, e in ins]
        n_x = kind.min_inputs if kind.is_cell else len(in_shapes)
        x_shapes = in_shapes[:n_x]
        firm = [not self.is_tentative(src, e) for _, src, e in ins[:n_x]]
        tentative = not all(firm)
        if any(s is None for s in x_shapes):
            known = [i for i, s in enumerate(x_shapes) if s is not None]
            if not (kind.operator and known and self.lenient):
                return None
            # an operand reads a state not yet known: the others decide for now
            x_shapes, firm, tentative = [x_shapes[i] for i in known], [firm[i] for i in known], True
        t = max(a.steps) if a.steps else 0  # a step-dependent kind is checked at its last step
        try:
            out = kind.shape(tuple(x_shapes), a.params, t)  # type: ignore[arg-type]
        except ShapeError as err:
            out = self._firm_only(kind, a, x_shapes, firm, t)
            if out is None:
                if self.report:
                    self._error(a, str(err), self._operands(ins, in_shapes))
                return None
            tentative = True
        if tentative:
            self.tentative.add(name)
        if kind.is_cell and self.report and len(in_shapes) > kind.min_inputs:
            state = in_shapes[kind.min_inputs]
            if state is not None and state != out:
                self._error(a, f"{kind.name} state has shape {fmt_shape(state)}, but the cell gives {fmt_shape(out)}")
        return out

    def _firm_only(self, kind, a: NodeAttr, shapes: list, firm: list[bool], t: int) -> Shape | None:
        """A lenient operator whose operands do not fit because of a tentative one: its firm ones decide."""
        keep = [s for s, f in zip(shapes, firm) if f]
        if not (self.lenient and kind.operator and keep and len(keep) < len(shapes)):
            return None
        try:
            return kind.shape(tuple(keep), a.params, t)
        except ShapeError:
            return None

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
                what += f"[{e.label[1:-1] if isinstance(e.read, (Fixed, Range)) else e.label or 't'}]"
            where = f"line {a.span.line}" if a.span.known else ("the input" if a.role is Role.INPUT else "")
            notes.append(f"{what} has shape {fmt_shape(s)}" + (f" ({where})" if where else ""))
        return tuple(notes)


def _equation_line(program: Program, e: EdgeAttr, stream: str) -> int:
    return e.span.line if e.span.known else program.node(stream).span.line


def infer_shapes(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """Infer every folded node's shape; report shape errors, streams whose shape changes, unknowable streams."""
    if facts.stop:
        return facts, []
    order = same_step_order(program)
    streams, unsettled = _settle(program, order, 4 + 2 * len(program.streams))
    final = _Pass(program, order, streams, report=True)
    shapes = final.run()
    errors: list[Diagnostic] = list(final.errors.values())
    for s in program.streams:
        if s in unsettled:
            before = unsettled[s]
            errors.append(Diagnostic(
                "shape", f"the shape of stream '{s}' does not settle: from "
                f"{fmt_shape(before) if before is not None else 'its initial state'} its equation gives "
                f"{fmt_shape(streams[s])}, which gives another shape at the next step",
                program.node(s).span, ("every step of a stream must have the same shape",)))
    errors += _equations_agree(program, shapes, streams)
    # An input whose shape the data will give leaves everything after it unknown until then; an error
    # of the lowering leaves a gap (reported there).
    from_data = any(i.shape is None for i in program.inputs)
    unknown: list[str] = []
    if not (from_data or any(d.severity == "error" for d in diags)):
        unknown = [s for s in program.streams if s not in streams]
    if unknown:
        gaps = _after_gaps(program)
        unknown = [s for s in unknown if s not in gaps]
    if unknown:
        # What keeps a stream unknown may be a mistake on the way, met while its state is still
        # unknown (clip(..., 1, -1), or operands that do not fit): the lenient pass reports it.
        blocked = _Pass(program, order, streams, report=True, lenient=True)
        blocked.run()
        errors += [d for key, d in blocked.errors.items() if key not in final.errors]
        explained = _reached(program, {name for name, _ in (*final.errors, *blocked.errors)})
        unknown = [s for s in unknown if s not in explained]
        if unknown:  # no shape error on the way explains it: no step computes it
            s = unknown[0]  # the other streams of such a ring wait on this one: one error says it
            errors.append(Diagnostic("shape", f"cannot infer the shape of stream '{s}': no step computes it "
                                     f"without its own earlier state", program.node(s).span,
                                     ("give one step an equation that does not read a stream's earlier steps, "
                                      "such as h[t] = tanh(dense(x, 8)) when t == 0",)))
    return dataclasses.replace(facts, shapes=shapes), errors


def _settle(program: Program, order: list[str], passes: int) -> tuple[dict[str, Shape], dict[str, Shape | None]]:
    """Streams' shapes at the fixpoint, and those still changing after `passes` with their shape before.

    Pass k computes every node from the streams' shapes of pass k-1 (a shape once known
    stays until another is found) until nothing changes.  Each pass recomputes only the
    nodes whose inputs changed, in order, which gives the same shapes as recomputing all
    of them: the cost follows the changes, not passes times nodes.
    """
    p = _Pass(program, order, {}, report=False)
    streams: dict[str, Shape] = {}
    p.streams = streams
    state_readers: dict[str, list[str]] = {}
    step_readers: dict[str, list[str]] = {}
    for src, dst, data in program.folded.edges(data=True):
        if _reads_state(program, data["attr"], src):
            state_readers.setdefault(src, []).append(dst)
        elif p.pos[src] < p.pos[dst]:
            step_readers.setdefault(src, []).append(dst)
    is_stream = set(program.streams)
    dirty = list(range(len(order)))  # positions; the first pass computes every node
    unsettled: dict[str, Shape | None] = {}
    for _ in range(passes):
        heapq.heapify(dirty)
        done: set[int] = set()
        changed: list[str] = []
        while dirty:
            i = heapq.heappop(dirty)
            if i in done:
                continue
            done.add(i)
            name = order[i]
            shape = p.node(name)
            if shape == p.shapes.get(name):
                continue
            if shape is None:
                del p.shapes[name]
            else:
                p.shapes[name] = shape
            if name in is_stream:
                changed.append(name)
            for reader in step_readers.get(name, ()):
                heapq.heappush(dirty, p.pos[reader])
        delta = {s: p.shapes[s] for s in changed if s in p.shapes and streams.get(s) != p.shapes[s]}
        if not delta:
            return streams, {}
        unsettled = {s: streams.get(s) for s in delta}
        streams.update(delta)
        dirty = [p.pos[r] for s in delta for r in state_readers.get(s, ())]
    return streams, unsettled


def _after_gaps(program: Program) -> set[str]:
    """Nodes at or after an op with a missing input (a gap left by an error reported elsewhere)."""
    gaps = []
    for name in program.folded.nodes:
        a = program.node(name)
        if a.role is Role.OP:
            kind = KINDS[a.kind or ""]
            ports = [p for p, _, _ in folded_inputs(program, name)]
            if ports[:kind.ports] != list(range(kind.ports)):
                gaps.append(name)
    return _reached(program, gaps)


def _reached(program: Program, starts) -> set[str]:
    """The folded nodes `starts` reach (themselves included), over reads of every kind."""
    reached = set(starts)
    stack = list(reached)
    while stack:
        for nxt in program.folded.successors(stack.pop()):
            if nxt not in reached:
                reached.add(nxt)
                stack.append(nxt)
    return reached


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
