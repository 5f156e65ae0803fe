"""Side-by-side figures for the Python package, measured in one run (not part of the tests).

    python crates/python/bench/bench.py            # after `pip install ./crates/python`

It prints:
- mining hashes/s at the same difficulty (5 hex zeros, as `ironchain bench` runs the seed) for
  the pure-Python seed (tests/data/seed_blockchain.py) and for the package's Block.mine, on one
  thread and on every core, as ratios: the package per core against the seed (target >= 25 x);
- the CLI's own miner figures from `ironchain bench --json` in the same run, and the package
  against them (target: within 10%);
- the time to verify 100,000 bytes of real mainnet headers (1,250 from genesis) and all 10,000
  from tests/data with verify_headers, beside `ironchain headers verify` on the same file.

Hash rates count hashes as the seed's own bench does: a block mined at nonce n took n + 1
hashes. The three are measured in interleaved rounds, and each ratio is the median of the
per-round ratios. The CLI binary is target/release/ironchain (built if missing) or
$IRONCHAIN_BIN.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data"
sys.path.insert(0, str(DATA))

import ironchain  # noqa: E402
import seed_blockchain  # noqa: E402

DIFFICULTY = 5
RUNS = 7


def seed_rate(seconds: float) -> float:
    """The pure-Python seed's mining rate: blocks mined until `seconds` have passed."""
    hashes, spent, i = 0, 0.0, 0
    while spent < seconds:
        i += 1
        block = seed_blockchain.Block(i, f"benchmark {i}", "0" * 64, timestamp=0)
        started = time.perf_counter()
        block.mine(DIFFICULTY)
        spent += time.perf_counter() - started
        hashes += block.nonce + 1
    return hashes / spent


def package_rate(threads: int, seconds: float) -> float:
    """The package's Block.mine rate, counted the same way."""
    hashes, spent, i = 0, 0.0, 0
    while spent < seconds:
        i += 1
        block = ironchain.Block(i, f"benchmark {i}", "0" * 64, timestamp=0)
        started = time.perf_counter()
        block.mine(DIFFICULTY, threads=threads)
        spent += time.perf_counter() - started
        hashes += block.nonce + 1
    return hashes / spent


def median(runs, measure):
    return statistics.median(measure() for _ in range(runs))


def cli_binary() -> Path:
    given = os.environ.get("IRONCHAIN_BIN")
    if given:
        return Path(given)
    path = REPO / "target" / "release" / "ironchain"
    if not path.is_file():
        subprocess.run(["cargo", "build", "--release", "-p", "ironchain"], cwd=REPO, check=True)
    return path


def cli_bench(binary: Path, threads: int) -> dict:
    result = subprocess.run(
        [str(binary), "--json", "bench", "--runs", "1", "--chain-len", "1000",
         "--threads", str(threads), "--python-ref", "/nonexistent"],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)


def cli_headers_seconds(binary: Path, path: Path) -> float:
    result = subprocess.run(
        [str(binary), "--json", "headers", "verify", str(path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)["seconds"]


def raw_headers(path: Path) -> bytes:
    return b"".join(bytes.fromhex(l) for l in path.read_text().split() if len(l) == 160)


def main():
    threads = os.cpu_count() or 1
    cpu = next(
        (l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
        "unknown CPU",
    )
    family = next((l.split(":")[1].strip() for l in open("/proc/cpuinfo") if l.startswith("cpu family")), "?")
    model = next((l.split(":")[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model\t")), "?")
    print(f"ironchain Python bench, {time.strftime('%Y-%m-%d')}, {cpu} (family {family} model {model}), "
          f"{threads} threads, median of {RUNS} runs")

    binary = cli_binary()
    # Rounds interleave the three, so that each ratio compares figures taken moments apart on
    # a machine whose load changes; the figures and ratios printed are medians over rounds.
    rows = {k: [] for k in ("seed", "ours_1", "ours_all", "cli_1", "cli_all")}
    ratios = {k: [] for k in ("seed_1", "seed_all", "cli_1", "cli_all")}
    for round_ in range(RUNS):
        print(f"round {round_ + 1} of {RUNS} ...", file=sys.stderr)
        seed = seed_rate(1.0)
        ours_1 = package_rate(1, 1.0)
        ours_all = package_rate(threads, 1.0)
        cli = cli_bench(binary, threads)
        cli_1 = cli["miner_hashes_per_sec_1_thread"]
        cli_all = cli["kernel_hashes_per_sec_all_threads"]
        for key, value in zip(rows, (seed, ours_1, ours_all, cli_1, cli_all)):
            rows[key].append(value)
        ratios["seed_1"].append(ours_1 / seed)
        ratios["seed_all"].append(ours_all / threads / seed)
        ratios["cli_1"].append(ours_1 / cli_1)
        ratios["cli_all"].append(ours_all / cli_all)
    m = {k: statistics.median(v) for k, v in rows.items()}
    r = {k: statistics.median(v) for k, v in ratios.items()}

    print(f"\nmining at difficulty {DIFFICULTY} (hex zeros), hashes/s")
    print(f"  pure-Python seed, 1 thread      {m['seed'] / 1e6:10.2f} M/s")
    print(f"  package, 1 thread               {m['ours_1'] / 1e6:10.2f} M/s   {r['seed_1']:6.1f} x the seed per core (target >= 25 x)")
    print(f"  package, {threads} threads              {m['ours_all'] / 1e6:10.2f} M/s   {r['seed_all']:6.1f} x the seed per core")
    print(f"  CLI miner, 1 thread             {m['cli_1'] / 1e6:10.2f} M/s   package is {r['cli_1']:.3f} x (target within 10%)")
    print(f"  CLI miner, {threads} threads            {m['cli_all'] / 1e6:10.2f} M/s   package is {r['cli_all']:.3f} x (target within 10%)")
    print(f"  kernel: {cli['kernel']}; ratios are medians of per-round ratios")

    genesis_file = DATA / "btc_blockheaders_mainnet_0_10000.txt"
    data = raw_headers(genesis_file)
    first = data[:100_000]
    small = median(21, lambda: timed(lambda: ironchain.verify_headers(first)))
    whole = median(RUNS, lambda: timed(lambda: ironchain.verify_headers(data)))
    cli_whole = median(RUNS, lambda: cli_headers_seconds(binary, genesis_file))
    check = ironchain.verify_headers(first)
    assert check and check.blocks == 1_250, check
    print("\nverifying real mainnet headers from genesis (tests/data), wall time from Python")
    print(f"  100,000 bytes (1,250 headers)   {small * 1e3:8.3f} ms")
    print(f"  800,000 bytes (10,000 headers)  {whole * 1e3:8.3f} ms   "
          f"`ironchain headers verify` on the file: {cli_whole * 1e3:.3f} ms (its own timer)")


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
