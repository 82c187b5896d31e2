"""rnndsl: a small language and compiler for recurrent neural-network wiring."""

__version__ = "0.1.0"
