"""The front end never crashes: any text gives a program or located diagnostics, quickly.

Each case here pinned a crash, a hang or a misleading message once (most found by
scripts/fuzz.py); tests/test_fuzz.py generates more.
"""

from __future__ import annotations

import re
import sys
import time

import pytest

from conftest import ROOT
from rnndsl.errors import SpecError
from rnndsl.limits import (MAX_GUARD_STEPS, MAX_NESTING, MAX_OPERATORS, MAX_STEPS, MAX_TOKENS, MAX_UNROLLED_EDGES,
                           MAX_UNROLLED_NODES)
from rnndsl.pipeline import analyse, diagnostics_of
from rnndsl.semantics.guards import cond_steps, equation_steps
from rnndsl.syntax import ast as A
from rnndsl.syntax import parse, unparse

HEAD = "model m\ndata mnist\nsteps 4\n"
X = "x = image | flatten | dense(8)\n"


def errors_of(text: str, seconds: float = 5.0) -> tuple:
    """The diagnostics of a spec that must fail, each located, found within `seconds`."""
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        analyse(text)
    assert time.perf_counter() - start < seconds
    diags = info.value.diagnostics
    assert diags and all(d.code and d.message for d in diags)
    return diags


def only(text: str, code: str, seconds: float = 5.0):
    """The one error of a spec, of `code`, with a place in the source."""
    errors = [d for d in errors_of(text, seconds) if d.severity == "error"]
    assert [d.code for d in errors] == [code], errors
    assert errors[0].span.line > 0, errors[0]
    return errors[0]


# ---- limits: nesting, numbers, steps, lags ------------------------------------------------------
@pytest.mark.parametrize("open_, close", [("(", ")"), ("tanh(", ")"), ("concat(image, ", ")")])
def test_deep_brackets_are_a_limit_error_not_a_recursion_error(open_: str, close: str) -> None:
    text = "model m\ndata mnist\nout = " + open_ * 300 + "image" + close * 300 + " | gap\n"
    d = only(text, "limit")
    assert f"nested more than {MAX_NESTING} deep" in d.message and d.span.line == 3


def test_deep_brackets_in_a_guard_and_in_a_parameter() -> None:
    only(HEAD + "h[t] = image when " + "(" * 300 + "t == 0" + ")" * 300 + "\nout = h[last] | gap\n", "limit")
    only("model m\ndata mnist\nout = image | conv(10, 1, init=" + "normal(" * 300 + "1" + ")" * 300 + ") | gap\n",
         "limit")


@pytest.mark.parametrize("where", [
    "steps {n}\nh[t] = image\nout = h[last] | conv(10, 1) | gap",
    "out = image | conv({n}, 1) | gap",
    "steps 4\nh[t] = image when t == {n}\nh[t] = image otherwise\nout = h[last] | conv(10, 1) | gap",
    "steps 4\nh[t] = image when t in {{1, {n}}}\nh[t] = image otherwise\nout = h[last] | conv(10, 1) | gap",
    "out = image * {n} | conv(10, 1) | gap",
])
def test_a_number_of_5000_digits_is_a_located_limit_error(where: str) -> None:
    d = only("model m\ndata mnist\n" + where.format(n="7" * 5000) + "\n", "limit")
    assert "5,000 characters" in d.message and d.span.col > 1


@pytest.mark.parametrize("number", ["1e999", "9.9e400", "1" + "0" * 30 + ".5e300"])
def test_a_float_beyond_the_largest_double_is_a_limit_error(number: str) -> None:
    # normal(1e999) once passed as an initialiser of standard deviation inf
    d = only(f"model m\ndata mnist\nout = image | conv(10, 1, init=normal({number})) | gap\n", "limit")
    assert "too large" in d.message and d.span.line == 3


@pytest.mark.parametrize("steps", [10**11, 2**31, 100_000, MAX_STEPS + 1, 0])
def test_huge_or_zero_steps_is_bad_steps_quickly(steps: int) -> None:
    d = only(f"model m\ndata mnist\nsteps {steps}\nh[t] = image\nout = h[last] | conv(10, 1) | gap\n", "bad-steps",
             seconds=1.0)
    assert f"{steps:,}" in d.message and d.span.line == 3


@pytest.mark.parametrize("read", ["h[t-100000000000]", "h[t+100000000000]", "h[last-99999999999]",
                                  "h[99999999999]"])
def test_huge_lags_are_out_of_range_quickly(read: str) -> None:
    text = HEAD + f"h[t] = image + {read}\nout = h[last] | conv(10, 1) | gap\n"
    d = only(text, "out-of-range", seconds=1.0)
    assert d.span.line == 4


def test_too_many_operators_in_one_statement() -> None:
    d = only("model m\ndata mnist\nout = image" + " + image" * (MAX_OPERATORS + 1) + " | gap\n", "limit")
    assert f"more than {MAX_OPERATORS} operators" in d.message


def test_a_long_chain_of_and_is_a_limit_error_not_a_recursion_error() -> None:
    guard = " and ".join(["t >= 0"] * (MAX_OPERATORS + 2))
    only(HEAD + f"h[t] = image when {guard}\nout = h[last] | conv(10, 1) | gap\n", "limit")


@pytest.mark.parametrize("kind", ["calls and sums", "pipes", "parentheses", "guard"])
def test_the_deepest_statement_allowed_leaves_room_on_the_stack(kind: str) -> None:
    ops, nest = MAX_OPERATORS - 2, MAX_NESTING - 1
    text = {
        "calls and sums": "model m\ndata mnist\nout = " + "tanh(" * nest + "image" + " + image" * ops
                          + ")" * nest + " | conv(10, 1) | gap\n",
        "pipes": "model m\ndata mnist\nout = " + "tanh(" * nest + "image" + " | elu" * ops + ")" * nest
                 + " | conv(10, 1) | gap\n",
        "parentheses": "model m\ndata mnist\nout = " + "(image - " * nest + "image" + ")" * nest
                       + " - image" * (ops - nest) + " | conv(10, 1) | gap\n",
        "guard": HEAD + "h[t] = image when " + "(" * nest + "t >= 0" + ")" * nest + " and t >= 0" * ops
                 + "\nout = h[last] | conv(10, 1) | gap\n",
    }[kind]

    def deep(n: int):  # as if called from 250 frames down (a notebook, a test runner, a web server)
        if n:
            return deep(n - 1)
        spec = parse(text)
        printed = unparse(spec)
        assert parse(printed) == spec and hash(parse(printed)) == hash(spec) and repr(spec)
        return analyse(text)

    assert sys.getrecursionlimit() >= 1000
    deep(250)


def test_too_many_tokens_is_a_limit_error() -> None:
    line = "v{i} = image | conv(8, 3) | elu\n"
    text = "model m\ndata mnist\n" + "".join(line.format(i=i) for i in range(MAX_TOKENS // 10)) + "out = v1 | gap\n"
    d = only(text, "limit")
    assert f"{MAX_TOKENS:,}" in d.message and d.span.line > 1


def test_a_guard_listing_more_steps_than_the_limit() -> None:
    steps = ", ".join(str(i) for i in range(MAX_GUARD_STEPS + 1))
    d = only(f"model m\ndata mnist\nsteps 4\nh[t] = image when t in {{{steps}}}\nout = h[last] | gap\n", "limit")
    assert f"{MAX_GUARD_STEPS:,}" in d.message


# ---- guards ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("equations", [
    "h[t] = dense(hiden[t], 8) when t == 0\nh[t] = dense(h[t-1], zz) otherwise",
    "h[t] = foo(image) when t == 0\nh[t] = bar(h[t-1]) otherwise",
    "h[t] = foo(image) when t == 7\nh[t] = bar(h[t-1]) otherwise",
    "h[t] = conv(image, 8, 3) when t == 9\nh[t] = conv(h[t-1], 8, 1) when t > 10",
    "h[t] = h[t-1] when t == 0\nh[t] = h[t-1] otherwise",
    "h[t] = h[t+1] when t == 0\nh[t] = h[t-1] otherwise\ninit h = none",
    "h[t] = conv(image, 8, 3) otherwise\nh[t] = conv(image, 8, 3) otherwise",
    "h[t] = conv(image, 8, 3) when t % 0 == 0",
    "h[t] = conv(image, 8, 3) when t == 0 and t == 1\nh[t] = h[t-1] when t != 0",
    "h[t] = conv(image, 8, 3) when t in {0, 1, 2, 3}\nh[t] = conv(h[t-1], 8, 3) otherwise",
    "h[t] = undefined[t-1] when t < 2\nh[t] = also_undefined[t] otherwise",
    "h[t] = h[0] when t == 0\nh[t] = h[t-1] otherwise",
    "h[t] = h[last] when t == 3\nh[t] = conv(image, 8, 3) otherwise",
])
def test_streams_whose_equations_fail_everywhere_give_located_errors(equations: str) -> None:
    for d in errors_of(HEAD + equations + "\nout = h[last] | conv(10, 1) | gap\n"):
        assert d.span.line > 0, d


def _brute(c: A.Cond, T: int) -> list[int]:
    def holds(c: A.Cond, t: int) -> bool:
        if isinstance(c, A.CondAnd):
            return holds(c.left, t) and holds(c.right, t)
        if isinstance(c, A.CondIn):
            return t in c.steps
        x = t % c.modulus if isinstance(c, A.CondMod) else t
        return {"==": x == c.rhs, "!=": x != c.rhs, "<": x < c.rhs, "<=": x <= c.rhs, ">": x > c.rhs,
                ">=": x >= c.rhs}[c.op]

    return [t for t in range(T) if holds(c, t)]


@pytest.mark.parametrize("T", [1, 2, 5, 28, 64, 129])
def test_guard_step_sets_agree_with_evaluating_every_step(T: int) -> None:
    ops = ["==", "!=", "<", "<=", ">", ">="]
    conds: list[A.Cond] = [A.CondCmp(op, r) for op in ops for r in (0, 1, 3, T - 1, T, T + 5, 10**30)]
    conds += [A.CondMod(m, op, r) for m in (1, 2, 3, 7, T, T + 1, 10**20) for op in ops for r in (0, 1, 2, 6)]
    conds += [A.CondIn((0,)), A.CondIn((1, 3, T - 1, T, 10**12))]
    conds += [A.CondAnd(a, b) for a, b in zip(conds[::7], conds[3::11])]
    for c in conds:
        assert cond_steps(c, T, []) == _brute(c, T), c


def test_overlapping_equations_keep_each_step_once() -> None:
    eqs = [A.StreamDef("h", A.Name("x")) for _ in range(3)]
    steps, diags = equation_steps("h", eqs, 5)
    assert steps == [(0, 1, 2, 3, 4), (), ()]
    assert [d.code for d in diags] == ["step-twice", "step-twice"]
    assert diags[0].message == "steps 0, 1, 2, 3, 4 of stream 'h' are defined twice"


# ---- layers and shapes --------------------------------------------------------------------------
def test_a_conv_whose_input_is_a_number() -> None:
    d = only("model m\ndata mnist\nc = 3\nout = conv(c, 8, 3) | gap\n", "shape")
    assert "rank 3" in d.message and d.span.line == 4


def test_a_conv_with_the_input_where_a_parameter_goes() -> None:
    d = only("model m\ndata mnist\nout = conv(8, image, 3) | gap\n", "bad-param")
    assert d.span.line == 3


def test_a_conv_with_a_tensor_expression_for_a_parameter() -> None:
    for d in errors_of("model m\ndata mnist\nout = conv(image, image + image, 3) | gap\n"):
        assert d.span.line == 3


def test_concat_of_numbers_is_a_shape_error() -> None:
    d = only("model m\ndata mnist\nc = 3\nout = concat(c, c) | dense(10)\n", "shape")
    assert "scalar" in d.message and d.span.line == 4


def test_a_constant_operand_is_accepted_by_check() -> None:
    analyse(HEAD + "h[t] = conv(image, 8, 3) + tanh(2)\nout = h[last] | conv(10, 1) | gap\n")


def test_train_mode_inside_a_named_layer_chain() -> None:
    text = ("model m\ndata mnist\nlayer A = standardize | flip_lr(p=0.5) @train\nx = image | A\n"
            "out = x | conv(10, 1) | gap\n")
    program = analyse(text).checked.program
    flips = [n for n in program.folded.nodes if program.node(n).kind == "flip_lr"]
    assert [program.node(n).mode for n in flips] == ["train"]
    assert program.node(flips[0]).owner == "x"
    assert "@train" in unparse(parse(text))
    assert parse(unparse(parse(text))) == parse(text)


def test_a_zero_times_a_vector_broadcasts() -> None:
    text = ("model m\ndata mnist\nsteps 4\nx = image | flatten\nh[t] = tanh(dense(x, 64) + dense(h[t-1], 64))\n"
            "u[t] = u[t-1] + 0 * h[t-1]\nout = concat(h[last], u[last]) | dense(10)\n")
    checked = analyse(text).checked
    assert checked.shapes["u"] == (64,) and checked.warnings == ()


def test_no_follow_on_shape_error_after_an_unknown_name() -> None:
    (d,) = errors_of(HEAD + "x[t] = dense(hiden[t], 8)\nout = x[last] | dense(10)\n")
    assert d.code == "unknown-name" and d.span.line == 4


def test_a_shape_error_notes_the_lines_where_the_operands_are_defined() -> None:
    text = ("model m\ndata mnist\nsteps 4\na = image | conv(8, 3)\nb = image | conv(6, 3)\n"
            "h[t] = a + b\nout = h[last] | conv(10, 1) | gap\n")
    d = only(text, "shape")
    assert d.span.line == 6
    assert any("(28, 28, 8) (line 4)" in n for n in d.notes) and any("(28, 28, 6) (line 5)" in n for n in d.notes)


def test_a_spec_error_prints_line_and_column() -> None:
    with pytest.raises(SpecError) as info:
        analyse(HEAD + "h[t] = tanh(conv(image, 8, 3) + conv(hiden[t-1], 8, 1))\nout = h[last] | gap\n")
    assert re.search(r"\b4:\d+: unknown stream 'hiden'", str(info.value))


# ---- size: 10,000 steps, the unrolled limits, many statements -------------------------------------
def _at_max_steps(name: str) -> str:
    text = (ROOT / "specs" / "patterns" / f"{name}.rnn").read_text()
    text = re.sub(r"(?m)^steps .*$", f"steps {MAX_STEPS}", text)
    return text.replace("image | row | flatten", "image | flatten | dense(28)")  # row needs a step per image row


@pytest.mark.parametrize("name", ["dilated", "bidirectional", "clockwork", "higher_order", "cells"])
def test_a_pattern_at_the_maximum_steps_checks_in_seconds(name: str) -> None:
    start = time.perf_counter()
    checked = analyse(_at_max_steps(name)).checked
    assert time.perf_counter() - start < 10  # about 1 s; slow CI machines get room
    assert checked.program.steps == MAX_STEPS
    assert MAX_STEPS * 5 < checked.program.unrolled.number_of_nodes() <= MAX_UNROLLED_NODES


def test_an_unrolled_graph_over_the_node_limit_is_refused_quickly() -> None:
    d = only(_at_max_steps("gated_feedback"), "limit", seconds=2.0)
    assert d.span.line == 4 and f"the limit is {MAX_UNROLLED_NODES:,}" in d.message


def test_an_unrolled_graph_over_the_edge_limit_is_refused_quickly() -> None:
    lags = ", ".join(f"h[t-{i}]" for i in range(1, 60))
    d = only(f"model m\ndata mnist\nsteps {MAX_STEPS}\n{X}h[t] = concat(x, {lags})\nout = h[last] | dense(10)\n",
             "limit", seconds=2.0)
    assert f"the limit is {MAX_UNROLLED_EDGES:,}" in d.message


def test_many_streams_at_many_steps_are_refused_before_any_work() -> None:
    streams = "".join(f"s{i}[t] = image\n" for i in range(2000))
    d = only(f"model m\ndata mnist\nsteps {MAX_STEPS}\n{streams}out = s0[last] | conv(10, 1) | gap\n", "limit",
             seconds=3.0)
    assert "20,000,000 nodes" in d.message


def test_thousands_of_equations_at_the_maximum_steps() -> None:
    # each equation once cost a loop over every step (and each repeat a set of 10,000 steps)
    text = f"model m\ndata mnist\nsteps {MAX_STEPS}\n{X}" + "".join(
        f"h[t] = x when t == {i}\n" for i in range(3000)) + "h[t] = x otherwise\nout = h[last] | dense(10)\n"
    start = time.perf_counter()
    analyse(text)
    assert time.perf_counter() - start < 5
    repeated = f"model m\ndata mnist\nsteps {MAX_STEPS}\n{X}" + "h[t] = x\n" * 3000 + "out = h[last] | dense(10)\n"
    diags = errors_of(repeated)
    assert {d.code for d in diags} == {"step-twice"} and len(diags) == 2999


def test_a_long_ring_of_streams_settles_its_shapes_quickly() -> None:
    # shapes reach s0 one stream per pass; each pass once recomputed every node
    ring = "".join(f"s{i}[t] = s{i + 1}[t-1]\n" for i in range(3000))
    text = f"model m\ndata mnist\nsteps 2\n{ring}s3000[t] = image | flatten\nout = s0[last] | dense(10)\n"
    start = time.perf_counter()
    checked = analyse(text).checked
    assert time.perf_counter() - start < 5 and checked.shapes["s0"] == (784,)
    d = only(text.replace("s3000[t] = image | flatten", "s3000[t] = s0[t-1]"), "shape")
    assert "cannot infer the shape of stream 's0'" in d.message


@pytest.mark.parametrize("spec", [
    # every unknown name once compared itself with every known one ("did you mean")
    "".join(f"v{i} = image\n" for i in range(3000)) + "".join(f"w{i} = v{i}x\n" for i in range(3000)),
    "steps 2\n" + "".join(f"s{i}[t] = image\n" for i in range(2000)) + "".join(f"init q{i} = zeros\n"
                                                                              for i in range(2000)),
    "".join(f"layer L{i} = elu\n" for i in range(3000)) + "".join(f"v{i} = image | M{i}\n" for i in range(2000)),
    # every layer once scanned every default
    "defaults " + ", ".join(f"a{i}=1" for i in range(5000)) + "\n" + "".join(f"v{i} = image | conv(8, 3)\n"
                                                                            for i in range(2000)),
])
def test_thousands_of_names_and_mistakes_stay_fast(spec: str) -> None:
    start = time.perf_counter()
    diagnostics_of("model m\ndata mnist\n" + spec + "out = image | conv(10, 1) | gap\n")
    assert time.perf_counter() - start < 5


# ---- characters --------------------------------------------------------------------------------
VALID = "model m\ndata mnist\nsteps 2\nh[t] = tanh(conv(image, 4, 3) + conv(h[t-1], 4, 1))\nout = h[last] | conv(10, 1) | gap\n"


def test_a_nul_byte_is_a_located_syntax_error() -> None:
    d = only(VALID.replace("tanh", "ta\x00nh"), "syntax")
    assert d.span.line == 4 and "NUL" in d.message


def test_crlf_line_endings_and_tabs_read_like_lf_and_spaces() -> None:
    plain = analyse(VALID).checked
    for text in (VALID.replace("\n", "\r\n"), VALID.replace(" ", "\t"), VALID.replace("\n", "\r\n").replace(" ", "\t")):
        checked = analyse(text).checked
        assert checked.shapes == plain.shapes and checked.total_params == plain.total_params


@pytest.mark.parametrize("text, line", [
    (VALID.replace("steps 2", "steps \u0662"), 3),  # Arabic-Indic digit two
    (VALID.replace("steps 2", "steps \uff12"), 3),  # fullwidth digit two
    (VALID.replace("h[t] =", "\u0445[t] ="), 4),  # a Cyrillic letter
    (VALID.replace("model m", "model caf\u00e9"), 1),
    (VALID.replace("conv(10, 1)", "conv(10, 1\u00b2)"), 5),  # superscript two
    ("\ufeff" + VALID, 1),  # a byte-order mark
    (VALID.replace("\n", "\u2028", 1), 1),  # a Unicode line separator
    (VALID.replace("image", "image\u200b", 1), 4),  # a zero-width space
    (VALID.replace("\n", "\r", 1), 1),  # a lone carriage return
])
def test_non_ascii_text_is_a_located_syntax_error(text: str, line: int) -> None:
    d = only(text, "syntax")
    assert d.span.line == line


@pytest.mark.parametrize("text", ["", "\n", "   \n\t\n", "# only\n# comments\n", "# no newline at the end"])
def test_an_empty_spec_says_what_is_missing(text: str) -> None:
    diags = errors_of(text)
    assert {d.code for d in diags} == {"missing-statement"} and all(d.span.line == 1 for d in diags)


# ---- what a new user's first mistakes get (each once a missing or misleading message) -----------
SEQ = "model m\ninput x[t]: (8,)\ntarget y: class(3)\nsteps 6\n"


def test_a_mismatch_inside_a_self_recurrent_term_names_the_operands() -> None:
    d = only(SEQ + "param u: (32,)\nh[t] = relu(dense(x[t], 64) + u * h[t-1])\ny = dense(h[last], 3)\n", "shape")
    assert d.message.startswith("'*' needs operands") and "(32,) and (64,)" in d.message
    assert d.notes == ("u has shape (32,) (line 5)", "h[t-1] has shape (64,) (line 6)")


def test_a_self_recurrent_stream_that_cannot_settle_is_still_reported() -> None:
    # the lenient search for a blocking error finds none here: the ring itself is the mistake
    d = only(SEQ + "a[t] = b[t-1]\nb[t] = a[t-1]\ny = dense(a[last], 3)\n", "shape")
    assert d.message.startswith("cannot infer the shape of stream 'a'")


def test_a_stored_attention_range_notes_how_to_use_it() -> None:
    d = only(SEQ + "h[t] = gru(x[t], 16)\ns[t] = dense(h[t], 1)\nw = softmax_steps(s[0..last])\n"
             "y = dense(h[last], 3)\n", "bad-range")
    assert any("sum(softmax_steps(score[0..last]) * h[0..last])" in n for n in d.notes)
    plain = only(SEQ + "h[t] = gru(x[t], 16)\nw = h[0..last]\ny = dense(h[last], 3)\n", "bad-range")
    assert not any("softmax_steps" in n for n in plain.notes)


def test_a_bad_default_is_reported_once_for_all_the_layers_that_take_it() -> None:
    d = only(SEQ + "defaults bias=3\nh[t] = tanh(dense(x[t], 16) + dense(h[t-1], 16))\ny = dense(h[last], 3)\n",
             "bad-param")
    assert d.span.line == 5


def test_thousands_of_constant_operations_check_quickly() -> None:
    # the bad-value rule works out every operation over numbers: once each, in time linear in them
    lines = "".join(f"c{i} = tanh({i % 7}) * 2 - exp(-{i % 5})\n" for i in range(2500))
    text = SEQ + lines + "h[t] = tanh(dense(x[t], 16) + c2499)\ny = dense(h[last], 3) + log(0)\n"
    start = time.perf_counter()
    diags = errors_of(text)
    assert time.perf_counter() - start < 5
    errors = [d for d in diags if d.severity == "error"]
    assert [(d.code, d.message) for d in errors] == [("bad-value", "log(0) is minus infinity")]
