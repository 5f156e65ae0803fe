//! Sync responses from peers: never panic, and whatever decodes re-encodes to the same bytes.
#![no_main]

use ironchain_node::wire::Response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = Response::decode(data, 1 << 20) {
        assert_eq!(response.encode(), data);
    }
});
