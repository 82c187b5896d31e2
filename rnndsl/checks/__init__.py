"""Checks over the IR, each a function run in order from one tuple (in the manner of sqlglot's rules).

`check(program, diagnostics)` returns a `Checked` program or raises SpecError with every
error found (the lowering's and the checks') in one pass.  `run_rules` is the loop itself, for
a caller that wants what the rules inferred even when there are errors (the language server).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Diagnostic, SpecError
from ..ir import Program
from .cycles import zero_lag_cycles
from .facts import Checked, Facts, LayerInfo, Rule
from .layers import costs, shared_layers
from .outputs import output_targets, unused
from .reads import initial_state_reads
from .shapes import infer_shapes
from .values import constant_values

__all__ = ["RULES", "Checked", "LayerInfo", "RuleRun", "check", "run_rules"]

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


@dataclass
class RuleRun:
    """What the rules found so far: the facts, every diagnostic (those given first), and the rule
    running (None once all have run).  Kept up to date as each rule finishes, so a caller that
    catches a rule's exception (a bug) still has what the rules before it inferred."""

    facts: Facts = field(default_factory=Facts)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    running: str | None = None


def run_rules(program: Program, run: RuleRun) -> RuleRun:
    """Run every rule of RULES in order into `run`, errors or not (each reads the diagnostics before it)."""
    for rule in RULES:
        run.running = getattr(rule, "__name__", str(rule))
        run.facts, new = rule(program, run.facts, tuple(run.diagnostics))
        run.diagnostics.extend(new)
    run.running = None
    return run


def check(program: Program, diagnostics: tuple[Diagnostic, ...] = ()) -> Checked:
    """Run every rule; return the Checked program or raise SpecError with all errors and warnings."""
    run = run_rules(program, RuleRun(diagnostics=list(diagnostics)))
    facts, found = run.facts, run.diagnostics
    errors = [d for d in found if d.severity == "error"]
    warnings = [d for d in found if d.severity != "error"]
    if errors:
        raise SpecError(errors + warnings)
    return Checked(program, facts.shapes, facts.flops, facts.layers, facts.tensors, tuple(warnings))
