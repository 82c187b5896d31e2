"""Checkpoints during training, and the state a run resumes from.

A checkpoint is one `.npz` of arrays, the same on every Keras backend: every variable of the
training model (`model.variables`: trainable, non-trainable such as batch-norm statistics, and
each random generator's state, so a resumed run draws the same noise and dropout masks as an
uninterrupted one; on PyTorch also torch's global generator, which its unseeded dropout draws from)
and every variable of the optimizer (its step count and slots), each under
its index with its Keras path beside it to check against on restore.  Beside it, `state.json`
says where the run stood: the epoch, the batches of it already done, that epoch's running sums
and the finished epochs' rows.  Both are written to a temporary name and renamed, the JSON after
the arrays, so it never points at half a checkpoint.  Weights that are not finite are never
saved: the last checkpoint of a run that diverged is a good one.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from ..errors import RnndslError
from .files import atomic_write

__all__ = ["Checkpointer", "CheckpointError", "Resume", "STATE"]

STATE = "state.json"
KEEP = 2  # checkpoints kept; older ones are removed


class CheckpointError(RnndslError):
    """A checkpoint that does not fit the model being resumed (the message names the file and the variable)."""


@dataclass
class Resume:
    """Where an interrupted run stood: continue epoch `epoch` after its first `step` batches."""

    epoch: int = 1
    step: int = 0
    totals: dict = field(default_factory=dict)  # the epoch's running sums so far
    rows: list = field(default_factory=list)  # finished epochs, as EpochRow dicts


class Checkpointer:
    """Saves checkpoints into FOLDER/checkpoints (the last two kept) and restores the newest."""

    def __init__(self, folder: Path, model: keras.Model, optimizer: keras.optimizers.Optimizer,
                 every_steps: int | None = None):
        self.folder = Path(folder) / "checkpoints"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.model, self.optimizer, self.every_steps = model, optimizer, every_steps
        self.last: tuple[int, int] | None = None  # (epoch, step) of the newest good checkpoint
        self.count = 0

    def _variables(self) -> dict[str, list]:
        """model: every model variable, seed states included; optimizer: its variables (after build)."""
        self.optimizer.build(self.model.trainable_variables)  # its slots must exist to be saved or restored
        model = list(self.model.variables)
        seen = {id(v) for v in model}
        model += [s for s in _seed_states(self.model) if id(s) not in seen]
        return {"model": model, "optimizer": list(self.optimizer.variables)}

    def finite(self) -> bool:
        return all(np.isfinite(_numpy(w)).all() for w in self.model.trainable_weights)

    def save(self, resume: Resume) -> bool:
        """Save unless the weights hold NaN or infinity; return whether it was saved."""
        if not self.finite():
            return False
        state_path = self.folder / STATE
        if self.count == 0 and state_path.exists():  # a resumed run numbers on from the checkpoint it read
            self.count = _number(json.loads(state_path.read_text(encoding="utf-8")).get("checkpoint", ""))
        self.count += 1
        arrays, paths = {}, {}
        for group, variables in self._variables().items():
            paths[group] = [v.path for v in variables]
            for i, v in enumerate(variables):
                arrays[f"{group}/{i}"] = _numpy(v)
        arrays.update(_rng_states())
        arrays["paths"] = np.array(json.dumps(paths))
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        name = f"ckpt-{self.count}.npz"
        atomic_write(self.folder / name, buf.getvalue())
        state = {"epoch": resume.epoch, "step": resume.step, "totals": resume.totals, "rows": resume.rows,
                 "checkpoint": name}
        atomic_write(state_path, json.dumps(state, indent=1).encode("utf-8"))
        for old in self.folder.glob("ckpt-*.npz"):
            if _number(old.name) <= self.count - KEEP:
                old.unlink(missing_ok=True)
        self.last = (resume.epoch, resume.step)
        return True

    def restore(self) -> Resume | None:
        """Load the newest checkpoint into the model and optimizer; None when there is none."""
        state_path = self.folder / STATE
        if not state_path.exists():
            return None
        state = json.loads(state_path.read_text(encoding="utf-8"))
        path = self.folder / str(state.get("checkpoint", ""))
        if path.suffix != ".npz":
            raise CheckpointError(f"{path}: a TensorFlow checkpoint of an older rnndsl; this one resumes from its "
                                  f"own .npz checkpoints only (train the run again)")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as err:
            raise CheckpointError(f"{path}: cannot read the checkpoint: {err}") from None
        saved = json.loads(str(arrays["paths"]))
        for group, variables in self._variables().items():
            if len(saved[group]) != len(variables):
                raise CheckpointError(f"{path}: it holds {len(saved[group])} {group} variables, the model being "
                                      f"resumed has {len(variables)}")
            for i, v in enumerate(variables):
                if group == "optimizer" and v is getattr(self.optimizer, "_learning_rate", None):
                    continue  # the run's own rate (--lr may lower it on resume)
                value = arrays[f"{group}/{i}"]
                if tuple(value.shape) != tuple(v.shape):
                    raise CheckpointError(f"{path}: {saved[group][i]} has shape {value.shape}; the model's "
                                          f"{v.path} has {tuple(v.shape)}")
                v.assign(value)
        _restore_rng_states(arrays)
        self.count = _number(path.name)
        self.last = (state["epoch"], state["step"])
        return Resume(state["epoch"], state["step"], state["totals"], state["rows"])


def _numpy(variable) -> np.ndarray:
    """A variable's value as a numpy array, on any backend (TensorFlow's own `.numpy()` there: numpy 2 warns
    when it converts a TensorFlow tensor itself, as keras.ops.convert_to_numpy does)."""
    tensor = keras.ops.convert_to_tensor(variable)
    if keras.backend.backend() == "tensorflow":
        return tensor.numpy()
    return keras.ops.convert_to_numpy(tensor)


def _rng_states() -> dict[str, np.ndarray]:
    """The backend's own random state where Keras draws from it: PyTorch's dropout without a seed draws from
    torch's global generator (keras.utils.set_random_seed seeds it), not from the layer's SeedGenerator."""
    if keras.backend.backend() != "torch":
        return {}
    import torch

    states = {"rng/torch": torch.get_rng_state().numpy()}
    if torch.cuda.is_available():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            states[f"rng/cuda/{i}"] = state.numpy()
    return states


def _restore_rng_states(arrays: dict[str, np.ndarray]) -> None:
    if keras.backend.backend() != "torch" or "rng/torch" not in arrays:
        return
    import torch

    torch.set_rng_state(torch.from_numpy(arrays["rng/torch"]))
    cuda = [torch.from_numpy(arrays[f"rng/cuda/{i}"]) for i in range(len(arrays)) if f"rng/cuda/{i}" in arrays]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def _number(name: str) -> int:
    stem = name.removesuffix(".npz").rpartition("-")[2]
    return int(stem) if stem.isdigit() else 0


def _seed_states(model: keras.Model) -> list:
    """The state variables of every SeedGenerator the model's layers hold, in a stable order."""
    states, seen = [], set()
    for layer in model._flatten_layers(include_self=False):
        for name in sorted(vars(layer)):
            value = getattr(layer, name, None)
            if isinstance(value, keras.random.SeedGenerator) and id(value) not in seen:
                seen.add(id(value))
                states.append(value.state)
    return states
