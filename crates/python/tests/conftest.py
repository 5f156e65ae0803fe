"""Shared by the package's tests: where the repository's test data and the CLI binary are."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"

# The pure-Python seed (tests/data/seed_blockchain.py) is imported as `seed_blockchain`.
sys.path.insert(0, str(DATA))


def cli_binary() -> Path:
    """The `ironchain` binary: $IRONCHAIN_BIN (CI sets it), else one cargo already built, else
    one cargo builds now."""
    given = os.environ.get("IRONCHAIN_BIN")
    if given:
        path = Path(given)
        assert path.is_file(), f"IRONCHAIN_BIN={given} is not a file"
        return path
    for profile in ("debug", "release"):
        path = REPO / "target" / profile / "ironchain"
        if path.is_file():
            return path
    cargo = shutil.which("cargo")
    assert cargo, "no ironchain binary: set IRONCHAIN_BIN or build it with `cargo build`"
    subprocess.run([cargo, "build", "-p", "ironchain", "--bin", "ironchain"], cwd=REPO, check=True)
    return REPO / "target" / "debug" / "ironchain"


@pytest.fixture(scope="session")
def ironchain_cli() -> Path:
    return cli_binary()


class FakeClock:
    """A `time.time()` that moves 100 s a call, so that block times are well apart whatever the
    test does, and the same for the seed and the package."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start

    def __call__(self) -> float:
        self.now += 100.0
        return self.now


@pytest.fixture
def fake_clock(monkeypatch):
    import time

    clock = FakeClock()
    monkeypatch.setattr(time, "time", clock)
    return clock
