"""AST -> IR.  Resolves names, guards and parameters; builds the folded and unrolled graphs.

`lower` never raises on a user mistake: it returns the Program it could build and the
diagnostics it found, so `check` can add its own and report everything in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import networkx as nx

from . import ast as A
from .errors import Diagnostic, Span, did_you_mean
from .ir import INIT, EdgeAttr, NodeAttr, Program, TrainConfig, edge_kind
from .registry import DATASETS, KINDS, OPTIMIZERS, TRAIN_KEYS, Params
from .resolve import resolve_params

__all__ = ["lower", "INPUT"]

INPUT = "image"  # the dataset's input value
INIT_KINDS = ("zeros", "learned", "none")


@dataclass(frozen=True)
class _Read:
    """How a consumer reads a lowered sub-expression."""

    node: str
    lag: int | None = None
    at: int | None = None
    span: Span = field(default_factory=Span.unknown)


@dataclass
class _Ctx:
    owner: str
    steps: tuple[int, ...] | None  # the equation's steps; None in an untimed definition
    is_root: bool = False


class _Lowerer:
    def __init__(self, spec: A.Spec):
        self.spec = spec
        self.diags: list[Diagnostic] = []
        self.g = nx.MultiDiGraph()
        self.counter: dict[str, int] = {}
        self.layer_kinds: dict[str, str] = {}

    # ---- helpers --------------------------------------------------------------------------
    def error(self, code: str, message: str, span: Span, notes: Iterable[str] = ()) -> None:
        self.diags.append(Diagnostic(code, message, span, tuple(notes)))

    def add_node(self, attr: NodeAttr) -> str:
        self.g.add_node(attr.name, attr=attr, order=len(self.g))
        return attr.name

    def fresh(self, owner: str, base: str) -> str:
        key = f"{owner}.{base}"
        n = self.counter.get(key, 0) + 1
        self.counter[key] = n
        return key if n == 1 else f"{key}{n}"

    def connect(self, read: _Read, dst: str, port: int, steps: tuple[int, ...] | None = None) -> None:
        if read.node not in self.g:
            return  # an unknown name: already reported
        src = self.g.nodes[read.node]["attr"]
        dst_attr = self.g.nodes[dst]["attr"]
        kind = edge_kind(src.role == "stream", src.name == dst_attr.owner, read.lag)
        self.g.add_edge(read.node, dst, key=port,
                        attr=EdgeAttr(port, kind, read.lag, read.at, steps, read.span))

    # ---- statements -------------------------------------------------------------------------
    def run(self) -> Program:
        s = self.spec.statements
        model = self._single(s, A.Model, "model")
        data = self._single(s, A.Data, "data")
        steps_stmt = self._single(s, A.Steps, "steps")
        about = " ".join(a.text for a in s if isinstance(a, A.About))
        self.T = steps_stmt.count if steps_stmt else 0
        if steps_stmt is not None and self.T < 1:
            self.error("bad-steps", "steps must be at least 1", steps_stmt.span)
        dataset = None
        if data is None:
            self.error("missing-statement", "the spec has no `data` line (e.g. `data mnist`)", Span(1, 1, 1, 2),
                       [f"datasets: {', '.join(DATASETS)}"])
        elif data.name not in DATASETS:
            self.error("unknown-dataset", f"unknown dataset '{data.name}'", data.span,
                       did_you_mean(data.name, DATASETS) or [f"datasets: {', '.join(DATASETS)}"])
        else:
            dataset = DATASETS[data.name]
        self.defaults = tuple(kw for d in s if isinstance(d, A.Defaults) for kw in d.kwargs)

        self.add_node(NodeAttr(INPUT, "input", INPUT, span=Span.unknown()))
        self.layer_defs = self._collect_layers(s)
        self.layer_chains = self._resolve_layer_defs()
        self.value_defs, self.stream_defs = self._collect_definitions(s)
        if self.stream_defs and steps_stmt is None:
            first = next(iter(self.stream_defs.values()))[0]
            self.error("missing-statement", "the spec defines streams but has no `steps N` line", first.span)
        self.inits = self._collect_inits(s)

        # Declare every value and stream before lowering any expression: reads may go forward.
        for st in s:
            if isinstance(st, A.ValueDef) and self.value_defs.get(st.name) is st:
                self.add_node(NodeAttr(st.name, "value", st.name, span=st.span))
            elif isinstance(st, A.StreamDef) and self.stream_defs.get(st.name, [None])[0] is st:
                self.add_node(NodeAttr(st.name, "stream", st.name, steps=tuple(range(self.T)), span=st.span))
        for st in s:  # lower in source order, so generated names and tables follow the spec
            if isinstance(st, A.ValueDef) and self.value_defs.get(st.name) is st:
                root = self.expr(st.expr, _Ctx(st.name, None, True))
                if root is not None:
                    self.connect(root, st.name, 0)
            elif isinstance(st, A.StreamDef) and self.stream_defs.get(st.name, [None])[0] is st:
                eqs = self.stream_defs[st.name]
                for i, (eq, steps) in enumerate(zip(eqs, self._equation_steps(st.name, eqs))):
                    root = self.expr(eq.expr, _Ctx(st.name, steps, True))
                    if root is not None:
                        self.connect(root, st.name, i, steps)

        output = "out" if "out" in self.value_defs else None
        if output is None:
            last = s[-1].span if s else Span(1, 1, 1, 2)
            self.error("missing-statement", "the spec has no output: define the head as `out = ...`", last)
        unrolled = self._unroll()
        return Program(
            name=model.name if model else "spec",
            title=(model.title or model.name) if model else "spec",
            about=about,
            dataset=dataset,
            steps=self.T,
            folded=self.g,
            unrolled=unrolled,
            streams=tuple(self.stream_defs),
            values=tuple(self.value_defs),
            inits=dict(self.inits),
            layers=dict(self.layer_kinds),
            named_layers=tuple(self.layer_defs),
            output=output,
            train=self._train(s),
        )

    def _single(self, stmts: tuple[A.Stmt, ...], cls: type, word: str):
        found = [x for x in stmts if isinstance(x, cls)]
        for dup in found[1:]:
            self.error("duplicate-definition", f"a second `{word}` line", dup.span,
                       [f"the first is on line {found[0].span.line}"])
        return found[0] if found else None

    def _collect_layers(self, stmts: tuple[A.Stmt, ...]) -> dict[str, A.LayerDef]:
        out: dict[str, A.LayerDef] = {}
        for st in stmts:
            if not isinstance(st, A.LayerDef):
                continue
            if st.name in out:
                self.error("duplicate-definition", f"layer '{st.name}' is defined twice", st.span,
                           [f"the first definition is on line {out[st.name].span.line}"])
            elif st.name in KINDS or st.name == INPUT:
                self.error("duplicate-definition", f"'{st.name}' is a built-in name; pick another layer name", st.span)
            else:
                out[st.name] = st
        return out

    def _collect_definitions(self, stmts):
        values: dict[str, A.ValueDef] = {}
        streams: dict[str, list[A.StreamDef]] = {}
        for st in stmts:
            if isinstance(st, A.ValueDef):
                if self._clash(st.name, st.span, values, streams):
                    continue
                values[st.name] = st
            elif isinstance(st, A.StreamDef):
                if st.name not in streams and self._clash(st.name, st.span, values, streams):
                    continue
                eqs = streams.setdefault(st.name, [])
                eqs.append(st)
                if isinstance(st.guard, A.When) and st.guard.otherwise is not None:
                    eqs.append(A.StreamDef(st.name, st.guard.otherwise, A.Otherwise(st.guard.span), st.span))
        return values, streams

    def _clash(self, name: str, span: Span, values, streams) -> bool:
        prior = values.get(name) or (streams[name][0] if name in streams else None)
        if prior is not None:
            self.error("duplicate-definition", f"'{name}' is defined twice", span,
                       [f"the first definition is on line {prior.span.line}"])
            return True
        if name in self.layer_defs or name in KINDS or name == INPUT:
            what = "a layer" if name in self.layer_defs else "a built-in name"
            self.error("duplicate-definition", f"'{name}' is {what}; a value needs another name", span)
            return True
        return False

    def _collect_inits(self, stmts) -> dict[str, str]:
        inits = {name: "zeros" for name in self.stream_defs}
        for st in stmts:
            if not isinstance(st, A.Init):
                continue
            if st.stream not in self.stream_defs:
                self.error("unknown-name", f"init names '{st.stream}', which is not a stream", st.span,
                           did_you_mean(st.stream, self.stream_defs))
            elif st.kind not in INIT_KINDS:
                self.error("bad-param", f"unknown initial state '{st.kind}'", st.span,
                           [f"initial states: {', '.join(INIT_KINDS)}"])
            else:
                inits[st.stream] = st.kind
        return inits

    def _train(self, stmts) -> TrainConfig:
        cfg: dict[str, object] = {}
        optimizer, opt_params = "adam", Params(tuple((p.name, p.default) for p in OPTIMIZERS["adam"]))
        for block in (b for b in stmts if isinstance(b, A.Train)):
            for item in block.items:
                if item.key == "optimizer":
                    optimizer, opt_params = self._optimizer(item)
                elif item.key in TRAIN_KEYS:
                    params, diags = resolve_params(item.key, (TRAIN_KEYS[item.key],), (item.value,), (), (), item.span)
                    self.diags.extend(diags)
                    if item.key in params:
                        cfg[item.key] = params[item.key]
                else:
                    self.error("bad-train", f"unknown train setting '{item.key}'", item.span,
                               did_you_mean(item.key, [*TRAIN_KEYS, "optimizer"])
                               or [f"settings: optimizer, {', '.join(TRAIN_KEYS)}"])
        return TrainConfig(optimizer, opt_params, **cfg)  # type: ignore[arg-type]

    def _optimizer(self, item: A.TrainItem) -> tuple[str, Params]:
        v = item.value
        name = v.func if isinstance(v, A.VCall) else v.value if isinstance(v, A.Word) else None
        if name not in OPTIMIZERS:
            self.error("bad-train", f"unknown optimizer '{name}'", v.span,
                       did_you_mean(str(name), OPTIMIZERS) or [f"optimizers: {', '.join(OPTIMIZERS)}"])
            return "adam", Params(tuple((p.name, p.default) for p in OPTIMIZERS["adam"]))
        items = v.items if isinstance(v, A.VCall) else ()
        pos = [i for i in items if not isinstance(i, A.Kwarg)]
        kws = [i for i in items if isinstance(i, A.Kwarg)]
        params, diags = resolve_params(name, OPTIMIZERS[name], pos, kws, (), v.span)
        self.diags.extend(diags)
        return name, params

    # ---- guards -------------------------------------------------------------------------------
    def _equation_steps(self, name: str, eqs: list[A.StreamDef]) -> list[tuple[int, ...]]:
        """Steps of each equation of a stream; reports overlaps, gaps and bad guards."""
        sets: list[set[int]] = []
        otherwise_seen: A.StreamDef | None = None
        for eq in eqs:
            if isinstance(eq.guard, A.When):
                sets.append(set(self._cond(eq.guard.cond)))
            elif isinstance(eq.guard, A.Otherwise):
                if otherwise_seen is not None:
                    self.error("bad-guard", f"stream '{name}' has two `otherwise` equations", eq.span,
                               [f"the first is on line {otherwise_seen.span.line}"])
                    sets.append(set())
                    continue
                otherwise_seen = eq
                sets.append(set())  # filled in below
            else:
                sets.append(set(range(self.T)))
        covered = set().union(*(s for eq, s in zip(eqs, sets) if not isinstance(eq.guard, A.Otherwise)))
        for i, eq in enumerate(eqs):
            if isinstance(eq.guard, A.Otherwise) and eq is otherwise_seen:
                sets[i] = set(range(self.T)) - covered
                if not sets[i]:
                    self.error("bad-guard", f"`otherwise` covers no step of stream '{name}'", eq.span,
                               ["the `when` equations already define every step"])
        owner_of: dict[int, A.StreamDef] = {}
        for eq, steps in zip(eqs, sets):
            twice = sorted(t for t in steps if t in owner_of)
            if twice:
                first = owner_of[twice[0]]
                self.error("step-twice", f"step{'s' if len(twice) > 1 else ''} {_list(twice)} of stream "
                           f"'{name}' {'are' if len(twice) > 1 else 'is'} defined twice", eq.span,
                           [f"also defined on line {first.span.line}"])
            for t in steps:
                owner_of.setdefault(t, eq)
        missing = [t for t in range(self.T) if t not in owner_of]
        if missing and self.T:
            self.error("step-undefined", f"stream '{name}' has no definition at step{'s' if len(missing) > 1 else ''} "
                       f"{_list(missing)}", eqs[0].span, ["add an equation for those steps, or an `otherwise` one"])
        return [tuple(sorted(s)) for s in sets]

    def _cond(self, c: A.Cond) -> list[int]:
        T = self.T
        if isinstance(c, A.CondAnd):
            right = set(self._cond(c.right))
            return [t for t in self._cond(c.left) if t in right]
        if isinstance(c, A.CondIn):
            bad = [x for x in c.steps if x >= T]
            if bad:
                self.error("bad-guard", f"the guard names step{'s' if len(bad) > 1 else ''} {_list(bad)}, "
                           f"but steps run 0..{T - 1}", c.span)
            return sorted({x for x in c.steps if x < T})
        if isinstance(c, A.CondMod):
            if c.modulus == 0:
                self.error("bad-guard", "`t % 0` divides by zero", c.span)
                return []
            return [t for t in range(T) if _compare(t % c.modulus, c.op, c.rhs)]
        steps = [t for t in range(T) if _compare(t, c.op, c.rhs)]
        if not steps:
            self.error("bad-guard", f"the guard `t {c.op} {c.rhs}` holds at no step (steps run 0..{T - 1})", c.span)
        return steps

    # ---- expressions ------------------------------------------------------------------------------
    def expr(self, e: A.Expr, ctx: _Ctx) -> _Read | None:
        """Lower one expression; return how to read its value (None after an error)."""
        root, ctx.is_root = ctx.is_root, False
        if isinstance(e, A.Name):
            return self._name(e, ctx)
        if isinstance(e, A.Ref):
            return self._ref(e, ctx)
        if isinstance(e, A.Num):
            name = self.fresh(ctx.owner, "const")
            self.add_node(NodeAttr(name, "const", ctx.owner, params=Params((("value", float(e.value)),)), span=e.span))
            return _Read(name, span=e.span)
        if isinstance(e, A.BinOp):
            kind = {"+": "add", "-": "sub", "*": "mul"}[e.op]
            inputs = [self.expr(e.left, ctx), self.expr(e.right, ctx)]
            return self._op(kind, Params(), inputs, ctx, e.span, layer=None)
        if isinstance(e, A.Pipe):
            value = self.expr(e.value, ctx)
            ctx.is_root = root
            return self._stage(e.stage, value, ctx)
        if isinstance(e, A.Call):
            ctx.is_root = root
            return self._call(e, ctx)
        raise AssertionError(f"unexpected expression {e!r}")  # pragma: no cover

    def _name(self, e: A.Name, ctx: _Ctx) -> _Read | None:
        if e.id in self.stream_defs:
            hint = "t" if ctx.steps is not None else "last"
            self.error("bad-index", f"'{e.id}' is a stream; say which step to read, e.g. {e.id}[{hint}]", e.span)
            return None
        if e.id in self.value_defs or e.id == INPUT:
            return _Read(e.id, span=e.span)
        if e.id in self.layer_defs or e.id in KINDS:
            self.error("bad-arity", f"'{e.id}' is a layer, not a value; apply it: {e.id}(x) or x | {e.id}", e.span)
            return None
        self._unknown(e.id, e.span)
        return None

    def _unknown(self, name: str, span: Span) -> None:
        known = [INPUT, *self.value_defs, *self.stream_defs]
        self.error("unknown-name", f"unknown name '{name}'", span, did_you_mean(name, known))

    def _ref(self, e: A.Ref, ctx: _Ctx) -> _Read | None:
        if e.id not in self.stream_defs:
            if e.id in self.value_defs or e.id == INPUT:
                self.error("bad-index", f"'{e.id}' is not a stream (it has one value for all steps); "
                           f"read it without an index: {e.id}", e.span)
            else:
                self.error("unknown-name", f"unknown stream '{e.id}'", e.span,
                           did_you_mean(e.id, self.stream_defs))
            return None
        idx = e.index
        if isinstance(idx, A.Rel):
            if ctx.steps is None:
                self.error("bad-index", f"`{e.id}[t{_signed(idx.offset)}]` outside a stream equation: `t` is only "
                           f"defined in `x[t] = ...`; read a fixed step such as {e.id}[last]", e.span)
                return None
            return _Read(e.id, lag=-idx.offset, span=e.span)
        step = idx.step if isinstance(idx, A.Abs) else self.T - 1 + idx.offset
        if not 0 <= step < max(self.T, 1):
            self.error("out-of-range", f"`{e.id}[{_index_text(idx)}]` reads step {step}, but steps run 0..{self.T - 1}",
                       e.span)
            return None
        return _Read(e.id, at=step, span=e.span)

    def _call(self, e: A.Call, ctx: _Ctx) -> _Read | None:
        root, ctx.is_root = ctx.is_root, False
        tensors: list[A.Expr] = []
        params: list[A.Expr] = []
        kwargs = [a for a in e.args if isinstance(a, A.Kwarg)]
        positional = [a for a in e.args if not isinstance(a, A.Kwarg)]
        if e.func in self.layer_defs:
            extra = positional[1:] + kwargs
            if len(positional) != 1 or kwargs:
                self.error("bad-arity", f"layer '{e.func}' takes one input and no parameters "
                           f"(they are fixed where it is defined)", (extra[0] if extra else e).span)
            value = self.expr(positional[0], ctx) if positional else None
            return self._apply_named(e.func, value, ctx, e.span)
        kind = KINDS.get(e.func)
        if kind is None:
            self._unknown_layer(e.func, e.span)
            for a in positional:  # still lower the arguments, to report their errors too
                if not isinstance(a, A.Num):
                    self.expr(a, ctx)
            return None
        n = len(positional) if kind.arity is None else kind.arity
        if kind.arity is None:
            tensors = positional
        else:
            tensors, params = positional[:n], positional[n:]
        literal = [p for p in tensors if isinstance(p, A.Num)] if kind.arity is None else []
        if len(tensors) < (2 if kind.arity is None else n) or literal:
            self.error("bad-arity", f"{e.func} takes {'two or more inputs' if kind.arity is None else _count(n, 'input')} "
                       f"first, got {len(tensors)}", e.span,
                       [f"write {e.func}(x, ...) or x | {e.func}(...)"] if kind.arity == 1 else [])
        for p in params:
            if not isinstance(p, (A.Num, A.Name)):
                self.error("bad-param", f"{e.func}: parameters must be numbers or words, not tensor expressions",
                           getattr(p, "span", e.span))
        params = [p for p in params if isinstance(p, (A.Num, A.Name))]
        inputs = [self.expr(t, ctx) for t in tensors]
        resolved, diags = resolve_params(e.func, kind.params, params, kwargs, self.defaults, e.span)
        self.diags.extend(diags)
        if diags:
            return None  # reported; what reads this gets an unknown shape, not a second error
        return self._op(e.func, resolved, inputs, ctx, e.span, layer="inline", root=root)

    def _unknown_layer(self, name: str, span: Span) -> None:
        self.error("unknown-layer", f"unknown layer '{name}'", span,
                   did_you_mean(name, [*KINDS, *self.layer_defs]) or ["see `docs/language.md` for the layer kinds"])

    def _stage(self, st: A.Stage, value: _Read | None, ctx: _Ctx) -> _Read | None:
        root, ctx.is_root = ctx.is_root, False
        if st.func in self.layer_defs:
            if st.args:
                self.error("bad-arity", f"layer '{st.func}' takes no parameters where it is used", st.span)
            return self._apply_named(st.func, value, ctx, st.span, st.mode)
        kind = KINDS.get(st.func)
        if kind is None:
            self._unknown_layer(st.func, st.span)
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
        resolved, diags = resolve_params(st.func, kind.params, positional, kwargs, self.defaults, st.span)
        self.diags.extend(diags)
        if diags:
            return None
        return self._op(st.func, resolved, [value], ctx, st.span, layer="inline", mode=st.mode, root=root)

    def _resolve_layer_defs(self) -> dict[str, tuple[tuple[str, Params, str | None], ...]]:
        """Check each named layer once; return its chain as (kind, params, weight id) triples."""
        out: dict[str, tuple[tuple[str, Params, str | None], ...]] = {}
        for name, d in self.layer_defs.items():
            chain: list[tuple[str, Params, str | None]] = []
            broken = False
            weighted = [st for st in d.stages if st.func in KINDS and _has_weights(st.func)]
            for st in d.stages:
                kind = KINDS.get(st.func)
                if kind is None:
                    self._unknown_layer(st.func, st.span)
                    broken = True
                    continue
                if kind.arity != 1 or kind.category == "cell" or kind.uses_step:
                    self.error("bad-arity", f"layer '{name}': {st.func} cannot be part of a named layer", st.span)
                    broken = True
                    continue
                positional = [a for a in st.args if not isinstance(a, A.Kwarg)]
                kwargs = [a for a in st.args if isinstance(a, A.Kwarg)]
                resolved, diags = resolve_params(st.func, kind.params, positional, kwargs, self.defaults, st.span)
                self.diags.extend(diags)
                if diags:
                    broken = True
                    continue
                layer = None
                if st in weighted:
                    layer = name if len(weighted) == 1 else f"{name}.{weighted.index(st)}"
                chain.append((st.func, resolved, layer))
            if not broken:
                out[name] = tuple(chain)
        return out

    def _apply_named(self, name: str, value: _Read | None, ctx: _Ctx, span: Span, mode: str | None = None):
        if name not in self.layer_chains:
            return None  # its definition has an error, reported there
        chain = self.layer_chains[name]
        read = value
        for kind_name, params, layer in chain:
            base = name if len(chain) == 1 else f"{name}.{kind_name}"
            read = self._op(kind_name, params, [read], ctx, span, layer=layer, mode=mode, base=base)
        return read

    def _op(self, kind_name: str, params: Params, inputs: list[_Read | None], ctx: _Ctx, span: Span,
            layer: str | None, mode: str | None = None, root: bool = False, base: str | None = None) -> _Read | None:
        kind = KINDS[kind_name]
        if kind.category == "cell" and not (root and ctx.steps is not None):
            self.error("bad-cell", f"a {kind_name} cell must be the whole right side of a stream equation, "
                       f"such as h[t] = {kind_name}(x[t], 64)", span,
                       ["the cell reads its own stream's previous step as its state"])
            return None
        if kind.uses_step and ctx.steps is None:
            self.error("bad-index", f"{kind_name} depends on the step t, so it can only be used in a stream equation",
                       span)
            return None
        if mode is not None and mode != "train":
            self.error("bad-param", f"unknown mode '@{mode}'; the only mode is @train", span)
            mode = None
        if mode == "train" and not (kind.random or kind.category == "transform"):
            self.error("bad-param", f"only input transforms and dropout can be train-only; {kind_name} runs always",
                       span)
            mode = None
        name = self.fresh(ctx.owner, base or kind_name)
        if layer == "inline":
            layer = name if _has_weights(kind_name) else None
        if layer is not None:
            self.layer_kinds.setdefault(layer, kind_name)
        self.add_node(NodeAttr(name, "op", ctx.owner, kind_name, params, layer, ctx.steps, mode, span))
        for port, read in enumerate(inputs):
            if read is not None:
                self.connect(read, name, port)
        if kind.category == "cell":  # the state: the stream's own previous step
            self.connect(_Read(ctx.owner, lag=1, span=span), name, len(inputs))
        return _Read(name, span=span)

    # ---- the unrolled graph -------------------------------------------------------------------------
    def _unroll(self) -> nx.DiGraph:
        u = nx.DiGraph()
        T = self.T
        for name, data in self.g.nodes(data=True):
            a: NodeAttr = data["attr"]
            for t in (a.steps if a.timed else (None,)):
                u.add_node((name, t), attr=a)
        for src, dst, data in sorted(self.g.edges(data=True), key=lambda e: (self.g.nodes[e[1]]["order"], e[2]["attr"].port)):
            e: EdgeAttr = data["attr"]
            s_attr: NodeAttr = self.g.nodes[src]["attr"]
            d_attr: NodeAttr = self.g.nodes[dst]["attr"]
            d_steps = d_attr.steps if d_attr.timed else (None,)
            if e.steps is not None:
                d_steps = tuple(t for t in d_steps if t in e.steps)
            for t in d_steps:
                if not s_attr.timed:
                    s_step: int | None = None
                elif e.at is not None:
                    s_step = e.at
                else:
                    s_step = t - (e.lag or 0)
                    if not 0 <= s_step < T:
                        if self.inits.get(src) == "none":
                            self.error("out-of-range", f"at step {t}, `{src}[t{_signed(-(e.lag or 0))}]` reads step "
                                       f"{s_step}, outside 0..{T - 1}, and '{src}' has `init {src} = none`", e.span,
                                       ["guard the equation, or give the stream an initial state (zeros or learned)"])
                            continue
                        s_step = INIT
                        if (src, INIT) not in u:
                            u.add_node((src, INIT), attr=s_attr)
                src_key = (src, s_step)
                if src_key not in u:
                    continue
                ports = u.edges[src_key, (dst, t)]["ports"] if u.has_edge(src_key, (dst, t)) else ()
                u.add_edge(src_key, (dst, t), attr=e, ports=ports + (e.port,))
        return u


def _has_weights(kind_name: str) -> bool:
    return KINDS[kind_name].has_weights


def _compare(a: int, op: str, b: int) -> bool:
    return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _signed(n: int) -> str:
    return "" if n == 0 else (f"+{n}" if n > 0 else str(n))


def _index_text(idx: A.Index) -> str:
    if isinstance(idx, A.Abs):
        return str(idx.step)
    return "last" + (str(idx.offset) if idx.offset else "")


def _list(xs: Iterable[int]) -> str:
    return ", ".join(str(x) for x in xs)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def lower(spec: A.Spec) -> tuple[Program, tuple[Diagnostic, ...]]:
    """Lower a parsed spec to the IR; return it with every diagnostic found on the way."""
    lw = _Lowerer(spec)
    program = lw.run()
    return program, tuple(lw.diags)
