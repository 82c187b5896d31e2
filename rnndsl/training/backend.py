"""Which Keras backend trains: TensorFlow, JAX or PyTorch.

Keras picks its backend once, when it is first imported, from `KERAS_BACKEND` (else its config
file, else TensorFlow).  `choose` decides the name (a flag or argument, else `KERAS_BACKEND`, else
tensorflow) and `use` makes Keras take it: it sets `KERAS_BACKEND` while keras is not yet
imported, and refuses, naming both, when keras already runs another one.  This module imports
neither keras nor any backend, so the CLI calls it before anything heavy loads.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from ..errors import RnndslError

__all__ = ["BACKENDS", "BackendError", "choose", "use", "current"]

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT = "tensorflow"
_PACKAGES = {"tensorflow": ("tensorflow", "tf"), "jax": ("jax", "jax"), "torch": ("torch", "torch")}


class BackendError(RnndslError):
    """A backend that cannot be used (not one of ours, not installed, or not the one keras already runs)."""


def choose(name: str | None = None) -> str:
    """The backend to train with: `name` when given, else the one keras runs when it is imported already,
    else KERAS_BACKEND, else tensorflow."""
    if name is None and current() is not None:
        name = current()
    given = name if name is not None else os.environ.get("KERAS_BACKEND") or DEFAULT
    where = "" if name is not None else " (from KERAS_BACKEND)"
    if given not in BACKENDS:
        raise BackendError(f"backend '{given}'{where} is not one rnndsl trains on; choose from {', '.join(BACKENDS)}")
    return given


def current() -> str | None:
    """The backend keras runs, when keras is imported; None before."""
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    return keras.backend.backend()


def use(name: str | None = None) -> str:
    """Make Keras run backend `name` (see `choose`); return it.

    Before keras is imported this sets KERAS_BACKEND; afterwards keras' backend must already be it.
    """
    want = choose(name)
    package, extra = _PACKAGES[want]
    if importlib.util.find_spec(package) is None:
        raise BackendError(f"backend {want}: the {package} package is not installed; "
                           f"pip install 'rnndsl[{extra}]'")
    running = current()
    if running is None:
        os.environ["KERAS_BACKEND"] = want
        return want
    if running != want:
        raise BackendError(f"backend {want}: keras was already imported with the {running} backend in this process, "
                           f"and keras picks its backend once, at import; set KERAS_BACKEND={want} before keras "
                           f"(or anything importing it) is first imported, or start a new Python process")
    return want
