"""Checkpoints during training, and the state a run resumes from.

A checkpoint holds the training model's weights (with every random generator's state), the
optimizer's slots and step count, and, in `state.json` beside it, where the run stood: the
epoch, the batches of it already done, that epoch's running sums and the finished epochs'
rows.  The JSON is written to a temporary name and renamed after the checkpoint files are
complete, so it never points at half a checkpoint.  Weights that are not finite are never
saved: the last checkpoint of a run that diverged is a good one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

from .files import atomic_write

__all__ = ["Checkpointer", "Resume", "STATE"]

STATE = "state.json"


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
        # Keras 3 models are not tracked whole by tf.train.Checkpoint: name every variable, the
        # non-trainable ones (batch-norm statistics) and each random generator's state included,
        # so a resumed run draws the same noise and dropout masks as an uninterrupted one.
        self.checkpoint = tf.train.Checkpoint(weights=list(model.weights), generators=_seed_states(model),
                                              optimizer=optimizer)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.folder), max_to_keep=2)
        self.last: tuple[int, int] | None = None  # (epoch, step) of the newest good checkpoint

    def finite(self) -> bool:
        return all(bool(tf.reduce_all(tf.math.is_finite(w))) for w in self.model.trainable_weights)

    def save(self, resume: Resume) -> bool:
        """Save unless the weights hold NaN or infinity; return whether it was saved."""
        if not self.finite():
            return False
        path = self.manager.save()
        state = {"epoch": resume.epoch, "step": resume.step, "totals": resume.totals, "rows": resume.rows,
                 "checkpoint": os.path.basename(path)}
        atomic_write(self.folder / STATE, json.dumps(state, indent=1).encode("utf-8"))
        self.last = (resume.epoch, resume.step)
        return True

    def restore(self) -> Resume | None:
        """Load the newest checkpoint into the model and optimizer; None when there is none."""
        state_path = self.folder / STATE
        if not state_path.exists():
            return None
        state = json.loads(state_path.read_text(encoding="utf-8"))
        self.optimizer.build(self.model.trainable_variables)  # its slots must exist to be restored
        self.checkpoint.restore(str(self.folder / state["checkpoint"])).assert_existing_objects_matched()
        self.last = (state["epoch"], state["step"])
        return Resume(state["epoch"], state["step"], state["totals"], state["rows"])


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
