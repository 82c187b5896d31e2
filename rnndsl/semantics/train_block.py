"""The spec's `train { }` block -> TrainBlock: the defaults a run starts from (not part of the IR)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalogue import OPTIMIZERS, TRAIN_KEYS, Params
from ..errors import Diagnostic, closest, hint_for
from ..syntax import ast as A
from .params import resolve_params

__all__ = ["TrainBlock", "train_block"]


def _defaults(name: str) -> Params:
    return Params(tuple((p.name, p.default) for p in OPTIMIZERS[name]))


@dataclass(frozen=True)
class TrainBlock:
    """Training settings the spec asks for; a run configuration starts from these and applies flags."""

    optimizer: str = "adam"
    optimizer_params: Params = field(default_factory=lambda: _defaults("adam"))
    batch: int = 32
    epochs: int = 1
    seed: int = 0
    tbptt: int = 0  # chunk length of truncated backpropagation through time (0: whole sequences)


def _optimizer(item: A.TrainItem, diags: list[Diagnostic]) -> tuple[str, Params]:
    v = item.value
    name = v.func if isinstance(v, A.VCall) else v.value if isinstance(v, A.Word) else None
    if name not in OPTIMIZERS:
        near = closest(str(name), OPTIMIZERS)
        diags.append(Diagnostic("bad-train", f"unknown optimizer '{name}'", v.span,
                                hint_for(near) or (f"optimizers: {', '.join(OPTIMIZERS)}",), suggestion=near))
        return "adam", _defaults("adam")
    items = v.items if isinstance(v, A.VCall) else ()
    pos = [i for i in items if not isinstance(i, A.Kwarg)]
    kws = [i for i in items if isinstance(i, A.Kwarg)]
    params, found = resolve_params(name, OPTIMIZERS[name], pos, kws, {}, v.span)
    diags.extend(found)
    return name, params if not found else _defaults(name)


def train_block(spec: A.Spec) -> tuple[TrainBlock, list[Diagnostic]]:
    """Read every `train { }` block (later settings win); report unknown or bad settings."""
    diags: list[Diagnostic] = []
    cfg: dict[str, object] = {}
    optimizer, opt_params = "adam", _defaults("adam")
    for block in (b for b in spec.statements if isinstance(b, A.Train)):
        for item in block.items:
            if item.key == "optimizer":
                optimizer, opt_params = _optimizer(item, diags)
            elif item.key in TRAIN_KEYS:
                params, found = resolve_params(item.key, (TRAIN_KEYS[item.key],), (item.value,), (), {}, item.span)
                diags.extend(found)
                if item.key in params:
                    cfg[item.key] = params[item.key]
            else:
                near = closest(item.key, [*TRAIN_KEYS, "optimizer"])
                diags.append(Diagnostic("bad-train", f"unknown train setting '{item.key}'", item.span,
                                        hint_for(near) or (f"settings: optimizer, {', '.join(TRAIN_KEYS)}",),
                                        suggestion=near))
    return TrainBlock(optimizer, opt_params, **cfg), diags  # type: ignore[arg-type]
