"""Editor features over an `Analysis`: pure functions of the text and a position.

Nothing here speaks the protocol: positions are 0-based lines and columns in code points
(`text.Position`), results are small dataclasses, and server.py turns them into LSP types.
Every feature works on a spec with errors: it uses what the checks could infer and falls
back on the text itself (tokens, statements, definitions) when the spec does not parse.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Callable

from ..catalogue import DATASETS, INIT_KINDS, KINDS, OPTIMIZERS, TRAIN_KEYS, LayerKind, Param, ParamType
from ..catalogue import fmt_shape, fmt_value
from ..checks.shapes import folded_inputs
from ..errors import Diagnostic, Span, closest
from ..ir import EdgeKind, Fixed, Lag, Range, Role, edge_kind
from ..ir.dump import steps_text
from ..semantics.symbols import INIT_KINDS as INIT_STATES
from ..semantics.symbols import PARAM_OPTIONS, TARGET_KINDS
from ..syntax import KEYWORDS
from .analysis import Analysis
from .text import STATEMENT_KEYWORDS, Position, Range, Statement, Token

__all__ = ["LspDiagnostic", "HoverInfo", "Completion", "diagnostics", "quick_fix", "hover", "definition", "completion",
           "signature", "span_range", "find_formatter", "format_document"]


# ---- diagnostics -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LspDiagnostic:
    range: Range
    severity: str  # "error" or "warning"
    code: str  # the rnndsl error kind (unknown-layer, shape, ...)
    message: str  # the message, then its notes, one a line
    suggestion: str | None = None  # the name the front end suggests ("did you mean"): Diagnostic.suggestion


def span_range(lines: list[str], span: Span) -> Range:
    """A 1-based, end-exclusive Span -> a 0-based Range, clamped to the text; an unknown span marks line 1."""
    if not lines:
        lines = [""]
    if not span.known:
        return Range(Position(0, 0), Position(0, len(lines[0])))

    def clamp(line: int, col: int) -> Position:
        line = min(max(line - 1, 0), len(lines) - 1)
        return Position(line, min(max(col - 1, 0), len(lines[line].rstrip("\r"))))

    start = clamp(span.line, span.col)
    end = clamp(span.end_line or span.line, span.end_col or span.col)
    if end < start:
        end = start
    if start == end and start.col > 0:  # a place past the end of a line (an unexpected end of line): its last character
        start = Position(start.line, start.col - 1)
    return Range(start, end)


_NAMED = ("unknown-layer", "unknown-param", "unknown-name")  # kinds whose message quotes the name at fault
_QUOTED = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)'")


def _narrowed(lines: list[str], d: Diagnostic, r: Range) -> Range:
    """An unknown name's range: the name alone (`convv`), not the whole call `convv(10, 3)` check underlines."""
    quoted = _QUOTED.findall(d.message)
    if d.code not in _NAMED or not quoted:
        return r
    name = quoted[-1]
    line = lines[r.start.line] if r.start.line < len(lines) else ""
    if line.startswith(name, r.start.col) and not line[r.start.col + len(name):][:1].isidentifier():
        return Range(r.start, Position(r.start.line, r.start.col + len(name)))
    return r


def diagnostics(an: Analysis) -> list[LspDiagnostic]:
    """Every error and warning `rnndsl check` reports, with its place in the text."""
    out = []
    for d in an.diagnostics:
        message = "\n".join([d.message, *(f"note: {n}" for n in d.notes)])
        r = _narrowed(an.index.lines, d, span_range(an.index.lines, d.span))
        out.append(LspDiagnostic(r, d.severity, d.code, message, d.suggestion))
    return out


def quick_fix(d: LspDiagnostic, an: Analysis) -> tuple[Range, str, str] | None:
    """(where, old, new) when the front end suggests a name for a diagnostic ("did you mean").

    The word replaced is the name in the diagnostic's range that the suggestion is close to, by the
    front end's own measure (`errors.closest`): the range is often wider than the word (`data mnistt`,
    `lrr 0.1`, `convv(x, 8, 3)`)."""
    if d.suggestion is None:
        return None
    for tok in an.index.tokens:
        if tok.type == "NAME" and d.range.start <= tok.start_pos and tok.end_pos <= d.range.end \
                and tok.text != d.suggestion and closest(tok.text, (d.suggestion,)) is not None:
            return tok.range, tok.text, d.suggestion
    return None


# ---- signatures and small texts ---------------------------------------------------------------
def _param_text(p: Param) -> str:
    if p.required:
        return p.name
    default = p.default if isinstance(p.default, str) else fmt_value(p.default)
    return f"{p.name}={default}"


def signature(kind: LayerKind) -> str:
    """`conv(x, filters, kernel, *, stride=1, padding=same, ...)`: tensor inputs, then parameters."""
    inputs = ["a", "b", "..."] if kind.arity is None else ["x"] if kind.arity == 1 else ["a", "b"][:kind.arity]
    positional = [_param_text(p) for p in kind.params if p.positional]
    keyword = [_param_text(p) for p in kind.params if not p.positional]
    parts = inputs + positional + (["*", *keyword] if keyword else [])
    return f"{kind.name}({', '.join(parts)})"


def _param_doc(owner: str, p: Param) -> str:
    bits = [f"`{_param_text(p)}`" + (" (required)" if p.required else ""), f"parameter of `{owner}`, {p.type}"]
    if p.choices:
        bits.append("one of " + ", ".join(p.choices))
    if p.minimum is not None or p.maximum is not None:
        lo = "" if p.minimum is None else fmt_value(p.minimum)
        hi = "" if p.maximum is None else fmt_value(p.maximum)
        bits.append(f"from {lo} to {hi}" if lo and hi else f"at least {lo}" if lo else f"at most {hi}")
    if not p.positional:
        bits.append("keyword only")
    text = ", ".join(bits[1:])
    return f"{bits[0]}: {text}" + (f"\n\n{p.doc}" if p.doc else "")


def _value_text(kind: LayerKind | None, name: str, v: object) -> str:
    spec = kind.param(name) if kind is not None else None
    if spec is not None and spec.type is ParamType.INTS:
        return "(" + ", ".join(str(x) for x in v) + ")"  # type: ignore[union-attr]
    return v if isinstance(v, str) else fmt_value(v)


def _shape(an: Analysis, name: str) -> str:
    s = an.facts.shapes.get(name)
    return fmt_shape(s) if s is not None else "?"


def _lines_of(defs) -> str:
    lines = sorted({d.token.start_pos.line + 1 for d in defs})
    return ("line " if len(lines) == 1 else "lines ") + ", ".join(str(n) for n in lines)


_UNSURE = "_the spec has errors: what could not be inferred is shown as `?`_"
_UNPARSED = "_the spec does not parse yet: shapes are shown once it does_"

KEYWORD_DOCS = {
    "model": "`model NAME \"title\"`: the model's name (run folders, diagrams) and an optional title",
    "about": "`about \"text\"`: a longer description, shown under the title",
    "data": "`data NAME`: a built-in dataset (" + ", ".join(DATASETS) + "); it declares the input `image` "
            "and the target `out`",
    "steps": "`steps T`: the number of timesteps; t runs 0 .. T-1",
    "init": "`init h = zeros / learned / none`: a stream's initial state, read before step 0",
    "defaults": "`defaults k=v, ...`: parameter defaults for every layer that has that parameter",
    "layer": "`layer K = conv(8, 3) | elu`: a named layer, one set of weights wherever it is used",
    "train": "`train { optimizer adam(lr=1e-3)  batch 32  epochs 1  seed 0  tbptt 0 }`: training settings",
    "input": "`input x[t]: (12,)`: a sequence input read step by step; `input img: (28, 28, 1)` one value per example",
    "target": "`target y: class`, `target y[t]: real(1) loss=mae`: what the value (or stream) of that name is "
              "trained against",
    "param": "`param u: (64,) init=uniform(1)`: a learned tensor, read by name like a value",
    "when": "`... when COND`: the equation holds at the steps where the guard holds",
    "otherwise": "`otherwise`: the steps no `when` equation of this stream covers",
    "and": "guard conjunction", "or": "guard disjunction (binds loosest)", "not": "guard negation (binds tightest)",
    "in": "`t in {1, 3}`: the steps listed",
    "t": "`t`: the current step of a stream equation",
    "last": "`last`: the last step (steps - 1); `last-k` k steps before it",
}

_INIT_STATE_DOCS = {
    "zeros": "the initial state is zeros (the default)",
    "learned": "the initial state is a trained tensor (zeros at first; `learned(normal(0.1))` gives it an "
               "initialiser)",
    "none": "no initial state: a read before step 0 is an error",
}
_INITIALISER_DOCS = {
    "glorot": "Glorot (Xavier) uniform (the default)", "he": "He normal", "zeros": "all zeros", "ones": "all ones",
    "normal": "normal(std): N(0, std²)", "truncnormal": "truncnormal(std): a normal cut at 2 std",
    "uniform": "uniform(limit): U(-limit, limit)",
}
_TARGET_DOCS = {
    "class": "`class` or `class(K)`: a class index; softmax cross-entropy, accuracy",
    "real": "`real(K)`: K real numbers; loss mse (default) or mae",
    "labels": "`labels(K)`: K independent 0/1 labels; sigmoid cross-entropy, binary accuracy",
}
_MODE_DOC = "`@train`: apply this transform only while training (the identity at test time)"


# ---- what a name is --------------------------------------------------------------------------
def _layer_names(an: Analysis) -> list[str]:
    return an.index.names("layer")


def _role(an: Analysis, name: str) -> str | None:
    """stream, value, param, input or layer (None: not a name the spec defines)."""
    p = an.program
    if p is not None and name in p.folded:
        role = p.node(name).role
        if role in (Role.STREAM, Role.VALUE, Role.PARAM, Role.INPUT):
            return role.value
    if name in _layer_names(an):
        return "layer"
    for kind in ("stream", "value", "param", "input"):
        if an.index.defined(name, kind):
            return kind
    return None


def _describe_name(an: Analysis, name: str) -> str | None:
    """`h[t]: stream, shape (64,), steps 0..27, init zeros` and what else is known about a name."""
    p = an.program
    ix = an.index
    lines: list[str] = []
    if p is not None and name in p.folded and p.node(name).role in (Role.STREAM, Role.VALUE, Role.PARAM, Role.INPUT):
        a = p.node(name)
        shape = _shape(an, name)
        if a.role is Role.STREAM:
            init = p.inits.get(name, "zeros")
            fill = p.init_fills.get(name)
            steps = f"steps from the data (checked at {p.steps})" if p.steps_from_data else \
                f"steps {steps_text(a.steps)}"
            lines.append(f"`{name}[t]`: stream, shape {shape}, {steps}, init {init}"
                         + (f"({fill})" if fill is not None else ""))
            eqs = ix.defined(name, "stream")
            if len(eqs) > 1:
                lines.append(f"{len(eqs)} equations ({_lines_of(eqs)})")
        elif a.role is Role.VALUE:
            lines.append(f"`{name}`: value, shape {shape}")
        elif a.role is Role.PARAM:
            count = an.facts.tensors.get(name)
            lines.append(f"`{name}`: param, shape {fmt_shape(a.params['shape'])}, init {a.params['init']}"
                         + (f", {count:,} parameters" if count is not None else ""))
        else:
            decl = p.input(name)
            sequence = decl.sequence if decl is not None else a.timed
            if decl is not None and decl.shape is None and name not in an.facts.shapes:
                shape = "from the data"
            ds = DATASETS.get(p.data or "")
            where = f" (data {ds.name})" if ds is not None and ds.input == name else ""
            lines.append(f"`{name}[t]`: input, a sequence, shape {shape}" if sequence
                         else f"`{name}`: input, shape {shape}{where}")
        for o in p.outputs:
            if o.name == name:
                size = f"({o.size})" if o.size else " (size from the data)"
                lines.append(f"trained against the target `{o.name}{'[t]' if o.per_step else ''}`: "
                             f"{o.target.value}{size}, loss {o.loss.value}")
        if not an.ok:
            lines.append(_UNSURE)
        return "\n\n".join(lines)
    role = _role(an, name)
    defs = ix.defined(name)
    if role is None or not defs:
        if name == "image":  # the built-in input, before any `data` line is written
            return "`image`: the input of a built-in dataset (`data mnist` or `data cifar10`)"
        return None
    head = {"stream": f"`{name}[t]`: stream", "value": f"`{name}`: value", "param": f"`{name}`: param",
            "input": f"`{name}`: input", "layer": f"`{name}`: named layer"}[role]
    lines.append(f"{head} ({_lines_of(ix.defined(name, role))})")
    lines.append(_UNPARSED if an.spec is None else _UNSURE)
    return "\n\n".join(lines)


# ---- layers ------------------------------------------------------------------------------------
def _ops_at(an: Analysis, tok: Token) -> list[str]:
    """The folded ops whose source starts at a token (a call `conv(...)`, a stage `| elu`, `K(...)`)."""
    p = an.program
    if p is None:
        return []
    line, col = tok.start_pos.line + 1, tok.start_pos.col + 1
    found = [n for n in p.folded.nodes
             if (a := p.node(n)).role is Role.OP and a.span.line == line and a.span.col == col]
    return sorted(found, key=p.order)


def _applies(node: str, layer: str) -> bool:
    """Whether an op node is a stage of the named layer `layer` (`out.K`, `out.K2`, `out.K.conv`)."""
    local = node.split(".", 1)[1] if "." in node else node
    return re.fullmatch(re.escape(layer) + r"(\d*|\.[A-Za-z_][A-Za-z0-9_]*\d*)", local) is not None


def _op_lines(an: Analysis, node: str) -> list[str]:
    """Shape, parameters, FLOPs and steps of one application."""
    p = an.program
    assert p is not None
    a = p.node(node)
    kind = KINDS[a.kind or ""]
    lines = []
    params = ", ".join(f"{k}={_value_text(kind, k, v)}" for k, v in a.params.items())
    lines.append(f"`{kind.name}" + (f"({params})`" if params else "`") + (" @train" if a.mode == "train" else ""))
    ins = [src for _, src, _ in folded_inputs(p, node)]
    if kind.is_cell:
        ins = ins[:kind.min_inputs]
    in_text = ", ".join(_shape(an, s) for s in ins) or "?"
    where = f", steps {steps_text(a.steps)}" if a.steps is not None else ""
    over = f", over the steps {a.window}" if a.window is not None else ""
    lines.append(f"input {in_text} → output {_shape(an, node)}{where}{over}")
    if a.layer is not None:
        info = next((layer for layer in an.facts.layers if layer.id == a.layer), None)
        sharing = [n for n in p.folded.nodes if p.node(n).role is Role.OP and p.node(n).layer == a.layer]
        if info is None:
            lines.append("parameters: ? (not known: its input shape is not)")
        else:
            weights = ", ".join(f"{w} {fmt_shape(s)}" for w, s in info.weights)
            shared = (f"; weights shared by {len(sharing)} applications ({info.uses:,} calls over the steps)"
                      if len(sharing) > 1 else
                      f"; one set of weights for its {info.uses:,} calls" if info.uses > 1 else "")
            lines.append(f"parameters: {info.params:,} ({weights}){shared}")
    else:
        lines.append("parameters: none")
    flops = an.facts.flops.get(node)
    if flops is not None:
        calls = len(a.steps) if a.steps else 1
        per = f" ({flops // calls:,} per step × {calls} steps)" if calls > 1 else ""
        lines.append(f"FLOPs per sample: {flops:,}{per}")
    else:
        lines.append("FLOPs per sample: ?")
    return lines


def _kind_head(kind: LayerKind) -> str:
    return f"**{kind.name}** ({kind.category}): {kind.doc}"


def _statement_text(an: Analysis, st: Statement, start: int) -> str:
    if start >= len(st.tokens):
        return ""
    return " ".join(an.text[st.tokens[start].offset:st.tokens[-1].end].split())


def _hover_layer(an: Analysis, tok: Token, st: Statement) -> str | None:
    word = tok.text
    ix = an.index
    named = word in _layer_names(an)
    if st.kind == "layer" and st.name is tok:  # `layer K = ...`: the named layer itself
        return _describe_named_layer(an, word, st)
    if st.kind == "layer" and not named and word in KINDS:  # a stage of a named layer's definition
        return _describe_def_stage(an, tok, st)
    if named:
        defn = ix.defined(word, "layer")
        def_st = ix.statements[defn[0].statement]
        lines = [f"**{word}**: named layer `{word} = {_statement_text(an, def_st, def_st.body)}` "
                 f"({_lines_of(defn)})"]
        ops = [n for n in _ops_at(an, tok) if _applies(n, word)]
        for n in ops:
            lines.append("- " + "; ".join(_op_lines(an, n)))
        if not ops:
            lines.append(_UNPARSED if an.spec is None else _UNSURE)
        return "\n\n".join(lines)
    kind = KINDS.get(word)
    if kind is None:
        return None
    lines = [_kind_head(kind), f"`{signature(kind)}`"]
    ops = [n for n in _ops_at(an, tok) if an.program is not None and an.program.node(n).kind == word]
    if ops:
        lines.extend(_op_lines(an, ops[0]))
        if not an.ok:
            lines.append(_UNSURE)
    elif an.spec is None:
        lines.append(_UNPARSED)
    elif an.errors:
        lines.append("_this application has errors: see the diagnostics_")
    return "\n\n".join(lines)


def _describe_named_layer(an: Analysis, name: str, st: Statement) -> str:
    lines = [f"**{name}**: named layer `{name} = {_statement_text(an, st, st.body)}`, "
             "one set of weights wherever it is used"]
    chain = an.chains.get(name)
    p = an.program
    if chain is None:
        lines.append(_UNPARSED if an.spec is None else "_its definition has errors: see the diagnostics_")
        return "\n\n".join(lines)
    uses = [n for n in p.folded.nodes if p.node(n).role is Role.OP and _applies(n, name)] if p is not None else []
    applications = len({(p.node(n).owner, p.node(n).span) for n in uses}) if p is not None else 0
    lines.append(f"applied {applications} time{'s' if applications != 1 else ''}")
    for stage in chain:
        kind = KINDS[stage.kind]
        params = ", ".join(f"{k}={_value_text(kind, k, v)}" for k, v in stage.params.items())
        text = f"- `{stage.kind}" + (f"({params})`" if params else "`") + (" @train" if stage.mode == "train" else "")
        info = next((layer for layer in an.facts.layers if layer.id == stage.layer), None) if stage.layer else None
        if info is not None:
            flops = sum(an.facts.flops.get(n, 0) for n in uses if p is not None and p.node(n).layer == stage.layer)
            text += f": {info.params:,} parameters, {info.uses:,} calls, {flops:,} FLOPs per sample in all"
        lines.append(text)
    return "\n\n".join(lines)


def _describe_def_stage(an: Analysis, tok: Token, st: Statement) -> str:
    kind = KINDS[tok.text]
    lines = [_kind_head(kind), f"`{signature(kind)}`"]
    name = st.name.text if st.name is not None else ""
    index = sum(1 for t in st.tokens[st.body:tok.index - st.tokens[0].index] if t.is_op("|") and t.depth == 0)
    chain = an.chains.get(name)
    if chain is not None and index < len(chain) and chain[index].kind == tok.text:
        stage = chain[index]
        params = ", ".join(f"{k}={_value_text(kind, k, v)}" for k, v in stage.params.items())
        lines.append(f"`{kind.name}" + (f"({params})`" if params else "`") + f", stage {index + 1} of the named layer "
                     f"`{name}`")
        info = next((layer for layer in an.facts.layers if layer.id == stage.layer), None) if stage.layer else None
        if info is not None:
            p = an.program
            flops = sum(an.facts.flops.get(n, 0) for n in p.folded.nodes if p.node(n).layer == stage.layer) \
                if p is not None else 0
            weights = ", ".join(f"{w} {fmt_shape(s)}" for w, s in info.weights)
            lines.append(f"parameters: {info.params:,} ({weights}), shared by {info.uses:,} calls")
            lines.append(f"FLOPs per sample: {flops:,} over all its uses")
        elif stage.layer is None:
            lines.append("parameters: none")
    return "\n\n".join(lines)


# ---- reads -------------------------------------------------------------------------------------
def _read_tokens(an: Analysis, tok: Token) -> list[Token]:
    """`h`, `[`, ..., `]` of a read (up to the end of the statement when the bracket is not closed)."""
    ix = an.index
    out = [tok]
    depth = 0
    for t in ix.tokens[tok.index + 1:]:
        if t.stmt != tok.stmt:
            break
        out.append(t)
        if t.is_op("["):
            depth += 1
        elif t.is_op("]"):
            depth -= 1
            if depth == 0:
                break
    return out


def _steps_count(an: Analysis) -> int | None:
    if an.program is not None:
        return an.program.steps
    for st in an.index.statements:
        if st.kind == "steps" and len(st.tokens) > 1 and st.tokens[1].text.isdigit():
            return int(st.tokens[1].text)
    return None


def _lexical_read(an: Analysis, tok: Token, st: Statement, inner: list[str]) -> tuple[EdgeKind, int | None,
                                                                                        int | None, str | None]:
    """(kind, lag, at, range) of a read, from its text alone (for a spec whose graph lacks it)."""
    owner_timed = st.kind == "stream"
    owner = st.name.text if st.name is not None else ""
    src_timed = _role(an, tok.text) == "stream" or any(d.kind == "input" and an.index.next(d.token) is not None
                                                       and an.index.next(d.token).is_op("[")
                                                       for d in an.index.defined(tok.text, "input"))
    if ".." in inner:
        cut = inner.index("..")
        return EdgeKind.WINDOW, None, None, "[" + "".join(inner[:cut]) + ".." + "".join(inner[cut + 1:]) + "]"
    lag = at = None
    T = _steps_count(an)
    if inner[:1] == ["t"]:
        lag = 0
        if len(inner) == 3 and inner[2].isdigit():
            lag = int(inner[2]) if inner[1] == "-" else -int(inner[2])
    elif inner[:1] == ["last"] and T is not None:
        at = T - 1 - (int(inner[2]) if len(inner) == 3 and inner[2].isdigit() else 0)
    elif len(inner) == 1 and inner[0].isdigit():
        at = int(inner[0])
    return edge_kind(src_timed, tok.text == owner, lag, at, owner_timed), lag, at, None


def _read_text(kind: EdgeKind, name: str, owner: str, lag: int | None, at: int | None, window: str | None,
               init: str) -> str:
    before = f" A read before step 0 gives the initial state of `{name}` ({init})."
    if kind is EdgeKind.FEED:
        if at is not None:
            return f"step {at} of `{name}`, read once by the value `{owner}`"
        return f"`{name}` at this step" if lag == 0 else f"`{name}`"
    if kind is EdgeKind.SAME:
        return f"`{name}`'s own previous step (t-1), the recurrence." + before
    if kind is EdgeKind.CROSS:
        return f"the previous step (t-1) of another stream, `{name}`." + before
    if kind is EdgeKind.LAG_K:
        return f"`{name}` {lag} steps back (t-{lag})." + before
    if kind is EdgeKind.REVERSED:
        k = -(lag or 0)
        return (f"`{name}` {k} step{'s' if k != 1 else ''} later (t+{k}): `{owner}` runs backward in time. "
                f"A read after the last step gives the initial state of `{name}` ({init}).")
    if kind is EdgeKind.FIXED:
        return (f"one fixed step of `{name}` (step {at}) at every step of `{owner}`; that step is computed first "
                "(the spec needs the whole sequence before its first output)")
    return (f"the steps {window} of `{name}`: a range, one read per step of it (clipped to the steps that exist), "
            "reduced by sum, mean or max")


def _hover_read(an: Analysis, tok: Token, st: Statement) -> str:
    toks = _read_tokens(an, tok)
    text = "".join(t.text for t in toks)
    inner = [t.text for t in toks[2:-1]] if toks[-1].is_op("]") else [t.text for t in toks[2:]]
    owner = st.name.text if st.name is not None else ""
    p = an.program
    found = None
    if p is not None and tok.text in p.folded:
        line, col = tok.start_pos.line + 1, tok.start_pos.col + 1
        for _, dst, data in p.folded.out_edges(tok.text, data=True):
            e = data["attr"]
            if e.span.line == line and e.span.col == col:
                form = e.read
                found = (e.kind, form.k if isinstance(form, Lag) else None, form.step if isinstance(form, Fixed) else None,
                         form.label if isinstance(form, Range) else None)
                owner = p.node(dst).owner
                break
    kind, lag, at, window = found or _lexical_read(an, tok, st, inner)
    init = p.inits.get(tok.text, "zeros") if p is not None else "zeros"
    head = f"`{text}`: **{kind.value}** read: {_read_text(kind, tok.text, owner, lag, at, window, init)}"
    about = _describe_name(an, tok.text)
    return head + ("\n\n---\n\n" + about if about else "")


# ---- parameters ----------------------------------------------------------------------------------
def _callee(an: Analysis, tok_or_index: "Token | int") -> Token | None:
    """The name before the unclosed `(` around a place (`conv` in `conv(8, 3, pad`)."""
    ix = an.index
    open_ = ix.enclosing_open(tok_or_index, "(")
    if open_ is None:
        return None
    before = ix.prev(open_)
    return before if before is not None and before.type == "NAME" else None


def _params_of(an: Analysis, callee: Token | None, st: Statement) -> tuple[str, tuple[Param, ...]] | None:
    if callee is None:
        if st.kind == "param":
            return "param", PARAM_OPTIONS
        return None
    if callee.text in KINDS:
        return callee.text, KINDS[callee.text].params
    if callee.text in OPTIMIZERS and st.kind == "train":
        return callee.text, OPTIMIZERS[callee.text]
    return None


def _hover_param_name(an: Analysis, tok: Token, st: Statement) -> str | None:
    word = tok.text
    if st.kind == "defaults":
        takers = [k for k in KINDS.values() if k.param(word) is not None]
        if not takers:
            return None
        p = takers[0].param(word)
        assert p is not None
        return (f"`{word}`: the default for every layer with a `{word}` parameter: "
                + ", ".join(f"`{k.name}`" for k in takers) + (f"\n\n{p.doc}" if p.doc else ""))
    if st.kind == "target" and word == "loss":
        return "`loss`: the target's loss: mse or mae for `real`; crossentropy (class) and sigmoid (labels) are fixed"
    found = _params_of(an, _callee(an, tok), st)
    if found is None:
        return None
    owner, params = found
    p = next((x for x in params if x.name == word), None)
    return _param_doc(owner, p) if p is not None else None


# ---- hover ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HoverInfo:
    markdown: str
    range: Range


def hover(an: Analysis, pos: Position) -> HoverInfo | None:
    """What the text under a position is: a name's shape, a layer's parameters and costs, a read's edge kind."""
    ix = an.index
    tok = ix.token_at(pos)
    if tok is None:
        return None
    if tok.type == "MODE":
        return HoverInfo(_MODE_DOC, tok.range)
    if tok.type != "NAME":
        return None
    st = ix.statement_of(tok)
    if st is None:
        return None
    text = _hover_name(an, tok, st)
    return HoverInfo(text, tok.range) if text else None


def _hover_name(an: Analysis, tok: Token, st: Statement) -> str | None:
    ix = an.index
    word = tok.text
    prev, nxt = ix.prev(tok), ix.next(tok)
    if nxt is not None and nxt.is_op("=") and (tok.depth > 0 or st.kind in ("defaults", "target", "param")):
        return _hover_param_name(an, tok, st)
    if st.kind == "data" and st.name is tok:
        ds = DATASETS.get(word)
        if ds is None:
            return None
        return (f"`{word}`: {ds.doc}; input `{ds.input}` {fmt_shape(ds.shape)}, target `{ds.output}`: "
                f"class({ds.classes})")
    is_callee = (nxt is not None and nxt.is_op("(")) or (prev is not None and prev.is_op("|")) or \
        (st.kind == "layer" and tok.index - st.tokens[0].index >= st.body)
    if st.kind == "layer" and st.name is tok or is_callee and (word in KINDS or word in _layer_names(an)):
        return _hover_layer(an, tok, st)
    if is_callee and st.kind == "train" and word in OPTIMIZERS:
        ps = ", ".join(_param_text(p) for p in OPTIMIZERS[word])
        return f"**{word}**: optimizer `{word}({ps})`"
    if st.kind == "init" and word in INIT_STATES and tok.index - st.tokens[0].index >= st.body:
        return f"`{word}`: {_INIT_STATE_DOCS[word]}"
    if word in INIT_KINDS and (is_callee or prev is not None and prev.is_op("=")):
        return f"`{word}`: initialiser, {_INITIALISER_DOCS[word]}"
    if st.kind == "target" and word in TARGET_KINDS and prev is not None and prev.is_op(":"):
        return _TARGET_DOCS[word]
    if st.kind == "train" and (word in TRAIN_KEYS or word == "optimizer"):
        if word == "optimizer":
            return "`optimizer`: " + ", ".join(f"`{o}`" for o in OPTIMIZERS) + " (default adam(lr=0.001))"
        return f"`{word}`: {TRAIN_KEYS[word].doc} (default {fmt_value(TRAIN_KEYS[word].default)})"
    if word in KEYWORDS and word not in ("t", "last") and (st.tokens[0] is tok or word not in STATEMENT_KEYWORDS):
        return KEYWORD_DOCS.get(word)
    if word in ("t", "last"):
        if prev is not None and prev.is_op("["):
            return KEYWORD_DOCS[word]
        if word == "t" and st.kind == "stream":
            return KEYWORD_DOCS["t"]
    if _role(an, word) is not None or word == "image":
        if nxt is not None and nxt.is_op("[") and st.name is not tok and st.kind in ("stream", "value", "other"):
            return _hover_read(an, tok, st)
        return _describe_name(an, word)
    return None


# ---- definition -------------------------------------------------------------------------------------
def definition(an: Analysis, pos: Position) -> list[Range]:
    """Where the name under a position is defined: every equation of a stream, a value, a named layer,
    a param or an input declaration (a `data` line for the built-in input)."""
    ix = an.index
    tok = ix.token_at(pos)
    if tok is None or tok.type != "NAME":
        return []
    nxt = ix.next(tok)
    if nxt is not None and nxt.is_op("=") and tok.depth > 0:
        return []  # a parameter name
    defs = ix.defined(tok.text, "stream", "value", "layer", "param", "input")
    if not defs:
        defs = ix.defined(tok.text, "target", "init")
    return [d.token.range for d in defs]


# ---- completion ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Completion:
    label: str
    kind: str  # layer, named-layer, stream, value, param, input, keyword, parameter, literal, dataset, setting
    detail: str = ""
    documentation: str = ""
    insert_text: str | None = None
    sort: str = "5"


def _kind_items(an: Analysis, sort: str = "3") -> list[Completion]:
    items = [Completion(k.name, "layer", signature(k), f"{k.doc} ({k.category})", sort=sort) for k in KINDS.values()]
    for name in _layer_names(an):
        defn = an.index.defined(name, "layer")[0]
        st = an.index.statements[defn.statement]
        items.append(Completion(name, "named-layer", f"layer {name} = {_statement_text(an, st, st.body)}",
                                "a named layer: one set of weights wherever it is used", sort=sort))
    return items


def _name_items(an: Analysis, sort: str = "2", kinds=("stream", "value", "param", "input")) -> list[Completion]:
    items = []
    seen = set()
    names = an.index.names(*kinds)
    if an.program is not None:
        names += [i.name for i in an.program.inputs if "input" in kinds]
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        role = _role(an, name) or "value"
        shape = _shape(an, name)
        label_detail = f"{role}, shape {shape}"
        insert = f"{name}[t]" if role == "stream" else None
        items.append(Completion(name, role, label_detail, _describe_name(an, name) or "", insert, sort))
    return items


def _keyword_items(words, sort: str = "4") -> list[Completion]:
    return [Completion(w, "keyword", KEYWORD_DOCS.get(w, "").split(":")[0].strip("`"), KEYWORD_DOCS.get(w, ""),
                       sort=sort) for w in words]


def _param_items(owner: str, params: tuple[Param, ...], used: set[str]) -> list[Completion]:
    out = []
    for p in params:
        if p.name in used:
            continue
        detail = _param_text(p) + (f" ({'/'.join(p.choices)})" if p.choices else "") + \
            ("" if p.positional else ", keyword only")
        out.append(Completion(p.name, "parameter", detail, _param_doc(owner, p), f"{p.name}=", "0"))
    return out


def _value_items(p: Param) -> list[Completion]:
    if p.type is ParamType.CHOICE:
        return [Completion(c, "literal", f"{p.name}={c}", sort="0") for c in p.choices]
    if p.type is ParamType.BOOL:
        return [Completion(c, "literal", f"{p.name}={c}", sort="0") for c in ("true", "false")]
    if p.type is ParamType.INIT:
        return [Completion(k, "literal", _INITIALISER_DOCS[k], insert_text=k + ("(" if n else ""), sort="0")
                for k, n in INIT_KINDS.items()]
    return []


def completion(an: Analysis, pos: Position) -> list[Completion]:
    """What may be written at a position: layer kinds, a call's parameter names and values, the spec's
    names, keywords, datasets, train settings."""
    ix = an.index
    offset = ix.offset(pos)
    before = ix.tokens_before(pos)
    typing = before[-1] if before and before[-1].type == "NAME" and before[-1].end == offset else None
    context = before[:-1] if typing is not None else before
    last = context[-1] if context else None
    here = len(context)  # significant-token index just after the context
    st = ix.statements[last.stmt] if last is not None else None
    open_paren = ix.enclosing_open(here, "(") if last is not None else None
    open_square = ix.enclosing_open(here, "[") if last is not None else None
    open_brace = ix.enclosing_open(here, "{") if last is not None else None
    continues = last is not None and (open_paren or open_square or open_brace or last.type == "OP" and last.text in
                                      ("|", "+", "-", "*", "/", ",", "=", ":", "..") or last.end_pos.line == pos.line)
    if last is None or not continues:  # the start of a statement
        return _keyword_items(STATEMENT_KEYWORDS, "1") + _name_items(an, "2", ("stream", "value"))
    assert st is not None
    first = st.tokens[0].text
    if open_brace is not None:
        opener = ix.prev(open_brace)
        if opener is not None and opener.text == "train":
            if last.text == "optimizer":
                return [Completion(o, "literal", f"{o}(" + ", ".join(_param_text(p) for p in OPTIMIZERS[o]) + ")",
                                   sort="0") for o in OPTIMIZERS]
            if open_paren is None:
                keys = [Completion("optimizer", "setting", "optimizer adam(lr=0.001)", sort="0")]
                keys += [Completion(k, "setting", f"{k} {fmt_value(p.default)}", p.doc, sort="0")
                         for k, p in TRAIN_KEYS.items()]
                return keys
        elif open_paren is None:
            return []  # `t in {...}`: numbers
    if open_square is not None and (open_paren is None or open_square.offset > open_paren.offset):
        return _keyword_items(("t", "last"), "0")
    if open_paren is not None:
        callee = ix.prev(open_paren)
        params = _params_of(an, callee if callee is not None and callee.type == "NAME" else None, st)
        if last.is_op("=") and ix.prev(last) is not None and ix.prev(last).type == "NAME":
            name = ix.prev(last).text
            p = next((x for x in params[1] if x.name == name), None) if params else None
            return _value_items(p) if p is not None else []
        if callee is not None and callee.text in INIT_KINDS:
            return []
        if callee is not None and callee.text == "learned" and first == "init":
            return _value_items(PARAM_OPTIONS[0])
        if params is not None:
            owner, plist = params
            used = {t.text for t in ix.tokens[open_paren.index + 1:here]
                    if t.type == "NAME" and t.depth == open_paren.depth + 1 and ix.next(t) is not None
                    and ix.next(t).is_op("=")}
            items = _param_items(owner, plist, used)
            in_pipe = ix.prev(callee) is not None and ix.prev(callee).is_op("|") or st.kind == "layer"
            if owner in KINDS and not in_pipe:  # tensor inputs come first: any expression may be written
                items += _name_items(an) + _kind_items(an)
            return items
        return _name_items(an) + _kind_items(an)
    if st.kind == "data" and last is st.tokens[0]:
        return [Completion(d.name, "dataset", d.doc, sort="0") for d in DATASETS.values()]
    if st.kind == "init":
        if last is st.tokens[0]:
            return _name_items(an, "0", ("stream",))
        if last.is_op("="):
            return [Completion(k, "literal", _INIT_STATE_DOCS[k], sort="0") for k in INIT_STATES] + \
                [Completion("learned(normal(0.1))", "literal", "a learned state with its initialiser", sort="1")]
        return []
    if st.kind == "target" and last.is_op(":"):
        return [Completion(k, "literal", _TARGET_DOCS[k].split(":")[0].replace("`", ""), _TARGET_DOCS[k], sort="0")
                for k in TARGET_KINDS]
    if st.kind == "param" and (last.is_op(")") or last.type == "NUMBER"):
        return _param_items("param", PARAM_OPTIONS, set())
    if st.kind == "defaults":
        if last.is_op("=") and ix.prev(last) is not None:
            name = ix.prev(last).text
            p = next((k.param(name) for k in KINDS.values() if k.param(name) is not None), None)
            return _value_items(p) if p is not None else []
        seen: dict[str, Param] = {}
        for k in KINDS.values():
            for p in k.params:
                if not p.required:
                    seen.setdefault(p.name, p)
        return [Completion(n, "parameter", _param_text(p), p.doc, f"{n}=", "0") for n, p in seen.items()]
    if last.is_op("|") or st.kind == "layer" and last.is_op("=") and last.depth == 0:
        return _kind_items(an, "0")
    if st.kind in ("steps", "model", "about", "input", "param", "target"):
        return []
    items = _name_items(an) + _kind_items(an)
    if st.kind == "stream":
        items += _keyword_items(("when", "otherwise", "t", "last"), "4")
    return items


# ---- formatting ----------------------------------------------------------------------------------------
def find_formatter() -> Callable[[str], str] | None:
    """`rnndsl.syntax.format.format_text` when that module exists (formatting is advertised only then)."""
    try:
        module = importlib.import_module("rnndsl.syntax.format")
    except Exception:
        return None
    fn = getattr(module, "format_text", None)
    return fn if callable(fn) else None


def format_document(text: str, formatter: Callable[[str], str]) -> str | None:
    """The formatted text, or None when it is already formatted (a spec that does not parse raises SpecError)."""
    new = formatter(text)
    return None if new == text else new

