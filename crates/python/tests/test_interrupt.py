"""Long work releases the GIL, and Ctrl-C (a real SIGINT) stops mining at once."""

import signal
import subprocess
import sys
import threading
import time

import pytest

from ironchain import Block, Blockchain

MINE_FOREVER = """
import sys, ironchain
print("mining", flush=True)
{statement}
print("finished", flush=True)
"""


@pytest.mark.parametrize(
    "statement",
    [
        # 16 hex zeros: about 2**64 hashes, centuries on any CPU.
        "ironchain.Block(1, 'x', '0', timestamp=0).mine(16)",
        "ironchain.Blockchain(difficulty=16)",
        "ironchain.Blockchain(difficulty=1).add_block('x'); ironchain.Block(2, 'y', '0').mine(16, threads=1)",
    ],
)
def test_sigint_stops_mining_with_keyboard_interrupt(statement):
    process = subprocess.Popen(
        [sys.executable, "-c", MINE_FOREVER.format(statement=statement)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "mining"
    time.sleep(0.5)  # well inside the nonce search
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        stdout, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    stopped_after = time.monotonic() - sent
    assert "KeyboardInterrupt" in stderr, stderr
    assert "finished" not in stdout
    assert process.returncode != 0
    assert stopped_after < 2.0, f"took {stopped_after:.2f} s to stop"


def test_other_python_threads_run_while_a_block_is_mined():
    """The main thread polls with short sleeps while another thread mines; each poll needs the
    GIL to wake up, so if mining held it the polls would wait for the whole search. Counting
    polls, not timing them, keeps the test sound on a loaded machine."""
    polls = 0
    mining_time = 0.0
    index = 0
    while mining_time < 1.0:
        index += 1
        block = Block(index, "gil", "0", timestamp=0)
        done = threading.Event()

        def mine():
            block.mine(6, threads=1)
            done.set()

        worker = threading.Thread(target=mine)
        started = time.perf_counter()
        worker.start()
        while not done.is_set():
            polls += 1
            time.sleep(0.001)
        worker.join()
        mining_time += time.perf_counter() - started
    # Holding the GIL would allow about one poll per block (a handful in all); released, the
    # polls run all through the second of mining.
    assert polls >= 50, f"only {polls} polls in {mining_time:.2f} s of mining"
