"""Literal values -> checked parameter values (layer parameters, optimizer, train block)."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from ..syntax import ast as A
from ..errors import Diagnostic, Span, closest, hint_for
from ..catalogue import INIT_KINDS, REQUIRED, Init, Param, Params, ParamType

__all__ = ["resolve_params", "convert"]


class _Bad(Exception):
    def __init__(self, message: str, span: Span | None = None, suggestion: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span  # where the problem is, when narrower than the value (an initialiser's number)
        self.suggestion = suggestion  # the name meant ("did you mean")


def _num(v: A.Value | A.Expr) -> float | int:
    if isinstance(v, A.Num):
        if isinstance(v.value, float) and not math.isfinite(v.value):
            raise _Bad("expected a finite number")
        return v.value
    raise _Bad("expected a number")


def convert(param: Param, value: A.Value | A.Expr) -> Any:
    """Convert one literal to the parameter's type, or raise _Bad with the reason."""
    k = param.type
    if k == "int":
        n = _num(value)
        if not isinstance(n, int):
            raise _Bad(f"expected a whole number, got {n:g}")
        out: Any = n
    elif k == "float":
        out = float(_num(value))
    elif k == "bool":
        if isinstance(value, (A.Word, A.Name)) and _word(value) in ("true", "false"):
            return _word(value) == "true"
        raise _Bad("expected true or false")
    elif k == "choice":
        w = _word(value) if isinstance(value, (A.Word, A.Name)) else None
        if w not in param.choices:
            raise _Bad(f"expected one of {', '.join(param.choices)}")
        return w
    elif k == "init":
        return _init(value)
    elif k == "floatrange":
        if isinstance(value, A.Range):
            lo, hi = float(value.lo), float(value.hi)
            if lo > hi:
                raise _Bad(f"the range {lo:g}..{hi:g} is empty")
            out = (lo, hi)
        else:
            x = float(_num(value))
            out = (x, x)
        _bounds(param, out[0])
        return out
    else:  # pragma: no cover - the registry only uses the kinds above
        raise _Bad(f"unsupported parameter kind {k}")
    _bounds(param, out)
    return out


def _word(v: A.Word | A.Name) -> str:
    return v.value if isinstance(v, A.Word) else v.id


def _bounds(param: Param, x: float) -> None:
    if param.minimum is not None and x < param.minimum:
        raise _Bad(f"must be at least {param.minimum:g}, got {x:g}")
    if param.maximum is not None and x > param.maximum:
        raise _Bad(f"must be at most {param.maximum:g}, got {x:g}")


def _init(value: Any) -> Init:
    if isinstance(value, (A.Word, A.Name)):
        name, items = _word(value), ()
    elif isinstance(value, (A.VCall, A.Call)):
        name = value.func
        items = value.items if isinstance(value, A.VCall) else value.args
    else:
        raise _Bad(f"expected an initialiser: {', '.join(INIT_KINDS)}")
    if name not in INIT_KINDS:
        near = closest(name, INIT_KINDS)
        known = f"; {hint_for(near)[0]}" if near else f" (known: {', '.join(INIT_KINDS)})"
        raise _Bad(f"unknown initialiser '{name}'" + known, suggestion=near)
    if len(items) != INIT_KINDS[name] or not all(isinstance(i, A.Num) for i in items):
        raise _Bad(f"{name} takes {INIT_KINDS[name]} number{'s' if INIT_KINDS[name] != 1 else ''}")
    for i in items:  # a standard deviation or a limit: a width, above 0
        if not i.value > 0:
            raise _Bad(f"{name} needs a{_WIDTHS.get(name, ' number')} greater than 0, got {i.value:g}", i.span)
    return Init(name, tuple(float(i.value) for i in items))


_WIDTHS = {"normal": " standard deviation", "truncnormal": " standard deviation", "uniform": " limit"}


def _span(v: Any, fallback: Span) -> Span:
    return getattr(v, "span", fallback)


def resolve_params(
    owner: str,
    params: tuple[Param, ...],
    positional: Sequence[A.Value | A.Expr],
    keywords: Sequence[A.Kwarg],
    defaults: Mapping[str, A.Kwarg],
    span: Span,
) -> tuple[Params, list[Diagnostic]]:
    """Match positional and keyword literals to `params`; report every problem."""
    diags: list[Diagnostic] = []
    values: dict[str, Any] = {}
    pos_params = [p for p in params if p.positional]
    variadic = len(pos_params) == 1 and pos_params[0].type is ParamType.INTS
    if variadic:
        try:
            dims = tuple(int(_num(v)) if isinstance(_num(v), int) else _raise_int(v) for v in positional)
            if not dims or any(d < 1 for d in dims):
                raise _Bad("expected one or more positive whole numbers")
            if len(dims) > 8 or any(d > 1_000_000 for d in dims):
                raise _Bad("expected at most 8 dimensions of at most 1,000,000 each")
            values[pos_params[0].name] = dims
        except _Bad as bad:
            diags.append(Diagnostic("bad-param", f"{owner}: '{pos_params[0].name}' {bad.message}", span))
    else:
        if len(positional) > len(pos_params):
            extra = positional[len(pos_params)]
            names = ", ".join(p.name for p in pos_params) or "no positional parameters"
            diags.append(Diagnostic("bad-param", f"{owner} takes {len(pos_params)} positional parameter"
                                    f"{'s' if len(pos_params) != 1 else ''} ({names}), got {len(positional)}",
                                    _span(extra, span)))
        for p, v in zip(pos_params, positional):
            _set(owner, p, v, values, diags, span)
    for kw in keywords:
        p = next((q for q in params if q.name == kw.name), None)
        if p is None:
            near = closest(kw.name, [q.name for q in params])
            diags.append(Diagnostic("unknown-param", f"{owner} has no parameter '{kw.name}'", kw.span,
                                    hint_for(near)
                                    or (f"{owner} takes: {', '.join(q.name for q in params) or 'no parameters'}",),
                                    suggestion=near))
            continue
        if p.name in values:
            diags.append(Diagnostic("bad-param", f"{owner}: parameter '{p.name}' is given twice", kw.span))
            continue
        _set(owner, p, kw.value, values, diags, span)
    for p in params:  # `defaults` may name many parameters: look up only this kind's
        kw = defaults.get(p.name)
        if kw is not None and p.name not in values:
            _set(owner, p, kw.value, values, diags, span)
    ordered: list[tuple[str, Any]] = []
    for p in params:
        if values.get(p.name) is _INVALID:
            continue
        if p.name in values:
            ordered.append((p.name, values[p.name]))
        elif p.default is REQUIRED:
            diags.append(Diagnostic("missing-param", f"{owner} needs parameter '{p.name}'"
                                    + (f" ({p.doc})" if p.doc else ""), span))
        else:
            ordered.append((p.name, p.default))
    return Params(tuple(ordered)), diags


def _raise_int(v: Any) -> int:
    raise _Bad("expected whole numbers")


def _set(owner: str, p: Param, v: Any, values: dict[str, Any], diags: list[Diagnostic], span: Span) -> None:
    try:
        values[p.name] = convert(p, v)
    except _Bad as bad:
        values[p.name] = _INVALID  # given, but wrong: not also "missing"
        where = bad.span if bad.span is not None and bad.span.known else _span(v, span)
        diags.append(Diagnostic("bad-param", f"{owner}: '{p.name}' {bad.message}", where, suggestion=bad.suggestion))


_INVALID = object()
