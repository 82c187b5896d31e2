"""The IR: a folded networkx MultiDiGraph over named values and an unrolled DiGraph over (node, t).

Every node and edge carries exactly one attribute, `attr`, holding a frozen dataclass:
a typo in a field name is an AttributeError, never a silent new key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import networkx as nx

from .errors import Span
from .registry import Dataset, Params

__all__ = [
    "INIT", "NodeAttr", "EdgeAttr", "TrainConfig", "Program", "UNode",
    "node_attr", "edge_kind", "EDGE_KINDS",
]

INIT = -1  # the step index of a stream's initial state in the unrolled graph
UNode = tuple[str, "int | None"]  # (folded node, step); step None for untimed values

EDGE_KINDS = ("feed", "same", "cross", "lag-k", "reversed")


@dataclass(frozen=True)
class NodeAttr:
    """A folded node: an input, a named value, a stream, a constant or a layer application (op)."""

    name: str
    role: str  # input | value | stream | const | op
    owner: str  # the value or stream whose definition holds this node
    kind: str | None = None  # layer kind of an op
    params: Params = field(default_factory=Params)
    layer: str | None = None  # weight-sharing id (None: the op has no weights)
    steps: tuple[int, ...] | None = None  # steps where it exists; None: untimed
    mode: str | None = None  # "train": applied only while training
    span: Span = field(default_factory=Span.unknown, compare=False)

    @property
    def timed(self) -> bool:
        return self.steps is not None


@dataclass(frozen=True)
class EdgeAttr:
    """A read of `src` by `dst` on input `port`: at t - lag, at the absolute step `at`, or untimed."""

    port: int
    kind: str  # one of EDGE_KINDS
    lag: int | None = None
    at: int | None = None
    steps: tuple[int, ...] | None = None  # dst steps where the edge is live (None: all)
    span: Span = field(default_factory=Span.unknown, compare=False)

    @property
    def label(self) -> str:
        if self.at is not None:
            return f"[{self.at}]"
        if self.lag is None or self.lag == 0:
            return ""
        return f"t-{self.lag}" if self.lag > 0 else f"t+{-self.lag}"


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = "adam"
    optimizer_params: Params = field(default_factory=Params)
    batch: int = 32
    epochs: int = 1
    seed: int = 0


@dataclass(frozen=True, eq=False)
class Program:
    """The lowered spec.  Built once by `lower`; later stages only read it."""

    name: str
    title: str
    about: str
    dataset: Dataset | None
    steps: int
    folded: nx.MultiDiGraph
    unrolled: nx.DiGraph
    streams: tuple[str, ...]
    values: tuple[str, ...]
    inits: Mapping[str, str]
    layers: Mapping[str, str]  # weight-sharing id -> layer kind
    named_layers: tuple[str, ...]
    output: str | None
    train: TrainConfig

    def node(self, name: str) -> NodeAttr:
        return self.folded.nodes[name]["attr"]

    def order(self, name: str) -> int:
        """Declaration order of a folded node (for deterministic iteration)."""
        return self.folded.nodes[name]["order"]


def node_attr(graph: nx.Graph, name: object) -> NodeAttr:
    """The NodeAttr of a folded or unrolled node."""
    return graph.nodes[name]["attr"]


def edge_kind(src_is_stream: bool, same_owner: bool, lag: int | None) -> str:
    """Classify a read: feed (same step or untimed), same, cross, lag-k (|lag| >= 2), reversed (a later step)."""
    if not src_is_stream or lag is None or lag == 0:
        return "feed"
    if lag < 0:
        return "reversed"
    if lag >= 2:
        return "lag-k"
    return "same" if same_owner else "cross"
