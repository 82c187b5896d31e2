"""Symbol collection: every statement's names, before any expression is lowered (like CPython's symtable)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalogue import DATASETS, KINDS, Dataset
from ..errors import Diagnostic, Span, did_you_mean
from ..limits import MAX_STEPS
from ..syntax import ast as A

__all__ = ["Symbols", "collect", "INIT_KINDS"]

INIT_KINDS = ("zeros", "learned", "none")


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
    defaults: tuple[A.Kwarg, ...] = ()
    diags: list[Diagnostic] = field(default_factory=list)

    @property
    def input_names(self) -> tuple[str, ...]:
        # without a (known) dataset the built-in input name is still known, with no shape,
        # so a missing `data` line is one error, not one per read of the input
        return (self.dataset.input,) if self.dataset else ("image",)

    def reserved(self, name: str) -> bool:
        return name in KINDS or name in self.input_names

    def error(self, code: str, message: str, span: Span, notes=()) -> None:
        self.diags.append(Diagnostic(code, message, span, tuple(notes)))


def _single(sym: Symbols, stmts: tuple[A.Stmt, ...], cls: type, word: str):
    found = [x for x in stmts if isinstance(x, cls)]
    for dup in found[1:]:
        sym.error("duplicate-definition", f"a second `{word}` line", dup.span,
                  [f"the first is on line {found[0].span.line}"])
    return found[0] if found else None


def collect(spec: A.Spec) -> Symbols:
    """Collect the declarations of a spec and report what is wrong with them."""
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
    if data is None:
        sym.error("missing-statement", "the spec has no `data` line (e.g. `data mnist`)", Span(1, 1, 1, 2),
                  [f"datasets: {', '.join(DATASETS)}"])
    elif data.name not in DATASETS:
        sym.error("unknown-dataset", f"unknown dataset '{data.name}'", data.span,
                  did_you_mean(data.name, DATASETS) or [f"datasets: {', '.join(DATASETS)}"])
    else:
        sym.dataset = DATASETS[data.name]
    sym.defaults = tuple(kw for d in s if isinstance(d, A.Defaults) for kw in d.kwargs)
    _collect_layers(sym, s)
    _collect_definitions(sym, s)
    if sym.stream_defs and steps_stmt is None:
        first = next(iter(sym.stream_defs.values()))[0]
        sym.error("missing-statement", "the spec defines streams but has no `steps N` line", first.span)
        sym.steps_ok = False
    _collect_inits(sym, s)
    return sym


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


def _collect_definitions(sym: Symbols, stmts: tuple[A.Stmt, ...]) -> None:
    for st in stmts:
        if isinstance(st, A.ValueDef):
            if not _clash(sym, st.name, st.span):
                sym.value_defs[st.name] = st
        elif isinstance(st, A.StreamDef):
            if st.name not in sym.stream_defs and _clash(sym, st.name, st.span):
                continue
            eqs = sym.stream_defs.setdefault(st.name, [])
            eqs.append(st)
            if isinstance(st.guard, A.When) and st.guard.otherwise is not None:
                eqs.append(A.StreamDef(st.name, st.guard.otherwise, A.Otherwise(st.guard.span), st.span))


def _clash(sym: Symbols, name: str, span: Span) -> bool:
    prior = sym.value_defs.get(name) or (sym.stream_defs[name][0] if name in sym.stream_defs else None)
    if prior is not None:
        sym.error("duplicate-definition", f"'{name}' is defined twice", span,
                  [f"the first definition is on line {prior.span.line}"])
        return True
    if name in sym.layer_defs or sym.reserved(name):
        what = "a layer" if name in sym.layer_defs else "a built-in name"
        sym.error("duplicate-definition", f"'{name}' is {what}; a value needs another name", span)
        return True
    return False


def _collect_inits(sym: Symbols, stmts: tuple[A.Stmt, ...]) -> None:
    sym.inits = {name: "zeros" for name in sym.stream_defs}
    for st in stmts:
        if not isinstance(st, A.Init):
            continue
        if st.stream not in sym.stream_defs:
            sym.error("unknown-name", f"init names '{st.stream}', which is not a stream", st.span,
                      did_you_mean(st.stream, sym.stream_defs))
        elif st.kind not in INIT_KINDS:
            sym.error("bad-param", f"unknown initial state '{st.kind}'", st.span,
                      [f"initial states: {', '.join(INIT_KINDS)}"])
        else:
            sym.inits[st.stream] = st.kind
