"""The package's Block and Blockchain against the pure-Python seed they replace.

Random sequences of the seed's operations (add a block, change a field, re-mine, append a block
built by hand) run on both side by side; after every step `is_valid()` and `first_invalid()`
must agree. The seed hashes a text with SHA-256 and the package an 80-byte header with double
SHA-256, so their hashes differ; what must not differ is which block each calls invalid.

Two of ironchain's rules have no counterpart in the seed, so the sequences stay where both rule
sets apply (each difference has its own test in test_seed_interface.py): the genesis block is
not changed (the seed never checks it; ironchain does), and a time is moved by at most 40 s in
a chain whose blocks are 100 s apart (ironchain's median-time rule). Every operation's verdict
is deterministic: no step relies on a hash meeting the difficulty by luck.
"""

import random

import pytest

import ironchain
import seed_blockchain

DIFFICULTY = 2
FIELDS = ["data", "index", "nonce", "timestamp", "previous_hash", "relink", "hash"]


def random_hash(rng):
    # The first digit is not zero, so it never meets the difficulty by luck.
    return rng.choice("123456789abcdef") + "".join(rng.choice("0123456789abcdef") for _ in range(63))


def change_field(rng, block, field, chain, i):
    if field == "data":
        block.data = f"changed {rng.randrange(10**6)}"
    elif field == "index":
        block.index = block.index + rng.randint(1, 3)
    elif field == "nonce":
        block.nonce = block.nonce + rng.randint(1, 5)
    elif field == "timestamp":
        slot = round(block.timestamp / 100) * 100
        offsets = [o for o in range(-40, 41) if slot + o != int(block.timestamp)]
        block.timestamp = slot + rng.choice(offsets)
    elif field == "previous_hash":
        block.previous_hash = random_hash(rng)
    elif field == "relink":
        block.previous_hash = chain.chain[i - 1].hash
    elif field == "hash":
        block.hash = random_hash(rng)


def step(rng, chain, plan):
    """Applies one step to `chain`; `plan` holds the random choices, drawn once for both."""
    kind = plan["kind"]
    blocks = chain.chain
    if kind == "add":
        chain.add_block(plan["data"])
    elif kind == "change":
        i = plan["at"] % (len(blocks) - 1) + 1
        change_field(random.Random(plan["seed"]), blocks[i], plan["field"], chain, i)
    elif kind == "remine":
        i = plan["at"] % (len(blocks) - 1) + 1
        if plan["rehash"]:
            blocks[i].hash = blocks[i].calculate_hash()
        blocks[i].mine(DIFFICULTY)
    elif kind == "append":
        link = chain.last_block.hash if plan["honest"] else blocks[plan["at"] % len(blocks)].hash
        block = type(chain.last_block)(len(blocks), plan["data"], link)
        block.mine(DIFFICULTY)
        blocks.append(block)


def draw(rng, size):
    kind = rng.choices(["add", "change", "remine", "append"], weights=[3, 4, 3, 1])[0]
    if size < 2 and kind in ("change", "remine"):
        kind = "add"
    return {
        "kind": kind,
        "data": f"record {rng.randrange(10**6)}",
        "at": rng.randrange(10**6),
        "field": rng.choice(FIELDS),
        "seed": rng.randrange(10**9),
        "rehash": rng.random() < 0.5,
        "honest": rng.random() < 0.8,
    }


@pytest.mark.parametrize("run", range(12))
def test_random_sequences_get_the_same_verdicts_as_the_seed(fake_clock, run):
    rng = random.Random(1000 + run)
    seed = seed_blockchain.Blockchain(DIFFICULTY)
    ours = ironchain.Blockchain(DIFFICULTY)
    history = []
    for _ in range(45):
        plan = draw(rng, len(seed.chain))
        history.append(plan)
        step(rng, seed, plan)
        step(rng, ours, plan)
        expected = (seed.is_valid(), seed.first_invalid())
        found = (ours.is_valid(), ours.first_invalid())
        assert found == expected, (
            f"after {len(history)} steps, the last {plan}: seed says {expected}, ironchain "
            f"{found} ({ours.verify()})"
        )


def test_the_sequences_reach_both_valid_and_invalid_chains(fake_clock):
    """Guards the test above against a generator that only ever builds valid chains."""
    verdicts = set()
    for run in range(4):
        rng = random.Random(1000 + run)
        ours = ironchain.Blockchain(DIFFICULTY)
        for _ in range(45):
            step(rng, ours, draw(rng, len(ours.chain)))
            verdicts.add(ours.first_invalid() is None)
    assert verdicts == {True, False}
