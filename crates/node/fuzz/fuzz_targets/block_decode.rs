//! Block decoding (gossip payloads and every block in a sync response): never panics, and
//! whatever decodes is canonical: it re-encodes to the same bytes and decodes back to itself.
#![no_main]

use ironchain_core::Block;
use libfuzzer_sys::fuzz_target;

/// The regtest chain's block size limit.
const MAX_BLOCK_SIZE: usize = 1 << 20;

fn do_test(data: &[u8]) {
    let Ok(block) = Block::decode(data, MAX_BLOCK_SIZE) else {
        return;
    };
    let encoded = block.encode();
    assert_eq!(encoded, data, "a decoded block re-encodes to other bytes");
    let again = Block::decode(&encoded, MAX_BLOCK_SIZE).expect("a re-encoded block decodes");
    assert_eq!(again, block);
}

fuzz_target!(|data: &[u8]| do_test(data));
