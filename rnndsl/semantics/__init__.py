"""Semantics: symbols, guards, named layers, parameters and expressions -> the folded graph (IR)."""

from .lower import Lowered, lower
from .train_block import TrainBlock

__all__ = ["Lowered", "lower", "TrainBlock"]
