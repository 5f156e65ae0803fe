use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::hash::{BlockHash, MerkleRoot};
use crate::pow::CompactTarget;
use ruint::aliases::U256;

fn template(time: u32, nonce: u32) -> Header {
    Header {
        version: 1,
        prev_blockhash: BlockHash::from_byte_array([3; 32]),
        merkle_root: MerkleRoot::from_byte_array([9; 32]),
        time,
        bits: CompactTarget::from_consensus(0x1f00_ffff),
        nonce,
    }
}

/// A target met by about one hash in 2^bits.
fn target_bits(bits: usize) -> Target {
    Target::from_u256(U256::MAX >> bits)
}

/// The first nonce at or after the template's, by hashing one header at a time.
fn reference_first(header: Header, target: Target) -> Header {
    let mut header = header;
    loop {
        if target.is_met_by(header.block_hash()) {
            return header;
        }
        header.nonce = header
            .nonce
            .checked_add(1)
            .expect("found well before the nonce runs out");
    }
}

#[test]
fn miner_finds_the_same_first_nonce_as_a_plain_loop_with_one_and_many_threads() {
    for seed in 0..6u32 {
        let header = template(1_700_000_000 + seed, seed * 1000);
        let target = target_bits(14);
        let expected = reference_first(header, target);
        for threads in [1, 2, 3, 4] {
            let job = MineJob {
                header,
                target,
                max_time: header.time,
                threads,
            };
            let control = MineControl::new();
            assert_eq!(
                mine(&job, &control),
                MineOutcome::Found(expected),
                "threads {threads}"
            );
            assert!(control.hashes() > u64::from(expected.nonce - header.nonce));
        }
    }
}

#[test]
fn cancelling_stops_a_miner_that_cannot_succeed() {
    // A target no hash meets in practice: the miner only stops because it is told to.
    let job = MineJob {
        header: template(1_700_000_000, 0),
        target: Target::from_u256(U256::from(1u8)),
        max_time: u32::MAX,
        threads: 2,
    };
    let control = Arc::new(MineControl::new());
    let stopper = {
        let control = Arc::clone(&control);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            control.cancel();
        })
    };
    assert_eq!(mine(&job, &control), MineOutcome::Cancelled);
    stopper.join().expect("stopper thread");
    assert!(control.hashes() > 0);
}

#[test]
fn miner_moves_the_time_forward_when_the_nonces_run_out() {
    let target = target_bits(8);
    // Find a time whose last three nonces all miss, so the search must run off the end.
    let mut header = template(1_700_000_000, u32::MAX - 2);
    while (0..3).any(|i| {
        let mut probe = header;
        probe.nonce += i;
        target.is_met_by(probe.block_hash())
    }) {
        header.time += 1;
    }
    for threads in [1, 2] {
        let job = MineJob {
            header,
            target,
            max_time: header.time + 5,
            threads,
        };
        let MineOutcome::Found(found) = mine(&job, &MineControl::new()) else {
            panic!("a solution exists one second later");
        };
        assert!(found.time > header.time, "time moved on");
        assert!(target.is_met_by(found.block_hash()));
        let mut next_second = header;
        next_second.time += 1;
        next_second.nonce = 0;
        assert_eq!(
            found,
            reference_first(next_second, target),
            "first solution in order"
        );
    }
}

#[test]
fn miner_reports_exhaustion_when_no_time_is_left() {
    let header = template(1_700_000_000, u32::MAX);
    let target = Target::from_u256(U256::from(1u8));
    let job = MineJob {
        header,
        target,
        max_time: header.time,
        threads: 2,
    };
    assert_eq!(mine(&job, &MineControl::new()), MineOutcome::Exhausted);
    let earlier = MineJob {
        max_time: header.time - 1,
        ..job
    };
    assert_eq!(mine(&earlier, &MineControl::new()), MineOutcome::Exhausted);
}
