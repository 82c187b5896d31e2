"""Checks over the IR, each a function run in order from one tuple (in the manner of sqlglot's rules).

`check(program, diagnostics)` returns a `Checked` program or raises SpecError with every
error found (the lowering's and the checks') in one pass.
"""

from __future__ import annotations

from ..errors import Diagnostic, SpecError
from ..ir import Program
from .cycles import zero_lag_cycles
from .facts import Checked, Facts, LayerInfo, Rule
from .layers import costs, shared_layers
from .outputs import output_targets, unused
from .reads import initial_state_reads
from .shapes import infer_shapes
from .values import constant_values

__all__ = ["RULES", "Checked", "LayerInfo", "check"]

RULES: tuple[Rule, ...] = (
    zero_lag_cycles,
    infer_shapes,
    constant_values,
    shared_layers,
    costs,
    output_targets,
    unused,
    initial_state_reads,
)


def check(program: Program, diagnostics: tuple[Diagnostic, ...] = ()) -> Checked:
    """Run every rule; return the Checked program or raise SpecError with all errors and warnings."""
    found = list(diagnostics)
    facts = Facts()
    for rule in RULES:
        facts, new = rule(program, facts, tuple(found))
        found.extend(new)
    errors = [d for d in found if d.severity == "error"]
    warnings = [d for d in found if d.severity != "error"]
    if errors:
        raise SpecError(errors + warnings)
    return Checked(program, facts.shapes, facts.flops, facts.layers, facts.tensors, tuple(warnings))
