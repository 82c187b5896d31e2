"""Named layers (`layer K = conv(8, 3) | elu`): each checked once, kept as a chain of stages."""

from __future__ import annotations

from dataclasses import dataclass

from ..catalogue import KINDS, Params
from ..errors import Diagnostic, hint_for
from ..syntax import ast as A
from .params import resolve_params
from .symbols import Symbols

__all__ = ["ChainStage", "resolve_layer_defs", "unknown_layer", "check_mode"]


@dataclass(frozen=True)
class ChainStage:
    """One stage of a named layer: its kind, parameters, weight id (None: no weights) and mode."""

    kind: str
    params: Params
    layer: str | None
    mode: str | None = None


def unknown_layer(sym: Symbols, name: str, span) -> Diagnostic:
    near = sym.suggest(name, KINDS, sym.layer_defs)
    return Diagnostic("unknown-layer", f"unknown layer '{name}'", span,
                      hint_for(near) or ("see `docs/language.md` for the layer kinds",), suggestion=near)


def check_mode(kind_name: str, mode: str | None, span, diags: list[Diagnostic]) -> str | None:
    """The mode a stage runs in (`@train` or always); reports a mode that cannot apply."""
    if mode is None:
        return None
    kind = KINDS[kind_name]
    if mode != "train":
        diags.append(Diagnostic("bad-param", f"unknown mode '@{mode}'; the only mode is @train", span))
        return None
    if not (kind.random or kind.category == "transform"):
        diags.append(Diagnostic("bad-param", f"only input transforms and dropout can be train-only; "
                                f"{kind_name} runs always", span))
        return None
    return mode


def resolve_layer_defs(sym: Symbols) -> tuple[dict[str, tuple[ChainStage, ...]], list[Diagnostic]]:
    """Check each named layer once; return the chains of those without errors."""
    diags: list[Diagnostic] = []
    out: dict[str, tuple[ChainStage, ...]] = {}
    for name, d in sym.layer_defs.items():
        chain: list[ChainStage] = []
        broken = False
        weighted = [st for st in d.stages if st.func in KINDS and KINDS[st.func].has_weights]
        for st in d.stages:
            kind = KINDS.get(st.func)
            if kind is None:
                diags.append(unknown_layer(sym, st.func, st.span))
                broken = True
                continue
            if kind.arity != 1 or kind.is_cell or kind.uses_step:
                diags.append(Diagnostic("bad-arity", f"layer '{name}': {st.func} cannot be part of a named layer",
                                        st.span))
                broken = True
                continue
            positional = [a for a in st.args if not isinstance(a, A.Kwarg)]
            kwargs = [a for a in st.args if isinstance(a, A.Kwarg)]
            for p in positional:
                if not isinstance(p, (A.Num, A.Name)):
                    diags.append(Diagnostic("bad-param", f"{st.func}: parameters must be numbers or words, "
                                            f"not tensor expressions", p.span))
                    broken = True
            positional = [p for p in positional if isinstance(p, (A.Num, A.Name))]
            resolved, found = resolve_params(st.func, kind.params, positional, kwargs, sym.defaults, st.span)
            diags.extend(found)
            if found:
                broken = True
                continue
            layer = None
            if st in weighted:
                layer = name if len(weighted) == 1 else f"{name}.{weighted.index(st)}"
            chain.append(ChainStage(st.func, resolved, layer, check_mode(st.func, st.mode, st.span, diags)))
        if not broken:
            out[name] = tuple(chain)
    return out, diags
