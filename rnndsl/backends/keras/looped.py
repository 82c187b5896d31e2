"""Prepared IR -> keras.Model that runs the steps in `tf.while_loop`: a graph whose size does not grow with T.

The schedule comes from passes/loops.py: values once, sequences (what depends neither on the
recurrence nor on weights) for all steps at once with the steps folded into the batch, and
loops step by step.  Every layer object is the one the unrolled lowering would build for
the same weight id (same builders, same names), so the two lowerings hold the same weights
and compute the same function; tests/test_lowering.py checks outputs and gradients.

The whole program is one Keras layer, `LoopedProgram`.  It is saved with the spec text and
what the data bound (steps, shapes, sizes, masking), and rebuilt from them when loaded.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from ...catalogue import KINDS, StepRule
from ...checks import Checked
from ...ir import EdgeAttr, OutputDecl, Program, Role, TargetKind, Window
from ...passes.loops import Loop, LoopPlan, equations_of, plan_loops
from . import layers as custom
from .builders import build
from .emit import keras_name

__all__ = ["LoopedProgram", "emit_looped"]

_FINAL = {TargetKind.CLASS: "softmax", TargetKind.LABELS: "sigmoid"}


class _Ranged(NamedTuple):
    """A range of steps: values on a steps axis (batch, S, ...) and which of them count (batch, S)."""

    value: Any
    mask: Any


@keras.saving.register_keras_serializable("rnndsl")
class LoopedProgram(layers.Layer):
    """A whole spec as one layer: values, sequences over all steps, and `tf.while_loop`s over the steps.

    Called on the model's inputs in `input_names` order (with `lengths` last when masked);
    returns [output, logits] for each output, in the program's order.
    """

    def __init__(self, source: str, bindings: dict, checked: Checked | None = None, **kw: Any):
        super().__init__(**kw)
        self.source, self.bindings = source, dict(bindings)
        if checked is None:
            from ...pipeline import analyse
            from ...semantics.symbols import Bindings

            b = self.bindings
            checked = analyse(source, Bindings(b.get("steps"), {k: tuple(v) for k, v in b.get("shapes", {}).items()},
                                               dict(b.get("sizes", {})), bool(b.get("masked")))).checked
        self.checked = checked
        self.p: Program = checked.program
        self.plan: LoopPlan = plan_loops(self.p)
        self.shapes = checked.shapes
        names: set[str] = set()
        objects: dict[str, layers.Layer] = {}
        p = self.p
        for n in sorted(p.folded.nodes, key=p.order):
            a = p.node(n)
            if a.role is Role.PARAM:
                init = a.params["init"]
                objects[n] = custom.LearnedState(tuple(a.params["shape"]), [init.name, *init.args],
                                                 name=keras_name(n, names))
            elif a.role is Role.STREAM and p.inits.get(n) == "learned":
                fill = p.init_fills.get(n)
                objects[f"{n}.init"] = custom.LearnedState(tuple(self.shapes[n]),
                                                           [fill.name, *fill.args] if fill else None,
                                                           name=keras_name(f"{n}.init", names))
            elif a.role is Role.OP:
                kind = KINDS[a.kind or ""]
                if kind.uses_step or kind.over_steps in (StepRule.REDUCE, StepRule.NORMALISE):
                    continue  # computed here, without a layer
                if kind.operator:
                    objects[n] = custom.Elementwise(kind.name, *self._const_side(n), self._expand(n),
                                                    name=keras_name(n, names))
                    continue
                key = a.layer or a.name
                if key not in objects:
                    objects[key] = build(kind, a.params, keras_name(key, names), a.mode == "train")
        self.objects = objects
        self.input_names = [i.name for i in p.inputs]

    # ---- construction helpers ----------------------------------------------------------------
    def _const_side(self, n: str) -> tuple[float | None, bool]:
        ins = self._in_edges(n)
        consts = [(i, src) for i, (src, _) in enumerate(ins) if self.p.node(src).role is Role.CONST]
        if not consts:
            return None, False
        if len(consts) == 2:  # as the unrolled emitter: the first becomes a tensor, the second stays a number
            return float(self.p.node(consts[1][1]).params["value"]), False
        i, src = consts[0]
        return float(self.p.node(src).params["value"]), i == 0

    def _in_edges(self, n: str) -> list[tuple[str, EdgeAttr]]:
        return [(src, d["attr"]) for src, _, _, d in
                sorted(self.p.folded.in_edges(n, keys=True, data=True), key=lambda x: x[2])]

    def _window_of(self, src: str, e: EdgeAttr) -> Window | None:
        return e.window or self.p.node(src).window

    def _expand(self, n: str) -> list[list[int]] | None:
        """As the unrolled emitter: axes that line each tensor operand up for broadcasting."""
        a = self.p.node(n)
        rank = len(self.shapes[n])
        lead = 2 if a.window is not None else 1
        out = []
        ins = self._in_edges(n)
        both_const = all(self.p.node(s).role is Role.CONST for s, _ in ins)
        for i, (src, e) in enumerate(ins):
            is_const = self.p.node(src).role is Role.CONST
            if is_const and not (both_const and i == 0):
                continue
            own = 0 if is_const else len(self.shapes[src])
            axes = [1] if a.window is not None and self._window_of(src, e) is None else []
            out.append(axes + [lead] * (rank - own))
        return out if any(out) else None

    def build(self, input_shape=None) -> None:
        """Create every weight now, from the checked shapes (never inside the loop, and before loading)."""
        p = self.p
        done: set[str] = set()
        for n in sorted(p.folded.nodes, key=p.order):
            a = p.node(n)
            if a.role is not Role.OP or KINDS[a.kind or ""].operator:
                continue
            key = a.layer or a.name
            layer = self.objects.get(key)
            if layer is None or key in done or layer.built:
                continue
            done.add(key)
            shapes = [(None, *self.shapes[src]) for src, _ in self._in_edges(n)]
            kind = KINDS[a.kind or ""]
            if kind.is_cell:
                layer.build(shapes[:2] + ([shapes[1]] if kind.states == 2 else []))
            else:
                layer.build(shapes if kind.arity is None else shapes[0])
        self.built = True

    # ---- the computation -----------------------------------------------------------------------
    def call(self, inputs, training=None):
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        p = self.p
        run = _Run(self, dict(zip(self.input_names, xs)), xs[-1] if p.masked else None, training)
        for unit in self.plan.units:
            if unit.kind == "value":
                run.env[unit.name] = run.value(unit.name)
            elif unit.kind == "sequence":
                run.seqs[unit.name] = run.sequence(unit.name)
            else:
                run.loop(unit.loop)
        outs = []
        for decl in p.outputs:
            outs.extend(run.output(decl))
        return outs

    def get_config(self) -> dict:
        return {**super().get_config(), "source": self.source, "bindings": self.bindings}


class _Run:
    """One call of a LoopedProgram: the tensors computed so far."""

    def __init__(self, prog: LoopedProgram, inputs: dict, lengths, training):
        self.prog, self.p, self.inputs, self.lengths, self.training = prog, prog.p, inputs, lengths, training
        self.reference = next(iter(inputs.values()))
        self.batch = ops.shape(self.reference)[0]
        self.T = self.p.steps
        self.env: dict[str, Any] = {}  # untimed values (a number stays a float)
        self.seqs: dict[str, Any] = {}  # (batch, T, ...) per timed node computed outside the current loop
        self.current: dict[str, Any] | None = None  # when streaming: every timed node's value at this step
        self.branchless = False  # guards select with `where` rather than tf.switch_case (for TFLite)
        self.step_arrays: dict[str, Any] = {}  # inside a loop: the sequences it reads, as TensorArrays
        self.finals: dict[str, Any] = {}  # a loop's last value of the nodes read after it only there

    # ---- reads -----------------------------------------------------------------------------------
    def init(self, name: str):
        """The initial state of a stream (zeros, or its learned tensor), or zeros before a sequence input."""
        if self.p.inits.get(name) == "learned" and self.p.node(name).role is Role.STREAM:
            return self.prog.objects[f"{name}.init"](self.reference)
        return ops.zeros((self.batch, *self.prog.shapes[name]), dtype="float32")

    def step_mask(self, window: Window, t) -> Any:
        """Which of the steps 0..T-1 a range holds at step t, as (batch, T) with each sequence's length."""
        T = self.T
        steps = ops.arange(T, dtype="int32")
        ends = []
        for b in (window.lo, window.hi):
            base = {"t": t if t is not None else 0, "abs": 0, "last": T - 1}[b.base]
            ends.append(ops.cast(base, "int32") + b.offset)
        mask = (steps >= ends[0]) & (steps <= ends[1])
        mask = ops.broadcast_to(mask[None, :], (self.batch, T))
        if self.lengths is not None:
            mask = mask & (steps[None, :] < ops.cast(self.lengths, "int32")[:, None])
        return mask

    def read_sequence(self, src: str, e: EdgeAttr, seq, t):
        """A read of a node whose every step is known: a fixed step, a range, or t - lag (init outside)."""
        if e.at is not None:
            return self.finals[src] if src in self.finals else seq[:, e.at]
        if e.window is not None:
            return _Ranged(seq, self.step_mask(e.window, t))
        idx = ops.cast(t, "int32") - int(e.lag or 0)
        got = self.step_of(src, seq, ops.clip(idx, 0, self.T - 1))
        if not e.lag:
            return got
        inside = (idx >= 0) & (idx < self.T)
        return ops.where(inside, got, self.init(src))

    def step_of(self, key: str, seq, idx):
        """seq[:, idx]: inside a loop, read from a TensorArray of the steps (its gradient adds into one step,
        where a gather's would build a whole (batch, T, ...) tensor at every step: quadratic in T)."""
        ta = self.step_arrays.get(key)
        if ta is not None:
            return ta.read(idx)
        return ops.take(seq, idx, axis=1)

    def unstack(self, key: str, seq) -> None:
        """Before a loop: the steps of a sequence it reads, as a TensorArray (time-major)."""
        if key not in self.step_arrays:
            perm = [1, 0] + list(range(2, len(seq.shape)))
            self.step_arrays[key] = tf.TensorArray(seq.dtype, size=self.T, clear_after_read=False).unstack(
                tf.transpose(seq, perm))

    def read(self, src: str, e: EdgeAttr, t, state: "_Step | None"):
        a = self.p.node(src)
        if not a.timed:
            return self.env[src]
        if state is None and self.current is not None:  # a streamed head: [last] is this step
            return self.current[src]
        if src in self.finals and e.at is not None:
            return self.finals[src]  # (a loop's last value: what `h[last]` reads after it)
        if state is not None and src in state.loop_nodes:
            if e.window is not None:
                hist = ops.transpose(state.hist[src], [1, 0] + list(range(2, len(self.prog.shapes[src]) + 2)))
                return _Ranged(hist, self.step_mask(e.window, t))
            if not e.lag:
                return state.cur[src]
            return state.bufs[src][abs(e.lag) - 1]
        return self.read_sequence(src, e, self.seqs[src], t)

    # ---- applying a kind ----------------------------------------------------------------------
    def apply(self, n: str, xs: list, t) -> Any:
        a = self.p.node(n)
        kind = KINDS[a.kind or ""]
        mask = next((x.mask for x in xs if isinstance(x, _Ranged)), None)
        vals = [x.value if isinstance(x, _Ranged) else x for x in xs]
        if kind.over_steps is StepRule.REDUCE:
            return _reduce(kind.name, vals[0], mask)
        if kind.over_steps is StepRule.NORMALISE:
            return _Ranged(_softmax_steps(vals[0], mask), mask)
        if kind.uses_step:  # row t of the input
            out = ops.take(vals[0], ops.cast(t, "int32"), axis=1)
        elif kind.operator:
            tensors = [v for v in vals if not isinstance(v, float)]
            if not tensors:  # two numbers the folding pass left: the first becomes a tensor
                tensors = [ops.full((self.batch,), vals[0], dtype="float32")]
            elif len(tensors) == 1 and len(vals) == 2 and self.prog._const_side(n)[0] is None:
                tensors = [v if not isinstance(v, float) else ops.full((self.batch,), v, dtype="float32")
                           for v in vals]
            out = self.prog.objects[n](tensors if len(tensors) > 1 else tensors[0])
        else:
            vals = [v if not isinstance(v, float) else ops.full((self.batch,), v, dtype="float32") for v in vals]
            layer = self.prog.objects[a.layer or a.name]
            if kind.is_cell:
                return layer(vals, training=self.training)  # (lstm: [h, c], with c as the third input)
            out = layer(vals if kind.arity is None else vals[0], training=self.training)
        return _Ranged(out, mask) if mask is not None else out

    # ---- units ------------------------------------------------------------------------------------
    def value(self, n: str):
        """An untimed node."""
        a = self.p.node(n)
        if a.role is Role.INPUT:
            return self.inputs[n]
        if a.role is Role.CONST:
            return float(a.params["value"])
        if a.role is Role.PARAM:
            return self.prog.objects[n](self.reference)
        ins = [self.read(src, e, None, None) for src, e in self.prog._in_edges(n)]
        if a.role is Role.VALUE:
            return ins[0]
        return self.apply(n, ins, None)

    def sequence(self, n: str):
        """A timed node that does not depend on the recurrence, for every step at once."""
        a = self.p.node(n)
        T = self.T
        if a.role is Role.INPUT:
            return self.inputs[n]
        ins = self.prog._in_edges(n)
        if a.role is Role.STREAM:
            return self.freeze_sequence(self.seqs[ins[0][0]])
        kind = KINDS[a.kind or ""]
        if kind.uses_step:  # row t at step t: the first T rows
            return self.env[ins[0][0]][:, :T]
        folded = []
        for src, e in ins:  # fold the steps into the batch; a value repeats for each step
            if not self.p.node(src).timed:
                v = self.env[src]
                folded.append(v if isinstance(v, float) else ops.repeat(v, T, axis=0))
            else:
                s = self.seqs[src]
                folded.append(ops.reshape(s, (-1, *self.prog.shapes[src])))
        out = self.apply(n, folded, None)
        return ops.reshape(out, (-1, T, *self.prog.shapes[n]))

    def freeze_sequence(self, seq):
        """Masking: past each sequence's end a stream keeps its last value."""
        if self.lengths is None:
            return seq
        idx = ops.minimum(ops.arange(self.T, dtype="int32")[None, :], ops.cast(self.lengths, "int32")[:, None] - 1)
        return tf.gather(seq, idx, batch_dims=1)

    def start(self, loop: Loop) -> tuple[dict, dict, dict]:
        """A loop's carried state before its first step: shift registers, histories, LSTM cell states."""
        shapes = self.prog.shapes
        bufs = {s: (self.init(s),) * k for s, k in loop.lags.items()}  # a shift register: newest first
        hist = {s: ops.zeros((self.T, self.batch, *shapes[s]), dtype="float32") for s in loop.history}
        cells = {self.p.node(n).owner: ops.zeros((self.batch, *shapes[self.p.node(n).owner]), dtype="float32")
                 for n in loop.order if self.p.node(n).role is Role.OP and KINDS[self.p.node(n).kind].states == 2}
        return bufs, hist, cells

    def advance(self, loop: Loop, t, bufs: dict, hist: dict, cells: dict, given: dict | None = None):
        """One step of a loop: every node's value at step t, and the carried state for the next step.

        `given` holds values already known at this step (a streamed input)."""
        shapes = self.prog.shapes
        guarded = {s for s in loop.order if self.p.node(s).role is Role.STREAM and len(equations_of(self.p, s)) > 1}
        st = _Step(set(loop.order), dict(given or {}), bufs, dict(hist), dict(cells))
        for n in loop.order:
            a = self.p.node(n)
            if n in st.cur or a.role is Role.OP and a.owner in guarded:
                continue  # given, or computed inside its stream's branch
            if a.role is Role.STREAM:
                v = self.stream(n, t, st, loop) if n in guarded else self.equation_root(n, 0, t, st)
                if self.lengths is not None:
                    keep = ops.reshape(ops.cast(t, "int32") < ops.cast(self.lengths, "int32"),
                                       (-1,) + (1,) * len(shapes[n]))
                    v = ops.where(keep, v, bufs[n][0])
                st.cur[n] = v
                if n in st.hist:
                    st.hist[n] = tf.tensor_scatter_nd_update(st.hist[n], tf.reshape(t, (1, 1)), v[None])
            else:
                st.cur[n] = self.op(n, t, st)
        new_bufs = {s: (st.cur[s],) + b[:-1] for s, b in bufs.items()}  # (no copy: a tuple of tensors shifts)
        return st.cur, new_bufs, st.hist, st.cells

    def loop(self, loop: Loop) -> None:
        """Run one loop with tf.while_loop; what later units read comes out as sequences."""
        T, d = self.T, loop.direction
        self.step_arrays = {}
        for n in loop.order:  # the sequences the loop reads one step at a time
            for src, e in self.prog._in_edges(n):
                if src not in loop.order and src in self.seqs and e.window is None and e.at is None:
                    self.unstack(src, self.seqs[src])
        bufs, hist, cells = self.start(loop)
        tas = {n: tf.TensorArray(tf.float32, size=T, element_shape=None) for n in sorted(loop.collect)}

        last = {n: ops.zeros((self.batch, *self.prog.shapes[n]), dtype="float32") for n in sorted(loop.finals)}

        def body(i, bufs, hist, cells, tas, last):
            t = i if d > 0 else T - 1 - i
            cur, bufs, hist, cells = self.advance(loop, t, bufs, hist, cells)
            return (i + 1, bufs, hist, cells, {n: ta.write(t, cur[n]) for n, ta in tas.items()},
                    {n: cur[n] for n in last})

        _, _, _, _, tas, last = tf.while_loop(lambda i, *_: i < T, body,
                                              (tf.constant(0), bufs, hist, cells, tas, last), maximum_iterations=T)
        self.finals.update(last)
        self.step_arrays = {}
        for n, ta in tas.items():
            stacked = ta.stack()
            self.seqs[n] = ops.transpose(stacked, [1, 0] + list(range(2, len(stacked.shape))))

    def op(self, n: str, t, st: "_Step"):
        a = self.p.node(n)
        kind = KINDS[a.kind or ""]
        xs = [self.read(src, e, t, st) for src, e in self.prog._in_edges(n)]
        if kind.is_cell and kind.states == 2:
            h, c = self.apply(n, xs + [st.cells[a.owner]], t)
            st.cells[a.owner] = c
            return h
        return self.apply(n, xs, t)

    def equation_root(self, s: str, i: int, t, st: "_Step"):
        src, e = self.prog._in_edges(s)[i]
        return self.read(src, e, t, st)

    def stream(self, s: str, t, st: "_Step", loop: Loop):
        """A stream with guards: the equation that holds at step t (tf.switch_case on a table of steps)."""
        eqs = equations_of(self.p, s)
        table = np.zeros(self.T, dtype="int32")
        for i, (steps, _) in enumerate(eqs):
            table[list(steps or range(self.T))] = i
        branches = []
        for i, (steps, _) in enumerate(eqs):
            ops_i = [n for n in loop.order if self.p.node(n).role is Role.OP and self.p.node(n).owner == s
                     and self.p.node(n).steps == steps]

            def branch(i=i, ops_i=ops_i):
                local = _Step(st.loop_nodes, dict(st.cur), st.bufs, st.hist, dict(st.cells))
                for n in ops_i:
                    local.cur[n] = self.op(n, t, local)
                return self.equation_root(s, i, t, local), local.cells
            branches.append(branch)
        index = tf.gather(tf.constant(table), t)
        if not self.branchless:
            value, cells = tf.switch_case(index, branches)
        else:  # every equation, then a selection: no control flow (TFLite freezes no weights inside a Case)
            results = [b() for b in branches]
            value, cells = results[0]
            for i, (v, c) in enumerate(results[1:], start=1):
                pick = ops.equal(index, i)
                value = ops.where(pick, v, value)
                cells = {k: ops.where(pick, c[k], cells[k]) for k in cells}
        st.cells.update(cells)
        return value

    def output(self, decl: OutputDecl) -> list:
        """[output, logits]: the value as written, and what the loss reads (before a final softmax/sigmoid)."""
        p = self.p
        final = _FINAL.get(decl.target)
        store = self.seqs if decl.per_step else self.env
        out = store[decl.name]
        root = list(p.folded.predecessors(decl.name))
        pre = out
        if final and len(root) == 1 and p.node(root[0]).role is Role.OP and p.node(root[0]).kind == final:
            src = next(iter(p.folded.predecessors(root[0])))
            if decl.per_step and src in self.seqs:
                pre = self.seqs[src]
            elif not decl.per_step:
                pre = self.env[src] if not p.node(src).timed else out
        return [out, pre]


class _Step:
    """What one step of a loop has computed, and the loop's carried state."""

    def __init__(self, loop_nodes, cur, bufs, hist, cells):
        self.loop_nodes, self.cur, self.bufs, self.hist, self.cells = loop_nodes, cur, bufs, hist, cells


def _expand_mask(mask, x):
    return ops.reshape(mask, ops.shape(mask) + (1,) * (len(x.shape) - 2))


def _reduce(op: str, x, mask):
    """sum / mean / max over axis 1 where `mask` (batch, steps) holds; zeros where it holds nowhere."""
    m = _expand_mask(mask, x)
    fm = ops.cast(m, x.dtype)
    count = ops.sum(fm, axis=1)
    if op == "max":
        out = ops.max(ops.where(m, x, ops.full_like(x, -3.0e38)), axis=1)
        return ops.where(count > 0, out, ops.zeros_like(out))
    total = ops.sum(x * fm, axis=1)
    return total if op == "sum" else total / ops.maximum(count, 1.0)


def _softmax_steps(x, mask):
    m = _expand_mask(mask, x)
    x = ops.where(m, x, ops.full_like(x, -1.0e30))
    e = ops.exp(x - ops.max(x, axis=1, keepdims=True)) * ops.cast(m, x.dtype)
    return e / ops.maximum(ops.sum(e, axis=1, keepdims=True), 1e-30)


def _splits_final(p: Program, decl: OutputDecl) -> bool:
    """Whether the output ends with the softmax (sigmoid) its loss takes off."""
    root = list(p.folded.predecessors(decl.name))
    return bool(_FINAL.get(decl.target)) and len(root) == 1 and p.node(root[0]).role is Role.OP \
        and p.node(root[0]).kind == _FINAL[decl.target]


def emit_looped(prep) -> "KerasModels":
    """The looped lowering's Keras models (output and logits, sharing the one LoopedProgram layer)."""
    from .emit import Head, KerasModels, model_inputs  # (emit imports this module only inside build_models)

    p = prep.program
    inputs = model_inputs(p)
    bindings = {"steps": p.steps, "shapes": {i.name: list(i.shape) for i in p.inputs if i.shape is not None},
                "sizes": {o.name: o.size for o in p.outputs if o.size is not None}, "masked": p.masked}
    program = LoopedProgram(p.source, bindings, checked=prep.checked, name=keras_name(f"{p.name}_looped", set()))
    results = program(list(inputs.values()))
    outs = {d.name: results[2 * i] for i, d in enumerate(p.outputs)}
    logits = {d.name: results[2 * i + 1] for i, d in enumerate(p.outputs)}
    heads = tuple(Head(d, _splits_final(p, d) or d.target is not TargetKind.REAL) for d in p.outputs)
    model_in = next(iter(inputs.values())) if len(inputs) == 1 else inputs
    single = len(outs) == 1
    model = keras.Model(model_in, next(iter(outs.values())) if single else outs, name=keras_name(p.name, set()))
    logit_model = keras.Model(model_in, next(iter(logits.values())) if single else logits,
                              name=keras_name(f"{p.name}_logits", set()))
    return KerasModels(model, logit_model, heads, tuple(inputs), "looped",
                       {k: v for k, v in program.objects.items() if v.weights})


class StepFunctions(tf.Module):
    """A spec run one step at a time: `step(inputs at t, state) -> (outputs, new state)`, its initial state,
    and `whole(inputs)` over any number of steps (by stepping).  The state holds every delay buffer
    (each stream's last k values), the LSTM cell states and the step index t (for guards).

    The outputs at a step are what the spec's outputs are when that step is the last one: a
    per-step output's value at t, or a per-sequence output read from the streams at t.
    """

    def __init__(self, program: LoopedProgram):
        super().__init__(name="rnndsl_steps")
        from ...passes.loops import plan_streaming

        self.program = program
        self.p = program.p
        self.loop = plan_streaming(self.p)
        self.inputs = [i for i in self.p.inputs if i.sequence]
        self.output_names = [o.name for o in self.p.outputs]
        shapes = program.shapes
        self.state_specs: dict[str, tf.TensorSpec] = {"t": tf.TensorSpec((), tf.int32, name="t")}
        for s, k in sorted(self.loop.lags.items()):
            self.state_specs[f"buf_{s}"] = tf.TensorSpec((None, k, *shapes[s]), tf.float32, name=f"buf_{s}")
        for s in sorted(self._cells()):
            self.state_specs[f"cell_{s}"] = tf.TensorSpec((None, *shapes[s]), tf.float32, name=f"cell_{s}")
        self.input_specs = {i.name: tf.TensorSpec((None, *i.shape), tf.float32, name=i.name) for i in self.inputs}
        import networkx as nx

        untimed = [n for n in self.p.folded.nodes if not self.p.node(n).timed]
        order = list(nx.lexicographical_topological_sort(self.p.folded.subgraph(untimed), key=self.p.order))
        after = {n for n in order if any(self.p.node(a).timed for a in nx.ancestors(self.p.folded, n))}
        self.before_steps = [n for n in order if n not in after]  # params, numbers: once per step, first
        self.after_steps = [n for n in order if n in after]  # the head, on this step's values

    def _cells(self) -> set[str]:
        return {self.p.node(n).owner for n in self.loop.order
                if self.p.node(n).role is Role.OP and KINDS[self.p.node(n).kind or ""].states == 2}

    def _run(self, reference, lengths=None, training=False) -> _Run:
        run = _Run(self.program, {self.inputs[0].name: reference}, lengths, training)
        run.branchless = True  # one step costs little, and a step function without control flow converts anywhere
        return run

    def initial(self, batch) -> dict:
        reference = tf.zeros((batch, *self.inputs[0].shape))
        run = self._run(reference)
        bufs, _, cells = run.start(self.loop)
        state = {"t": tf.constant(0, tf.int32)}
        state.update({f"buf_{s}": ops.stack(v, axis=1) for s, v in bufs.items()})
        state.update({f"cell_{s}": v for s, v in cells.items()})
        return state

    def advance(self, inputs: dict, state: dict, lengths=None, training=False, logits: bool = False
                ) -> tuple[dict, dict]:
        """One step.  With `lengths`, a stream past its sequence's end keeps its value (masking); with
        `logits`, an output that ends with the softmax (sigmoid) its loss takes off is given before it."""
        reference = inputs[self.inputs[0].name]
        run = self._run(reference, lengths, training)
        t = state["t"]
        bufs = {s: tuple(state[f"buf_{s}"][:, i] for i in range(k)) for s, k in self.loop.lags.items()}
        cells = {s: state[f"cell_{s}"] for s in self._cells()}
        learned = [s for s in bufs if self.p.inits.get(s) == "learned"]
        if learned:  # step 0 starts from the initial state whatever state is passed (zeros will do)
            first, _, _ = run.start(self.loop)
            for s in learned:
                bufs[s] = tuple(ops.where(ops.equal(t, 0), a, b) for a, b in zip(first[s], bufs[s]))
        given = {name: inputs[name] for name in inputs}
        for n in self.before_steps:
            run.env[n] = run.value(n)
        cur, bufs, _, cells = run.advance(self.loop, t, bufs, {}, cells, given)
        run.seqs = {}
        run.current = cur  # reads of [last] in the head read this step
        outputs = {}
        for n in self.after_steps:
            run.env[n] = run.value(n)
        for o in self.p.outputs:
            name = o.name
            if logits and _splits_final(self.p, o):
                name = next(iter(self.p.folded.predecessors(next(iter(self.p.folded.predecessors(o.name))))))
            outputs[o.name] = cur[name] if self.p.node(name).timed else run.env[name]
        new = {"t": t + 1}
        new.update({f"buf_{s}": ops.stack(v, axis=1) for s, v in bufs.items()})
        new.update({f"cell_{s}": v for s, v in cells.items()})
        return outputs, new

    def whole(self, inputs: dict) -> dict:
        """Step through every step of the inputs (any length); the outputs at the last step, or at every step."""
        first = inputs[self.inputs[0].name]
        T = tf.shape(first)[1]
        state = self.initial(tf.shape(first)[0])
        tas = {o.name: tf.TensorArray(tf.float32, size=T) for o in self.p.outputs if o.per_step}
        last = {o.name: tf.zeros((tf.shape(first)[0], o.size or 1)) for o in self.p.outputs if not o.per_step}

        def body(i, state, tas, last):
            outs, state = self.advance({k: v[:, i] for k, v in inputs.items()}, state)
            tas = {k: ta.write(i, outs[k]) for k, ta in tas.items()}
            last = {k: outs[k] for k in last}
            return i + 1, state, tas, last

        _, _, tas, last = tf.while_loop(lambda i, *_: i < T, body, (tf.constant(0), state, tas, last))
        out = dict(last)
        out.update({k: tf.transpose(ta.stack(), [1, 0, 2]) for k, ta in tas.items()})
        return out
