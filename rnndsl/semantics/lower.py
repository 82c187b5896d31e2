"""AST -> IR: collect symbols, resolve named layers and guards, lower every equation, unroll.

`lower` never raises on a user mistake: it returns the Program it could build and the
diagnostics it found, so the checks can add theirs and everything is reported in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Diagnostic, Span
from ..ir import InputDecl, NodeAttr, OutputDecl, Program, Role, TargetKind, unroll
from ..syntax import ast as A
from .expressions import Ctx, GraphBuilder
from .guards import equation_steps
from .layers import resolve_layer_defs
from .symbols import collect
from .train_block import TrainBlock, train_block

__all__ = ["Lowered", "lower"]


@dataclass(frozen=True, eq=False)
class Lowered:
    """What lowering gives: the program, the spec's train block (not part of the IR), diagnostics."""

    program: Program
    train: TrainBlock
    diagnostics: tuple[Diagnostic, ...]


def lower(spec: A.Spec) -> Lowered:
    """Lower a parsed spec to the IR; return it with every diagnostic found on the way."""
    sym = collect(spec)
    diags: list[Diagnostic] = list(sym.diags)
    chains, found = resolve_layer_defs(sym)
    diags.extend(found)
    b = GraphBuilder(sym, chains)
    T = sym.steps
    inputs: list[InputDecl] = []
    if sym.dataset is not None:
        inputs.append(InputDecl(sym.dataset.input, sym.dataset.shape))
    for name in sym.input_names:
        b.add_node(NodeAttr(name, Role.INPUT, name))
    # Declare every value and stream before lowering any expression: reads may go forward.
    for st in spec.statements:  # in source order: generated names and tables follow the spec
        if isinstance(st, A.ValueDef) and sym.value_defs.get(st.name) is st:
            b.add_node(NodeAttr(st.name, Role.VALUE, st.name, span=st.span))
        elif isinstance(st, A.StreamDef) and sym.stream_defs.get(st.name, [None])[0] is st:
            b.add_node(NodeAttr(st.name, Role.STREAM, st.name, steps=tuple(range(T)), span=st.span))
    for st in spec.statements:
        if isinstance(st, A.ValueDef) and sym.value_defs.get(st.name) is st:
            root = b.expr(st.expr, Ctx(st.name, None, True))
            if root is not None:
                b.connect(root, st.name, 0)
        elif isinstance(st, A.StreamDef) and sym.stream_defs.get(st.name, [None])[0] is st:
            eqs = sym.stream_defs[st.name]
            if sym.steps_ok:
                steps_of, found = equation_steps(st.name, eqs, T)
                b.diags.extend(found)
            else:
                steps_of = [() for _ in eqs]
            for i, (eq, steps) in enumerate(zip(eqs, steps_of)):
                root = b.expr(eq.expr, Ctx(st.name, steps, True))
                if root is not None:
                    b.connect(root, st.name, i, steps)
    diags.extend(b.diags)
    outputs: list[OutputDecl] = []
    out_name = sym.dataset.output if sym.dataset else "out"
    if out_name in sym.value_defs:
        outputs.append(OutputDecl(out_name, TargetKind.CLASS, sym.dataset.classes if sym.dataset else None,
                                  sym.value_defs[out_name].span))
    else:
        last = spec.statements[-1].span if spec.statements else Span(1, 1, 1, 2)
        diags.append(Diagnostic("missing-statement", f"the spec has no output: define the head as `{out_name} = ...`",
                                last))
    unrolled, found = unroll(b.g, T, sym.inits)
    diags.extend(found)
    block, found = train_block(spec)
    diags.extend(found)
    program = Program(
        name=sym.name, title=sym.title, about=sym.about,
        data=sym.dataset.name if sym.dataset else None, steps=T,
        folded=b.g, unrolled=unrolled, inputs=tuple(inputs), outputs=tuple(outputs),
        streams=tuple(sym.stream_defs), values=tuple(sym.value_defs), inits=dict(sym.inits),
        layers=dict(b.layer_kinds), named_layers=tuple(sym.layer_defs),
    )
    return Lowered(program, block, tuple(diags))
