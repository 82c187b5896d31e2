"""The run configuration: the spec's train block, overridden by flags.  Not part of the IR."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..semantics import TrainBlock
from ..errors import RnndslError

__all__ = ["RunConfig", "ConfigError", "run_config"]


class ConfigError(RnndslError):
    """A setting that cannot run (message is user-facing)."""


@dataclass(frozen=True)
class RunConfig:
    """What a run uses: optimizer and its parameters, batch size, epochs, seed, XLA."""

    optimizer: str
    optimizer_params: dict[str, float] = field(default_factory=dict)
    batch: int = 32
    epochs: int = 1
    seed: int = 0
    xla: bool = False
    tbptt: int = 0  # chunks of this many steps, state carried, gradients cut between them (0: off)

    @property
    def lr(self) -> float:
        return float(self.optimizer_params["lr"])


def run_config(block: TrainBlock, *, lr: float | None = None, batch: int | None = None, epochs: int | None = None,
               seed: int | None = None, xla: bool = False, tbptt: int | None = None) -> RunConfig:
    """The spec's settings with the given overrides; raise ConfigError for values that cannot run."""
    params = dict(block.optimizer_params.items())
    if lr is not None:
        if not math.isfinite(lr) or lr <= 0:
            raise ConfigError(f"the learning rate must be a positive number, got {lr:g}")
        params["lr"] = float(lr)
    cfg = RunConfig(block.optimizer, params, block.batch if batch is None else batch,
                    block.epochs if epochs is None else epochs, block.seed if seed is None else seed, xla,
                    block.tbptt if tbptt is None else tbptt)
    if cfg.tbptt < 0:
        raise ConfigError(f"tbptt must be 0 (off) or a number of steps, got {cfg.tbptt}")
    if cfg.batch < 1:
        raise ConfigError(f"the batch size must be at least 1, got {cfg.batch}")
    if cfg.epochs < 1:
        raise ConfigError(f"epochs must be at least 1, got {cfg.epochs}")
    if not 0 <= cfg.seed < 2**31:
        raise ConfigError(f"the seed must be between 0 and {2**31 - 1}, got {cfg.seed}")
    return cfg
