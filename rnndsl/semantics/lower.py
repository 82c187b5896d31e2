"""AST -> IR: collect symbols, resolve named layers and guards, lower every equation, unroll.

`lower` never raises on a user mistake: it returns the Program it could build and the
diagnostics it found, so the checks can add theirs and everything is reported in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from ..catalogue import Params
from ..errors import Diagnostic, Span
from ..ir import InputDecl, Loss, NodeAttr, OutputDecl, Program, Role, TargetKind, unroll, unrolled_size
from ..limits import MAX_UNROLLED_EDGES, MAX_UNROLLED_NODES
from ..syntax import ast as A
from .expressions import Ctx, GraphBuilder
from .guards import equation_steps
from .layers import resolve_layer_defs
from .symbols import Bindings, Symbols, collect
from .train_block import TrainBlock, train_block

__all__ = ["Lowered", "lower"]


@dataclass(frozen=True, eq=False)
class Lowered:
    """What lowering gives: the program, the spec's train block (not part of the IR), diagnostics."""

    program: Program
    train: TrainBlock
    diagnostics: tuple[Diagnostic, ...]


def lower(spec: A.Spec, bindings: Bindings | None = None) -> Lowered:
    """Lower a parsed spec to the IR; return it with every diagnostic found on the way.

    `bindings` are what the data says (sequence length, input shapes, class counts, masking);
    without them a spec whose data decides is checked at a stand-in number of steps.
    """
    sym = collect(spec, bindings)
    diags: list[Diagnostic] = list(sym.diags)
    chains, found = resolve_layer_defs(sym)
    diags.extend(found)
    b = GraphBuilder(sym, chains)
    T = sym.steps
    all_steps = tuple(range(T))  # one tuple, shared by every stream
    timed_names = len(sym.stream_defs) + sum(1 for name in sym.input_names if sym.sequence_input(name))
    # Every stream has a node per step: more than the limit allows is reported before any per-step work.
    per_step = sym.steps_ok and not _too_big(spec, diags, timed_names * T, 0, T)
    inputs = [InputDecl(i.name, i.shape, i.sequence, i.span) for i in sym.inputs.values()]
    for name in sym.input_names:
        timed = all_steps if sym.sequence_input(name) else None
        b.add_node(NodeAttr(name, Role.INPUT, name, steps=timed, span=sym.inputs[name].span if name in sym.inputs
                            else Span.unknown()))
    for info in sym.params.values():
        b.add_node(NodeAttr(info.name, Role.PARAM, info.name, params=Params((("shape", info.shape),
                                                                             ("init", info.init))), span=info.span))
    # Declare every value and stream before lowering any expression: reads may go forward.
    for st in spec.statements:  # in source order: generated names and tables follow the spec
        if isinstance(st, A.ValueDef) and sym.value_defs.get(st.name) is st:
            b.add_node(NodeAttr(st.name, Role.VALUE, st.name, span=st.span))
        elif isinstance(st, A.StreamDef) and sym.stream_defs.get(st.name, [None])[0] is st:
            b.add_node(NodeAttr(st.name, Role.STREAM, st.name, steps=all_steps, span=st.span))
    for st in spec.statements:
        if isinstance(st, A.ValueDef) and sym.value_defs.get(st.name) is st:
            root = b.expr(st.expr, Ctx(st.name, None, True))
            if root is not None:
                b.connect(root, st.name, 0)
        elif isinstance(st, A.StreamDef) and sym.stream_defs.get(st.name, [None])[0] is st:
            eqs = sym.stream_defs[st.name]
            if per_step:
                steps_of, found = equation_steps(st.name, eqs, T)
                b.diags.extend(found)
            else:
                steps_of = [() for _ in eqs]
            for i, (eq, steps) in enumerate(zip(eqs, steps_of)):
                root = b.expr(eq.expr, Ctx(st.name, steps, True))
                if root is not None:
                    b.connect(root, st.name, i, steps)
    diags.extend(b.diags)
    outputs, found = _outputs(sym, spec)
    diags.extend(found)
    if per_step and not _too_big(spec, diags, *unrolled_size(b.g, T, MAX_UNROLLED_EDGES), T):
        unrolled, found = unroll(b.g, T, sym.inits)
        diags.extend(found)
    else:
        unrolled = nx.DiGraph()  # the per-step checks are skipped; what is wrong is reported
    block, found = train_block(spec)
    diags.extend(found)
    program = Program(
        name=sym.name, title=sym.title, about=sym.about,
        data=sym.dataset.name if sym.dataset else None, steps=T,
        folded=b.g, unrolled=unrolled, inputs=tuple(inputs), outputs=tuple(outputs),
        streams=tuple(sym.stream_defs), values=tuple(sym.value_defs), inits=dict(sym.inits),
        layers=dict(b.layer_kinds), named_layers=tuple(sym.layer_defs),
        steps_from_data=sym.steps_from_data, masked=sym.masked, init_fills=dict(sym.init_fills),
    )
    # one mistake, one diagnostic: a bad `defaults` value is found again by every layer that takes it
    seen: set[tuple] = set()
    unique = []
    for d in diags:
        key = (d.code, d.message, d.span, tuple(d.notes), d.severity)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return Lowered(program, block, tuple(unique))


def _too_big(spec: A.Spec, diags: list[Diagnostic], nodes: int, edges: int, T: int) -> bool:
    """Report an unrolled graph beyond MAX_UNROLLED_NODES or MAX_UNROLLED_EDGES (at the steps line)."""
    if nodes > MAX_UNROLLED_NODES:
        what = f"{nodes:,} nodes (one per value and layer at each step); the limit is {MAX_UNROLLED_NODES:,}"
    elif edges > MAX_UNROLLED_EDGES:
        what = f"{edges:,} edges (one per read at each step); the limit is {MAX_UNROLLED_EDGES:,}"
    else:
        return False
    where = next((st.span for st in spec.statements if isinstance(st, A.Steps)), None)
    where = where or next((st.span for st in spec.statements if isinstance(st, A.StreamDef)), Span(1, 1, 1, 2))
    diags.append(Diagnostic("limit", f"over {T:,} steps the unrolled graph would have {what}", where,
                            ("use fewer steps, or fewer layers in the streams",
                             "rnndsl's limits on specs are listed in docs/language.md, Limits")))
    return True


def _outputs(sym: Symbols, spec: A.Spec) -> tuple[list[OutputDecl], list[Diagnostic]]:
    """Each target is trained against the value (or, per step, the stream) of its name."""
    outputs: list[OutputDecl] = []
    diags: list[Diagnostic] = []
    last = spec.statements[-1].span if spec.statements else Span(1, 1, 1, 2)
    if not sym.targets and any(isinstance(st, A.TargetDecl) for st in spec.statements):
        return outputs, diags  # the targets' own errors are reported where they are declared
    if not sym.targets:
        name = sym.dataset.output if sym.dataset else "out"
        if name not in sym.value_defs:
            diags.append(Diagnostic("missing-statement", f"the spec has no output: define the head as `{name} = ...`"
                                    + ("" if sym.dataset else " and declare its target (target out: class)"), last))
        elif not sym.data_line:  # an unknown dataset is reported where it is named
            diags.append(Diagnostic("missing-statement", f"the spec declares no target for '{name}'",
                                    sym.value_defs[name].span, ["declare one, e.g. `target out: class`"]))
        return outputs, diags
    for t in sym.targets.values():
        span = t.span if t.span.known else last
        if t.per_step:
            if t.name not in sym.stream_defs:
                what = "a value, not a stream" if t.name in sym.value_defs else "not defined"
                diags.append(Diagnostic("missing-statement", f"the per-step target '{t.name}' needs a stream "
                                        f"`{t.name}[t] = ...` to predict it; '{t.name}' is {what}", span))
                continue
            where = sym.stream_defs[t.name][0].span
        else:
            if t.name not in sym.value_defs:
                what = ("a stream: declare the target per step (target " + t.name + "[t]: ...) or predict from "
                        + t.name + "[last]") if t.name in sym.stream_defs else "not defined"
                diags.append(Diagnostic("missing-statement", f"the target '{t.name}' needs a value "
                                        f"`{t.name} = ...` to predict it; '{t.name}' is {what}", span))
                continue
            where = sym.value_defs[t.name].span
        outputs.append(OutputDecl(t.name, TargetKind(t.kind), t.size, t.per_step, Loss(t.loss), where))
    return outputs, diags
