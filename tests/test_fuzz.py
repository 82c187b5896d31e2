"""Fuzzing the front end with hypothesis: valid specs, built as ASTs or taken from the repository, then mutated.

Whatever the text, `analyse` returns or raises SpecError (never another exception); a valid
spec checks and prints back to itself.  About 5,000 cases, deterministic (derandomize).
scripts/fuzz.py runs the same idea for 100,000 cases with time and memory limits.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from rnndsl.errors import SpecError
from rnndsl.pipeline import analyse
from rnndsl.syntax import KEYWORDS, parse, unparse
from rnndsl.syntax import ast as A

FAST = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
CORPUS = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "specs").rglob("*.rnn"))
          + sorted((ROOT / "tests" / "errors").glob("*.rnn"))]
# Steps stay small: a case must take milliseconds (the 10,000-step cases live in test_robustness.py).
CORPUS = [re.sub(r"(?m)^steps \d+", "steps 6", text) for text in CORPUS]


def analyse_or_spec_error(text: str) -> bool:
    """True when the spec checks; False for a SpecError with diagnostics; anything else propagates."""
    try:
        analyse(text)
        return True
    except SpecError as err:
        assert err.diagnostics and all(d.code and d.message for d in err.diagnostics)
        return False


# ---- valid specs, built as ASTs ------------------------------------------------------------------
CHANNELS = st.sampled_from([1, 2, 3, 4, 8])
KERNEL = st.sampled_from([1, 3])
KEEPS_SHAPE = st.sampled_from([
    A.Stage("elu"), A.Stage("relu"), A.Stage("tanh"), A.Stage("sigmoid"), A.Stage("linear"),
    A.Stage("standardize"), A.Stage("batchnorm"),
    A.Stage("dropout", (A.Num(0.5),), True),
    A.Stage("gaussian_noise", (A.Num(0.1),), True, "train"),
    A.Stage("flip_lr", (A.Kwarg("p", A.Num(0.5)),), True, "train"),
    A.Stage("blur", (A.Kwarg("sigma", A.Range(0, 0.5)),), True, "train"),
])


@st.composite
def image_map(draw, x: A.Expr, channels: int) -> A.Expr:
    """An expression of shape (H, W, channels) from x of shape (H, W, *): a few stages, then a conv."""
    for stage in draw(st.lists(KEEPS_SHAPE, max_size=2)):
        x = A.Pipe(x, stage)
    if draw(st.booleans()):
        return A.Call("conv", (x, A.Num(channels), A.Num(draw(KERNEL))))
    return A.Pipe(x, A.Stage("conv", (A.Num(channels), A.Num(draw(KERNEL))), True))


@st.composite
def guards(draw, T: int) -> list[A.When | A.Otherwise | None]:
    """Guards of a stream's equations that define each step once."""
    kind = draw(st.sampled_from(["none", "first", "mod", "in", "cmp"]))
    if kind == "none" or T == 1:
        return [None]
    if kind == "first":
        return [A.When(A.CondCmp("==", 0)), A.Otherwise()]
    if kind == "mod":
        m = draw(st.integers(2, 3))
        return [A.When(A.CondMod(m, "==", 0)), A.Otherwise()]
    if kind == "in":
        steps = tuple(sorted(draw(st.sets(st.integers(0, T - 1), min_size=1, max_size=T))))
        return [A.When(A.CondIn(steps)), A.Otherwise()] if len(steps) < T else [A.When(A.CondIn(steps))]
    cut = draw(st.integers(1, max(1, T - 1)))
    return [A.When(A.CondAnd(A.CondCmp(">=", 0), A.CondCmp("<", cut))), A.When(A.CondCmp(">=", cut))]


@st.composite
def valid_specs(draw) -> A.Spec:
    """A spec that checks: image values, recurrent streams (guarded or not, maybe a cell), a head."""
    T = draw(st.integers(1, 5))
    C = draw(CHANNELS)
    stmts: list[A.Stmt] = [A.Model("fuzz", draw(st.sampled_from([None, "a title"]))), A.Data("mnist"),
                           A.Steps(T)]
    if draw(st.booleans()):
        stmts.append(A.Defaults((A.Kwarg("bias", A.Word("false")),)))
    values = ["image"]
    for i in range(draw(st.integers(0, 2))):
        name = f"v{i}"
        src = A.Name(draw(st.sampled_from(values)))
        stmts.append(A.ValueDef(name, draw(image_map(src, draw(CHANNELS)))))
        values.append(name)
    shared = draw(st.booleans())
    if shared:
        stmts.append(A.LayerDef("K", (A.Stage("conv", (A.Num(C), A.Num(1)), True), A.Stage("elu"))))
    n = draw(st.integers(1, 3))
    streams = [f"s{i}" for i in range(n)]
    for name in streams:
        for guard in draw(guards(T)):
            x = draw(image_map(A.Name(draw(st.sampled_from(values))), C))
            reads = draw(st.lists(st.tuples(st.sampled_from(streams), st.integers(1, 3)), max_size=2))
            expr: A.Expr = x
            for src, lag in reads:
                state: A.Expr = A.Ref(src, A.Rel(-lag))
                if shared and draw(st.booleans()):
                    state = A.Call("K", (state,))  # one set of weights for every use
                else:
                    state = A.Call("conv", (state, A.Num(C), A.Num(1)))
                expr = A.BinOp(draw(st.sampled_from(["+", "-", "*"])), expr, state)
            if draw(st.booleans()):
                expr = A.Call(draw(st.sampled_from(["tanh", "elu", "sigmoid"])), (expr,))
            stmts.append(A.StreamDef(name, expr, guard))
    if draw(st.booleans()):
        stmts.append(A.Init(streams[0], draw(st.sampled_from(["zeros", "learned"]))))
    if draw(st.booleans()):
        stmts.append(A.StreamDef("cell", A.Call(draw(st.sampled_from(["gru", "lstm", "rnn"])),
                                                (A.Ref(streams[0], A.Rel(0)), A.Num(C),
                                                 A.Kwarg("kernel", A.Num(3))))))
        streams.append("cell")
    reads = [A.Ref(s, draw(st.sampled_from([A.Last(), A.Abs(0), A.Last(-min(1, T - 1))]))) for s in streams]
    head: A.Expr = A.Call("concat", tuple(reads)) if len(reads) > 1 else reads[0]
    head = A.Pipe(A.Pipe(A.Pipe(head, A.Stage("conv", (A.Num(10), A.Num(1)), True)), A.Stage("gap")),
                  A.Stage("softmax"))
    stmts.append(A.ValueDef("out", head))
    if draw(st.booleans()):
        stmts.append(A.Train((A.TrainItem("optimizer", A.VCall("adam", (A.Kwarg("lr", A.Num(0.001)),))),
                              A.TrainItem("batch", A.Num(draw(st.integers(1, 64)))))))
    order = draw(st.permutations(range(3, len(stmts))))  # definitions may come in any order
    return A.Spec(tuple(stmts[:3]) + tuple(stmts[i] for i in order))


@settings(FAST, max_examples=500)
@given(valid_specs())
def test_a_generated_valid_spec_checks_and_prints_back_to_itself(spec: A.Spec) -> None:
    text = unparse(spec)
    assert parse(text) == spec
    analyse(text)


# ---- mutations of text ----------------------------------------------------------------------------
TOKEN = re.compile(r'#[^\n]*|"[^"\n]*"|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|@\w+|\.\.|==|!=|<=|>='
                   r"|\n|[ \t]+|.", re.S)
VOCAB = [*KEYWORDS, "=", "|", "+", "-", "*", "(", ")", "[", "]", "{", "}", ",", "%", "..", "==", "<", ">=", ":",
         "@train", "@test", "\n", "#", '"', "[t]", "[t-1]", "[t+1]", "[last]", "[0]", "image", "h", "x", "out",
         "conv(8, 3)", "dense(10)", "gap", "flatten", "elu", "row", "concat", "gru", "lstm", "reshape(2, 2)",
         "dropout", "flip_lr", "bias=false", "init=normal(0.05)", "sigma=0..0.5", "when t % 2 == 0", "otherwise",
         "when t in {0, 2}", "class(3)", "real", "loss=mae", "(12,)", "\\\n", "\x00", "\r", "\t", "\u0664", "\u00e9"]
NUMBERS = ["0", "1", "2", "-1", "-3", "0.5", "1.5", "1e-3", "1e308", "1e999", "65537", "100001", "2147483648",
           "99999999999", "1" + "0" * 39, "1" + "0" * 41, "00", "3.", ".5", "\u0663", "9" * 600]
NAMES = ["h", "x", "s", "out", "image", "t", "last", "in", "and", "K", "W", "conv", "dense", "gap", "hiden", "_",
         "x" * 100, "caf\u00e9", "T", "step", "steps", "data", "mnist", "cifar10", "target", "input"]


@st.composite
def mutated(draw, text: str) -> str:
    """`text` after 1 to 6 random edits of its tokens, lines or characters."""
    for _ in range(draw(st.integers(1, 6))):
        edit = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "number", "rename", "line-delete",
                                     "line-duplicate", "line-swap", "char"]))
        toks = TOKEN.findall(text) or [""]
        solid = [i for i, t in enumerate(toks) if not t.isspace()] or [0]
        i = draw(st.sampled_from(solid))
        if edit == "delete":
            del toks[i]
        elif edit == "duplicate":
            toks.insert(i, toks[i] + " ")
        elif edit == "swap":
            j = draw(st.sampled_from(solid))
            toks[i], toks[j] = toks[j], toks[i]
        elif edit == "insert":
            toks.insert(i, f" {draw(st.sampled_from(VOCAB))} ")
        elif edit == "number":
            nums = [k for k, t in enumerate(toks) if t[:1].isdigit()] or [i]
            toks[draw(st.sampled_from(nums))] = draw(st.sampled_from(NUMBERS))
        elif edit == "rename":
            names = [k for k, t in enumerate(toks) if re.fullmatch(r"[A-Za-z_]\w*", t)] or [i]
            old, new = toks[draw(st.sampled_from(names))], draw(st.sampled_from(NAMES))
            toks = [new if t == old and draw(st.booleans()) else t for t in toks]
        if edit.startswith("line"):
            lines = text.split("\n")
            a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if edit == "line-delete":
                del lines[a]
            elif edit == "line-duplicate":
                lines.insert(a, lines[b])
            else:
                lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
        elif edit == "char":
            k = draw(st.integers(0, len(text)))
            text = text[:k] + draw(st.sampled_from(["(", ")", "[", "]", "{", "}", "|", "=", "\n", " ", "-", "0", "@",
                                                   '"', "#", "\x00", "\ufeff"])) + text[k:]
        else:
            text = "".join(toks)
    return text


@settings(FAST, max_examples=1500)
@given(st.data(), valid_specs())
def test_a_mutated_generated_spec_gives_a_program_or_a_spec_error(data, spec: A.Spec) -> None:
    analyse_or_spec_error(data.draw(mutated(unparse(spec))))


@settings(FAST, max_examples=2000)
@given(st.data(), st.sampled_from(CORPUS))
def test_a_mutated_repository_spec_gives_a_program_or_a_spec_error(data, text: str) -> None:
    mutant = data.draw(mutated(text))
    if analyse_or_spec_error(mutant):  # what checks also prints back to itself
        spec = parse(mutant)
        assert parse(unparse(spec)) == spec


@settings(FAST, max_examples=600)
@given(st.data(), st.sampled_from(CORPUS), st.sampled_from(CORPUS))
def test_lines_spliced_from_two_specs(data, a: str, b: str) -> None:
    lines_a, lines_b = a.split("\n"), b.split("\n")
    cut = data.draw(st.integers(0, len(lines_a)))
    taken = data.draw(st.lists(st.sampled_from(lines_b), max_size=6))
    analyse_or_spec_error("\n".join(lines_a[:cut] + taken + lines_a[cut:]))


@settings(FAST, max_examples=400)
@given(st.lists(st.sampled_from(VOCAB + NUMBERS[:12] + NAMES[:12]), max_size=60).map(" ".join))
def test_token_soup(text: str) -> None:
    analyse_or_spec_error("model m\ndata mnist\nsteps 3\n" + text)
