"""The compiled model in a researcher's own PyTorch and JAX training loops, as docs/backends.md prints them."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT

DOC = (ROOT / "docs" / "backends.md").read_text(encoding="utf-8")


def _example(heading: str) -> str:
    section = DOC.split(f"## {heading}", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("heading, module", [("In a PyTorch training loop", "torch"),
                                             ("In a JAX / Optax training loop", "optax")])
def test_the_documented_loop_trains(heading: str, module: str) -> None:
    code = _example(heading)
    assert f"import {module}" in code
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    accuracies = [float(a) for a in re.findall(r"train accuracy ([0-9.]+)", proc.stdout)]
    assert len(accuracies) == 5, proc.stdout
    assert accuracies[-1] >= 0.85, proc.stdout  # chance is 0.5: the loop really trained the wiring
