"""Resource limits on specs: documented maxima, each an explicit error that names the limit.

A spec is untrusted input; these keep `check` fast and its memory bounded for any spec
(docs/language.md, "Limits").
"""

from __future__ import annotations

__all__ = ["MAX_SPEC_BYTES", "MAX_TOKENS", "MAX_NESTING", "MAX_OPERATORS", "MAX_NUMBER_CHARS", "MAX_STEPS", "MAX_LAG",
           "MAX_UNROLLED_NODES", "MAX_UNROLLED_EDGES", "MAX_GUARD_STEPS", "MAX_SUGGESTION_WORK"]

MAX_SPEC_BYTES = 1_000_000  # a spec file larger than this is not read
MAX_TOKENS = 50_000  # words, numbers and symbols of a spec (comments and blanks aside): bounds parsing time
MAX_NESTING = 64  # brackets nested deeper than this
# Operators (+ - * | and) in one statement.  With MAX_NESTING this bounds the depth of every
# expression and guard tree, so the recursive passes after the parser stay far from Python's stack limit.
MAX_OPERATORS = 128
MAX_NUMBER_CHARS = 40  # a number literal longer than this
MAX_STEPS = 10_000  # `steps N`
MAX_LAG = MAX_STEPS  # h[t-k], h[t+k], h[last-k]: |k| at most this
MAX_UNROLLED_NODES = 250_000  # (value, step) pairs of the unrolled graph
MAX_UNROLLED_EDGES = 500_000  # reads between them
MAX_GUARD_STEPS = MAX_STEPS  # entries of a `t in {...}` guard
MAX_SUGGESTION_WORK = 5_000  # names compared for "did you mean" notes, per spec (each note scans every name)
