"""Operations over numbers alone that give no number: `log(-1)`, `sqrt(-4)`, `exp(1000)`, `x / (1 - 1)`.

Constant folding (passes/) leaves such an operation to the backend, which would compute
NaN or infinity at every step of every example.  This rule works every operation over
numbers out with the catalogue's `fold` functions, as folding will, and reports the
first one on each path that has no finite value.  It visits only the ops that numbers
reach, so it costs nothing for a spec without constants.
"""

from __future__ import annotations

import math

from ..catalogue import KINDS
from ..errors import Diagnostic
from ..ir import Program, Role
from .facts import Facts
from .shapes import folded_inputs

__all__ = ["constant_values"]

FLOAT32_MAX = 3.4028234663852886e38  # the model computes in float32


def _text(kind_name: str, args: list[float]) -> str:
    """An operation over numbers as the language writes it: log(-1), 1e+308 * 10, -2."""
    kind = KINDS[kind_name]
    if kind.operator:
        return f"{args[0]:g} {kind.operator} {args[1]:g}"
    if kind_name == "neg":
        return f"-({args[0]:g})"
    return f"{kind_name}({', '.join(f'{x:g}' for x in args)})"


def constant_values(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """A `bad-value` error for each operation over numbers whose value is not a finite float32."""
    g = program.folded
    value: dict[str, float] = {}
    for name in g.nodes:
        a = program.node(name)
        if a.role is Role.CONST:
            value[name] = float(a.params["value"])
    stack = list(value)
    done: set[str] = set()
    found: list[Diagnostic] = []
    while stack:
        for dst in g.successors(stack.pop()):
            if dst in done:
                continue
            a = program.node(dst)
            ins = folded_inputs(program, dst)
            if a.role is Role.VALUE:
                if ins and ins[0][1] in value:
                    done.add(dst)
                    value[dst] = value[ins[0][1]]
                    stack.append(dst)
                continue
            if a.role is not Role.OP:
                continue
            kind = KINDS[a.kind or ""]
            if [p for p, _, _ in ins][:kind.ports] != list(range(kind.ports)):
                continue  # an input failed to lower (already reported)
            if kind.name == "div" and value.get(ins[1][1]) == 0:  # also when the dividend is a tensor
                done.add(dst)
                e = ins[1][2]
                found.append(Diagnostic("bad-value", "division by zero", e.span if e.span.known else a.span,
                                        ("the divisor is 0 before the model runs",)))
                continue
            if kind.fold is None or any(src not in value for _, src, _ in ins):
                continue
            done.add(dst)
            args = [value[src] for _, src, _ in ins]
            result = _fold(kind.name, kind.fold, args)
            if isinstance(result, tuple):
                message, note = result
                found.append(Diagnostic("bad-value", message, a.span, (note,)))
                continue
            value[dst] = result
            stack.append(dst)
    return facts, found


def _fold(kind_name: str, fold, args: list[float]) -> float | tuple[str, str]:
    """The value of `kind_name` over `args`, or what is wrong with it (a message and a note)."""
    try:
        result = float(fold(*args))
    except ZeroDivisionError:
        return "division by zero", "the divisor is 0 before the model runs"
    except OverflowError:
        result = math.inf
    except ValueError:  # math's domain errors: log of 0 or less, sqrt of a negative number
        text = _text(kind_name, args)
        if kind_name == "log" and args[0] == 0:
            return f"{text} is minus infinity", "log is finite only for numbers above 0"
        return f"{text} is not a number", f"{kind_name} is defined only for numbers " + \
            ("above 0" if kind_name == "log" else "from 0 up")
    if math.isnan(result):
        return f"{_text(kind_name, args)} is not a number", "it is worked out before the model is built"
    if not abs(result) <= FLOAT32_MAX:
        return (f"{_text(kind_name, args)} overflows",
                "the model computes in float32, whose largest number is about 3.4e38")
    return result
