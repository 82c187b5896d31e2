"""`rnndsl compile SPEC [--train] ...`: build the Keras model, optionally train it, write a run folder."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..syntax import ast as A
from ..syntax import parse, unparse
from ..training.backend import BACKENDS, choose
from ..training.config import RunConfig, run_config
from .common import UsageError, load, write_atomic

if TYPE_CHECKING:  # imported where they run: `rnndsl check` loads neither numpy nor the data readers
    from ..training.run_folder import SavedRun
    from ..training.session import Bound, Check

__all__ = ["add_parser"]


def _int_between(lo: int, hi: int | None = None):
    """An argparse type: a whole number in lo..hi (a clear message, exit 2, otherwise)."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
        if n < lo or (hi is not None and n > hi):
            raise argparse.ArgumentTypeError(f"must be at least {lo}, got {n}" if hi is None
                                             else f"must be between {lo} and {hi}, got {n}")
        return n

    return parse


# data.sources.choices(), written out so that building the parser (`rnndsl check` too) loads no data readers
# and no numpy; a test holds the two equal
DATA_CHOICES = ("a data file (.ts with its _TRAIN/_TEST partner, .npz, .csv) or a built-in set: mnist, cifar10, "
                "synthetic (generated, no network)")

_positive = _int_between(1)
_seed = _int_between(0, 2**31 - 1)


def _rate(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not math.isfinite(x) or x <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return x


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the compile sub-command."""
    p = sub.add_parser("compile", help="build the Keras model; with --train, train it (TensorFlow, JAX or PyTorch) "
                                       "and save a run folder")
    p.add_argument("spec", metavar="SPEC", nargs="?", help="the spec (with --resume: taken from the run folder)")
    p.add_argument("--train", action="store_true", help="train (defaults from the spec's train block)")
    p.add_argument("--epochs", type=_positive, help="override the spec's epochs")
    p.add_argument("--batch-size", type=_positive, help="override the spec's batch size")
    p.add_argument("--lr", type=_rate, help="override the optimizer's learning rate")
    p.add_argument("--data", metavar="DATA", help=f"{DATA_CHOICES}; default: the spec's `data` line")
    p.add_argument("--data-dir", metavar="DIR", help="read a built-in set's standard files from DIR")
    p.add_argument("--window", type=_positive, metavar="W",
                   help="for a .csv series: forecasting windows of W steps (the next value at every step)")
    p.add_argument("--limit", type=_positive, metavar="N", help="train on the first N training examples")
    p.add_argument("--seed", type=_seed, help="random seed (default: the spec's, else 0)")
    p.add_argument("--xla", action="store_true", help="compile the training step with XLA (jit_compile)")
    p.add_argument("--tbptt", type=_int_between(0, 10_000), metavar="K",
                   help="truncated backpropagation through time: chunks of K steps, the state carried, gradients "
                        "cut between them (0: off; overrides the spec's `tbptt`)")
    p.add_argument("--lowering", choices=("unrolled", "looped", "auto"), default=None,
                   help="every step in the graph (unrolled), a tf.while_loop over the steps (looped), or "
                        "looped from 200 steps when the spec can loop (auto, the default)")
    p.add_argument("--deterministic", action="store_true",
                   help="ask TensorFlow for deterministic kernels (slower on GPU; CPU runs are repeatable anyway)")
    p.add_argument("--out", metavar="DIR", help="run folder, new or empty (default runs/<spec>-<time>/)")
    p.add_argument("--no-summary", action="store_true", help="do not print the Keras model summary")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="the Keras backend that trains: tensorflow, jax or torch (default: KERAS_BACKEND, else "
                        "tensorflow; --resume keeps the run's)")
    p.add_argument("--strategy", choices=("default", "mirrored", "multiworker"), default="default",
                   help="tf.distribute: mirrored (every local GPU), multiworker (processes or machines, "
                        "each with its TF_CONFIG; worker 0 writes the run folder)")
    p.add_argument("--checkpoint-every", type=_positive, metavar="N",
                   help="also save a checkpoint every N batches (one is always saved after every epoch)")
    p.add_argument("--resume", metavar="RUN",
                   help="continue an interrupted, killed or diverged run from its newest checkpoint "
                        "(--epochs may extend it, --lr lower its rate)")
    p.set_defaults(func=cmd_compile)


def _resolved_spec(text: str, cfg: RunConfig) -> str:
    """The spec in canonical form, its train block replaced by the settings actually used."""
    spec = parse(text)
    body = unparse(A.Spec(tuple(s for s in spec.statements if not isinstance(s, A.Train))))
    opt = ", ".join(f"{k}={v:g}" for k, v in cfg.optimizer_params.items())
    return body + (f"train {{ optimizer {cfg.optimizer}({opt})  batch {cfg.batch}  "
                   f"epochs {cfg.epochs}  seed {cfg.seed} }}\n")


def _run_folder(args: argparse.Namespace, name: str) -> Path:
    """The run folder, checked before any work: never an existing file or a folder with files in it."""
    out = Path(args.out) if args.out else Path("runs") / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    if not args.out:  # two runs in one second: number the second
        base, n = out, 1
        while out.exists():
            n += 1
            out = base.with_name(f"{base.name}-{n}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is an existing file; name a new or empty folder")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"--out {out}: the folder already holds files; name a new or empty folder "
                         f"(a run folder is never overwritten)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--out {out}: cannot create the folder: {err.strerror or err}") from None
    if not os.access(out, os.W_OK):
        raise UsageError(f"--out {out}: the folder is not writable")
    return out


def spec_checker(path: str) -> Check:
    """The command line's check of a spec file: read it, print its diagnostics and warnings (common.load)."""
    return lambda bindings, note="": load(path, bindings, note)[0]


def _resume_args(args: argparse.Namespace) -> SavedRun:
    """The run to resume; its spec, data and settings become the defaults."""
    from ..training.run_folder import RunFolderError, read_run_folder

    try:
        run = read_run_folder(args.resume, need=("checkpoint",))
    except RunFolderError as err:
        raise UsageError(f"--resume {err}") from None
    if args.spec and Path(args.spec).resolve() != run.spec_path.resolve():
        raise UsageError("--resume continues the run folder's own spec; leave SPEC out")
    for key, value in run.data_args.record().items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    settings = run.settings
    args.batch_size = args.batch_size or settings.get("batch")
    args.seed = settings.get("seed") if args.seed is None else args.seed
    args.epochs = args.epochs or settings.get("epochs")
    if args.lr is None and (settings.get("optimizer_params") or {}).get("lr"):
        args.lr = float(settings["optimizer_params"]["lr"])
    args.lowering = args.lowering or run.lowering  # the checkpoint holds that model's variables
    asked = args.backend or os.environ.get("KERAS_BACKEND")
    if asked and asked != run.backend:
        where = "--backend" if args.backend else "KERAS_BACKEND"
        raise UsageError(f"--resume {run.folder}: it trained on the {run.backend} backend, {where} asks for {asked}; "
                         f"a run resumes on its own backend (leave {where} out)")
    args.backend = run.backend
    args.train, args.out, args.spec = True, str(run.folder), str(run.spec_path)
    return run


def _out_folder(args: argparse.Namespace, run: SavedRun | None, cfg: RunConfig, chief: bool, name: str) -> Path:
    if run is not None:
        if run.status == "finished" and cfg.epochs <= run.epochs_done:
            raise UsageError(f"--resume {run.folder}: it finished its {run.epochs_done} epoch(s); pass --epochs N "
                             f"(N > {run.epochs_done}) to train further")
        return run.folder
    if chief:
        return _run_folder(args, name)
    import tempfile  # another worker of a multi-worker run: the chief writes the run folder; this one keeps scratch

    return Path(tempfile.mkdtemp(prefix="rnndsl-worker-"))


def _is_chief(strategy: str) -> bool:
    if strategy != "multiworker":
        return True
    from ..training.distribute import tf_config_role

    try:
        return tf_config_role()[0] == 0
    except ValueError as err:
        raise UsageError(str(err)) from None


def _same_data(run: SavedRun, bound: Bound) -> None:
    """A resumed run's data must bind as it did when the run started: the checkpoint holds that model."""
    from ..training.binding import from_record, recorded

    then, now = run.bindings, from_record(recorded(bound.program))
    if then is not None and now != then:
        diffs = "; ".join(f"{key} {getattr(then, key)!r} then, {getattr(now, key)!r} now"
                          for key in ("steps", "shapes", "sizes", "masked") if getattr(then, key) != getattr(now, key))
        raise UsageError(f"--resume {run.folder}: the data binds differently from when the run started ({diffs}); "
                         f"the checkpoint holds the model built then")


def cmd_compile(args: argparse.Namespace) -> int:
    from ..data import DataArgs, load as load_data, source_of
    from ..training.session import bind_spec, prepare_spec

    run = _resume_args(args) if args.resume else None
    if run is None and not args.spec:
        raise UsageError("compile needs a SPEC (or --resume RUN)")
    check = spec_checker(args.spec)
    analysed = check(None, "")  # fails before TensorFlow is imported
    cfg = run_config(analysed.train, lr=args.lr, batch=args.batch_size, epochs=args.epochs, seed=args.seed,
                     xla=args.xla, tbptt=args.tbptt)
    data_args, spec_data, wants_data = DataArgs.of(args), analysed.checked.program.data, bool(args.train or args.data)
    if wants_data:
        source_of(data_args, spec_data)  # the data-source rules, before the run folder is made
    backend = _backend(args)
    chief = _is_chief(args.strategy)
    out = _out_folder(args, run, cfg, chief, analysed.checked.program.name)
    # the data is read, checked and bound to the spec before anything is built
    bound = bind_spec(check, load_data(data_args, spec_data, cfg.seed) if wants_data else None, first=analysed)
    if run is not None:
        _same_data(run, bound)
    checked, program = bound.checked, bound.program
    prepared = prepare_spec(bound, cfg, args.lowering or "auto", backend)  # the lowering is chosen here, once
    print(f"rnndsl: {program.name}: {checked.total_params:,} parameters, {prepared.schedule.lowering} over "
          f"{program.steps} step{'s' if program.steps != 1 else ''}; importing Keras with the {backend} backend ...",
          flush=True)
    models, dist, build_s = _build(args, prepared, cfg, backend)
    from ..training.run_folder import RunFolder

    text = program.source
    folder = RunFolder(out, checked, text, _resolved_spec(text, cfg), bound.data, cfg, lowering=models.lowering,
                       backend=backend, data_args=data_args, extra={"build_seconds": round(build_s, 3), "command": " ".join(sys.argv)})
    if chief:
        folder.start(resumed=run is not None)
        folder.graph(models)
    result, status = None, "finished"
    if bound.data is not None and args.train:
        result, status = _train(args, models, bound, cfg, out, folder if chief else None, run is not None, dist)
    old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the last writes short
    try:
        if chief:
            folder.finish(models, result, status)
            _write_diagram(checked, out)
    finally:
        signal.signal(signal.SIGINT, old_int)
    return _last_words(chief, status, result, out)


def _backend(args: argparse.Namespace) -> str:
    """The Keras backend (--backend, else KERAS_BACKEND, else tensorflow), and the flags it cannot take refused,
    before the run folder is made or keras imported."""
    from ..training.backend import BackendError

    try:
        backend = choose(args.backend)
    except BackendError as err:
        raise UsageError(str(err)) from None
    if backend != "tensorflow" and args.strategy != "default":
        offer = {"jax": "JAX would shard each batch over a device mesh (jax.sharding, keras.distribution)",
                 "torch": "PyTorch would run one process per device under DistributedDataParallel"}[backend]
        raise UsageError(f"--strategy {args.strategy} is tf.distribute, on the tensorflow backend only; {offer}, "
                         f"which rnndsl does not offer: leave --strategy out or use --backend tensorflow")
    if backend == "torch" and args.xla:
        raise UsageError("--xla is TensorFlow's jit_compile (JAX always compiles with XLA); the torch backend has "
                         "no XLA here: leave --xla out")
    return backend


def _build(args: argparse.Namespace, prepared, cfg: RunConfig, backend: str):
    """Import Keras on its backend, set up the distribution strategy (TensorFlow), build (training/session.build)
    and say so; return the models, the strategy (or None) and the seconds the build took."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ..training.backend import use

    if args.deterministic and backend == "jax":  # (XLA on CPU is deterministic; on GPU it must be asked)
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_gpu_deterministic_ops=true").strip()
    use(backend)  # KERAS_BACKEND, before keras is first imported
    from ..training.run_folder import device_description
    from ..training.session import build

    dist = None
    if backend == "tensorflow":
        import tensorflow as tf

        from ..training.distribute import distribution

        dist = distribution(args.strategy)
        if args.deterministic:
            tf.config.experimental.enable_op_determinism()
    elif backend == "torch" and args.deterministic:
        import torch

        torch.use_deterministic_algorithms(True)
    if dist is not None:
        print(f"rnndsl: {args.strategy} strategy: {dist.replicas} replica(s), worker {dist.worker} of {dist.workers}",
              flush=True)
    started = time.perf_counter()
    models = build(prepared, seed=cfg.seed, scope=dist.strategy.scope() if dist is not None else None,
                   backend=backend)
    build_s = time.perf_counter() - started
    if not args.no_summary:
        models.model.summary(line_length=110, print_fn=lambda s, **kw: print(s))
    print(f"rnndsl: built in {build_s:.2f} s on {device_description()}; Keras counts {models.model.count_params():,} "
          f"parameters, rnndsl check counts {prepared.checked.total_params:,}")
    return models, dist, build_s


def _last_words(chief: bool, status: str, result, out: Path) -> int:
    """The closing line and the exit code."""
    if not chief:
        print(f"rnndsl: worker done; the chief (worker 0) wrote the run folder", flush=True)
        return 0 if status == "finished" else 130
    if status == "diverged":
        return 4
    if result is not None and result.rows:
        last = result.rows[-1]
        finals = ", ".join(f"{_WORDS.get(k[5:], k[5:])} {v:.4f}" for k, v in last.values.items()
                           if k.startswith("test_") and k != "test_loss")
        print(f"rnndsl: final test {finals} (loss {last.test_loss:.4f}) after {last.epoch} epoch(s); run folder {out}")
    else:
        print(f"rnndsl: model saved; run folder {out}")
    return 130 if status == "interrupted" else 0


def _train(args: argparse.Namespace, models, bound: Bound, cfg: RunConfig, out: Path, folder, resumed: bool, dist):
    """Train into `out` (printing a line per epoch; the run folder, when this process writes one, rewritten
    after each); return the result and the status: finished, interrupted or diverged."""
    from ..training.loop import Diverged, RunResult, fit

    data, program = bound.data, bound.program
    print(f"rnndsl: data: {data.describe()}")
    what = "resuming" if resumed else "training"
    chunks = f"tbptt {cfg.tbptt} steps, " if cfg.tbptt and cfg.tbptt < program.steps else ""
    print(f"rnndsl: {what} {cfg.epochs} epoch(s), batch {cfg.batch}, {cfg.optimizer} lr {cfg.lr:g}, {chunks}"
          f"seed {cfg.seed}, {_keras_backend()} backend, xla {'on' if cfg.xla else 'off'}; "
          f"checkpoints in {out / 'checkpoints'}", flush=True)
    live = RunResult()

    def report(row) -> None:
        def part(split: str) -> str:
            return " ".join(f"{k[len(split) + 1:]} {v:.4f}" for k, v in row.values.items() if k.startswith(split))
        print(f"rnndsl: epoch {row.epoch}/{cfg.epochs}: train {part('train')} | test {part('test')} | "
              f"{row.seconds:.1f} s", flush=True)
        if folder is not None:
            folder.epoch(live)

    old_term = signal.signal(signal.SIGTERM, _terminate)  # SIGTERM stops like Ctrl-C: a checkpoint, then exit
    try:
        result = fit(models, data, cfg, on_epoch=report, folder=out,
                     checkpoint_every=args.checkpoint_every, resume=resumed, live=live, dist=dist)
        status = "interrupted" if result.interrupted else "finished"
    except Diverged as err:
        result, status = live, "diverged"
        _diverged(err, out, cfg)
    finally:
        signal.signal(signal.SIGTERM, old_term)
    if status == "interrupted":
        print(f"\nrnndsl: interrupted after {len(result.rows)} epoch(s); saving what was done; continue with "
              f"rnndsl compile --resume {out}", file=sys.stderr)
    return result, status


def _keras_backend() -> str:
    import keras

    return keras.backend.backend()


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


def _diverged(err, out: Path, cfg: RunConfig) -> None:
    where = (f"the last good checkpoint is from epoch {err.last_good[0]}"
             + (f", step {err.last_good[1]}" if err.last_good[1] else " (start)") if err.last_good
             else "no checkpoint was saved before it")
    print(f"rnndsl: error: training diverged: the loss became {err.loss} (NaN or infinite) at epoch {err.epoch}, "
          f"step {err.step}, with lr {cfg.lr:g}; {where}.\n"
          f"  Resume with a lower rate: rnndsl compile --resume {out} --lr {cfg.lr / 10:g}", file=sys.stderr)


_WORDS = {"acc": "accuracy", "mse": "MSE", "mae": "MAE", "binacc": "binary accuracy"}


def _write_diagram(checked, out: Path) -> None:
    """The unrolled diagram beside the model (DOT always; SVG when Graphviz is installed)."""
    from ..backends.dot import RenderError, emit_dot, render_bytes

    dot = emit_dot(checked, view="unrolled")
    write_atomic(out / "diagram.dot", dot.encode("utf-8"))
    try:
        write_atomic(out / "diagram.svg", render_bytes(dot, "svg"))
    except RenderError as err:
        print(f"rnndsl: note: {err}; wrote diagram.dot only", file=sys.stderr)
