"""What the checks infer, passed from rule to rule, and the Checked program they produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from ..catalogue import Shape
from ..errors import Diagnostic
from ..ir import EdgeKind, Program

__all__ = ["LayerInfo", "Facts", "Rule", "Checked"]


@dataclass(frozen=True)
class LayerInfo:
    """One weight-holding layer (shared by all its applications)."""

    id: str
    kind: str
    label: str
    uses: int
    weights: tuple[tuple[str, Shape], ...]
    params: int


@dataclass(frozen=True)
class Facts:
    """Facts the rules establish: shapes per folded node, layers, FLOPs, learned initial states."""

    shapes: Mapping[str, Shape] = field(default_factory=dict)
    layers: tuple[LayerInfo, ...] = ()
    flops: Mapping[str, int] = field(default_factory=dict)  # folded op -> FLOPs per sample, all its steps
    tensors: Mapping[str, int] = field(default_factory=dict)  # learned tensors outside layers: params, initial states
    stop: bool = False  # a rule found something that makes the later rules meaningless


# A rule reads the program, the facts so far and the diagnostics so far; it returns new
# facts and the diagnostics it found.  The tuple in checks/__init__.py runs them in order.
Rule = Callable[[Program, Facts, tuple[Diagnostic, ...]], tuple[Facts, list[Diagnostic]]]


@dataclass(frozen=True, eq=False)
class Checked:
    """A program that passed every check, with what the checks inferred."""

    program: Program
    shapes: Mapping[str, Shape]  # folded node -> shape of one sample
    flops: Mapping[str, int]  # folded op -> FLOPs per sample over all its steps
    layers: tuple[LayerInfo, ...]
    tensors: Mapping[str, int]  # learned tensors outside layers (params, learned initial states) -> size
    warnings: tuple[Diagnostic, ...]

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers) + sum(self.tensors.values())

    @property
    def total_flops(self) -> int:
        return sum(self.flops.values())

    def edge_counts(self, graph: str = "folded") -> dict[str, int]:
        """Reads by kind (feed, same, cross, lag-k, reversed, fixed, window) in the folded or unrolled graph.

        The folded graph has one edge per read.  The unrolled graph has one edge per pair of
        (node, step)s, with a `ports` tuple when the reader reads that source more than once
        (`h[0..last] * h[0..last]`, `h[t-1] * h[2]`): each port is a read, of the kind of the
        folded edge on that port.
        """
        counts = {k.value: 0 for k in EdgeKind}
        if graph == "folded":
            for *_, data in self.program.folded.edges(data=True):
                counts[data["attr"].kind.value] += 1
            return counts
        folded = self.program.folded
        for (src, _), (dst, _), data in self.program.unrolled.edges(data=True):
            ports = data.get("ports", ())
            if len(ports) <= 1:
                counts[data["attr"].kind.value] += 1
                continue
            for port in ports:
                counts[folded.edges[src, dst, port]["attr"].kind.value] += 1
        return counts
