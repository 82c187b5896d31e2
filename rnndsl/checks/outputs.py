"""Outputs against their targets, and values and streams the outputs never use."""

from __future__ import annotations

import networkx as nx

from ..catalogue import fmt_shape
from ..errors import Diagnostic
from ..ir import Program, TargetKind
from .facts import Facts

__all__ = ["output_targets", "unused"]


def output_targets(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """Each output must have the shape its target needs (a class target: one score per class)."""
    if facts.stop:
        return facts, []
    errors = []
    for out in program.outputs:
        got = facts.shapes.get(out.name)
        if got is None or out.target is not TargetKind.CLASS or out.classes is None or got == (out.classes,):
            continue
        n = out.classes
        hint = ("end the head with `| gap` to average over space" if len(got) == 3 and got[-1] == n
                else f"end the head with a layer that gives {n} channels, then `| gap` or `| flatten | dense({n})`")
        errors.append(Diagnostic("head", f"the output '{out.name}' has shape {fmt_shape(got)}, but {program.data} has "
                                 f"{n} classes: it must end with shape ({n},)", out.span, (hint,)))
    return facts, errors


def unused(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """A warning for each value or stream no output reads (skipped when there are errors: likely a consequence)."""
    if not program.outputs or any(d.severity == "error" for d in diags):
        return facts, []
    used: set[str] = set()
    for out in program.outputs:
        used |= nx.ancestors(program.folded, out.name) | {out.name}
    found = []
    for name in (*program.values, *program.streams):
        if name not in used:
            what = "stream" if name in program.streams else "value"
            found.append(Diagnostic("unused", f"{what} '{name}' is never used by the output", program.node(name).span,
                                    severity="warning"))
    return facts, found
