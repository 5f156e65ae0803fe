"""Real Bitcoin mainnet headers (tests/data, see SOURCES.md) verify from Python, and one changed
byte is named with its height and rule."""

import pytest

import ironchain
from conftest import DATA
from ironchain import verify_headers

GENESIS_TO_9999 = DATA / "btc_blockheaders_mainnet_0_10000.txt"
FROM_30000 = DATA / "btc_blockheaders_mainnet_30000_40000.txt"
FROM_80001 = DATA / "bh80_100k.txt"


def raw(path):
    lines = [l for l in path.read_text().split() if len(l) == 160]
    return b"".join(bytes.fromhex(l) for l in lines)


def test_the_first_ten_thousand_mainnet_headers_verify_from_genesis():
    result = verify_headers(GENESIS_TO_9999)
    assert result and result.blocks == 10_000 and result.height == 9_999
    # Electrum's checkpoint and SOURCES.md: the hash of block 9,999.
    assert result.tip == "00000000fbc97cc6c599ce9c24dd4a2243e2bfd518eda56e1d5e47d29e29c3a7"
    # Every block at Bitcoin's genesis difficulty is worth 0x100010001 hashes.
    assert result.work == 10_000 * 0x100010001
    assert result.start_height == 0 and result.headers == 10_000


def test_headers_from_a_checkpoint_verify_across_the_first_retarget():
    result = verify_headers(FROM_30000.read_bytes())  # the file's first line says 30000
    assert result.height == 39_999 and result.start_height == 30_000
    assert result.tip == "000000002509f3a013a1d21b89fe33306a45b1fcbb485dd4d310e4f9b2c09945"
    raw_headers = raw(FROM_80001)
    later = verify_headers(raw_headers, start_height=80_001)
    assert later and later.height == 100_000
    assert later.tip == "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506"


@pytest.mark.parametrize(
    "offset, rule",
    [
        (76, "not-enough-work"),  # the nonce's first byte
        (10, "broken-link"),  # a byte of the parent hash
        (72, "wrong-difficulty"),  # the bits' first byte
    ],
)
def test_one_changed_byte_is_named_at_its_height(offset, rule):
    data = bytearray(raw(GENESIS_TO_9999))
    data[5_000 * 80 + offset] ^= 0x01
    result = verify_headers(bytes(data))
    assert not result
    assert (result.invalid.height, result.invalid.rule) == (5_000, rule)
    assert result.blocks == 5_000 and result.height == 4_999


def test_hex_text_and_bad_header_data():
    text = GENESIS_TO_9999.read_text()
    assert verify_headers(text[: 161 * 100]).height == 99
    with pytest.raises(ironchain.HeaderDataError, match="79 bytes is not a whole number"):
        verify_headers(b"\x01" * 79)
    with pytest.raises(ironchain.HeaderDataError, match="line 1 is not a header"):
        verify_headers("abcd\n")
    with pytest.raises(ironchain.HeaderDataError, match="holds no headers"):
        verify_headers(b"")
    with pytest.raises(TypeError, match="data must be bytes"):
        verify_headers(12)
    with pytest.raises(ValueError, match="start_height must be 0 or more"):
        verify_headers(text, start_height=-1)
    with pytest.raises(ValueError, match='chain must be "bitcoin"'):
        verify_headers(text, chain="litecoin")
    with pytest.raises(OSError, match="cannot read"):
        verify_headers(DATA / "no-such-file.txt")
