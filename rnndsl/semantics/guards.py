"""Guards -> the steps each equation of a stream defines; overlaps, gaps and impossible guards."""

from __future__ import annotations

from typing import Iterable

from ..errors import Diagnostic
from ..syntax import ast as A

__all__ = ["equation_steps", "cond_steps"]


def _list(xs: Iterable[int]) -> str:
    xs = list(xs)
    if len(xs) > 12:
        return ", ".join(str(x) for x in xs[:10]) + f", ... ({len(xs)} in all)"
    return ", ".join(str(x) for x in xs)


def _compare(a: int, op: str, b: int) -> bool:
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def cond_steps(c: A.Cond, T: int, diags: list[Diagnostic]) -> list[int]:
    """The steps in 0..T-1 where a guard holds (reports guards that cannot hold)."""
    if isinstance(c, A.CondAnd):
        right = set(cond_steps(c.right, T, diags))
        return [t for t in cond_steps(c.left, T, diags) if t in right]
    if isinstance(c, A.CondIn):
        bad = sorted({x for x in c.steps if x >= T})
        if bad:
            diags.append(Diagnostic("bad-guard", f"the guard names step{'s' if len(bad) > 1 else ''} {_list(bad)}, "
                                    f"but steps run 0..{T - 1}", c.span))
        return sorted({x for x in c.steps if x < T})
    if isinstance(c, A.CondMod):
        if c.modulus == 0:
            diags.append(Diagnostic("bad-guard", "`t % 0` divides by zero", c.span))
            return []
        return [t for t in range(T) if _compare(t % c.modulus, c.op, c.rhs)]
    steps = [t for t in range(T) if _compare(t, c.op, c.rhs)]
    if not steps:
        diags.append(Diagnostic("bad-guard", f"the guard `t {c.op} {c.rhs}` holds at no step "
                                f"(steps run 0..{T - 1})", c.span))
    return steps


def equation_steps(name: str, eqs: list[A.StreamDef], T: int) -> tuple[list[tuple[int, ...]], list[Diagnostic]]:
    """Steps of each equation of a stream; reports overlaps, gaps and bad guards."""
    diags: list[Diagnostic] = []
    sets: list[set[int]] = []
    otherwise_seen: A.StreamDef | None = None
    for eq in eqs:
        if isinstance(eq.guard, A.When):
            sets.append(set(cond_steps(eq.guard.cond, T, diags)))
        elif isinstance(eq.guard, A.Otherwise):
            if otherwise_seen is not None:
                diags.append(Diagnostic("bad-guard", f"stream '{name}' has two `otherwise` equations", eq.span,
                                        (f"the first is on line {otherwise_seen.span.line}",)))
                sets.append(set())
                continue
            otherwise_seen = eq
            sets.append(set())  # filled in below
        else:
            sets.append(set(range(T)))
    covered: set[int] = set()
    for eq, s in zip(eqs, sets):
        if not isinstance(eq.guard, A.Otherwise):
            covered |= s
    for i, eq in enumerate(eqs):
        if isinstance(eq.guard, A.Otherwise) and eq is otherwise_seen:
            sets[i] = set(range(T)) - covered
            if not sets[i]:
                diags.append(Diagnostic("bad-guard", f"`otherwise` covers no step of stream '{name}'", eq.span,
                                        ("the `when` equations already define every step",)))
    owner_of: dict[int, A.StreamDef] = {}
    for eq, steps in zip(eqs, sets):
        twice = sorted(t for t in steps if t in owner_of)
        if twice:
            first = owner_of[twice[0]]
            diags.append(Diagnostic("step-twice", f"step{'s' if len(twice) > 1 else ''} {_list(twice)} of stream "
                                    f"'{name}' {'are' if len(twice) > 1 else 'is'} defined twice", eq.span,
                                    (f"also defined on line {first.span.line}",)))
        for t in steps:
            owner_of.setdefault(t, eq)
    missing = [t for t in range(T) if t not in owner_of]
    if missing and T:
        diags.append(Diagnostic("step-undefined", f"stream '{name}' has no definition at "
                                f"step{'s' if len(missing) > 1 else ''} {_list(missing)}", eqs[0].span,
                                ("add an equation for those steps, or an `otherwise` one",)))
    return [tuple(sorted(s)) for s in sets], diags
