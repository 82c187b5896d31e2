"""Weight-holding layers: one set of weights per id must fit every use; parameters, FLOPs, learned states."""

from __future__ import annotations

import dataclasses

from ..catalogue import KINDS, Shape, fmt_shape, size
from ..errors import Diagnostic
from ..ir import INIT, Program, Role
from .facts import Facts, LayerInfo
from .shapes import folded_inputs, input_window

__all__ = ["shared_layers", "costs"]


def _op_inputs(program: Program, facts: Facts, name: str) -> tuple[Shape, ...] | None:
    """The tensor input shapes of an op whose own shape is known (None otherwise)."""
    if name not in facts.shapes:
        return None  # the op failed: its weights cannot be sized
    kind = KINDS[program.node(name).kind or ""]
    shapes = []
    for _, src, _ in folded_inputs(program, name)[:kind.min_inputs if kind.is_cell else None]:
        s = facts.shapes.get(src)
        if s is None:
            return None
        shapes.append(s)
    return tuple(shapes)


def _applications(steps: tuple[int, ...] | None) -> int:
    return 1 if steps is None else len(steps)


def shared_layers(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """Size every layer's weights; a shared layer whose uses need different weights is an error."""
    if facts.stop:
        return facts, []
    first: dict[str, tuple[tuple[tuple[str, Shape], ...], str, tuple[Shape, ...]]] = {}
    uses: dict[str, int] = {}
    errors: list[Diagnostic] = []
    reported: set[str] = set()
    for name in sorted(program.folded.nodes, key=program.order):
        a = program.node(name)
        if a.role is not Role.OP or a.layer is None:
            continue
        x = _op_inputs(program, facts, name)
        if x is None:
            continue
        weights = KINDS[a.kind or ""].weights(x, a.params)
        uses[a.layer] = uses.get(a.layer, 0) + _applications(a.steps)
        if a.layer not in first:
            first[a.layer] = (weights, name, x)
        elif first[a.layer][0] != weights and a.layer not in reported:
            reported.add(a.layer)
            _, name0, x0 = first[a.layer]
            errors.append(Diagnostic(
                "shared-layer", f"shared layer '{a.layer}' gets input {fmt_shape(x[0])} here but "
                f"{fmt_shape(x0[0])} at line {program.node(name0).span.line}; its weights cannot fit both", a.span,
                ("a shared layer needs the same input channels at every use",)))
    infos = []
    for layer_id, kind_name in program.layers.items():
        if layer_id not in first:
            continue
        weights, name, _ = first[layer_id]
        kind = KINDS[kind_name]
        infos.append(LayerInfo(layer_id, kind_name, kind.describe(program.node(name).params), uses.get(layer_id, 0),
                               weights, sum(size(s) for _, s in weights)))
    tensors = {s: size(facts.shapes[s]) for s, k in program.inits.items()
               if k == "learned" and (s, INIT) in program.unrolled and s in facts.shapes}
    tensors.update({name: size(program.node(name).params["shape"]) for name in program.folded.nodes
                    if program.node(name).role is Role.PARAM})
    return dataclasses.replace(facts, layers=tuple(infos), tensors=tensors), errors


def costs(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """FLOPs per sample of every op, over all the steps it runs at."""
    if facts.stop:
        return facts, []
    flops: dict[str, int] = {}
    for name in sorted(program.folded.nodes, key=program.order):
        a = program.node(name)
        if a.role is not Role.OP:
            continue
        x = _op_inputs(program, facts, name)
        if x is None:
            continue
        per_step = KINDS[a.kind or ""].flops(x, a.params, facts.shapes[name])
        window = a.window or input_window(program, name)
        if window is None:
            flops[name] = per_step * _applications(a.steps)
        else:  # once per step of the range, at every step it runs at
            flops[name] = per_step * sum(len(window.steps(t, program.steps)) for t in (a.steps or (None,)))
    return dataclasses.replace(facts, flops=flops), []
