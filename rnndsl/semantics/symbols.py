"""Symbol collection: every statement's names, before any expression is lowered (like CPython's symtable)."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Collection, Mapping

from ..catalogue import DATASETS, KINDS, Dataset, Init, Param, ParamType, Shape
from ..errors import Diagnostic, Span, closest, hint_for
from ..limits import MAX_STEPS, MAX_SUGGESTION_WORK
from ..syntax import ast as A
from .params import resolve_params

__all__ = ["Symbols", "Bindings", "InputInfo", "TargetInfo", "ParamInfo", "collect", "INIT_KINDS", "TARGET_KINDS",
           "PARAM_OPTIONS"]

INIT_KINDS = ("zeros", "learned", "none")
TARGET_KINDS = {"class": ("crossentropy",), "real": ("mse", "mae"), "labels": ("sigmoid",)}  # kind -> losses
_MAX_DIM = 1_000_000


@dataclass(frozen=True)
class Bindings:
    """Facts the data supplies before training: the sequence length, input shapes, target sizes, masking."""

    steps: int | None = None
    shapes: Mapping[str, Shape] = field(default_factory=dict)
    sizes: Mapping[str, int] = field(default_factory=dict)
    masked: bool = False


@dataclass(frozen=True)
class InputInfo:
    name: str
    shape: Shape | None
    sequence: bool
    span: Span = field(default_factory=Span.unknown)


@dataclass(frozen=True)
class TargetInfo:
    name: str
    kind: str
    size: int | None
    per_step: bool
    loss: str
    span: Span = field(default_factory=Span.unknown)


@dataclass(frozen=True)
class ParamInfo:
    """A learned tensor `param u: (64,) init=uniform(1)`."""

    name: str
    shape: Shape
    init: Init
    span: Span = field(default_factory=Span.unknown)


# The options of a `param` line (the initialiser is the only one; glorot, as for layers, by default).
PARAM_OPTIONS = (Param("init", ParamType.INIT, Init("glorot"), positional=False, doc="initialiser"),)


@dataclass
class Symbols:
    """What a spec declares, in source order; `diags` holds what was wrong with the declarations."""

    name: str = "spec"
    title: str = "spec"
    about: str = ""
    dataset: Dataset | None = None
    steps: int = 0
    steps_ok: bool = True  # False: the steps line is missing or out of range; per-step checks are skipped
    layer_defs: dict[str, A.LayerDef] = field(default_factory=dict)
    value_defs: dict[str, A.ValueDef] = field(default_factory=dict)
    stream_defs: dict[str, list[A.StreamDef]] = field(default_factory=dict)
    inits: dict[str, str] = field(default_factory=dict)
    init_fills: dict[str, Init] = field(default_factory=dict)  # learned initial state -> its initialiser
    params: dict[str, ParamInfo] = field(default_factory=dict)
    defaults: dict[str, A.Kwarg] = field(default_factory=dict)  # parameter -> its default (the first written)
    inputs: dict[str, InputInfo] = field(default_factory=dict)
    targets: dict[str, TargetInfo] = field(default_factory=dict)
    steps_from_data: bool = False
    masked: bool = False
    data_line: bool = False  # a `data` line was written (even one naming an unknown dataset)
    diags: list[Diagnostic] = field(default_factory=list)
    suggestion_work: int = MAX_SUGGESTION_WORK  # names "did you mean" may still compare

    @property
    def input_names(self) -> tuple[str, ...]:
        # without a (known) dataset or declared input the built-in input name is still known, with
        # no shape, so a missing `data` line is one error, not one per read of the input
        return tuple(self.inputs) or ("image",)

    def sequence_input(self, name: str) -> bool:
        info = self.inputs.get(name)
        return info is not None and info.sequence

    def reserved(self, name: str) -> bool:
        return name in KINDS or name in self.input_names

    def error(self, code: str, message: str, span: Span, notes=(), suggestion: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, tuple(notes), suggestion=suggestion))

    def suggest(self, word: str, *pools: Collection[str]) -> str | None:
        """The name `word` is most likely a typo of, from the spec's names ("did you mean"), while the budget lasts.

        Each note compares `word` with every name, so a spec with thousands of names and
        thousands of typos would take minutes: past MAX_SUGGESTION_WORK names compared,
        the notes are left out.
        """
        size = sum(len(p) for p in pools)
        if size > self.suggestion_work:
            return None
        self.suggestion_work -= size
        return closest(word, itertools.chain.from_iterable(pools))


def _single(sym: Symbols, stmts: tuple[A.Stmt, ...], cls: type, word: str):
    found = [x for x in stmts if isinstance(x, cls)]
    for dup in found[1:]:
        sym.error("duplicate-definition", f"a second `{word}` line", dup.span,
                  [f"the first is on line {found[0].span.line}"])
    return found[0] if found else None


def collect(spec: A.Spec, bindings: Bindings | None = None) -> Symbols:
    """Collect the declarations of a spec and report what is wrong with them."""
    bindings = bindings or Bindings()
    s = spec.statements
    sym = Symbols()
    model = _single(sym, s, A.Model, "model")
    data = _single(sym, s, A.Data, "data")
    steps_stmt = _single(sym, s, A.Steps, "steps")
    if model is not None:
        sym.name, sym.title = model.name, model.title or model.name
    sym.about = " ".join(a.text for a in s if isinstance(a, A.About))
    if steps_stmt is not None:
        if not 1 <= steps_stmt.count <= MAX_STEPS:
            sym.error("bad-steps", f"steps must be between 1 and {MAX_STEPS:,}, got {steps_stmt.count:,}",
                      steps_stmt.span, [f"rnndsl's limit is {MAX_STEPS:,} steps (docs/language.md, Limits)"]
                      if steps_stmt.count > MAX_STEPS else [])
            sym.steps_ok = False
        else:
            sym.steps = steps_stmt.count
    declares_input = any(isinstance(x, A.InputDecl) for x in s)
    sym.data_line = data is not None
    if data is None and not declares_input:
        sym.error("missing-statement", "the spec has no `data` line (e.g. `data mnist`) and declares no input",
                  Span(1, 1, 1, 2), [f"datasets: {', '.join(DATASETS)}; or declare one: input x[t]: (12,)"])
    elif data is None:
        pass
    elif data.name not in DATASETS:
        near = closest(data.name, DATASETS)
        sym.error("unknown-dataset", f"unknown dataset '{data.name}'", data.span,
                  hint_for(near) or [f"datasets: {', '.join(DATASETS)}"], near)
    else:
        sym.dataset = DATASETS[data.name]
    for kw in (kw for d in s if isinstance(d, A.Defaults) for kw in d.kwargs):
        sym.defaults.setdefault(kw.name, kw)
    _collect_inputs(sym, s, bindings)
    _collect_targets(sym, s, bindings)
    _collect_layers(sym, s)
    _collect_params(sym, s)
    _collect_definitions(sym, s)
    if steps_stmt is None and any(i.sequence for i in sym.inputs.values()):
        sym.steps_from_data = True
        sym.masked = bindings.masked
        if bindings.steps is not None:
            if not 1 <= bindings.steps <= MAX_STEPS:
                sym.error("bad-steps", f"the data's sequences have {bindings.steps:,} steps; the limit is "
                          f"{MAX_STEPS:,}", Span(1, 1, 1, 2))
                sym.steps_ok = False
            else:
                sym.steps = bindings.steps
        else:
            sym.steps = check_steps(spec)
    elif sym.stream_defs and steps_stmt is None:
        first = next(iter(sym.stream_defs.values()))[0]
        sym.error("missing-statement", "the spec defines streams but has no `steps N` line", first.span,
                  ["or declare a sequence input (input x[t]: (12,)) and the data decides"])
        sym.steps_ok = False
    elif steps_stmt is not None:
        sym.masked = bindings.masked
    _collect_inits(sym, s)
    return sym


def check_steps(spec: A.Spec) -> int:
    """The number of steps to check a spec at when the data decides: enough for every guard and read."""
    need = 4
    for node in _walk(spec):
        if isinstance(node, A.CondIn):
            need = max(need, max(node.steps, default=0) + 2)
        elif isinstance(node, (A.CondCmp, A.CondMod)):
            need = max(need, node.rhs + 2, getattr(node, "modulus", 0) * 2)
        elif isinstance(node, (A.Ref, A.Window)):
            for idx in (node.index,) if isinstance(node, A.Ref) else (node.lo, node.hi):
                if isinstance(idx, A.Abs):
                    need = max(need, idx.step + 2)
                elif isinstance(idx, (A.Rel, A.Last)):
                    need = max(need, abs(idx.offset) + 2)
    return min(need, MAX_STEPS)


def _walk(node):
    """Every AST node below `node` (iteratively: expressions may be deep)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if dataclasses.is_dataclass(n):
            for f in dataclasses.fields(n):
                v = getattr(n, f.name)
                if isinstance(v, tuple):
                    stack.extend(x for x in v if dataclasses.is_dataclass(x))
                elif dataclasses.is_dataclass(v):
                    stack.append(v)


def _collect_inputs(sym: Symbols, stmts: tuple[A.Stmt, ...], bindings: Bindings) -> None:
    if sym.dataset is not None:
        ds = sym.dataset
        sym.inputs[ds.input] = InputInfo(ds.input, ds.shape, False)
    for st in stmts:
        if not isinstance(st, A.InputDecl):
            continue
        if st.name in sym.inputs and (sym.dataset is None or st.name != sym.dataset.input):
            sym.error("duplicate-definition", f"input '{st.name}' is declared twice", st.span)
            continue
        if st.name in KINDS:
            sym.error("duplicate-definition", f"'{st.name}' is a layer kind; pick another input name", st.span)
            continue
        problem = _shape_problem(f"input '{st.name}'", st.shape) if st.shape is not None else None
        if problem is not None:
            sym.error("bad-param", problem, st.span)
            sym.inputs[st.name] = InputInfo(st.name, None, st.timed, st.span)  # its reads are not errors too
            continue
        given = bindings.shapes.get(st.name, st.shape)
        shape = None if given is None else tuple(given)
        sym.inputs[st.name] = InputInfo(st.name, shape, st.timed, st.span)


def _collect_targets(sym: Symbols, stmts: tuple[A.Stmt, ...], bindings: Bindings) -> None:
    decls = [st for st in stmts if isinstance(st, A.TargetDecl)]
    if sym.dataset is not None and not decls:
        ds = sym.dataset
        sym.targets[ds.output] = TargetInfo(ds.output, "class", ds.classes, False, "crossentropy")
    for st in decls:
        if st.name in sym.targets:
            sym.error("duplicate-definition", f"target '{st.name}' is declared twice", st.span)
            continue
        if st.kind not in TARGET_KINDS:
            near = closest(st.kind, TARGET_KINDS)
            sym.error("bad-target", f"unknown target kind '{st.kind}'", st.span,
                      hint_for(near) or [f"target kinds: {', '.join(TARGET_KINDS)}"], near)
            continue
        size = st.size if st.size is not None else bindings.sizes.get(st.name)
        if size is not None and not (2 if st.kind == "class" else 1) <= size <= 65_536:
            sym.error("bad-target", f"target '{st.name}': {st.kind} needs a size from "
                      f"{2 if st.kind == 'class' else 1} to 65,536, got {size}", st.span)
            continue
        loss = TARGET_KINDS[st.kind][0]
        bad = False
        for opt in st.options:
            value = opt.value.value if isinstance(opt.value, A.Word) else None
            if opt.name != "loss":
                sym.error("unknown-param", f"target '{st.name}' has no option '{opt.name}'", opt.span,
                          ["targets take: loss"])
                bad = True
            elif value not in TARGET_KINDS[st.kind]:
                sym.error("bad-target", f"a {st.kind} target takes loss {' or '.join(TARGET_KINDS[st.kind])}",
                          opt.span)
                bad = True
            else:
                loss = value
        if not bad:
            sym.targets[st.name] = TargetInfo(st.name, st.kind, size, st.timed, loss, st.span)


def _collect_layers(sym: Symbols, stmts: tuple[A.Stmt, ...]) -> None:
    for st in stmts:
        if not isinstance(st, A.LayerDef):
            continue
        if st.name in sym.layer_defs:
            sym.error("duplicate-definition", f"layer '{st.name}' is defined twice", st.span,
                      [f"the first definition is on line {sym.layer_defs[st.name].span.line}"])
        elif sym.reserved(st.name):
            sym.error("duplicate-definition", f"'{st.name}' is a built-in name; pick another layer name", st.span)
        else:
            sym.layer_defs[st.name] = st


def _collect_params(sym: Symbols, stmts: tuple[A.Stmt, ...]) -> None:
    for st in stmts:
        if not isinstance(st, A.ParamDecl):
            continue
        if st.name in sym.params:
            sym.error("duplicate-definition", f"param '{st.name}' is declared twice", st.span,
                      [f"the first declaration is on line {sym.params[st.name].span.line}"])
            continue
        if st.name in sym.layer_defs or sym.reserved(st.name):
            what = "a layer" if st.name in sym.layer_defs else "a built-in name or an input"
            sym.error("duplicate-definition", f"'{st.name}' is {what}; a param needs another name", st.span)
            continue
        problem = _shape_problem(f"param '{st.name}'", st.shape)
        if problem is None and _size(st.shape) > _MAX_PARAM:
            problem = (f"param '{st.name}': a shape has 1 to 8 dimensions of 1 to {_MAX_DIM:,} and at most "
                       f"{_MAX_PARAM:,} elements")
        if problem is not None:
            sym.error("bad-param", problem, st.span)
            continue
        values, found = resolve_params(f"param '{st.name}'", PARAM_OPTIONS, (), st.options, {}, st.span)
        sym.diags.extend(found)  # (a bad initialiser is reported; the param stays declared, so reads of it are not)
        sym.params[st.name] = ParamInfo(st.name, st.shape, values.get("init", PARAM_OPTIONS[0].default), st.span)


_MAX_PARAM = 100_000_000  # elements of one learned tensor (400 MB of float32)


def _shape_problem(what: str, shape: tuple[int, ...]) -> str | None:
    """What is wrong with a declared shape (the first bad dimension, or too many of them), or None."""
    if not 1 <= len(shape) <= 8:
        return f"{what} has {len(shape)} dimensions; a shape has 1 to 8"
    for i, d in enumerate(shape, 1):
        if not 1 <= d <= _MAX_DIM:
            return f"dimension {i} of {what} is {d:,}; each must be 1 to {_MAX_DIM:,}"
    return None


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _collect_definitions(sym: Symbols, stmts: tuple[A.Stmt, ...]) -> None:
    for st in stmts:
        if isinstance(st, A.ValueDef):
            if not _clash(sym, st.name, st.span):
                sym.value_defs[st.name] = st
        elif isinstance(st, A.StreamDef):
            if st.name not in sym.stream_defs and _clash(sym, st.name, st.span, "a stream"):
                continue
            eqs = sym.stream_defs.setdefault(st.name, [])
            eqs.append(st)
            if isinstance(st.guard, A.When) and st.guard.otherwise is not None:
                eqs.append(A.StreamDef(st.name, st.guard.otherwise, A.Otherwise(st.guard.span), st.span))


def _clash(sym: Symbols, name: str, span: Span, what_new: str = "a value") -> bool:
    prior = sym.value_defs.get(name) or (sym.stream_defs[name][0] if name in sym.stream_defs else None)
    if prior is not None:
        sym.error("duplicate-definition", f"'{name}' is defined twice", span,
                  [f"the first definition is on line {prior.span.line}"])
        return True
    if name in sym.layer_defs or sym.reserved(name) or name in sym.inputs or name in sym.params:
        what = "a layer" if name in sym.layer_defs else "a param" if name in sym.params else "a built-in name"
        sym.error("duplicate-definition", f"'{name}' is {what}; {what_new} needs another name", span)
        return True
    return False


def _collect_inits(sym: Symbols, stmts: tuple[A.Stmt, ...]) -> None:
    sym.inits = {name: "zeros" for name in sym.stream_defs}
    sym.inits.update({name: "zeros" for name, i in sym.inputs.items() if i.sequence})  # before step 0: zeros
    for st in stmts:
        if not isinstance(st, A.Init):
            continue
        if st.stream not in sym.stream_defs:
            near = sym.suggest(st.stream, sym.stream_defs)
            sym.error("unknown-name", f"init names '{st.stream}', which is not a stream", st.span, hint_for(near), near)
        elif st.kind not in INIT_KINDS:
            near = closest(st.kind, INIT_KINDS)
            sym.error("bad-param", f"unknown initial state '{st.kind}'", st.span,
                      hint_for(near) or [f"initial states: {', '.join(INIT_KINDS)}"], near)
        elif isinstance(st.fill, tuple) and st.kind == "learned":
            sym.error("bad-param", f"`init {st.stream} = learned(...)` takes one initialiser, such as "
                      f"`init {st.stream} = learned(normal(0.1))`; got {len(st.fill)}", st.span)
        elif st.fill is not None and st.kind != "learned":
            sym.error("bad-param", f"`init {st.stream} = {st.kind}` takes no initialiser; only a learned state "
                      f"has one, as in `init {st.stream} = learned(normal(0.1))`", st.span)
        else:
            sym.inits[st.stream] = st.kind
            if st.fill is not None:
                fill = A.Kwarg("init", st.fill, getattr(st.fill, "span", st.span))
                values, found = resolve_params(f"init {st.stream}", PARAM_OPTIONS, (), (fill,), {}, st.span)
                if found:
                    sym.diags.extend(found)
                else:
                    sym.init_fills[st.stream] = values["init"]
