"""`rnndsl export`: a spec's model (untrained) or a run folder's trained model, for serving and streaming."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..pipeline import Bindings
from .common import UsageError
from .compile import spec_checker

__all__ = ["add_parser", "cmd_export"]

_FORMATS = ("saved_model", "tflite")  # (not ONNX: tf2onnx fails on TensorFlow 2.21 graphs)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a model (SavedModel or TFLite) with a whole-sequence and a "
                                      "step-by-step signature",
                       description="Export SPEC (untrained weights) or RUN (a run folder of `rnndsl compile`: its "
                                   "trained weights). The step signature step(x_t, state) -> (y_t, new_state) "
                                   "streams a sequence one step at a time; initial_state(batch) gives the first "
                                   "state; serving_default runs a whole sequence.")
    p.add_argument("source", metavar="SPEC|RUN", help="a .rnn spec, or a run folder")
    p.add_argument("--format", choices=_FORMATS, default="saved_model")
    p.add_argument("-o", "--output", required=True, metavar="PATH",
                   help="a new folder (saved_model) or file (.tflite)")
    p.add_argument("--steps", type=int, metavar="N",
                   help="steps of the whole-sequence model when the data decides them (default: as checked)")
    p.add_argument("--whole-only", action="store_true",
                   help="only the whole-sequence signature (for a spec that cannot stream, such as one with a "
                        "backward stream)")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from ..training.session import bind_spec, build, prepare_spec

    source = Path(args.source)
    out = Path(args.output)
    if out.exists() and (out.is_file() or any(out.iterdir())):
        raise UsageError(f"{out}: exists; name a new path (nothing is overwritten)")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise UsageError(f"{out}: the folder {out.parent} does not exist")
    if args.steps is not None and not 1 <= args.steps <= 10_000:
        raise UsageError(f"--steps must be between 1 and 10,000, got {args.steps}")
    weights, lowering = None, "looped"  # the step signature runs the looped lowering's step function
    if source.is_dir():  # a run folder: the model is built again exactly as the run built it (masking included)
        from ..training.run_folder import read_run_folder

        if args.steps is not None:
            raise UsageError("--steps is for a spec; a run folder's model has the steps its data bound")
        run = read_run_folder(source, need=("weights",))
        weights = run.weights
        bound = bind_spec(spec_checker(str(run.spec_path)), bindings=run.bindings)
        if args.whole_only:
            lowering = run.lowering or "unrolled"
    else:
        bound = bind_spec(spec_checker(str(source)), bindings=Bindings(args.steps) if args.steps else None)
        if args.whole_only:
            lowering = "unrolled"
    checked = bound.checked
    from ..passes.loops import NotStreamable, plan_streaming

    if not args.whole_only:
        try:
            plan_streaming(checked.program)
        except NotStreamable as err:
            raise UsageError(f"{checked.program.name} cannot be exported step by step: {err}; export the whole "
                             f"sequence only with --whole-only") from None
    prepared = prepare_spec(bound, None, lowering)
    print(f"rnndsl: exporting {checked.program.name} ({checked.total_params:,} parameters"
          f"{', trained weights from ' + str(source) if weights else ', untrained weights'}) as {args.format}; "
          f"importing TensorFlow ...", flush=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ..training.backend import BackendError, use

    try:  # a SavedModel is TensorFlow's: export builds on it whatever backend trained the weights
        use("tensorflow")
    except BackendError as err:
        raise UsageError(str(err)) from None
    from ..backends.keras.export import export_models, load_weights

    models = build(prepared, seed=0, backend="tensorflow")
    if weights is not None:
        load_weights(models, weights)
    try:
        done = export_models(checked, models, out, args.format, whole_only=args.whole_only)
    except RuntimeError as err:
        raise UsageError(str(err)) from None
    sigs = ", ".join(done.signatures)
    print(f"rnndsl: wrote {done.path} ({args.format}; signatures: {sigs})" + (f"; {done.note}" if done.note else ""))
    return 0
