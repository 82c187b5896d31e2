"""rnndsl: a small language and compiler for recurrent neural-network wiring."""

__version__ = "0.1.0"

from pathlib import Path as _Path

__all__ = ["load", "loads", "Spec"]


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

    def keras_model(self):
        """Build the Keras model (imports TensorFlow): inputs as the spec declares them, the output last."""
        from .backends.keras import emit_keras
        from .passes import prepare

        return emit_keras(prepare(self.checked)).model

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
