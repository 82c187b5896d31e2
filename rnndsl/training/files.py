"""Writing files so that a crash or a full disk never leaves half of one: a temporary name, then a rename.

The writer is `rnndsl.fileio.write_atomic`, shared with the CLI and the playground; it raises OSError.
"""

from __future__ import annotations

from ..fileio import write_atomic as atomic_write

__all__ = ["atomic_write"]
