"""Export a spec's model for serving and streaming: a SavedModel, or a TFLite file made from it.

(ONNX is not offered: tf2onnx 1.17 fails on TensorFlow 2.21 graphs, "graph input ... not exist".)

Signatures:

* `serving_default(x...)`: the whole sequence.  A spec that can stream is run by stepping
  through any number of steps; one that cannot (a backward stream) uses its model at its
  number of steps.
* `step(x..., t, buf_h, ..., cell_c, ...)`: one step, `step(x_t, state) -> (y_t, new_state)`.
  The state is the step index `t`, every stream's delay buffer `buf_<stream>` (its last k
  values, newest first) and every LSTM's cell state `cell_<stream>`; the outputs are the
  spec's outputs at this step and the new state under the same names.
* `initial_state(batch)`: the state before the first step (zeros, or the learned initial states).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from ...checks import Checked
from ...passes.loops import NotStreamable, plan_streaming
from .models import KerasModels
from .looped import LoopedProgram, StepFunctions

__all__ = ["FORMATS", "Exported", "export_models", "NotStreamable", "load_weights", "save_weights"]

FORMATS = ("saved_model", "tflite")


@dataclass(frozen=True)
class Exported:
    path: Path
    signatures: tuple[str, ...]
    streaming: bool
    note: str = ""


def save_weights(models: KerasModels, path: Path) -> None:
    """Every weight by weight id (`<id>:<index>`), so another lowering or an export can take them."""
    arrays = {f"{key}:{i}": w for key, layer in models.layers.items() for i, w in enumerate(layer.get_weights())}
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_weights(models: KerasModels, path: Path) -> None:
    with np.load(path, allow_pickle=False) as z:
        for key, layer in models.layers.items():
            n = len(layer.weights)
            if n:
                layer.set_weights([z[f"{key}:{i}"] for i in range(n)])


def _whole(steps: StepFunctions, inputs: dict) -> dict:
    """Step through every step of the inputs (any length, so tf.while_loop); the outputs at the last step,
    or at every step."""
    first = inputs[steps.inputs[0].name]
    T = tf.shape(first)[1]
    state = steps.initial(tf.shape(first)[0])
    per_step = {o.name: tf.TensorArray(tf.float32, size=T) for o in steps.p.outputs if o.per_step}
    last = {o.name: tf.zeros((tf.shape(first)[0], o.size or 1)) for o in steps.p.outputs if not o.per_step}

    def body(i, state, per_step, last):
        outs, state = steps.advance({k: v[:, i] for k, v in inputs.items()}, state)
        per_step = {k: array.write(i, outs[k]) for k, array in per_step.items()}
        last = {k: outs[k] for k in last}
        return i + 1, state, per_step, last

    _, _, per_step, last = tf.while_loop(lambda i, *_: i < T, body, (tf.constant(0), state, per_step, last))
    out = dict(last)
    out.update({k: tf.transpose(array.stack(), [1, 0, 2]) for k, array in per_step.items()})
    return out


def _module(checked: Checked, models: KerasModels, stream: bool) -> tuple[tf.Module, dict]:
    """A tf.Module holding the weights, and its signatures."""
    p = checked.program
    module = tf.Module()
    module.model = models.model
    signatures = {}
    if stream:
        program = next(l for l in models.model.layers if isinstance(l, LoopedProgram))
        steps = StepFunctions(program)
        in_specs = {k: tf.TensorSpec((None, *shape), tf.float32, name=k) for k, shape in steps.input_shapes.items()}
        state_specs = {k: tf.TensorSpec(((None, *shape) if k != "t" else ()), dtype, name=k)
                       for k, (shape, dtype) in steps.state_shapes.items()}

        @tf.function(input_signature=[{**in_specs, **state_specs}])
        def step(args):
            outs, new = steps.advance({k: args[k] for k in in_specs}, {k: args[k] for k in state_specs})
            return {**outs, **new}

        @tf.function(input_signature=[tf.TensorSpec((), tf.int32, name="batch")])
        def initial_state(batch):
            return steps.initial(batch)

        whole_specs = {k: tf.TensorSpec((None, None, *s.shape[1:]), tf.float32, name=k) for k, s in in_specs.items()}

        @tf.function(input_signature=[whole_specs])
        def serve(args):
            return _whole(steps, args)

        module.step_fn, module.initial_fn, module.serve_fn = step, initial_state, serve
        signatures = {"serving_default": serve.get_concrete_function(),
                      "step": step.get_concrete_function(),
                      "initial_state": initial_state.get_concrete_function()}
    else:
        specs = {}
        for i in p.inputs:
            shape = (None, p.steps, *i.shape) if i.sequence else (None, *i.shape)
            specs[i.name] = tf.TensorSpec(shape, tf.float32, name=i.name)
        if p.masked:
            specs["lengths"] = tf.TensorSpec((None,), tf.int32, name="lengths")
        model = models.model

        @tf.function(input_signature=[specs])
        def serve(args):
            x = args if len(args) > 1 else next(iter(args.values()))
            out = model(x, training=False)
            return out if isinstance(out, dict) else {p.outputs[0].name: out}

        module.serve_fn = serve
        signatures = {"serving_default": serve.get_concrete_function()}
    return module, signatures


def export_models(checked: Checked, models: KerasModels, out: Path, fmt: str, whole_only: bool = False) -> Exported:
    """Write `models` (a looped model when streaming) to `out` in `fmt`; raise NotStreamable when the step
    signature is asked for and the spec cannot stream."""
    stream = not whole_only
    if stream:
        plan_streaming(checked.program)  # raises NotStreamable with the reason
    module, signatures = _module(checked, models, stream)
    out = Path(out)
    if fmt == "saved_model":
        tf.saved_model.save(module, str(out), signatures=signatures)
        return Exported(out, tuple(signatures), stream)
    with tempfile.TemporaryDirectory(prefix="rnndsl-export-") as tmp:
        tf.saved_model.save(module, tmp, signatures=signatures)
        if fmt == "tflite":
            # One function, its weights frozen to constants (converting the SavedModel's signatures keeps
            # them as resource variables that the interpreter never initialises: NaN out).  TFLite names
            # a single function's signature `serving_default`.
            key = "step" if stream else "serving_default"
            loaded = tf.saved_model.load(tmp)
            converter = tf.lite.TFLiteConverter.from_concrete_functions([loaded.signatures[key]], loaded)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
            out.write_bytes(converter.convert())
            what = ("the step function (pass zeros as the first state: step 0 starts from the initial state)"
                    if stream else "the whole-sequence function")
            return Exported(out, ("serving_default",), stream, note=f"its one signature is {what}")
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")  # pragma: no cover


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
