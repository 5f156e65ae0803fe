//! Exhaustive tamper detection: for a small stored chain, flip every single bit of every block's
//! stored encoding, one at a time, and check that full verification names exactly that block,
//! with zero panics. Header bits must be caught by quick verification too.
//!
//! This is the promise "change anything in a block and that block stops meeting some rule" checked
//! for every bit, not sampled; a bit that slipped through would be a hole in the rules or in
//! the store's decoding.
#![allow(clippy::unwrap_used)]

mod common;

use common::{mine, now, params};
use ironchain_store::{Store, VerifyError, VerifyMode};

#[test]
fn flipping_any_bit_of_any_stored_block_is_named_at_its_height() {
    let store =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    // Blocks with zero, one and several records, an empty record and a binary one.
    store.add_records(&[b"first".to_vec()]).unwrap();
    mine(&store, 1);
    mine(&store, 1);
    store
        .add_records(&[
            b"a".to_vec(),
            Vec::new(),
            vec![0, 255, 128],
            b"last one".to_vec(),
        ])
        .unwrap();
    mine(&store, 1);
    let tip = store.tip().unwrap().height;
    store.verify(VerifyMode::Full, now()).unwrap();

    let mut flips = 0;
    for height in 0..=tip {
        let original = store.raw_block_at(height).unwrap().unwrap();
        for bit in 0..original.len() * 8 {
            store
                .tamper_raw(height, |bytes| bytes[bit / 8] ^= 1 << (bit % 8))
                .unwrap();
            let modes: &[VerifyMode] = if bit < 80 * 8 {
                &[VerifyMode::Full, VerifyMode::Quick]
            } else {
                &[VerifyMode::Full]
            };
            for &mode in modes {
                match store.verify(mode, now()) {
                    Err(VerifyError::Bad(bad)) => assert_eq!(
                        bad.height, height,
                        "bit {bit} of block {height} ({mode:?}) was blamed on {bad}"
                    ),
                    other => panic!("bit {bit} of block {height} ({mode:?}) gave {other:?}"),
                }
                assert!(store.is_read_only());
            }
            store
                .tamper_raw(height, |bytes| bytes.clone_from(&original))
                .unwrap();
            flips += 1;
        }
    }
    store.verify(VerifyMode::Full, now()).unwrap();
    assert!(flips > 3000, "only {flips} flips");
}
