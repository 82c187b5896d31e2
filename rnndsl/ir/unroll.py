"""The folded graph -> the unrolled graph over (node, step), the stage every per-step check reads."""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator, Mapping

import networkx as nx

from ..errors import Diagnostic
from .graph import INIT, EdgeAttr, NodeAttr
from .reads import Range

__all__ = ["unroll", "unrolled_size"]


def unrolled_size(folded: nx.MultiDiGraph, steps: int, limit: int = 10**12) -> tuple[int, int]:
    """At most how many nodes and edges `unroll` makes (without making them): the limits check this.

    Counting stops once the edges pass `limit` (a range read at every step is quadratic)."""
    attrs: dict[str, NodeAttr] = {name: data["attr"] for name, data in folded.nodes(data=True)}
    nodes = sum(len(a.steps) if a.steps is not None else 1 for a in attrs.values())
    nodes += sum(1 for a in attrs.values() if a.steps is not None)  # an initial state each, at most
    edges = 0
    for _, dst, data in folded.edges(data=True):
        e: EdgeAttr = data["attr"]
        d_steps = attrs[dst].steps
        if isinstance(e.read, Range):
            reader = e.steps if e.steps is not None else d_steps
            for t in (e.read.live(reader, steps) if reader is not None else (None,)):
                edges += len(e.read.sources(t, steps))  # >= 1 each: the loop stops soon past any limit
                if edges > limit:
                    return nodes, edges
            continue
        edges += len(e.steps) if e.steps is not None else (1 if d_steps is None else len(d_steps))
    return nodes, edges


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: building 10^5 dictionaries (which form no cycles)
    otherwise triggers collections that rescan everything built so far, 3/4 of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def unroll(folded: nx.MultiDiGraph, steps: int, inits: Mapping[str, str]) -> tuple[nx.DiGraph, list[Diagnostic]]:
    """Unroll over steps 0..steps-1.

    Untimed values are `(name, None)`; a read that falls outside the steps reads the
    stream's initial state `(stream, INIT)`, or is an error when the stream has `init none`.
    Several reads of one source on different ports share one edge with a `ports` tuple.
    A read of a range of steps is one edge per step of it (clipped to 0..steps-1: a range
    never reads an initial state).
    The graph's dictionaries are filled directly: networkx's add_node and add_edge checks
    cost most of the time at 10,000 steps (the caller bounds the size, see unrolled_size).
    """
    with _gc_paused():
        return _unroll(folded, steps, inits)


def _unroll(folded: nx.MultiDiGraph, steps: int, inits: Mapping[str, str]) -> tuple[nx.DiGraph, list[Diagnostic]]:
    u = nx.DiGraph()
    diags: list[Diagnostic] = []
    order = {name: data["order"] for name, data in folded.nodes(data=True)}
    attrs: dict[str, NodeAttr] = {name: data["attr"] for name, data in folded.nodes(data=True)}
    node, succ, pred = u._node, u._succ, u._pred

    def add_node(key: tuple) -> None:
        node[key] = {"attr": attrs[key[0]]}
        succ[key] = {}
        pred[key] = {}

    for name, a in attrs.items():
        for t in (a.steps if a.timed else (None,)):  # type: ignore[union-attr]
            add_node((name, t))
    edges = sorted(folded.edges(data=True), key=lambda e: (order[e[1]], e[2]["attr"].port))
    reported: set[tuple[str, str]] = set()
    for src, dst, data in edges:
        e: EdgeAttr = data["attr"]
        s_attr, d_attr = attrs[src], attrs[dst]
        d_steps = d_attr.steps if d_attr.timed else (None,)
        if e.steps is not None:
            live = set(e.steps)
            d_steps = tuple(t for t in d_steps if t in live)  # type: ignore[union-attr]
        live = e.read.live(d_steps, steps) if d_attr.timed else (None,)  # type: ignore[arg-type]
        for t in live:  # type: ignore[union-attr]
            if not s_attr.timed:
                _link(succ, pred, (src, None), (dst, t), e)
                continue
            for s_step in e.read.sources(t, steps):  # a range: one edge per step of it
                if not 0 <= s_step < steps:  # type: ignore[operator]
                    if inits.get(src) == "none":
                        if (src, dst) not in reported:
                            reported.add((src, dst))
                            diags.append(Diagnostic(
                                "out-of-range", f"at step {t}, `{src}[{e.read.label}]` reads step {s_step}, "
                                f"outside 0..{steps - 1}, and '{src}' has `init {src} = none`", e.span,
                                ("guard the equation, or give the stream an initial state (zeros or learned)",)))
                        continue
                    s_step = INIT
                    if (src, INIT) not in node:
                        add_node((src, INIT))
                _link(succ, pred, (src, s_step), (dst, t), e)
    return u, diags


def _link(succ: dict, pred: dict, src_key: tuple, dst_key: tuple, e: EdgeAttr) -> None:
    out = succ.get(src_key)
    if out is None:
        return
    existing = out.get(dst_key)
    if existing is None:
        edge = {"attr": e, "ports": (e.port,)}
        out[dst_key] = edge
        pred[dst_key][src_key] = edge
    else:
        existing["ports"] = existing["ports"] + (e.port,)
