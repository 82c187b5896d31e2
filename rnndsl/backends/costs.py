"""What each backend measured about its own costs: the facts the schedule pass chooses by.

No backend is imported here (the schedule is chosen, and printed, before TensorFlow loads).
A figure belongs to the backend and the machine it was measured on; re-measure it with the
benchmark named in `source` when either changes.
"""

from __future__ import annotations

from ..passes.plan import CostFacts

__all__ = ["KERAS_TENSORFLOW", "COSTS"]

# From 200 steps the unrolled graph's first step (tracing the tf.function) takes over 20 s and
# half a gigabyte, while below it the unrolled graph trains faster per step (6.3 ms against
# 12.5 ms at T = 100): 2-core CPU, TensorFlow 2.21 (benchmarks/long_sequences.py).
KERAS_TENSORFLOW = CostFacts("keras-tensorflow", loop_from_steps=200,
                             source="benchmarks/long_sequences.py, 2-core CPU, TensorFlow 2.21 (docs/benchmarks.md)")

COSTS = {KERAS_TENSORFLOW.backend: KERAS_TENSORFLOW}
