"""The built-in datasets a spec can name with `data NAME`: each declares one input and one target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .params import Shape

__all__ = ["Dataset", "DATASETS"]


@dataclass(frozen=True)
class Dataset:
    """A built-in dataset: the input it gives (named `input`) and its class count."""

    name: str
    shape: Shape
    classes: int
    doc: str
    input: str = "image"  # the input value a spec reads
    output: str = "out"  # the value a spec defines as its prediction


DATASETS: Mapping[str, Dataset] = {
    "mnist": Dataset("mnist", (28, 28, 1), 10, "MNIST digits, 28x28x1, pixels in [0, 1]"),
    "cifar10": Dataset("cifar10", (32, 32, 3), 10, "CIFAR-10, 32x32x3, raw 0-255 values"),
}
