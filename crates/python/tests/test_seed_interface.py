"""The seed's interface on ironchain's rules: its fields, its difficulty on a real header, and
the places where ironchain's answer is richer than the seed's (each documented in the stubs)."""

import hashlib
import time

import pytest

import ironchain
import seed_blockchain
from ironchain import Block, Blockchain


def double_sha256_hex(header: bytes) -> str:
    return hashlib.sha256(hashlib.sha256(header).digest()).digest()[::-1].hex()


def test_a_blocks_hash_is_double_sha256_of_its_80_byte_header():
    block = Block(1, "hello", "0" * 64, timestamp=1_700_000_000)
    block.mine(3)
    assert len(block.header) == 80
    assert block.hash == block.calculate_hash() == double_sha256_hex(block.header)
    assert block.hash.startswith("000")
    # The header holds the fields: time and nonce little-endian at offsets 68 and 76.
    assert int.from_bytes(block.header[68:72], "little") == 1_700_000_000
    assert int.from_bytes(block.header[76:80], "little") == block.nonce
    assert block.header[4:36][::-1].hex() == "0" * 64


def test_difficulty_is_leading_hex_zeros_on_a_real_target():
    for difficulty in range(0, 5):
        chain = Blockchain(difficulty)
        block = chain.add_block("x")
        assert block.hash.startswith("0" * difficulty)
        assert block.difficulty == difficulty
    # Bits of 4 hex zeros: 0xffff * 2**224, Bitcoin-style compact 0x1f00ffff.
    assert Blockchain(4).last_block.bits == 0x1F00FFFF


def test_fields_can_be_assigned_and_read_back_as_in_the_seed():
    block = Block(3, b"\x00raw", "ab", timestamp=12.75)
    assert block.data == b"\x00raw" and block.timestamp == 12
    assert block.previous_hash == "0" * 62 + "ab"
    block.data = "text"
    block.index = 7
    block.nonce = 2**32 - 1
    block.timestamp = 99
    assert (block.data, block.index, block.nonce, block.timestamp) == ("text", 7, 2**32 - 1, 99)
    before = block.calculate_hash()
    block.data = "other"
    assert block.calculate_hash() != before


def test_changing_data_names_the_block_and_the_records_rule():
    chain = Blockchain(2)
    for i in range(1, 5):
        chain.add_block(f"record {i}")
    chain.chain[2].data = "tampered"
    result = chain.verify()
    assert not result and chain.first_invalid() == 2 and not chain.is_valid()
    assert result.invalid.height == 2
    assert result.invalid.rule == "records-altered"
    assert result.invalid.block is chain.chain[2]
    assert "records altered" in result.invalid.message
    chain.chain[2].hash = chain.chain[2].calculate_hash()
    chain.chain[2].mine(2)
    result = chain.verify()
    assert (result.invalid.height, result.invalid.rule) == (3, "broken-link")


@pytest.mark.parametrize(
    "field, value, rule",
    [
        ("nonce", 12345, "header-changed"),
        ("previous_hash", "ab" * 32, "header-changed"),
        ("hash", "f" * 64, "header-changed"),
        ("index", 9, "records-altered"),
    ],
)
def test_each_changed_field_is_named_with_its_rule(field, value, rule):
    chain = Blockchain(2)
    chain.add_block("a")
    chain.add_block("b")
    setattr(chain.chain[1], field, value)
    invalid = chain.verify().invalid
    assert (invalid.height, invalid.rule) == (1, rule)


def test_ironchain_also_checks_the_genesis_block_which_the_seed_never_does():
    seed = seed_blockchain.Blockchain(1)
    ours = Blockchain(1)
    seed.chain[0].data = "rewritten genesis"
    ours.chain[0].data = "rewritten genesis"
    assert seed.first_invalid() is None  # the seed's loop starts at block 1
    invalid = ours.verify().invalid
    assert (invalid.height, invalid.rule) == (0, "records-altered")


def test_a_block_mined_to_another_difficulty_carries_other_bits():
    chain = Blockchain(2)
    chain.add_block("a")
    block = chain.add_block("b")
    block.hash = "f" * 64
    block.mine(3)  # the seed would accept three zeros for a chain of two
    assert block.hash.startswith("000")
    invalid = chain.verify().invalid
    assert (invalid.height, invalid.rule) == (2, "wrong-difficulty")


def test_times_follow_bitcoins_rules_which_the_seed_lacks():
    chain = Blockchain(1)
    for i in range(12):
        chain.add_block(f"{i}")
    # Blocks made within a second still get increasing times, as the median-time rule needs.
    assert chain.is_valid()
    block = chain.chain[12]
    block.timestamp = chain.chain[3].timestamp - 1
    block.hash = block.calculate_hash()
    block.mine(1)
    assert chain.verify().invalid.rule == "time-too-old"
    block.timestamp = int(time.time()) + 3 * 60 * 60
    block.hash = block.calculate_hash()
    block.mine(1)
    assert chain.verify().invalid.rule == "time-too-new"


def test_mine_does_nothing_while_the_stored_hash_meets_the_difficulty_as_in_the_seed():
    chain = Blockchain(2)
    block = chain.add_block("a")
    stored = block.hash
    block.data = "changed"
    block.mine(2)  # the stored hash still starts with two zeros: nothing to do
    assert block.hash == stored and chain.first_invalid() == 1


def test_repr_and_notebook_tables_are_readable_and_escaped():
    chain = Blockchain(1)
    block = chain.add_block("<script>alert(1)</script>")
    assert repr(block).startswith("Block(index=1,")
    assert repr(chain).startswith("Blockchain(difficulty=1, blocks=2")
    html = chain._repr_html_()
    assert "<table>" in html and "<script>" not in html and "&lt;script&gt;" in html
    assert "<table>" in block._repr_html_()
    chain.chain[1].data = "x"
    verification = chain.verify()
    assert "INVALID" in repr(verification) and "<table>" in verification._repr_html_()
    assert "records-altered" in repr(verification.invalid)
    assert ironchain.Blockchain.__doc__ and ironchain.Block.mine.__doc__


def test_wrong_types_and_values_raise_clear_errors():
    with pytest.raises(ValueError, match="index must be 0 or more, found -1"):
        Block(-1, "x", "0")
    with pytest.raises(TypeError, match="data must be str or bytes, not int"):
        Block(0, 5, "0")
    with pytest.raises(TypeError, match="previous_hash must be a str"):
        Block(0, "x", 0)
    with pytest.raises(ValueError, match="previous_hash must be 1 to 64 hex digits"):
        Block(0, "x", "not hex")
    block = Block(0, "x", "0")
    with pytest.raises(ValueError, match="nonce must be from 0 to 4294967295"):
        block.nonce = 2**32
    with pytest.raises(ValueError, match="timestamp must be seconds"):
        block.timestamp = -1.0
    with pytest.raises(ValueError, match="timestamp must be seconds"):
        block.timestamp = float("nan")
    with pytest.raises(ValueError, match="difficulty must be from 0 to 63"):
        Blockchain(64)
    with pytest.raises(TypeError, match="difficulty"):
        Blockchain("4")
    with pytest.raises(ValueError, match="threads must be at least 1"):
        Blockchain(1, threads=0)
    chain = Blockchain(1)
    with pytest.raises(TypeError, match="chain must be a list"):
        chain.chain = 5
    chain.chain.append("not a block")
    with pytest.raises(TypeError, match=r"chain\[1\] is a str, not a Block"):
        chain.is_valid()
    chain.chain.clear()
    with pytest.raises(IndexError, match="the chain is empty"):
        chain.add_block("x")
    assert chain.is_valid()  # as the seed: an empty list has no invalid block
