"""Guards -> the steps each equation of a stream defines; overlaps, gaps and impossible guards.

Step sets are bit masks (bit t set: step t), so a guard costs a few integer operations on
`steps` bits, never a loop over the steps: a spec with thousands of equations over 10,000
steps stays fast.  Only the steps an equation finally owns are listed.
"""

from __future__ import annotations

from ..errors import Diagnostic
from ..syntax import ast as A
from ..syntax.printer import cond_text as _cond_text  # the canonical text of a guard

__all__ = ["equation_steps", "cond_steps", "cond_mask", "mask_steps"]


def _list(steps: list[int], count: int) -> str:
    if count > 12:
        return ", ".join(str(x) for x in steps[:10]) + f", ... ({count} in all)"
    return ", ".join(str(x) for x in steps)


def mask_steps(mask: int, limit: int | None = None) -> list[int]:
    """The steps set in `mask`, lowest first (only the first `limit` when given)."""
    bits = bin(mask)[:1:-1]  # lowest step first
    out: list[int] = []
    i = bits.find("1")
    while i >= 0 and (limit is None or len(out) < limit):
        out.append(i)
        i = bits.find("1", i + 1)
    return out


def _span_mask(lo: int, hi: int, n: int) -> int:
    """Steps lo..hi-1, clipped to 0..n-1."""
    lo, hi = max(lo, 0), min(hi, n)
    return ((1 << hi) - 1) ^ ((1 << lo) - 1) if hi > lo else 0


def _compare_mask(op: str, rhs: int, n: int) -> int:
    """The values x in 0..n-1 with `x op rhs`."""
    if op == "==":
        return _span_mask(rhs, rhs + 1, n)
    if op == "!=":
        return _span_mask(0, n, n) ^ _span_mask(rhs, rhs + 1, n)
    if op == "<":
        return _span_mask(0, rhs, n)
    if op == "<=":
        return _span_mask(0, rhs + 1, n)
    if op == ">":
        return _span_mask(rhs + 1, n, n)
    return _span_mask(rhs, n, n)  # >=


def _repeat(pattern: int, width: int, n: int) -> int:
    """A `width`-bit pattern repeated over n bits (doubling: a few operations, not n)."""
    while width < n:
        pattern |= pattern << width
        width *= 2
    return pattern & ((1 << n) - 1)


def cond_mask(c: A.Cond, T: int, diags: list[Diagnostic]) -> int:
    """The steps in 0..T-1 where a guard holds, as a mask (reports guards that cannot hold).

    A guard that holds at no step is reported once, as a whole (`t < 2 and t > 2`,
    `not t >= 0`, `t == 9`); a comparison that holds at no step inside a guard that
    holds somewhere (`t == 9 or t == 0`) is reported on its own.
    """
    named: list[Diagnostic] = []  # steps named outside 0..T-1, `t % 0`
    empty: list[Diagnostic] = []  # comparisons that hold at no step
    mask = _mask(c, T, named, empty)
    diags.extend(named)
    if mask:
        diags.extend(empty)
    elif not named:
        text = _cond_text(c)
        if len(text) > 60:
            text = text[:57] + "..."
        diags.append(Diagnostic("bad-guard", f"the guard `{text}` holds at no step (steps run 0..{T - 1})", c.span,
                                () if isinstance(c, A.CondCmp) else
                                ("an equation whose guard never holds defines no step; fix the guard or remove it",)))
    return mask


def _mask(c: A.Cond, T: int, named: list[Diagnostic], empty: list[Diagnostic]) -> int:
    if isinstance(c, A.CondAnd):
        right = _mask(c.right, T, named, empty)
        return _mask(c.left, T, named, empty) & right
    if isinstance(c, A.CondOr):
        right = _mask(c.right, T, named, empty)
        return _mask(c.left, T, named, empty) | right
    if isinstance(c, A.CondNot):
        return ((1 << T) - 1) & ~_mask(c.cond, T, named, empty)
    if isinstance(c, A.CondIn):
        bad = sorted({x for x in c.steps if x >= T})
        if bad:
            named.append(Diagnostic("bad-guard", f"the guard names step{'s' if len(bad) > 1 else ''} "
                                    f"{_list(bad, len(bad))}, but steps run 0..{T - 1}", c.span))
        bits = bytearray(b"0" * T)
        for x in c.steps:
            if x < T:
                bits[T - 1 - x] = ord("1")
        return int(bits, 2) if T else 0
    if isinstance(c, A.CondMod):
        if c.modulus == 0:
            named.append(Diagnostic("bad-guard", "`t % 0` divides by zero", c.span))
            return 0
        if c.modulus >= T:  # t % m is t itself
            return _compare_mask(c.op, c.rhs, T)
        return _repeat(_compare_mask(c.op, c.rhs, c.modulus), c.modulus, T)
    mask = _compare_mask(c.op, c.rhs, T)
    if not mask:
        empty.append(Diagnostic("bad-guard", f"the guard `t {c.op} {c.rhs}` holds at no step "
                                f"(steps run 0..{T - 1})", c.span))
    return mask


def cond_steps(c: A.Cond, T: int, diags: list[Diagnostic]) -> list[int]:
    """The steps in 0..T-1 where a guard holds (reports guards that cannot hold)."""
    return mask_steps(cond_mask(c, T, diags))


def equation_steps(name: str, eqs: list[A.StreamDef], T: int) -> tuple[list[tuple[int, ...]], list[Diagnostic]]:
    """Steps of each equation of a stream; reports overlaps, gaps and bad guards.

    A step that two equations define is reported and kept by the first, so the steps
    listed over all equations are at most T.
    """
    diags: list[Diagnostic] = []
    full = (1 << T) - 1
    masks: list[int] = []
    otherwise_seen: A.StreamDef | None = None
    for eq in eqs:
        if isinstance(eq.guard, A.When):
            masks.append(cond_mask(eq.guard.cond, T, diags))
        elif isinstance(eq.guard, A.Otherwise):
            if otherwise_seen is not None:
                diags.append(Diagnostic("bad-guard", f"stream '{name}' has two `otherwise` equations", eq.span,
                                        (f"the first is on line {otherwise_seen.span.line}",)))
            else:
                otherwise_seen = eq
            masks.append(0)  # the first is filled in below
        else:
            masks.append(full)
    covered = 0
    for eq, mask in zip(eqs, masks):
        if not isinstance(eq.guard, A.Otherwise):
            covered |= mask
    for i, eq in enumerate(eqs):
        if eq is otherwise_seen:
            masks[i] = full & ~covered
            if not masks[i]:
                diags.append(Diagnostic("bad-guard", f"`otherwise` covers no step of stream '{name}'", eq.span,
                                        ("the `when` equations already define every step",)))
    owner: dict[int, A.StreamDef] = {}  # step -> the equation that defines it
    owned = 0
    out: list[tuple[int, ...]] = []
    for eq, mask in zip(eqs, masks):
        twice = mask & owned
        if twice:
            count = twice.bit_count()
            first = mask_steps(twice, 10 if count > 12 else None)
            diags.append(Diagnostic("step-twice", f"step{'s' if count > 1 else ''} {_list(first, count)} of stream "
                                    f"'{name}' {'are' if count > 1 else 'is'} defined twice", eq.span,
                                    (f"also defined on line {owner[first[0]].span.line}",)))
        steps = tuple(mask_steps(mask & ~owned))
        for t in steps:
            owner[t] = eq
        owned |= mask
        out.append(steps)
    missing = full & ~owned
    if missing:
        count = missing.bit_count()
        diags.append(Diagnostic("step-undefined", f"stream '{name}' has no definition at "
                                f"step{'s' if count > 1 else ''} {_list(mask_steps(missing, 10 if count > 12 else None), count)}",
                                eqs[0].span, ("add an equation for those steps, or an `otherwise` one",)))
    return out, diags
