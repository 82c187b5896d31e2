"""`rnndsl render` (filled in with the diagrams)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the render sub-command."""
