"""Training on several devices or machines with TensorFlow's own engine (tf.distribute).

* `mirrored`: tf.distribute.MirroredStrategy, every local GPU (or the CPU) a replica.
* `multiworker`: tf.distribute.MultiWorkerMirroredStrategy across processes or machines; each
  worker runs the same command with its own TF_CONFIG (docs/commands.md shows one).

TensorFlow's Keras backend only: on JAX a run would shard its arrays over a device mesh
(jax.sharding, Keras' `keras.distribution.DataParallel`), on PyTorch it would run one process
per device under DistributedDataParallel; neither is offered here, and `--strategy` with another
backend is a usage error saying so.

Every worker computes the same global batch (the order depends only on the seed and the
epoch) and each replica trains on its shard of it, so the run is the single-process run with
its gradients summed across replicas.  Only the chief (worker 0) writes the run folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import tensorflow as tf

__all__ = ["STRATEGIES", "Distribution", "distribution", "tf_config_role"]

STRATEGIES = ("default", "mirrored", "multiworker")


def tf_config_role() -> tuple[int, int]:
    """(this worker's index, number of workers) from TF_CONFIG; raises ValueError when it is unusable."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError("--strategy multiworker needs TF_CONFIG (a JSON cluster and task; see docs/commands.md)")
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"TF_CONFIG is not a cluster and a task: {err}") from None
    if task.get("type") != "worker" or not 0 <= index < len(workers):
        raise ValueError(f"TF_CONFIG's task must be a worker with an index below {len(workers)}")
    return index, len(workers)


@dataclass(frozen=True, eq=False)
class Distribution:
    """A strategy and this process's place in it."""

    strategy: tf.distribute.Strategy
    name: str
    worker: int = 0
    workers: int = 1

    @property
    def chief(self) -> bool:
        return self.worker == 0

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    def shards(self, batch, idx, lengths, steps: int):
        """Per-replica values: replica r of R takes examples idx[r::R] of the global batch (`batch(part)` gives
        its numpy (x, y, lengths)), with its lengths (all `steps` without any) and its share of the batch."""
        import numpy as np

        R = self.replicas

        def value(ctx):
            part = idx[ctx.replica_id_in_sync_group::R]
            x, y, _ = batch(part)
            x = tf.nest.map_structure(tf.constant, x)
            y = tf.nest.map_structure(tf.constant, y)
            mine = lengths[part] if lengths is not None else np.full(len(part), steps, np.int32)
            return x, y, tf.constant(mine), tf.constant(len(part) / len(idx), tf.float32)

        return self.strategy.experimental_distribute_values_from_function(value)


def distribution(name: str) -> Distribution | None:
    """The Distribution for a --strategy name (None for `default`: plain single-device training)."""
    if name == "default":
        return None
    if name == "mirrored":
        return Distribution(tf.distribute.MirroredStrategy(), name)
    if name == "multiworker":
        worker, workers = tf_config_role()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        return Distribution(strategy, name, worker, workers)
    raise ValueError(f"unknown strategy '{name}' (choose from {', '.join(STRATEGIES)})")
