"""Outputs against their targets, and values and streams the outputs never use."""

from __future__ import annotations

import networkx as nx

from ..catalogue import fmt_shape
from ..errors import Diagnostic
from ..ir import Program, TargetKind
from .facts import Facts

__all__ = ["output_targets", "unused"]


_WHAT = {TargetKind.CLASS: "classes", TargetKind.REAL: "values", TargetKind.LABELS: "labels"}


def output_targets(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """Each output must have the shape its target needs: one score per class, one number per value or label."""
    if facts.stop:
        return facts, []
    errors = []
    for out in program.outputs:
        got = facts.shapes.get(out.name)
        if got is None:
            continue
        where = "at every step " if out.per_step else ""
        if len(got) != 1:
            n = out.size if out.size is not None else "K"
            hint = ("end the head with `| gap` to average over space" if len(got) == 3 and got[-1] == out.size
                    else f"end the head with a layer that gives {n} numbers, such as `| flatten | dense({n})`")
            errors.append(Diagnostic("head", f"the output '{out.name}' has shape {fmt_shape(got)} {where}but its "
                                     f"{out.target.value} target needs a vector ({n},)", out.span, (hint,)))
            continue
        if out.size is None or got == (out.size,):
            continue  # the size comes from the data, checked again when the data is known
        source = f"{program.data} has" if program.data and out.target is TargetKind.CLASS else "the target has"
        errors.append(Diagnostic("head", f"the output '{out.name}' has shape {fmt_shape(got)} {where}but {source} "
                                 f"{out.size} {_WHAT[out.target]}: it must end with shape ({out.size},)", out.span,
                                 (f"end the head with a layer that gives {out.size} numbers",)))
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
