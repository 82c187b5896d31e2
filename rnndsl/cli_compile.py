"""`rnndsl compile SPEC [--train] ...`: build the Keras model, optionally train it, write a run folder."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the compile sub-command."""
    p = sub.add_parser("compile", help="build the TensorFlow model; with --train, train it and save a run folder")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--train", action="store_true", help="train (defaults from the spec's train block)")
    p.add_argument("--epochs", type=_positive, help="override the spec's epochs")
    p.add_argument("--batch-size", type=_positive, help="override the spec's batch size")
    p.add_argument("--lr", type=float, help="override the optimizer's learning rate")
    p.add_argument("--data", choices=("mnist", "cifar10", "synthetic"),
                   help="dataset (default: the spec's `data` line); synthetic is embedded and needs no network")
    p.add_argument("--data-dir", metavar="DIR", help="read the dataset's standard files from DIR")
    p.add_argument("--limit", type=_positive, metavar="N", help="train on the first N training examples")
    p.add_argument("--seed", type=int, help="random seed (default: the spec's, else 0)")
    p.add_argument("--xla", action="store_true", help="compile the training step with XLA (jit_compile)")
    p.add_argument("--deterministic", action="store_true",
                   help="ask TensorFlow for deterministic kernels (slower on GPU; CPU runs are repeatable anyway)")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/<spec>-<time>/)")
    p.add_argument("--no-summary", action="store_true", help="do not print the Keras model summary")
    p.set_defaults(func=cmd_compile)


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return n


def _resolved_spec(text: str, settings) -> str:
    """The spec in canonical form, its train block replaced by the settings actually used."""
    from . import ast as A
    from .parse import parse
    from .printer import unparse

    spec = parse(text)
    body = unparse(A.Spec(tuple(s for s in spec.statements if not isinstance(s, A.Train))))
    opt = ", ".join(f"{k}={v:g}" for k, v in settings.optimizer_params.items())
    return body + (f"train {{ optimizer {settings.optimizer}({opt})  batch {settings.batch}  "
                   f"epochs {settings.epochs}  seed {settings.seed} }}\n")


def cmd_compile(args: argparse.Namespace) -> int:
    from .cli import UsageError, _load

    checked, text = _load(args.spec)  # fails before TensorFlow is imported
    program = checked.program
    cfg = program.train
    opt_params = dict(cfg.optimizer_params.items())
    if args.lr is not None:
        opt_params["lr"] = args.lr
    from .train import Settings

    settings = Settings(cfg.optimizer, opt_params, args.batch_size or cfg.batch, args.epochs or cfg.epochs,
                        cfg.seed if args.seed is None else args.seed, args.xla)
    out = Path(args.out) if args.out else Path("runs") / f"{program.name}-{datetime.now():%Y%m%d-%H%M%S}"

    print(f"rnndsl: {program.name}: {checked.total_params:,} parameters; importing TensorFlow ...", flush=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from .data import DataError, load_data
    from .emit_tf import emit_tf
    from .train import device_description, fit, write_run

    keras.utils.set_random_seed(settings.seed)
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    started = time.perf_counter()
    compiled = emit_tf(checked)
    build_s = time.perf_counter() - started
    n_keras = compiled.model.count_params()
    if not args.no_summary:
        compiled.model.summary(line_length=110, print_fn=lambda s, **kw: print(s))
    print(f"rnndsl: built in {build_s:.2f} s on {device_description()}; Keras counts {n_keras:,} parameters, "
          f"rnndsl check counts {checked.total_params:,}")
    if n_keras != checked.total_params:  # a backend defect, not a user error
        print("rnndsl: error: the two parameter counts differ", file=sys.stderr)
        return 1

    data = None
    result = None
    if args.train:
        if program.dataset is None:
            raise UsageError("the spec has no dataset")
        try:
            data = load_data(args.data or program.dataset.name, program.dataset, args.data_dir, args.limit, settings.seed)
        except DataError as err:
            raise UsageError(str(err)) from None
        print(f"rnndsl: data: {data.describe()}")
        print(f"rnndsl: training {settings.epochs} epoch(s), batch {settings.batch}, {settings.optimizer} "
              f"lr {settings.optimizer_params['lr']:g}, seed {settings.seed}, xla {'on' if settings.xla else 'off'}",
              flush=True)

        def report(row) -> None:
            print(f"rnndsl: epoch {row.epoch}/{settings.epochs}: train loss {row.train_loss:.4f} acc "
                  f"{row.train_acc:.4f} | test loss {row.test_loss:.4f} acc {row.test_acc:.4f} | "
                  f"{row.seconds:.1f} s", flush=True)

        result = fit(compiled, data, settings, verbose=1 if sys.stdout.isatty() else 0, on_epoch=report)
        if result.interrupted:
            print(f"\nrnndsl: interrupted after {len(result.rows)} epoch(s); saving what was done", file=sys.stderr)
    write_run(out, checked, compiled, text, _resolved_spec(text, settings), data, settings, result,
              {"build_seconds": round(build_s, 3), "command": " ".join(sys.argv)})
    _write_diagram(checked, out)
    if result is not None and result.rows:
        last = result.rows[-1]
        print(f"rnndsl: final test accuracy {last.test_acc:.4f} (loss {last.test_loss:.4f}) after "
              f"{last.epoch} epoch(s); run folder {out}")
    else:
        print(f"rnndsl: model saved; run folder {out}")
    return 130 if result is not None and result.interrupted else 0


def _write_diagram(checked, out: Path) -> None:
    """The unrolled diagram beside the model (DOT always; SVG when Graphviz is installed)."""
    from .emit_dot import emit_dot
    from .render import RenderError, render_bytes

    dot = emit_dot(checked, view="unrolled")
    (out / "diagram.dot").write_text(dot, encoding="utf-8")
    try:
        (out / "diagram.svg").write_bytes(render_bytes(dot, "svg"))
    except RenderError as err:
        print(f"rnndsl: note: {err}; wrote diagram.dot only", file=sys.stderr)
