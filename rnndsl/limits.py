"""Resource limits on specs: documented maxima, each an explicit error that names the limit.

A spec is untrusted input; these keep `check` fast and its memory bounded for any spec
(docs/language.md, "Limits").
"""

from __future__ import annotations

__all__ = ["MAX_SPEC_BYTES", "MAX_NESTING", "MAX_NUMBER_CHARS", "MAX_STEPS", "MAX_LAG", "MAX_UNROLLED_NODES",
           "MAX_GUARD_STEPS"]

MAX_SPEC_BYTES = 1_000_000  # a spec file larger than this is not read
MAX_NESTING = 64  # brackets nested deeper than this (and pipelines/sums longer than MAX_NESTING*16)
MAX_NUMBER_CHARS = 40  # a number literal longer than this
MAX_STEPS = 10_000  # `steps N`
MAX_LAG = MAX_STEPS  # h[t-k], h[t+k], h[last-k]: |k| at most this
MAX_UNROLLED_NODES = 250_000  # (value, step) pairs of the unrolled graph
MAX_GUARD_STEPS = MAX_STEPS  # entries of a `t in {...}` guard
