"""`rnndsl compile` (filled in with the TensorFlow backend)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the compile sub-command."""
