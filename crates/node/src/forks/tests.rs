//! Fork choice on its own: a store in a temporary directory, blocks mined by hand, and
//! [`ChainState`] deciding where each goes.
//!
//! The chain is regtest with a retarget every four blocks, so two branches can differ in work
//! per block: a branch whose first three blocks come one second apart retargets at height 4 to
//! a quarter of the target (four times the work), while one whose blocks come 20 minutes apart
//! stays at the proof-of-work limit. With the limit's work `W`, six slow blocks
//! carry `6W` and four fast ones `3W + 4W = 7W`: the shorter chain has more work.

use ironchain_core::chain::unix_now;
use ironchain_core::miner::{MineControl, MineJob, MineOutcome, mine};
use ironchain_core::{ChainParams, merkle};

use ironchain_store::Store;

use super::*;

/// Blocks as fork choice takes them: shared, as a node passes them on.
fn arcs(blocks: &[Block]) -> Vec<Arc<Block>> {
    blocks.iter().cloned().map(Arc::new).collect()
}

/// Seconds between slow blocks: more than the 10-minute spacing, so their retarget is capped at
/// the proof-of-work limit and every slow block has the same work.
const SLOW: u32 = 1200;
/// Seconds between fast blocks: their retarget is clamped to a quarter of the target.
const FAST: u32 = 1;

fn params() -> ChainParams {
    let mut params = ChainParams::regtest();
    params.name = "forks-test".into();
    params.retarget_interval = 4;
    params
}

/// A store holding only genesis, in a directory removed when the test ends.
fn store(params: &ChainParams) -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::create(&dir.path().join("chain"), params.clone()).expect("store");
    (dir, Arc::new(store))
}

/// Mines `count` blocks on top of `ancestors` (genesis first), `spacing` seconds apart, each
/// with one record `"<tag><height>"` and the bits the retarget rule demands.
fn extend(
    params: &ChainParams,
    ancestors: &[Block],
    count: usize,
    spacing: u32,
    tag: &str,
) -> Vec<Block> {
    let mut chain = ancestors.to_vec();
    for _ in 0..count {
        let height = chain.len() as u64;
        let parent = chain.last().expect("genesis at least").header;
        let start = retarget::period_start_height(params, height) as usize;
        let bits = retarget::next_bits(params, height, &parent, Some(chain[start].header.time))
            .expect("the period start is known");
        let records = vec![format!("{tag}{height}").into_bytes()];
        let header = Header {
            version: 1,
            prev_blockhash: parent.block_hash(),
            merkle_root: merkle::root(&records),
            time: parent.time + spacing,
            bits,
            nonce: 0,
        };
        let job = MineJob {
            header,
            target: bits.to_target().expect("retargeted bits are usable"),
            max_time: header.time,
            threads: 1,
        };
        match mine(&job, &MineControl::new()) {
            MineOutcome::Found(header) => chain.push(Block::new(header, records)),
            other => panic!("mining failed: {other:?}"),
        }
    }
    chain.split_off(ancestors.len())
}

fn pending(store: &Store) -> Vec<Vec<u8>> {
    let mut records: Vec<Vec<u8>> = store
        .all_pending()
        .expect("pool readable")
        .into_iter()
        .map(|record| record.bytes)
        .collect();
    records.sort();
    records
}

fn records(blocks: &[Block]) -> Vec<Vec<u8>> {
    let mut records: Vec<Vec<u8>> = blocks.iter().flat_map(|b| b.records.clone()).collect();
    records.sort();
    records
}

#[test]
fn fast_blocks_retarget_to_four_times_the_work_of_slow_ones() {
    let params = params();
    let genesis = [params.genesis.clone()];
    let slow = extend(&params, &genesis, 6, SLOW, "s");
    let fast = extend(&params, &genesis, 4, FAST, "f");
    let w = block_work(&params.genesis.header);
    assert!(slow.iter().all(|b| block_work(&b.header) == w));
    assert_eq!(block_work(&fast[3].header), w + w + w + w);
}

#[test]
fn the_shorter_branch_with_more_work_wins_over_the_longer_one() {
    let params = params();
    let (_dir, store) = store(&params);
    let genesis = [params.genesis.clone()];
    let slow = extend(&params, &genesis, 6, SLOW, "s");
    let fast = extend(&params, &genesis, 4, FAST, "f");
    store
        .append_blocks(&arcs(&slow), unix_now())
        .expect("valid");
    let mut chain = ChainState::new(store.clone(), ForkLimits::default());

    for (i, block) in fast[..3].iter().enumerate() {
        let accepted = chain
            .accept(Arc::new(block.clone()), unix_now())
            .expect("valid");
        assert_eq!(
            accepted,
            Accepted::SideBranch {
                height: i as u64 + 1
            }
        );
    }
    assert_eq!(store.tip().expect("tip").hash, slow[5].block_hash());

    // 7W against 6W: four blocks beat six.
    match chain.accept(Arc::new(fast[3].clone()), unix_now()) {
        Ok(Accepted::Reorganized(report)) => {
            assert_eq!((report.disconnected, report.connected), (6, 4));
            assert_eq!(report.tip.height, 4);
            assert_eq!(report.tip.hash, fast[3].block_hash());
        }
        other => panic!("expected a reorganization, got {other:?}"),
    }
    assert_eq!(store.tip().expect("tip").hash, fast[3].block_hash());
}

#[test]
fn a_longer_branch_with_less_work_stays_a_side_branch() {
    let params = params();
    let (_dir, store) = store(&params);
    let genesis = [params.genesis.clone()];
    let slow = extend(&params, &genesis, 6, SLOW, "s");
    let fast = extend(&params, &genesis, 4, FAST, "f");
    store
        .append_blocks(&arcs(&fast), unix_now())
        .expect("valid");
    let before = store.tip().expect("tip");
    let mut chain = ChainState::new(store.clone(), ForkLimits::default());

    let outcome = chain.accept_batch(&arcs(&slow), unix_now());
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.accepted, 6);
    assert!(!outcome.tip_changed && outcome.reorgs.is_empty());
    assert_eq!(chain.side_blocks(), 6);
    assert_eq!(
        store.tip().expect("tip"),
        before,
        "six blocks of 6W lose to 7W"
    );
}

#[test]
fn a_side_branch_that_overtakes_reorganizes_and_returns_the_old_records_to_the_pool() {
    let params = params();
    let (_dir, store) = store(&params);
    let genesis = [params.genesis.clone()];
    let slow = extend(&params, &genesis, 8, SLOW, "s");
    let fast = extend(&params, &genesis, 4, FAST, "f");
    store
        .append_blocks(&arcs(&slow[..6]), unix_now())
        .expect("valid");
    let mut chain = ChainState::new(store.clone(), ForkLimits::default());
    assert!(pending(&store).is_empty());

    // The fast branch overtakes: the slow chain's six records are pending again, and its
    // blocks are kept as a side branch.
    let outcome = chain.accept_batch(&arcs(&fast), unix_now());
    assert!(outcome.error.is_none() && outcome.tip_changed);
    assert_eq!(outcome.reorgs.len(), 1);
    assert_eq!(outcome.reorgs[0].returned_to_pool, 6);
    assert_eq!(pending(&store), records(&slow[..6]));
    assert_eq!(
        chain.side_blocks(),
        6,
        "the replaced blocks are a side branch now"
    );

    // The slow branch grows to 8W > 7W and wins back: now the fast records wait in the pool,
    // and the slow ones, mined again, do not.
    assert!(matches!(
        chain.accept(Arc::new(slow[6].clone()), unix_now()),
        Ok(Accepted::SideBranch { height: 7 })
    ));
    match chain.accept(Arc::new(slow[7].clone()), unix_now()) {
        Ok(Accepted::Reorganized(report)) => {
            assert_eq!((report.disconnected, report.connected), (4, 8));
            assert_eq!(report.returned_to_pool, 4);
        }
        other => panic!("expected a reorganization back, got {other:?}"),
    }
    assert_eq!(store.tip().expect("tip").hash, slow[7].block_hash());
    assert_eq!(pending(&store), records(&fast));
    assert_eq!(chain.side_blocks(), 4);
}

#[test]
fn a_fork_deeper_than_max_depth_is_refused() {
    let params = params();
    let (_dir, store) = store(&params);
    let genesis = [params.genesis.clone()];
    let main = extend(&params, &genesis, 6, SLOW, "m");
    store
        .append_blocks(&arcs(&main), unix_now())
        .expect("valid");
    let limits = ForkLimits {
        max_depth: 2,
        max_side_blocks: 10,
    };
    let mut chain = ChainState::new(store.clone(), limits);
    let ancestors = |height: usize| [&genesis[..], &main[..height]].concat();

    // Parent at height 3, tip at 6: three below, one too many.
    let deep = extend(&params, &ancestors(3), 1, SLOW + 1, "deep");
    match chain.accept(Arc::new(deep[0].clone()), unix_now()) {
        Err(Rejected::TooDeep {
            fork_height: 3,
            tip_height: 6,
        }) => {}
        other => panic!("expected TooDeep, got {other:?}"),
    }
    // Parent at height 4: exactly max_depth below, kept.
    let shallow = extend(&params, &ancestors(4), 1, SLOW + 1, "shallow");
    assert_eq!(
        chain
            .accept(Arc::new(shallow[0].clone()), unix_now())
            .expect("kept"),
        Accepted::SideBranch { height: 5 }
    );
    assert_eq!(chain.side_blocks(), 1);
}

#[test]
fn side_blocks_beyond_max_side_blocks_are_refused() {
    let params = params();
    let (_dir, store) = store(&params);
    let genesis = [params.genesis.clone()];
    let main = extend(&params, &genesis, 6, SLOW, "m");
    store
        .append_blocks(&arcs(&main), unix_now())
        .expect("valid");
    let limits = ForkLimits {
        max_depth: 10,
        max_side_blocks: 2,
    };
    let mut chain = ChainState::new(store.clone(), limits);
    let ancestors = [&genesis[..], &main[..4]].concat();

    // Three different children of block 4, none with the tip's work.
    for (i, tag) in ["x", "y", "z"].into_iter().enumerate() {
        let side = extend(&params, &ancestors, 1, SLOW, tag);
        let result = chain.accept(Arc::new(side[0].clone()), unix_now());
        if i < 2 {
            assert_eq!(
                result.expect("room left"),
                Accepted::SideBranch { height: 5 }
            );
        } else {
            assert!(
                matches!(result, Err(Rejected::TooDeep { .. })),
                "{result:?}"
            );
        }
    }
    assert_eq!(chain.side_blocks(), 2);
    assert_eq!(store.tip().expect("tip").hash, main[5].block_hash());
}

#[test]
fn a_branch_with_an_invalid_block_is_rejected_and_changes_nothing() {
    let params = params();
    let (_dir, store) = store(&params);
    let genesis = [params.genesis.clone()];
    let slow = extend(&params, &genesis, 6, SLOW, "s");
    let fast = extend(&params, &genesis, 4, FAST, "f");
    store
        .append_blocks(&arcs(&slow), unix_now())
        .expect("valid");
    let mut chain = ChainState::new(store.clone(), ForkLimits::default());
    let tip = store.tip().expect("tip");

    // The block that would give the branch the most work, with a record changed after mining:
    // its header no longer commits to its records.
    let mut forged = fast[3].clone();
    forged.records = vec![b"forged".to_vec()];
    // And the same block with a hash above its target.
    let mut weak = fast[3].clone();
    let target = weak.header.bits.to_target().expect("usable bits");
    while target.is_met_by(weak.block_hash()) {
        weak.header.nonce += 1;
    }
    for bad in [forged, weak] {
        let outcome = chain.accept_batch(&arcs(&[&fast[..3], &[bad]].concat()), unix_now());
        match outcome.error {
            Some(Rejected::Invalid(invalid)) => assert_eq!(invalid.height, 4),
            other => panic!("expected an invalid block, got {other:?}"),
        }
        assert!(!outcome.tip_changed);
        assert_eq!(store.tip().expect("tip"), tip);
        assert_eq!(
            chain.side_blocks(),
            3,
            "only the three valid branch blocks are kept"
        );
        assert!(pending(&store).is_empty(), "no record moved");
    }

    // An invalid block in the middle: the blocks after it connect to nothing we keep.
    let mut chain = ChainState::new(store.clone(), ForkLimits::default());
    let mut broken = fast.clone();
    broken[1].records = vec![b"forged".to_vec()];
    let outcome = chain.accept_batch(&arcs(&broken), unix_now());
    assert_eq!(outcome.accepted, 1);
    assert!(matches!(outcome.error, Some(Rejected::Invalid(_))));
    assert!(matches!(
        chain.accept(Arc::new(fast[2].clone()), unix_now()),
        Err(Rejected::Orphan { .. })
    ));
    assert_eq!(store.tip().expect("tip"), tip);

    // The genuine block still wins: the rejections left the state intact.
    let mut chain = ChainState::new(store.clone(), ForkLimits::default());
    assert!(matches!(
        chain.accept_batch(&arcs(&fast), unix_now()).reorgs.as_slice(),
        [report] if report.tip.hash == fast[3].block_hash()
    ));
}
