"""Reads that can never reach a computed step: `h[t-30]` with 4 steps only ever gives the initial state."""

from __future__ import annotations

from ..errors import Diagnostic
from ..ir import Lag, Program
from .facts import Facts

__all__ = ["initial_state_reads"]


def initial_state_reads(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """A warning for each read `h[t-k]` / `h[t+k]` with k >= the number of steps: at every step it falls
    before step 0 (or after the last), so it only gives the initial state.

    A guarded equation that reads the initial state on purpose (`a[t] = ... a[t-1] when t == 0`)
    is not warned about: only a lag no step can bridge is."""
    T = program.steps
    found = []
    for src, dst, data in program.folded.edges(data=True):
        e = data["attr"]
        if not isinstance(e.read, Lag) or not program.node(src).timed or program.inits.get(src) == "none":
            continue  # (a read of a stream with `init none` outside the steps is an error of its own)
        if e.read.depth >= T:
            init = program.inits.get(src, "zeros")
            what = "zeros" if init == "zeros" else f"its {init} initial state"
            read = f"{src}[{e.read.label}]"
            found.append(Diagnostic(
                "init-only", f"`{read}` reads outside steps 0..{T - 1} at every step it is used, so it only "
                f"ever gives the initial state of '{src}' ({what})", e.span,
                ("use a smaller lag, more steps, or guard the equation so it holds where the read reaches a step",),
                severity="warning"))
    return facts, found
