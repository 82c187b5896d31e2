"""Outputs against their targets, and values and streams the outputs never use."""

from __future__ import annotations

import networkx as nx

from ..catalogue import fmt_shape
from ..errors import Diagnostic
from ..ir import Program, Role, TargetKind
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
        if got is None or (len(got) == 1 and (out.size is None or got == (out.size,))):
            continue  # a size from the data is checked again once the data is known
        where = ", at every step," if out.per_step else ""
        n = out.size if out.size is not None else "K"
        if out.size is None:
            message = f"the output '{out.name}' has shape {fmt_shape(got)}{where} but its {out.target.value} target needs a vector"
        else:
            source = f"{program.data} has" if program.data and out.target is TargetKind.CLASS else "the target has"
            message = (f"the output '{out.name}' has shape {fmt_shape(got)}{where}, but {source} {n} "
                       f"{_WHAT[out.target]}: it must end with shape ({n},)")
        hint = ("end the head with `| gap` to average over space" if len(got) == 3 and got[-1] == out.size
                else f"end the head with a layer that gives {n} channels, then `| gap` or `| flatten | dense({n})`"
                if len(got) == 3 else f"end the head with a layer that gives {n} numbers, such as `| dense({n})`")
        errors.append(Diagnostic("head", message, out.span, (hint,)))
    return facts, errors

def unused(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """A warning for each value or stream no output reads (skipped when there are errors: likely a consequence)."""
    if not program.outputs or any(d.severity == "error" for d in diags):
        return facts, []
    used: set[str] = set()
    for out in program.outputs:
        used |= nx.ancestors(program.folded, out.name) | {out.name}
    found = []
    params = [n for n in program.folded.nodes if program.node(n).role is Role.PARAM]
    for name in (*program.values, *program.streams, *params):
        if name not in used:
            what = "stream" if name in program.streams else "param" if name in params else "value"
            found.append(Diagnostic("unused", f"{what} '{name}' is never used by the output", program.node(name).span,
                                    severity="warning"))
    return facts, found
