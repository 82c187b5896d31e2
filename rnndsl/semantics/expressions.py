"""Expressions -> nodes and edges of the folded graph, dispatched by AST class (`visit_<Class>`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from ..catalogue import BY_OPERATOR, KINDS, Params, StepRule
from ..errors import Diagnostic, Span, hint_for
from ..ir import WHOLE, Bound, EdgeAttr, Fixed, Lag, NodeAttr, Range, ReadForm, Role, Window
from ..limits import MAX_LAG
from ..syntax import ast as A
from .layers import ChainStage, check_mode, unknown_layer
from .params import resolve_params
from .symbols import Symbols

__all__ = ["Read", "Ctx", "GraphBuilder"]


@dataclass(frozen=True)
class Read:
    """How a consumer reads a lowered sub-expression: its node, in a read form (ir/reads.py)."""

    node: str
    form: ReadForm = WHOLE
    span: Span = field(default_factory=Span.unknown)


@dataclass
class Ctx:
    """Where an expression is lowered: its owner, the equation's steps (None: untimed), root or not."""

    owner: str
    steps: tuple[int, ...] | None
    is_root: bool = False


def _signed(n: int) -> str:
    return "" if n == 0 else (f"+{n}" if n > 0 else str(n))


def _index_text(idx: A.Index) -> str:
    if isinstance(idx, A.Abs):
        return str(idx.step)
    return "last" + (str(idx.offset) if idx.offset else "")


def _bound(idx: A.Index) -> Bound:
    if isinstance(idx, A.Rel):
        return Bound("t", idx.offset)
    if isinstance(idx, A.Abs):
        return Bound("abs", idx.step)
    return Bound("last", idx.offset)


_REDUCE_HINT = "reduce it over its steps: sum(...), mean(...) or max(...)"


# What to write instead of giving a reduction over steps two values.
_ONE_RANGE_HINT = {
    "sum": "for the element-wise sum of two values write a + b",
    "mean": "for the element-wise mean of two values write (a + b) / 2",
    "max": "for the element-wise maximum of two values there is no built-in yet (relu(x) is the maximum of x and 0)",
    "softmax_steps": "combine the scores first, such as softmax_steps(a[0..last] + b[0..last])",
}


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class GraphBuilder:
    """Builds the folded graph; never raises on a user mistake (diagnostics collect in `diags`)."""

    def __init__(self, sym: Symbols, chains: dict[str, tuple[ChainStage, ...]]):
        self.sym = sym
        self.chains = chains
        self.diags: list[Diagnostic] = []
        self.g = nx.MultiDiGraph()
        self.counter: dict[str, int] = {}
        self.layer_kinds: dict[str, str] = {}

    # ---- graph helpers -------------------------------------------------------------------------
    def error(self, code: str, message: str, span: Span, notes=(), suggestion: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, tuple(notes), suggestion=suggestion))

    def add_node(self, attr: NodeAttr) -> str:
        self.g.add_node(attr.name, attr=attr, order=len(self.g))
        return attr.name

    def fresh(self, owner: str, base: str) -> str:
        key = f"{owner}.{base}"
        n = self.counter.get(key, 0) + 1
        self.counter[key] = n
        return key if n == 1 else f"{key}{n}"

    def connect(self, read: Read, dst: str, port: int, steps: tuple[int, ...] | None = None) -> None:
        if read.node not in self.g:
            return  # an unknown name: already reported
        src = self.g.nodes[read.node]["attr"]
        dst_attr = self.g.nodes[dst]["attr"]
        if dst_attr.role in (Role.STREAM, Role.VALUE) and self.window_of(read) is not None:
            notes = ["a value or a stream holds one tensor per step, not one per step of a range"]
            if src.kind == "softmax_steps":
                notes.append("attention weights are used inside the reduction: "
                             "sum(softmax_steps(score[0..last]) * h[0..last])")
            self.error("bad-range", f"'{dst}' would hold a range of steps ({self.window_of(read)}); {_REDUCE_HINT}",
                       read.span, notes)
            return
        kind = read.form.kind(src.timed, src.name == dst_attr.owner, dst_attr.timed)
        self.g.add_edge(read.node, dst, key=port, attr=EdgeAttr(port, kind, read.form, steps, read.span))

    def window_of(self, read: Read | None) -> Window | None:
        """The range of steps a read's value spans: a range read, or an op over one (None: one value)."""
        if read is None:
            return None
        if isinstance(read.form, Range):
            return read.form.window
        return self.g.nodes[read.node]["attr"].window if read.node in self.g else None

    # ---- expressions -----------------------------------------------------------------------------
    def expr(self, e: A.Expr, ctx: Ctx) -> Read | None:
        """Lower one expression; return how to read its value (None after an error)."""
        return getattr(self, f"visit_{type(e).__name__}")(e, ctx)

    def _sub(self, e: A.Expr, ctx: Ctx) -> Read | None:
        """Lower a sub-expression (never the root of an equation); dispatches itself: one frame per level."""
        return getattr(self, f"visit_{type(e).__name__}")(e, Ctx(ctx.owner, ctx.steps, False))

    def visit_Name(self, e: A.Name, ctx: Ctx) -> Read | None:
        sym = self.sym
        if e.id in sym.stream_defs:
            hint = "t" if ctx.steps is not None else "last"
            self.error("bad-index", f"'{e.id}' is a stream; say which step to read, e.g. {e.id}[{hint}]", e.span)
            return None
        if sym.sequence_input(e.id):
            self.error("bad-index", f"'{e.id}' is a sequence input; read one step of it, e.g. {e.id}[t]", e.span)
            return None
        if e.id in sym.value_defs or e.id in sym.input_names or e.id in sym.params:
            return Read(e.id, span=e.span)
        if e.id in sym.layer_defs or e.id in KINDS:
            self.error("bad-arity", f"'{e.id}' is a layer, not a value; apply it: {e.id}(x) or x | {e.id}", e.span)
            return None
        near = sym.suggest(e.id, sym.input_names, sym.value_defs, sym.stream_defs, sym.params)
        self.error("unknown-name", f"unknown name '{e.id}'", e.span, hint_for(near), near)
        return None

    def visit_Ref(self, e: A.Ref, ctx: Ctx) -> Read | None:
        sym = self.sym
        if sym.sequence_input(e.id) and isinstance(e.index, A.Last):
            self.error("bad-index", f"`{e.id}[last]`: a sequence input is read at a step of t, such as {e.id}[t]; "
                       f"a stream's h[last] is each example's own last step", e.span)
            return None
        if not self._timed_source(e.id, e.span):
            return None
        idx = e.index
        offset = idx.offset if isinstance(idx, (A.Rel, A.Last)) else 0
        if abs(offset) > MAX_LAG:
            self.error("out-of-range", f"`{e.id}[...]` reads {abs(offset):,} steps away; the limit is {MAX_LAG:,}",
                       e.span, ["rnndsl's limit on lags (docs/language.md, Limits)"])
            return None
        if isinstance(idx, A.Rel):
            if ctx.steps is None:
                self.error("bad-index", f"`{e.id}[t{_signed(idx.offset)}]` outside a stream equation: `t` is only "
                           f"defined in `x[t] = ...`; read a fixed step such as {e.id}[last]", e.span)
                return None
            return Read(e.id, Lag(-idx.offset), span=e.span)
        if not self.sym.steps_ok:
            return None  # the steps line is reported; a fixed step cannot be checked
        T = self.sym.steps
        step = idx.step if isinstance(idx, A.Abs) else T - 1 + idx.offset
        if not 0 <= step < max(T, 1):
            self.error("out-of-range", f"`{e.id}[{_index_text(idx)}]` reads step {step}, but steps run 0..{T - 1}",
                       e.span)
            return None
        return Read(e.id, Fixed(step), span=e.span)

    def _timed_source(self, name: str, span: Span) -> bool:
        """Whether `name` has steps to index (a stream or a sequence input); reports it when not."""
        sym = self.sym
        if name in sym.stream_defs or sym.sequence_input(name):
            return True
        if name in sym.value_defs or name in sym.input_names or name in sym.params:
            self.error("bad-index", f"'{name}' is not a stream (it has one value for all steps); "
                       f"read it without an index: {name}", span)
        else:
            near = sym.suggest(name, sym.stream_defs)
            self.error("unknown-name", f"unknown stream '{name}'", span, hint_for(near), near)
        return False

    def visit_Window(self, e: A.Window, ctx: Ctx) -> Read | None:
        """`h[lo..hi]`: the steps lo to hi (both included), clipped to the steps that exist."""
        if not self._timed_source(e.id, e.span):
            return None
        text = f"`{e.id}[{_index_text(e.lo) if not isinstance(e.lo, A.Rel) else 't' + _signed(e.lo.offset)}.." \
               f"{_index_text(e.hi) if not isinstance(e.hi, A.Rel) else 't' + _signed(e.hi.offset)}]`"
        if self.sym.sequence_input(e.id) and (isinstance(e.lo, A.Last) or isinstance(e.hi, A.Last)):
            self.error("bad-index", f"{text}: a sequence input's steps are read relative to t or from a fixed step; "
                       f"`last` is a stream's own last step", e.span)
            return None
        window = Window(_bound(e.lo), _bound(e.hi))
        for b in (window.lo, window.hi):
            if abs(b.offset) > MAX_LAG and b.base != "abs":
                self.error("out-of-range", f"{text} reads {abs(b.offset):,} steps away; the limit is {MAX_LAG:,}",
                           e.span, ["rnndsl's limit on lags (docs/language.md, Limits)"])
                return None
        if window.timed and ctx.steps is None:
            self.error("bad-index", f"{text} outside a stream equation: `t` is only defined in `x[t] = ...`; "
                       f"read fixed steps such as {e.id}[0..last]", e.span)
            return None
        if not self.sym.steps_ok:
            return None
        T = self.sym.steps
        for b in (window.lo, window.hi):
            if b.base != "t" and not 0 <= b.at(0, T) < T:
                self.error("out-of-range", f"{text} names step {b.at(0, T)}, but steps run 0..{T - 1}", e.span)
                return None
        fixed = window.lo.base != "t" and window.hi.base != "t"  # abs or last: known without t
        if (window.lo.offset > window.hi.offset if window.lo.base == window.hi.base
                else fixed and window.lo.at(0, T) > window.hi.at(0, T)):
            self.error("out-of-range", f"{text} is empty: its first step comes after its last", e.span,
                       ["both ends of a range are included: h[2..4] is steps 2, 3 and 4",
                        f"write the earlier step first: {e.id}[{window.hi}..{window.lo}]"])
            return None
        live = window.live_steps(ctx.steps, T) if ctx.steps is not None else window.steps(None, T)
        if (ctx.steps is None or ctx.steps) and not live:
            where = " at any step its equation holds" if ctx.steps is not None else ""
            self.error("out-of-range", f"{text} covers no step{where} (steps run 0..{T - 1})", e.span,
                       ["a range is clipped to the steps that exist; both ends are included"])
            return None
        return Read(e.id, Range(window), span=e.span)

    def visit_Neg(self, e: A.Neg, ctx: Ctx) -> Read | None:
        return self.op("neg", Params(), [self._sub(e.value, ctx)], ctx, e.span, layer=None)

    def visit_Num(self, e: A.Num, ctx: Ctx) -> Read | None:
        name = self.fresh(ctx.owner, "const")
        self.add_node(NodeAttr(name, Role.CONST, ctx.owner, params=Params((("value", float(e.value)),)), span=e.span))
        return Read(name, span=e.span)

    def visit_BinOp(self, e: A.BinOp, ctx: Ctx) -> Read | None:
        if e.op == "/" and isinstance(e.right, A.Num) and e.right.value == 0:
            self.error("bad-value", "division by zero", e.right.span)
            return None
        inputs = [self._sub(e.left, ctx), self._sub(e.right, ctx)]
        return self.op(BY_OPERATOR[e.op].name, Params(), inputs, ctx, e.span, layer=None)

    def visit_Pipe(self, e: A.Pipe, ctx: Ctx) -> Read | None:
        return self.stage(e.stage, self._sub(e.value, ctx), ctx)

    def visit_Call(self, e: A.Call, ctx: Ctx) -> Read | None:
        sym = self.sym
        kwargs = [a for a in e.args if isinstance(a, A.Kwarg)]
        positional = [a for a in e.args if not isinstance(a, A.Kwarg)]
        if e.func in sym.layer_defs:
            extra = positional[1:] + kwargs
            if len(positional) != 1 or kwargs:
                self.error("bad-arity", f"layer '{e.func}' takes one input and no parameters "
                           f"(they are fixed where it is defined)", (extra[0] if extra else e).span)
            value = self._sub(positional[0], ctx) if positional else None
            return self.apply_named(e.func, value, ctx, e.span)
        kind = KINDS.get(e.func)
        if kind is None:
            self.diags.append(unknown_layer(sym, e.func, e.span))
            for a in positional:  # still lower the arguments, to report their errors too
                if not isinstance(a, A.Num):
                    self._sub(a, ctx)
            return None
        if kind.over_steps in (StepRule.REDUCE, StepRule.NORMALISE) and len(positional) > 1:
            # sum, mean, max and softmax_steps take one range and no parameters: `max(a, b)` is not max(a, b)
            verb = "normalises" if kind.over_steps is StepRule.NORMALISE else "reduces"
            example = "score[0..last]" if kind.over_steps is StepRule.NORMALISE else "h[0..last]"
            self.error("bad-arity", f"{e.func} {verb} one range of steps, such as {e.func}({example}), but got "
                       f"{len(positional)} arguments", e.span, [_ONE_RANGE_HINT[e.func]])
            for a in positional:  # still lower the arguments, to report their errors too
                if not isinstance(a, A.Num):
                    self._sub(a, ctx)
            return None
        if kind.arity is None:
            tensors, params = positional, []
        else:
            tensors, params = positional[:kind.arity], positional[kind.arity:]
        literal = [p for p in tensors if isinstance(p, A.Num)] if kind.arity is None else []
        if len(tensors) < kind.min_inputs or literal:
            self.error("bad-arity", f"{e.func} takes {'two or more inputs' if kind.arity is None else _count(kind.arity, 'input')} "
                       f"first, got {len(tensors)}", e.span,
                       [f"write {e.func}(x, ...) or x | {e.func}(...)"] if kind.arity == 1 else [])
        for p in params:
            if not isinstance(p, (A.Num, A.Name)):
                self.error("bad-param", f"{e.func}: parameters must be numbers or words, not tensor expressions",
                           getattr(p, "span", e.span))
        params = [p for p in params if isinstance(p, (A.Num, A.Name))]
        inputs = [self._sub(t, ctx) for t in tensors]
        resolved, diags = resolve_params(e.func, kind.params, params, kwargs, sym.defaults, e.span)
        self.diags.extend(diags)
        if diags:
            return None  # reported; what reads this gets an unknown shape, not a second error
        return self.op(e.func, resolved, inputs, ctx, e.span, layer="inline")

    # ---- stages, named layers, ops -----------------------------------------------------------------
    def stage(self, st: A.Stage, value: Read | None, ctx: Ctx) -> Read | None:
        sym = self.sym
        if st.func in sym.layer_defs:
            if st.args:
                self.error("bad-arity", f"layer '{st.func}' takes no parameters where it is used", st.span)
            return self.apply_named(st.func, value, ctx, st.span, st.mode)
        kind = KINDS.get(st.func)
        if kind is None:
            self.diags.append(unknown_layer(sym, st.func, st.span))
            return None
        if kind.arity != 1:
            self.error("bad-arity", f"{st.func} combines several inputs; write {st.func}(a, b) rather than a pipe",
                       st.span)
            return None
        positional = [a for a in st.args if not isinstance(a, A.Kwarg)]
        kwargs = [a for a in st.args if isinstance(a, A.Kwarg)]
        for p in positional:
            if not isinstance(p, (A.Num, A.Name)):
                self.error("bad-param", f"{st.func}: in a pipe every argument is a parameter; "
                           f"the input is what comes before `|`", p.span)
        positional = [p for p in positional if isinstance(p, (A.Num, A.Name))]
        resolved, diags = resolve_params(st.func, kind.params, positional, kwargs, sym.defaults, st.span)
        self.diags.extend(diags)
        if diags:
            return None
        return self.op(st.func, resolved, [value], ctx, st.span, layer="inline", mode=st.mode)

    def apply_named(self, name: str, value: Read | None, ctx: Ctx, span: Span, mode: str | None = None):
        if name not in self.chains:
            return None  # its definition has an error, reported there
        chain = self.chains[name]
        read = value
        for stage in chain:
            base = name if len(chain) == 1 else f"{name}.{stage.kind}"
            # a mode written where the layer is used applies to its train-only-capable stages
            stage_mode = stage.mode or (mode if mode and check_mode(stage.kind, mode, span, []) else None)
            read = self.op(stage.kind, stage.params, [read], Ctx(ctx.owner, ctx.steps, False), span,
                           layer=stage.layer, mode=stage_mode, base=base, checked_mode=True)
        if mode is not None and not any(check_mode(s.kind, mode, span, []) for s in chain):
            check_mode(chain[-1].kind if chain else "linear", mode, span, self.diags)
        return read

    def op(self, kind_name: str, params: Params, inputs: list[Read | None], ctx: Ctx, span: Span,
           layer: str | None, mode: str | None = None, base: str | None = None,
           checked_mode: bool = False) -> Read | None:
        kind = KINDS[kind_name]
        if kind.is_cell and not (ctx.is_root and ctx.steps is not None):
            self.error("bad-cell", f"a {kind_name} cell must be the whole right side of a stream equation, "
                       f"such as h[t] = {kind_name}(x[t], 64)", span,
                       ["the cell reads its own stream's previous step as its state"])
            return None
        if kind.uses_step and ctx.steps is None:
            self.error("bad-index", f"{kind_name} depends on the step t, so it can only be used in a stream equation",
                       span)
            return None
        if not checked_mode:
            mode = check_mode(kind_name, mode, span, self.diags)
        ok, window = self.range_rule(kind_name, inputs, span)
        if not ok:
            return None
        name = self.fresh(ctx.owner, base or kind_name)
        if layer == "inline":
            layer = name if kind.has_weights else None
        if layer is not None:
            self.layer_kinds.setdefault(layer, kind_name)
        self.add_node(NodeAttr(name, Role.OP, ctx.owner, kind_name, params, layer, ctx.steps, mode, span, window))
        for port, read in enumerate(inputs):
            if read is not None:
                self.connect(read, name, port)
        if kind.is_cell:  # the state: the stream's own previous step
            self.connect(Read(ctx.owner, Lag(1), span=span), name, len(inputs))
        return Read(name, span=span)

    def range_rule(self, kind_name: str, inputs: list[Read | None], span: Span) -> tuple[bool, Window | None]:
        """Whether `kind_name` may take these inputs' ranges of steps, and the range its result spans."""
        kind = KINDS[kind_name]
        windows = [w for w in (self.window_of(r) for r in inputs) if w is not None]
        rule = kind.over_steps
        if rule is StepRule.NONE:
            if windows:
                hint = ("; for attention weights over the steps use softmax_steps(...)" if kind_name == "softmax"
                        else "")
                self.error("bad-range", f"{kind_name} cannot take a range of steps ({windows[0]}); "
                           f"{_REDUCE_HINT} first{hint}", span)
                return False, None
            return True, None
        if rule in (StepRule.REDUCE, StepRule.NORMALISE) and not windows:
            if all(r is not None for r in inputs):
                self.error("bad-range", f"{kind_name} works over a range of steps, such as "
                           f"{kind_name}(h[0..last]) or {kind_name}(h[t-3..t]); its input is one value", span)
            return False, None
        if any(w != windows[0] for w in windows[1:]):
            what = f"'{kind.operator}'" if kind.operator else kind_name
            self.error("bad-range", f"{what} combines ranges {windows[0]} and "
                       f"{next(w for w in windows if w != windows[0])}; ranges combined step by step must be the same",
                       span)
            return False, None
        if rule is StepRule.REDUCE:
            return True, None
        return True, windows[0] if windows else None
