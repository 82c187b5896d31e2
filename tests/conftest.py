"""Shared test helpers: paths, the golden-file option, spec discovery."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.rnn"))
PATTERNS = sorted((ROOT / "specs" / "patterns").glob("*.rnn"))
ALL_SPECS = SPECS + PATTERNS
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden files under tests/golden/ instead of comparing")


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """Compare text with a golden file (or rewrite it with --update-golden)."""
    update = request.config.getoption("--update-golden")

    def compare(path: Path, text: str) -> None:
        if update or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            if not update:
                pytest.fail(f"golden file {path.name} was missing and has been written; review and commit it")
        assert text == path.read_text(encoding="utf-8"), f"differs from {path}; rerun with --update-golden and review the diff"

    return compare


def spec_id(path: Path) -> str:
    return str(path.relative_to(ROOT / "specs").with_suffix(""))


def need_backend(backend: str) -> None:
    """Skip a test whose Keras backend's package is missing, except in CI, where run.sh installs every
    backend: there a missing one is a failure, not a silent skip."""
    if importlib.util.find_spec(backend) is not None:
        return
    message = f"{backend} is not installed (pip install 'rnndsl[{backend}]'; bash run.sh test installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
