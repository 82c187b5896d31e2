"""AST -> canonical spec text.  parse(unparse(spec)) == spec for every spec (spans aside)."""

from __future__ import annotations

from . import ast as A

__all__ = ["unparse", "cond_text"]

_PREC = {"pipe": 0, "+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "atom": 4}


def _num(v: float | int) -> str:
    if isinstance(v, int):
        return str(v)
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") and "e" not in text else text


def _value(v: A.Value | A.Kwarg) -> str:
    if isinstance(v, A.Kwarg):
        return f"{v.name}={_value(v.value)}"
    if isinstance(v, A.Num):
        return _num(v.value)
    if isinstance(v, A.Word):
        return v.value
    if isinstance(v, A.Str):
        return f'"{v.value}"'
    if isinstance(v, A.Range):
        return f"{_num(v.lo)}..{_num(v.hi)}"
    return f"{v.func}({', '.join(_value(i) for i in v.items)})"


def _index(i: A.Index) -> str:
    if isinstance(i, A.Rel):
        return "t" if i.offset == 0 else (f"t+{i.offset}" if i.offset > 0 else f"t-{-i.offset}")
    if isinstance(i, A.Abs):
        return str(i.step)
    return "last" if i.offset == 0 else f"last-{-i.offset}"


def _arg(a: A.Expr | A.Kwarg) -> str:
    return _value(a) if isinstance(a, A.Kwarg) else expr(a)


def _prec(e: A.Expr) -> int:
    if isinstance(e, A.Pipe):
        return _PREC["pipe"]
    if isinstance(e, A.BinOp):
        return _PREC[e.op]
    if isinstance(e, A.Neg) or (isinstance(e, A.Num) and e.value < 0):
        return _PREC["neg"]
    return _PREC["atom"]


def _wrap(e: A.Expr, least: int) -> str:
    text = expr(e)
    return f"({text})" if _prec(e) < least else text


def expr(e: A.Expr) -> str:
    """One expression in canonical form, with only the parentheses it needs."""
    if isinstance(e, A.Name):
        return e.id
    if isinstance(e, A.Ref):
        return f"{e.id}[{_index(e.index)}]"
    if isinstance(e, A.Window):
        return f"{e.id}[{_index(e.lo)}..{_index(e.hi)}]"
    if isinstance(e, A.Neg):
        return f"-{_wrap(e.value, _PREC['neg'])}"
    if isinstance(e, A.Num):
        text = _num(e.value)
        return text
    if isinstance(e, A.Call):
        return f"{e.func}({', '.join(_arg(a) for a in e.args)})"
    if isinstance(e, A.Pipe):
        return f"{_wrap(e.value, _PREC['pipe'])} | {_stage(e.stage)}"
    if isinstance(e, A.BinOp):
        p = _PREC[e.op]
        # left-associative: the right operand needs parentheses at equal precedence
        return f"{_wrap(e.left, p)} {e.op} {_wrap(e.right, p + 1)}"
    raise AssertionError(f"unexpected expression {e!r}")  # pragma: no cover


def _cond(c: A.Cond) -> str:
    if isinstance(c, A.CondIn):
        return "t in {" + ", ".join(str(s) for s in c.steps) + "}"
    if isinstance(c, A.CondMod):
        return f"t % {c.modulus} {c.op} {c.rhs}"
    if isinstance(c, A.CondCmp):
        return f"t {c.op} {c.rhs}"
    if isinstance(c, A.CondNot):
        inner = _cond(c.cond)
        return f"not {inner if isinstance(c.cond, (A.CondIn, A.CondMod, A.CondCmp, A.CondNot)) else f'({inner})'}"
    # `or` binds loosest, then `and`; both are left-associative
    op, tighter = ("and", (A.CondOr, A.CondAnd)) if isinstance(c, A.CondAnd) else ("or", (A.CondOr,))
    left, right = _cond(c.left), _cond(c.right)
    if isinstance(c, A.CondAnd) and isinstance(c.left, A.CondOr):
        left = f"({left})"
    return f"{left} {op} {f'({right})' if isinstance(c.right, tighter) else right}"


def _stage(st: A.Stage) -> str:
    text = st.func + (f"({', '.join(_arg(a) for a in st.args)})" if st.parens else "")
    return text + (f" @{st.mode}" if st.mode else "")


def statement(s: A.Stmt) -> str:
    """One statement as a line of spec text."""
    if isinstance(s, A.Model):
        return f"model {s.name}" + (f' "{s.title}"' if s.title is not None else "")
    if isinstance(s, A.About):
        return f'about "{s.text}"'
    if isinstance(s, A.Data):
        return f"data {s.name}"
    if isinstance(s, A.Steps):
        return f"steps {s.count}"
    if isinstance(s, A.Init):
        if isinstance(s.fill, tuple):  # not one initialiser: printed as written (symbol collection reports it)
            return f"init {s.stream} = {s.kind}({', '.join(_value(i) for i in s.fill)})"
        return f"init {s.stream} = {s.kind}" + (f"({_value(s.fill)})" if s.fill is not None else "")
    if isinstance(s, A.ParamDecl):
        dims = "(" + ", ".join(str(d) for d in s.shape) + ("," if len(s.shape) == 1 else "") + ")"
        return f"param {s.name}: {dims}" + "".join(f" {_value(k)}" for k in s.options)
    if isinstance(s, A.Defaults):
        return "defaults " + ", ".join(_value(k) for k in s.kwargs)
    if isinstance(s, A.LayerDef):
        return f"layer {s.name} = " + " | ".join(_stage(st) for st in s.stages)
    if isinstance(s, A.ValueDef):
        return f"{s.name} = {expr(s.expr)}"
    if isinstance(s, A.StreamDef):
        text = f"{s.name}[t] = {expr(s.expr)}"
        if isinstance(s.guard, A.When):
            text += f" when {_cond(s.guard.cond)}"
            if s.guard.otherwise is not None:
                text += f" otherwise {expr(s.guard.otherwise)}"
        elif isinstance(s.guard, A.Otherwise):
            text += " otherwise"
        return text
    if isinstance(s, A.InputDecl):
        text = f"input {s.name}{'[t]' if s.timed else ''}"
        if s.shape is None:
            return text
        return text + ": (" + ", ".join(str(d) for d in s.shape) + ("," if len(s.shape) == 1 else "") + ")"
    if isinstance(s, A.TargetDecl):
        text = f"target {s.name}{'[t]' if s.timed else ''}: {s.kind}"
        text += f"({s.size})" if s.size is not None else ""
        return text + "".join(f" {_value(k)}" for k in s.options)
    if isinstance(s, A.Train):
        return "train { " + "  ".join(f"{i.key} {_value(i.value)}" for i in s.items) + " }"
    raise AssertionError(f"unexpected statement {s!r}")  # pragma: no cover


def unparse(spec: A.Spec) -> str:
    """The whole spec in canonical form (comments are not kept)."""
    return "".join(statement(s) + "\n" for s in spec.statements)


def cond_text(c: A.Cond) -> str:
    """A guard in canonical form (for messages)."""
    return _cond(c)
