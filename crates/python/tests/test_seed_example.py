"""The seed's own example runs on the package with only its import line changed, and prints the
same verdicts as on the seed."""

import subprocess
import sys
from pathlib import Path

from conftest import DATA

SEED_IMPORT = "from seed_blockchain import Block, Blockchain\n"
OUR_IMPORT = "from ironchain import Block, Blockchain\n"


def ported_example(tmp_path: Path) -> Path:
    original = (DATA / "seed_example.py").read_text()
    assert original.count(SEED_IMPORT) == 1
    ported = original.replace(SEED_IMPORT, OUR_IMPORT)
    changed = [
        (a, b) for a, b in zip(original.splitlines(), ported.splitlines()) if a != b
    ]
    assert changed == [(SEED_IMPORT.strip(), OUR_IMPORT.strip())], "only the import line changes"
    path = tmp_path / "seed_example.py"
    path.write_text(ported)
    return path


def run(script: Path, *args: str) -> list:
    result = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def verdicts(lines: list) -> list:
    return [line for line in lines if not line.startswith("block ")]


def test_the_seed_example_prints_the_seeds_verdicts(tmp_path):
    ours = run(ported_example(tmp_path))
    seed = run(DATA / "seed_example.py")
    assert verdicts(ours) == verdicts(seed) == [
        "valid: True",
        "after changing block 2's data, first invalid block: 2",
        "after re-mining block 2, first invalid block: 3",
    ]
    # Five mined blocks, each hash starting with the example's four hex zeros.
    blocks = [line for line in ours if line.startswith("block ")]
    assert len(blocks) == 5
    assert all(line.split("hash ")[1].startswith("0000") for line in blocks)


def test_the_seed_examples_bench_mode_runs_on_the_package(tmp_path):
    lines = run(ported_example(tmp_path), "3", "1", "bench")
    assert len(lines) == 1 and lines[0].endswith("hashes/s"), lines
