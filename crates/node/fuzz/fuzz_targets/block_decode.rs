//! Block decoding (gossip payloads and every block in a sync response): never panics, and
//! whatever decodes re-encodes to the same bytes.
#![no_main]

use ironchain_core::Block;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::decode(data, 1 << 20) {
        assert_eq!(block.encode(), data);
    }
});
