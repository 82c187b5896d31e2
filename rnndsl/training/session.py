"""From spec text to built models, one way: analyse, bind the data, analyse again, prepare, build.

`bind_spec` (analyse, bind, analyse again) and `prepare_spec` (the passes, the schedule pass
choosing the lowering once) import no TensorFlow, so the data is read, checked and bound, and
the lowering chosen, before anything heavy loads; `build` hands the prepared program to the
Keras backend's `build_models`, once.  `rnndsl compile` (and so every run `rnndsl compare`
starts), `rnndsl export`, `train_text` and `Spec.keras_model` all go through them.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ContextManager

from ..checks import Checked
from ..data import DataSet
from ..ir import Program
from ..passes import Prepared
from ..pipeline import Analysed, analyse
from ..semantics.symbols import Bindings
from .binding import bind
from .config import ConfigError, RunConfig

if TYPE_CHECKING:
    from ..backends.keras import KerasModels

__all__ = ["Bound", "Check", "checker", "bind_spec", "prepare_spec", "build"]

# How a caller checks its spec text: (bindings or None, what they came from) -> Analysed; raises SpecError.
# The command line's prints the diagnostics; the Python API's (`checker`) only raises.
Check = Callable[[Bindings | None, str], Analysed]


@dataclass(frozen=True, eq=False)
class Bound:
    """A spec checked with what its data binds: what the backend builds from."""

    analysed: Analysed
    data: DataSet | None = None  # the data renamed and shaped as the program reads it; None without data

    @property
    def checked(self) -> Checked:
        return self.analysed.checked

    @property
    def program(self) -> Program:
        return self.analysed.checked.program


def checker(text: str) -> Check:
    """The plain check of `text` (`pipeline.analyse`)."""
    return lambda bindings, note="": analyse(text, bindings)


def bind_spec(check: Check, data: DataSet | None = None, *, bindings: Bindings | None = None,
              first: Analysed | None = None) -> Bound:
    """Analyse; with `data`, bind it to the spec and analyse again with what it bound.

    `bindings` are known ones (a run folder's) for a spec built without data; `first` is the
    analysis without data when the caller already has it (it read the spec's data line first).
    """
    if data is None:
        return Bound(first if first is not None and bindings is None else check(bindings, ""))
    if bindings is not None:
        raise ValueError("bind_spec takes data or bindings, not both")
    analysed = first if first is not None else check(None, "")
    found, shaped = bind(analysed.checked.program, data, dict(analysed.checked.shapes))
    return Bound(check(found, f"with the data {data.source}"), shaped)


# The Keras backends truncated backpropagation runs on: each has its own chunk (training/tbptt.py).
TBPTT_BACKENDS = ("tensorflow", "jax", "torch")


def prepare_spec(bound: Bound, cfg: RunConfig | None = None, lowering: str = "auto",
                 backend: str = "tensorflow") -> Prepared:
    """Run the passes, the schedule among them (the lowering chosen once, by the Keras backend's cost facts);
    no TensorFlow, so the choice is made, and a spec that cannot run as asked refused, before it loads.

    Truncated backpropagation (`cfg.tbptt` shorter than the sequence) runs the looped lowering's step
    function: it asks for `looped`, after checking that the spec can run step by step; on a backend it
    does not run on yet (TBPTT_BACKENDS) it is refused.
    """
    from ..backends.costs import KERAS_TENSORFLOW
    from ..passes import prepare
    from ..passes.loops import NotLoopable, NotStreamable, plan_streaming

    program = bound.program
    if backend not in TBPTT_BACKENDS and cfg is not None and cfg.tbptt and cfg.tbptt < program.steps:
        raise ConfigError(f"tbptt runs on {', '.join(TBPTT_BACKENDS)} only for now (not {backend}): leave tbptt "
                          f"out or train with --backend tensorflow")
    if cfg is not None and cfg.tbptt and cfg.tbptt < program.steps:
        if lowering == "unrolled":
            raise ConfigError("tbptt runs the looped lowering; leave --lowering unrolled out")
        try:
            plan_streaming(program)
        except (NotStreamable, NotLoopable) as err:
            raise ConfigError(f"tbptt {cfg.tbptt}: {program.name} cannot run step by step: {err}") from None
        lowering = "looped"
    try:
        return prepare(bound.checked, lowering=lowering, costs=KERAS_TENSORFLOW)
    except NotLoopable as err:
        raise ConfigError(f"--lowering looped: {program.name} cannot loop: {err}; use --lowering unrolled") from None


def build(prepared: Prepared, *, seed: int | None = None, scope: ContextManager | None = None,
          backend: str | None = None) -> "KerasModels":
    """Build the Keras models of a prepared program, as its schedule says (imports keras, and TensorFlow).

    `backend` is the Keras backend (training/backend.py: None takes KERAS_BACKEND, else tensorflow);
    keras must not already run another one.

    `seed` seeds Keras' generators first (the initial weights); `scope` is entered around the
    build (a tf.distribute strategy's).  Keras' parameter count must be the check's: a backend
    defect otherwise, never a user error.
    """
    from .backend import use

    use(backend)
    import keras

    from ..backends.keras import build_models

    if seed is not None:
        keras.utils.set_random_seed(seed)
    with scope if scope is not None else nullcontext():
        models = build_models(prepared)
    counted, checked = models.model.count_params(), prepared.checked.total_params
    if counted != checked:
        raise RuntimeError(f"the two parameter counts differ: Keras {counted:,}, check {checked:,}")
    return models
