"""Constant folding: an element-wise op over numbers becomes a number (`tanh(2)`, `2 * 0.5`)."""

from __future__ import annotations

import dataclasses
import math

import networkx as nx

from ..catalogue import KINDS, Params
from ..ir import NodeAttr, Role, unroll
from .prepared import Prepared

__all__ = ["fold_constants"]


def fold_constants(prep: Prepared) -> Prepared:
    """Replace every op whose inputs are all numbers, and that the catalogue can fold, by its value."""
    p = prep.checked.program
    g = p.folded
    value: dict[str, float] = {}
    for name in g.nodes:
        a: NodeAttr = g.nodes[name]["attr"]
        if a.role is Role.CONST:
            value[name] = float(a.params["value"])
    folded: dict[str, float] = {}
    for name in _order(p):
        a = g.nodes[name]["attr"]
        ins = sorted(g.in_edges(name, keys=True), key=lambda e: e[2])
        srcs = [s for s, _, _ in ins]
        if a.role is Role.VALUE and len(srcs) == 1 and srcs[0] in value:
            value[name] = value[srcs[0]]
        elif a.role is Role.OP:
            fold = KINDS[a.kind or ""].fold
            if fold is None or not srcs or any(s not in value for s in srcs):
                continue
            try:
                result = float(fold(*(value[s] for s in srcs)))
            except (OverflowError, ValueError, ZeroDivisionError):
                continue  # leave it to the backend, which follows IEEE rules
            if not math.isfinite(result):
                continue
            value[name] = folded[name] = result
    if not folded:
        return prep
    new = g.copy()
    for name, v in folded.items():
        old: NodeAttr = new.nodes[name]["attr"]
        new.remove_edges_from(list(new.in_edges(name, keys=True)))
        new.nodes[name]["attr"] = NodeAttr(name, Role.CONST, old.owner, params=Params((("value", v),)),
                                           steps=None, span=old.span)
    # numbers no longer read by anything are dropped
    for name in [n for n in new.nodes if new.nodes[n]["attr"].role is Role.CONST and new.out_degree(n) == 0]:
        new.remove_node(name)
    unrolled, _ = unroll(new, p.steps, p.inits)
    program = dataclasses.replace(p, folded=new, unrolled=unrolled)
    shapes = {k: v for k, v in prep.checked.shapes.items() if k in new}
    for name in folded:
        shapes[name] = ()
    checked = dataclasses.replace(prep.checked, program=program, shapes=shapes)
    return dataclasses.replace(prep, checked=checked)


def _order(p) -> list[str]:
    dag = nx.DiGraph()
    dag.add_nodes_from(p.folded.nodes)
    dag.add_edges_from((s, d) for s, d in p.folded.edges() if p.node(s).role is not Role.STREAM)
    return list(nx.lexicographical_topological_sort(dag, key=p.order))
