"""The looped lowering: a keras.Model that runs the steps in a loop, a graph whose size does not grow with T.

The plan is the schedule's (passes/schedule.py, planned by passes/loops.py): values once,
sequences (what depends neither on the recurrence nor on weights) for all steps at once with
the steps folded into the batch, and loops step by step.  This driver decides only where each
input comes from (a value, a sequence, a loop's shift register, history or cell state) and in
what order nodes run; what each kind computes and which layer object holds which weights are
the shared rules of ops.py, so both lowerings hold the same weights and compute the same
function (tests/test_lowering.py checks outputs and gradients).

The whole program is one Keras layer, `LoopedProgram`.  It is saved with the spec text and
what the data bound (steps, shapes, sizes, masking), and rebuilt from them when loaded.
Everything here is `keras.ops` (a guard's switch is `ops.switch`, a history's write
`ops.scatter_update`), so it runs on every Keras backend; the loop itself is the backend's own
(control.py: tf.while_loop with TensorArrays, jax.lax.scan, or a Python loop), and a loop reads
the sequences computed before it only at its own step, shifted before it starts by the lag
they are read at, so that each backend can hand the loop one step of them at a time.
"""

from __future__ import annotations

from typing import Any

import keras
import networkx as nx
import numpy as np
from keras import layers, ops

from ...checks import Checked
from ...ir import EdgeAttr, OutputDecl, Program, Role, Window
from ...ir.reads import Fixed, Lag, Range
from ...passes.loops import Loop, LoopPlan, UnitKind, equations_of, plan_streaming
from . import control
from . import ops as rules
from .models import KerasModels, assemble, keras_name, model_inputs

__all__ = ["LoopedProgram", "StepFunctions", "emit_looped"]


def _step_key(src: str, lag: int) -> str:
    return f"{src}@{lag}"


def _each_own_step(seq, idx):
    """seq[b, idx[b, t]] for every b, t: each sequence's own steps."""
    idx = ops.reshape(idx, (*ops.shape(idx), *(1,) * (len(seq.shape) - 2)))
    return ops.take_along_axis(seq, ops.broadcast_to(idx, ops.shape(seq)), axis=1)


# ---- the layer ------------------------------------------------------------------------------------------------
def _plan(checked: Checked) -> LoopPlan:
    """The loop plan of a program rebuilt from its spec text (a saved model loading): the schedule pass's."""
    from ...passes import prepare

    return prepare(checked, lowering="looped").schedule.loops


@keras.saving.register_keras_serializable("rnndsl")
class LoopedProgram(layers.Layer):
    """A whole spec as one layer: values, sequences over all steps, and loops over the steps (control.py).

    Called on the model's inputs in `input_names` order (with `lengths` last when masked);
    returns [output, logits] for each output, in the program's order.
    """

    def __init__(self, source: str, bindings: dict, checked: Checked | None = None, plan: LoopPlan | None = None,
                 **kw: Any):
        super().__init__(**kw)
        self.source, self.bindings = source, dict(bindings)
        if checked is None:  # loading: the spec again, with what the data bound, and its schedule again
            from ...pipeline import analyse
            from ...semantics.symbols import Bindings

            b = self.bindings
            checked = analyse(source, Bindings(b.get("steps"), {k: tuple(v) for k, v in b.get("shapes", {}).items()},
                                               dict(b.get("sizes", {})), bool(b.get("masked")))).checked
            plan = _plan(checked)
        if plan is None:
            raise ValueError("a LoopedProgram runs the schedule's loop plan: pass prep.schedule.loops")
        self.checked = checked
        self.p: Program = checked.program
        self.plan: LoopPlan = plan
        self.shapes = checked.shapes
        self.table = rules.Layers(checked)
        self.table.make_all()
        self.objects = self.table.objects  # (tracked: Keras finds the weights here)
        self.input_names = [i.name for i in self.p.inputs]

    def build(self, input_shape=None) -> None:
        """Create every weight now, from the checked shapes (never inside the loop, and before loading)."""
        self.table.build_all()
        self.built = True

    def call(self, inputs, training=None):
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        p = self.p
        run = _Run(self, dict(zip(self.input_names, xs)), xs[-1] if p.masked else None, training)
        for unit in self.plan.units:
            if unit.kind is UnitKind.VALUE:
                run.env[unit.name] = run.value(unit.name)
            elif unit.kind is UnitKind.SEQUENCE:
                run.seqs[unit.name] = run.sequence(unit.name)
            else:
                run.loop(unit.loop)
        outs = []
        for decl in p.outputs:
            outs.extend(run.output(decl))
        return outs

    def get_config(self) -> dict:
        return {**super().get_config(), "source": self.source, "bindings": self.bindings}


class _Step:
    """What one step of a loop has computed, and the loop's carried state."""

    def __init__(self, loop_nodes, cur, bufs, hist, cells):
        self.loop_nodes, self.cur, self.bufs, self.hist, self.cells = loop_nodes, cur, bufs, hist, cells


class _Run:
    """One call of a LoopedProgram: the tensors computed so far, and where each read finds its value."""

    def __init__(self, prog: LoopedProgram, inputs: dict, lengths, training):
        self.prog, self.p, self.table, self.inputs = prog, prog.p, prog.table, inputs
        self.lengths = lengths
        self.cx = rules.Context(lengths=lengths, training=training, reference=next(iter(inputs.values())))
        self.batch = ops.shape(self.cx.reference)[0]
        self.T = self.p.steps
        self.env: dict[str, Any] = {}  # untimed values (a number stays a float)
        self.seqs: dict[str, Any] = {}  # (batch, T, ...) per timed node computed outside the current loop
        self.current: dict[str, Any] | None = None  # when streaming: every timed node's value at this step
        self.branchless = False  # guards select with `where` rather than a switch (for TFLite)
        self.step_inputs: dict[str, Any] = {}  # inside a loop: this step of each sequence it reads (by _step_key)
        self.finals: dict[str, Any] = {}  # a loop's last value of the nodes read after it only there

    def at(self, t) -> rules.Context:
        return self.cx._replace(t=t)

    # ---- reads -----------------------------------------------------------------------------------
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
        read = e.read
        if isinstance(read, Fixed):
            return self.finals[src] if src in self.finals else seq[:, read.step]
        if isinstance(read, Range):
            return rules.Ranged(seq, mask=self.step_mask(read.window, t))
        lag = read.k if isinstance(read, Lag) else 0
        key = _step_key(src, lag)
        if key in self.step_inputs:  # inside a loop: the loop's own step of the shifted sequence
            return self.step_inputs[key]
        idx = ops.cast(t, "int32") - lag
        got = ops.take(seq, ops.clip(idx, 0, self.T - 1), axis=1)
        if not lag:
            return got
        inside = (idx >= 0) & (idx < self.T)
        return ops.where(inside, got, rules.initial_state(self.table, src, self.cx))

    def shifted(self, src: str, lag: int):
        """The sequence whose step t is src at t - lag (the initial state where that is no step): what a loop
        reads of a sequence computed before it, one step at a time, at the loop's own step."""
        seq = self.seqs[src]
        if not lag:
            return seq
        k = min(abs(lag), self.T)
        pad = ops.repeat(ops.expand_dims(rules.initial_state(self.table, src, self.cx), 1), k, axis=1)
        if lag > 0:
            return ops.concatenate([pad, seq[:, :self.T - k]], axis=1)
        return ops.concatenate([seq[:, k:], pad], axis=1)

    def read(self, src: str, e: EdgeAttr, t, state: _Step | None):
        a = self.p.node(src)
        if not a.timed:
            return self.env[src]
        if state is None and self.current is not None:  # a streamed head: [last] is this step
            return self.current[src]
        if src in self.finals and isinstance(e.read, Fixed):
            return self.finals[src]  # (a loop's last value: what `h[last]` reads after it)
        if state is not None and src in state.loop_nodes:
            if isinstance(e.read, Range):
                hist = control.time_major(state.hist[src])
                return rules.Ranged(hist, mask=self.step_mask(e.read.window, t))
            if not e.read.depth:
                return state.cur[src]
            return state.bufs[src][e.read.depth - 1]
        return self.read_sequence(src, e, self.seqs[src], t)

    def reads(self, n: str, t, state: _Step | None) -> list:
        return [self.read(src, e, t, state) for src, e in rules.in_edges(self.p, n)]

    # ---- units ------------------------------------------------------------------------------------
    def value(self, n: str):
        """An untimed node."""
        if self.p.node(n).role is Role.INPUT:
            return self.inputs[n]
        return rules.evaluate(self.table, n, self.cx, lambda: self.reads(n, None, None))

    def sequence(self, n: str):
        """A timed node that does not depend on the recurrence, for every step at once."""
        a = self.p.node(n)
        T = self.T
        if a.role is Role.INPUT:
            return self.inputs[n]
        ins = rules.in_edges(self.p, n)
        if a.role is Role.STREAM:
            return self.freeze_sequence(self.seqs[ins[0][0]])
        if rules.kind_of(self.p, n).uses_step:  # row t at step t: the first T rows
            return self.env[ins[0][0]][:, :T]
        folded = []
        for src, e in ins:  # fold the steps into the batch; a value repeats for each step
            if not self.p.node(src).timed:
                v = self.env[src]
                folded.append(v if isinstance(v, float) else ops.repeat(v, T, axis=0))
            else:
                folded.append(ops.reshape(self.seqs[src], (-1, *self.prog.shapes[src])))
        reference = next((x for x in folded if not isinstance(x, float)), self.cx.reference)
        out = rules.apply(self.table, n, folded, self.cx._replace(reference=reference))
        return ops.reshape(out, (-1, T, *self.prog.shapes[n]))

    def freeze_sequence(self, seq):
        """Masking: past each sequence's end a stream keeps its last value."""
        if self.lengths is None:
            return seq
        idx = ops.minimum(ops.arange(self.T, dtype="int32")[None, :], ops.cast(self.lengths, "int32")[:, None] - 1)
        return _each_own_step(seq, idx)

    def start(self, loop: Loop) -> tuple[dict, dict, dict]:
        """A loop's carried state before its first step: shift registers, histories, LSTM cell states."""
        shapes = self.prog.shapes
        bufs = {s: (rules.initial_state(self.table, s, self.cx),) * k for s, k in loop.lags.items()}  # newest first
        hist = {s: ops.zeros((self.T, self.batch, *shapes[s]), dtype="float32") for s in loop.history}
        cells = {self.p.node(n).owner: ops.zeros((self.batch, *shapes[self.p.node(n).owner]), dtype="float32")
                 for n in loop.order if rules.carries_cell(self.p, n)}
        return bufs, hist, cells

    def advance(self, loop: Loop, t, bufs: dict, hist: dict, cells: dict, given: dict | None = None):
        """One step of a loop: every node's value at step t, and the carried state for the next step.

        `given` holds values already known at this step (a streamed input)."""
        guarded = {s for s in loop.order if self.p.node(s).role is Role.STREAM and len(equations_of(self.p, s)) > 1}
        st = _Step(set(loop.order), dict(given or {}), bufs, dict(hist), dict(cells))
        for n in loop.order:
            a = self.p.node(n)
            if n in st.cur or a.role is Role.OP and a.owner in guarded:
                continue  # given, or computed inside its stream's branch
            if a.role is Role.STREAM:
                v = self.stream(n, t, st, loop) if n in guarded else self.equation_root(n, 0, t, st)
                if self.lengths is not None:
                    v = rules.hold(self.table, n, v, bufs[n][0], self.at(t))
                st.cur[n] = v
                if n in st.hist:
                    st.hist[n] = ops.scatter_update(st.hist[n], ops.reshape(t, (1, 1)), v[None])
            else:
                st.cur[n] = self.op(n, t, st)
        new_bufs = {s: (st.cur[s],) + b[:-1] for s, b in bufs.items()}  # (no copy: a tuple of tensors shifts)
        return st.cur, new_bufs, st.hist, st.cells

    def loop(self, loop: Loop) -> None:
        """Run one loop (control.loop: the backend's loop); what later units read comes out as sequences."""
        reads = {}  # the sequences the loop reads one step at a time, shifted by the lag they are read at
        for n in loop.order:
            for src, e in rules.in_edges(self.p, n):
                if src not in loop.order and src in self.seqs and not isinstance(e.read, (Range, Fixed)):
                    lag = e.read.k if isinstance(e.read, Lag) else 0
                    reads.setdefault(_step_key(src, lag), (src, lag))
        xs = {key: self.shifted(src, lag) for key, (src, lag) in reads.items()}
        bufs, hist, cells = self.start(loop)
        last = {n: ops.zeros((self.batch, *self.prog.shapes[n]), dtype="float32") for n in sorted(loop.finals)}

        def body(t, carry, x_t):
            bufs, hist, cells, last = carry
            self.step_inputs = x_t
            cur, bufs, hist, cells = self.advance(loop, t, bufs, hist, cells)
            self.step_inputs = {}
            return (bufs, hist, cells, {n: cur[n] for n in last}), {n: cur[n] for n in loop.collect}

        (_, _, _, last), collected = control.loop(body, (bufs, hist, cells, last), xs, self.T, loop.direction < 0,
                                                  sorted(loop.collect))
        self.finals.update(last)
        self.seqs.update(collected)

    def op(self, n: str, t, st: _Step):
        xs = self.reads(n, t, st)
        if not rules.carries_cell(self.p, n):
            return rules.apply(self.table, n, xs, self.at(t))
        owner = self.p.node(n).owner
        h, st.cells[owner] = rules.apply(self.table, n, xs + [st.cells[owner]], self.at(t))
        return h

    def equation_root(self, s: str, i: int, t, st: _Step):
        src, e = rules.in_edges(self.p, s)[i]
        return self.read(src, e, t, st)

    def stream(self, s: str, t, st: _Step, loop: Loop):
        """A stream with guards: the equation that holds at step t (a switch on a table of steps)."""
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
        index = ops.take(ops.convert_to_tensor(table), t)
        if not self.branchless:
            value, cells = ops.switch(index, branches)
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
        out = (self.seqs if decl.per_step else self.env)[decl.name]
        split = rules.final_split(self.p, decl)
        if split is None:
            return [out, out]
        src, e = rules.in_edges(self.p, split)[0]
        if not decl.per_step:
            return [out, self.read(src, e, None, None)]
        return [out, self.seqs[src] if src in self.seqs and not e.read.carries_state else out]


def emit_looped(prep) -> KerasModels:
    """The looped lowering's Keras models (output and logits, sharing the one LoopedProgram layer)."""
    p = prep.program
    inputs = model_inputs(p)
    bindings = {"steps": p.steps, "shapes": {i.name: list(i.shape) for i in p.inputs if i.shape is not None},
                "sizes": {o.name: o.size for o in p.outputs if o.size is not None}, "masked": p.masked}
    names: set[str] = set()
    program = LoopedProgram(p.source, bindings, checked=prep.checked, plan=prep.schedule.loops,
                            name=keras_name(f"{p.name}_looped", names))
    results = program(list(inputs.values()))
    outs = {d.name: results[2 * i] for i, d in enumerate(p.outputs)}
    logits = {d.name: results[2 * i + 1] for i, d in enumerate(p.outputs)}
    return assemble(p, inputs, outs, logits, "looped", program.table.weighted(), names)


class StepFunctions:
    """A spec run one step at a time: `advance(inputs at t, state) -> (outputs, new state)` and its
    `initial` state.  The state holds every delay buffer (each stream's last k values), the LSTM cell
    states and the step index t (for guards).  Backend-neutral (`keras.ops`): truncated backpropagation
    runs it on every backend; export.py wraps it in TensorFlow functions for a SavedModel.

    The outputs at a step are what the spec's outputs are when that step is the last one: a
    per-step output's value at t, or a per-sequence output read from the streams at t.
    """

    def __init__(self, program: LoopedProgram):
        self.program = program
        self.p = program.p
        self.loop = plan_streaming(self.p)
        self.inputs = [i for i in self.p.inputs if i.sequence]
        self.output_names = [o.name for o in self.p.outputs]
        shapes = program.shapes
        # name -> (shape after the batch axis, dtype) of each part of the state, and of each input at a step
        self.state_shapes: dict[str, tuple[tuple[int, ...], str]] = {"t": ((), "int32")}
        for s, k in sorted(self.loop.lags.items()):
            self.state_shapes[f"buf_{s}"] = ((k, *shapes[s]), "float32")
        for s in sorted(self._cells()):
            self.state_shapes[f"cell_{s}"] = (tuple(shapes[s]), "float32")
        self.input_shapes = {i.name: tuple(i.shape) for i in self.inputs}
        untimed = [n for n in self.p.folded.nodes if not self.p.node(n).timed]
        order = list(nx.lexicographical_topological_sort(self.p.folded.subgraph(untimed), key=self.p.order))
        after = {n for n in order if any(self.p.node(a).timed for a in nx.ancestors(self.p.folded, n))}
        self.before_steps = [n for n in order if n not in after]  # params, numbers: once per step, first
        self.after_steps = [n for n in order if n in after]  # the head, on this step's values

    def _cells(self) -> set[str]:
        return {self.p.node(n).owner for n in self.loop.order if rules.carries_cell(self.p, n)}

    def _run(self, reference, lengths=None, training=False) -> _Run:
        run = _Run(self.program, {self.inputs[0].name: reference}, lengths, training)
        run.branchless = True  # one step costs little, and a step function without control flow converts anywhere
        return run

    def initial(self, batch) -> dict:
        reference = ops.zeros((batch, *self.inputs[0].shape), dtype="float32")
        run = self._run(reference)
        bufs, _, cells = run.start(self.loop)
        state = {"t": ops.convert_to_tensor(0, "int32")}
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
            split = rules.final_split(self.p, o) if logits else None
            if split is not None:
                name = rules.in_edges(self.p, split)[0][0]
            outputs[o.name] = cur[name] if self.p.node(name).timed else run.env[name]
        new = {"t": t + 1}
        new.update({f"buf_{s}": ops.stack(v, axis=1) for s, v in bufs.items()})
        new.update({f"cell_{s}": v for s, v in cells.items()})
        return outputs, new
