//! Sync requests from peers: never panic, and whatever decodes re-encodes to the same bytes.
#![no_main]

use ironchain_node::wire::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = Request::decode(data) {
        assert_eq!(request.encode(), data);
    }
});
