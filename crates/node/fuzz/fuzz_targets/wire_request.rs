//! Sync requests from peers: never panic, and whatever decodes is canonical: it re-encodes to
//! the same bytes and decodes back to itself.
#![no_main]

use ironchain_node::sync::Request;
use libfuzzer_sys::fuzz_target;

fn do_test(data: &[u8]) {
    let Ok(request) = Request::decode(data) else {
        return;
    };
    let encoded = request.encode();
    assert_eq!(encoded, data, "a decoded request re-encodes to other bytes");
    assert_eq!(Request::decode(&encoded), Ok(request));
}

fuzz_target!(|data: &[u8]| do_test(data));
