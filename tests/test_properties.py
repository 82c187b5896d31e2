"""Hypothesis properties of the front end."""

from __future__ import annotations

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ALL_SPECS
from rnndsl.errors import SpecError
from rnndsl.syntax.parser import parse
from rnndsl.pipeline import compile_text
from rnndsl.syntax import unparse

TOKENS = ["model", "data", "mnist", "steps", "4", "h", "x", "[t]", "[t-1]", "[t+1]", "[last]", "[0]", "=",
          "conv(", "dense(", "elu", "tanh", "gap", "image", "|", "+", "*", "(", ")", ",", "8", "3", "\n",
          "when", "t", "in", "{1, 3}", "otherwise", "%", "==", "layer", "K", "out", "@train", "..", "-", "#",
          "train", "{", "}", "init", "learned", "concat(", "gru(", "row", "0.5", '"', "defaults", "bias=false"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join) | st.text(max_size=60))
def test_any_text_gives_a_program_or_our_error(text: str) -> None:
    try:
        compile_text(text)
    except SpecError as err:
        assert err.diagnostics and all(d.message for d in err.diagnostics)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join))
def test_whatever_parses_round_trips_through_the_printer(text: str) -> None:
    try:
        spec = parse(text)
    except SpecError:
        return
    printed = unparse(spec)
    assert parse(printed) == spec
    assert unparse(parse(printed)) == printed


def test_every_spec_round_trips_through_the_printer() -> None:
    for path in ALL_SPECS:
        spec = parse(path.read_text())
        text = unparse(spec)
        assert parse(text) == spec, path
        assert unparse(parse(text)) == text, path


@st.composite
def wirings(draw):
    """A random set of streams reading each other at lags 0..2."""
    n = draw(st.integers(1, 4))
    names = [f"s{i}" for i in range(n)]
    reads = {name: draw(st.lists(st.tuples(st.sampled_from(names), st.integers(0, 2)), max_size=3, unique=True))
             for name in names}
    return names, reads


def _spec_text(names, reads, steps: int) -> str:
    lines = ["model wiring", "data mnist", f"steps {steps}"]
    for name in names:
        terms = ["dense(x, 4)"] + [f"dense({src}[t-{lag}], 4)" if lag else f"dense({src}[t], 4)"
                                   for src, lag in reads[name]]
        lines.append(f"{name}[t] = tanh({' + '.join(terms)})")
    lines.insert(3, "x = image | flatten")
    lines.append(f"out = concat({', '.join(f'{n}[last]' for n in names)}) | dense(10)" if len(names) > 1
                 else f"out = {names[0]}[last] | dense(10)")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None)
@given(wirings(), st.integers(1, 4))
def test_check_accepts_a_wiring_exactly_when_every_cycle_has_positive_lag(wiring, steps) -> None:
    names, reads = wiring
    same_step = nx.DiGraph()
    same_step.add_nodes_from(names)
    same_step.add_edges_from((src, dst) for dst in names for src, lag in reads[dst] if lag == 0)
    # With lags >= 0, a cycle of zero total lag is a cycle of lag-0 reads.
    expect_ok = nx.is_directed_acyclic_graph(same_step)
    text = _spec_text(names, reads, steps)
    assert parse(unparse(parse(text))) == parse(text)
    try:
        compile_text(text)
        ok = True
    except SpecError as err:
        assert all(d.code == "zero-lag-cycle" for d in err.diagnostics if d.severity == "error"), err
        ok = False
    assert ok == expect_ok


def test_range_active_steps_match_the_definition() -> None:
    # Window.active finds, in O(1), the steps at which a range holds any step; the checks and the
    # unrolling rely on it to stay fast at 10,000 steps.  Compare with the definition, every case.
    import itertools

    from rnndsl.ir import Bound, Window

    for T in (1, 2, 7):
        ends = ([Bound("t", o) for o in range(-9, 10)] + [Bound("abs", o) for o in range(0, T)]
                + [Bound("last", o) for o in range(-T + 1, 1)])
        for lo, hi in itertools.product(ends, ends):
            w = Window(lo, hi)
            live = tuple(t for t in range(T) if len(w.steps(t, T)))
            a, b = w.active(T)
            assert live == tuple(t for t in range(T) if a <= t <= b), (T, str(w))
            assert w.live_steps(tuple(range(0, T, 2)), T) == tuple(t for t in live if t % 2 == 0)


def test_unrolled_edge_counts_count_every_read() -> None:
    # The unrolled graph merges several reads of one (source, step) by one (op, step) into an edge
    # with a `ports` tuple; check counts reads, so its totals equal the reads the limits count.
    from rnndsl.ir import unrolled_size

    for path in ALL_SPECS:
        checked = compile_text(path.read_text())
        p = checked.program
        assert sum(checked.edge_counts("unrolled").values()) == unrolled_size(p.folded, p.steps)[1], path
    text = ("model m\ninput x[t]: (8,)\ntarget y: class(3)\nsteps 4\n"
            "h[t] = tanh(dense(x[t], 16) + dense(h[t-1], 16))\n"
            "g[t] = h[t-1] * h[2]\n"  # at t = 3 both read h[2]: one edge, a cross read and a fixed one
            "v = mean(h[0..last] * h[0..last])\n"
            "y = dense(v + g[last], 3)\n")
    counts = compile_text(text).edge_counts("unrolled")
    assert (counts["window"], counts["cross"], counts["fixed"]) == (8, 4, 4), counts


def test_an_init_line_with_any_number_of_items_parses_and_round_trips() -> None:
    # `init h = learned(a, b)` once stopped the parser, hiding every other error; it parses now,
    # and symbol collection reports it
    for items in ("normal(0.1)", "zeros", "init=he", "a, b", "", "normal(0.1), zeros, 3"):
        spec = parse(f"model m\ninit h = learned({items})\n")
        printed = unparse(spec)
        assert parse(printed) == spec, items
        assert unparse(parse(printed)) == printed, items
