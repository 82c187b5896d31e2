"""rnndsl: a small language and compiler for recurrent neural-network wiring."""

from .version import __version__

from pathlib import Path as _Path

__all__ = ["load", "loads", "train", "Spec"]


class Spec:
    """A checked spec, for notebooks: shows its unrolled diagram (`_repr_svg_`)."""

    def __init__(self, analysed, source: str, path: str = "<string>"):
        self.analysed = analysed
        self.checked = analysed.checked
        self.source = source
        self.path = path

    @property
    def program(self):
        return self.checked.program

    def summary(self) -> str:
        """The text `rnndsl check` prints."""
        from .checks.report import summary

        return summary(self.checked)

    def dot(self, view: str = "unrolled", shapes: bool = False, steps: int | None = None) -> str:
        """Graphviz DOT text of the diagram."""
        from .backends.dot import emit_dot

        return emit_dot(self.checked, view=view, shapes=shapes, max_steps=steps)

    def svg(self, view: str = "unrolled", **kw) -> str:
        """The diagram as SVG text (needs Graphviz's `dot`)."""
        from .backends.dot import render_bytes

        return render_bytes(self.dot(view, **kw), "svg").decode("utf-8")

    def _repr_svg_(self) -> str:
        return self.svg("unrolled", steps=12 if self.program.steps > 16 else None)

    def keras_model(self, data=None, lowering: str = "auto", backend: str | None = None):
        """Build the Keras model (imports keras on `backend`: tensorflow, jax or torch; None: the one keras
        already runs, else KERAS_BACKEND, else tensorflow), to train in your own loop.

        Inputs are as the spec declares them (a dict by name when there are several, with
        `lengths` for masked sequences); outputs as written.  With `data` (a DataSet or arrays
        as `fit` takes them) the spec is first completed by it (steps, shapes, classes).
        """
        from .training.api import as_dataset
        from .training.backend import choose
        from .training.session import bind_spec, build, checker, prepare_spec

        name = choose(backend)
        if isinstance(data, tuple):
            x, y, *rest = data
            data = as_dataset(x, y, lengths=rest[0] if rest else None)
        elif data is not None:
            data = as_dataset(data)
        bound = bind_spec(checker(self.source), data, first=self.analysed)
        return build(prepare_spec(bound, None, lowering, name), backend=name).model

    def fit(self, x, y=None, *, lengths=None, validation_data=None, validation_split: float = 0.2,
            epochs: int | None = None, batch_size: int | None = None, lr: float | None = None,
            seed: int | None = None, progress: bool = True, lowering: str = "auto", backend: str | None = None):
        """Train on numpy arrays (or dicts of them by name), a finite tf.data.Dataset of (x, y[, lengths]),
        or a DataSet from `rnndsl.data.read`.  Returns a `Trained` (`.model`, `.history`).

        Without `validation_data`, the last `validation_split` of the examples is held out as the test split.
        `backend` is the Keras backend that trains (tensorflow, jax or torch; see keras_model).
        """
        from .training.api import as_dataset, train_text

        data = as_dataset(x, y, lengths=lengths, validation_data=validation_data, validation_split=validation_split)
        return train_text(self.source, data, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                          progress=progress, lowering=lowering, backend=backend)

    def __repr__(self) -> str:
        return f"<rnndsl.Spec {self.program.name}: {self.checked.total_params:,} parameters>"


def loads(text: str, path: str = "<string>") -> Spec:
    """Check spec text; raise rnndsl.errors.SpecError with every diagnostic on failure."""
    from .pipeline import analyse

    return Spec(analyse(text), text, path)


def load(path: str | _Path) -> Spec:
    """Read and check a .rnn file."""
    text = _Path(path).read_text(encoding="utf-8")
    return loads(text, str(path))


def train(spec: "str | _Path | Spec", data, **kw):
    """Train a spec (a path, or a loaded Spec) on data: a file path or a built-in set's name as `rnndsl compile
    --data` takes them (with `data_dir`, `window`, `limit` as its flags), a DataSet, or (x, y) arrays; see
    Spec.fit."""
    if not isinstance(spec, Spec):
        spec = load(spec)
    if isinstance(data, (str, _Path)):  # the sources `rnndsl compile --data` takes, by the same rules
        from .data import DataArgs, load as load_data
        from .training.config import run_config

        args = DataArgs(str(data), kw.pop("data_dir", None), kw.pop("window", None), kw.pop("limit", None))
        data = load_data(args, spec.program.data, run_config(spec.analysed.train, seed=kw.get("seed")).seed)
    if isinstance(data, tuple):
        return spec.fit(*data, **kw)
    return spec.fit(data, **kw)
