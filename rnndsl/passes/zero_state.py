"""Zero-state elision: a zero initial state read through zero-keeping layers stays symbolic.

As a hand-written loop skips `H(0)` at step 0, a backend need not compute a layer over
an all-zero input that it knows gives zeros, and `x + 0` is x.  Every weighted layer
stays applied to at least one real tensor, so weights and parameter counts do not change.
What a kind does with zeros is its catalogue row's `zero` rule.
"""

from __future__ import annotations

import dataclasses

from ..catalogue import KINDS, ZeroRule
from ..ir import INIT, Role, UNode, port_sources, topological_order
from .prepared import Prepared

__all__ = ["elide_zero_states"]


def _real_uses(p, order: list[UNode]) -> set[str]:
    """Weight ids applied somewhere to a value that is not known to be zero (a first, looser analysis)."""
    zero: dict[UNode, bool] = {}
    real: set[str] = set()
    for node in order:
        a = p.node(node[0])
        srcs = [s for s, _ in p.unrolled.in_edges(node)]
        if node[1] == INIT:
            zero[node] = p.inits[node[0]] == "zeros"
        elif a.role in (Role.STREAM, Role.VALUE):
            zero[node] = all(zero[s] for s in srcs) if srcs else False
        elif a.role is Role.OP:
            ins = [all(zero[s] for s in group) for _, group, _ in port_sources(p, node)]
            if a.layer is not None and not all(ins):
                real.add(a.layer)
            kind = KINDS[a.kind or ""]
            zero[node] = kind.keeps_zero(a.params) and bool(ins) and (
                any(ins) if kind.zero is ZeroRule.ABSORBS else all(ins))
        else:
            zero[node] = False
    return real


def elide_zero_states(prep: Prepared) -> Prepared:
    """Find the unrolled nodes that are all zeros, and those equal to one of their inputs."""
    p = prep.checked.program
    shapes = prep.checked.shapes
    order = topological_order(p)
    real = _real_uses(p, order)
    zero: set[UNode] = set()
    forward: dict[UNode, UNode] = {}
    for node in order:
        a = p.node(node[0])
        if node[1] == INIT:
            if p.inits[node[0]] == "zeros":
                zero.add(node)
            continue
        ins = port_sources(p, node)  # a range read is one port with many sources: zero when all are
        if a.role in (Role.STREAM, Role.VALUE):
            if ins and ins[0][1][0] in zero:
                zero.add(node)
            continue
        if a.role is not Role.OP:
            continue
        zin = [all(src in zero for src in group) for _, group, _ in ins]
        if not any(zin):
            continue
        kind = KINDS[a.kind or ""]
        if kind.zero is ZeroRule.ABSORBS:
            zero.add(node)
        elif kind.zero is ZeroRule.IDENTITY or (kind.zero is ZeroRule.RIGHT_IDENTITY and not zin[0]):
            rest = [group for (_, group, e), z in zip(ins, zin) if not z]
            if not rest:
                zero.add(node)
            elif len(rest) == 1 and len(rest[0]) == 1 and a.window is None \
                    and p.node(rest[0][0][0]).role is not Role.CONST and shapes.get(rest[0][0][0]) == shapes.get(a.name):
                forward[node] = rest[0][0]
        elif all(zin) and kind.keeps_zero(a.params) and (a.layer is None or a.layer in real):
            zero.add(node)
    return dataclasses.replace(prep, zero=frozenset(zero), forward=forward)

