//! Sync responses from peers: never panic, and whatever decodes is canonical: it re-encodes to
//! the same bytes and decodes back to itself.
#![no_main]

use ironchain_node::sync::Response;
use libfuzzer_sys::fuzz_target;

/// The regtest chain's block size limit.
const MAX_BLOCK_SIZE: usize = 1 << 20;

fn do_test(data: &[u8]) {
    let Ok(response) = Response::decode(data, MAX_BLOCK_SIZE) else {
        return;
    };
    let encoded = response.encode();
    assert_eq!(
        encoded, data,
        "a decoded response re-encodes to other bytes"
    );
    assert_eq!(Response::decode(&encoded, MAX_BLOCK_SIZE), Ok(response));
}

fuzz_target!(|data: &[u8]| do_test(data));
