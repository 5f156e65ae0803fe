//! The seed's example, on the library alone: add some data, then attempt tampering.
//!
//! Run: `cargo run --release --example tamper -p ironchain-core [blocks]`
//!
//! Like the seed's `seed_example.py`, it mines a few blocks, checks the chain is valid, changes the
//! data of block 2 and shows which block verification now names, then re-mines block 2 and shows
//! that the failure moves to block 3: a chain identifies tampering; it cannot repair it.

use ironchain_core::miner::MineControl;
use ironchain_core::{Blockchain, ChainParams};

fn main() {
    let blocks: u64 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(5)
        .max(3);

    let mut chain = Blockchain::new(ChainParams::demo());
    for i in 1..=blocks {
        let record = format!("record {i}").into_bytes();
        match chain.add_records(vec![record]) {
            Ok(block) => println!(
                "block {i}: nonce {} hash {}",
                block.header.nonce,
                block.block_hash()
            ),
            Err(error) => {
                eprintln!("mining block {i} failed: {error}");
                std::process::exit(1);
            }
        }
    }
    println!("valid: {}", chain.verify().is_ok());

    chain.tamper_with(2, |block| block.records[0] = b"tampered".to_vec());
    report("after changing block 2's data", &chain);

    if let Err(error) = chain.remine(2, &MineControl::new()) {
        eprintln!("re-mining block 2 failed: {error}");
        std::process::exit(1);
    }
    report("after re-mining block 2", &chain);
}

fn report(when: &str, chain: &Blockchain) {
    match chain.verify() {
        Ok(_) => println!("{when}, the chain is valid"),
        Err(invalid) => println!(
            "{when}, first invalid block: {} ({})",
            invalid.height, invalid.rule
        ),
    }
}
