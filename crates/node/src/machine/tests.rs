//! The machine on its own: events in, commands out, on an in-memory store and a clock the test
//! moves. No network, no threads, no waiting: each test reads like a conversation with a node.

use std::sync::Arc;
use std::time::Duration;

use ironchain_core::miner::{MineControl, MineJob, MineOutcome, mine};
use ironchain_core::{Block, Blockchain, ChainParams, Header};
use ironchain_store::{ChainStore, MemStore};

use super::*;

/// A peer's number.
type Peer = u32;

const ALICE: Peer = 1;
const BOB: Peer = 2;

fn params() -> ChainParams {
    ChainParams::regtest()
}

/// A clock well after genesis, so mined blocks are never "in the future".
fn t0() -> Time {
    Time::from_unix_secs(params().genesis.header.time + 1_000_000)
}

fn machine(config: MachineConfig) -> Machine<MemStore, Peer> {
    Machine::new(MemStore::standalone(params()), config, None, t0()).expect("a fresh store")
}

/// `n` blocks on top of genesis, one record each, one second apart.
fn blocks(n: usize, tag: &str) -> Vec<Arc<Block>> {
    let mut chain = Blockchain::new(params()).with_threads(1);
    let start = t0().unix_secs() - 100_000;
    for i in 0..n {
        let record = format!("{tag}{i}").into_bytes();
        chain
            .add_records_at(vec![record], start + i as u32, &MineControl::new())
            .expect("regtest mines at once");
    }
    chain.blocks()[1..].iter().cloned().map(Arc::new).collect()
}

fn gossip(from: Peer, id: u64, block: &Arc<Block>) -> Event<Peer> {
    Event::GossipBlock {
        from,
        id: GossipId(id),
        block: Ok(block.clone()),
    }
}

fn verdicts(commands: &[Command<Peer>]) -> Vec<Validation> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Verdict { verdict, .. } => Some(*verdict),
            _ => None,
        })
        .collect()
}

fn bans(commands: &[Command<Peer>]) -> Vec<Peer> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Ban { peer, .. } => Some(*peer),
            _ => None,
        })
        .collect()
}

fn sent(commands: &[Command<Peer>]) -> Vec<(Peer, RequestId, Request)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Send { peer, id, request } => Some((*peer, *id, request.clone())),
            _ => None,
        })
        .collect()
}

fn claim_of(blocks: &[Arc<Block>]) -> TipClaim {
    let store = MemStore::standalone(params());
    let tip = store
        .append_blocks(blocks, t0().unix_secs())
        .expect("valid");
    TipClaim {
        height: tip.height,
        hash: tip.hash,
        work: tip.work,
    }
}

#[test]
fn a_gossiped_block_on_the_tip_is_accepted_and_announced() {
    let mut m = machine(MachineConfig::default());
    let chain = blocks(1, "a");
    let out = m.handle(gossip(ALICE, 7, &chain[0]), t0());
    assert_eq!(verdicts(&out), [Validation::Accept]);
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::TipChanged(tip) if tip.height == 1))
    );
    assert_eq!(m.tip().hash, chain[0].block_hash());
    // The same block again is known: ignored, not forwarded, nobody punished.
    let out = m.handle(gossip(BOB, 8, &chain[0]), t0());
    assert_eq!(verdicts(&out), [Validation::Ignore]);
    assert!(bans(&out).is_empty());
}

#[test]
fn a_block_with_too_little_work_is_rejected_and_its_sender_banned() {
    let mut m = machine(MachineConfig::default());
    m.handle(Event::PeerConnected { peer: ALICE }, t0());
    let mut bad = (*blocks(1, "a")[0]).clone();
    // Regtest's target is met by about every second hash: find a nonce that misses it.
    let target = bad.header.bits.to_target().expect("regtest bits");
    while target.is_met_by(bad.header.block_hash()) {
        bad.header.nonce += 1;
    }
    let out = m.handle(gossip(ALICE, 1, &Arc::new(bad)), t0());
    assert_eq!(verdicts(&out), [Validation::Reject]);
    assert_eq!(
        bans(&out),
        [ALICE],
        "an invalid block costs the whole threshold"
    );
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Notice(Notice::BlockRejected {
            reason: "not-enough-work",
            ..
        })
    )));
    assert_eq!(m.tip().height, 0);
}

#[test]
fn garbage_costs_score_and_the_second_piece_bans() {
    let mut m = machine(MachineConfig::default());
    let garbage = || Event::GossipBlock {
        from: ALICE,
        id: GossipId(1),
        block: Err(Block::decode(&[1, 2, 3], 1000).expect_err("three bytes are no block")),
    };
    let out = m.handle(garbage(), t0());
    assert_eq!(verdicts(&out), [Validation::Reject]);
    assert!(bans(&out).is_empty());
    assert_eq!(m.score(&ALICE, t0()), 60);
    let out = m.handle(garbage(), t0().after(Duration::from_secs(1)));
    assert_eq!(bans(&out), [ALICE]);
}

#[test]
fn a_block_with_an_unknown_parent_makes_the_machine_ask_its_sender_for_the_tip() {
    let mut m = machine(MachineConfig::default());
    let out = m.handle(Event::PeerConnected { peer: ALICE }, t0());
    let (_, tip_request, _) = sent(&out)[0].clone();
    // Alice first says she has only genesis.
    let genesis = ChainParams::regtest().genesis;
    let out = m.handle(
        Event::Response {
            from: ALICE,
            id: tip_request,
            response: Ok(Response::Tip(TipClaim {
                height: 0,
                hash: genesis.block_hash(),
                work: m.tip().work,
            })),
        },
        t0(),
    );
    assert!(
        sent(&out).is_empty(),
        "no more work claimed: nothing to sync"
    );
    // Then she gossips block 3 of a chain we have never seen.
    let chain = blocks(3, "a");
    let out = m.handle(gossip(ALICE, 1, &chain[2]), t0());
    assert_eq!(verdicts(&out), [Validation::Ignore]);
    assert!(bans(&out).is_empty(), "an orphan is not the sender's fault");
    assert!(
        matches!(sent(&out)[..], [(ALICE, _, Request::GetTip)]),
        "the machine asks Alice what she has: {out:?}"
    );
    // While that request is out, another orphan asks nothing more.
    let out = m.handle(gossip(ALICE, 2, &chain[1]), t0());
    assert!(sent(&out).is_empty());
}

#[test]
fn a_peer_claiming_more_work_is_synced_from_in_batches_until_it_has_no_more() {
    let config = MachineConfig {
        sync_batch: 2,
        ..MachineConfig::default()
    };
    let mut m = machine(config);
    let chain = blocks(3, "a");
    let out = m.handle(Event::PeerConnected { peer: ALICE }, t0());
    let [(ALICE, tip_request, Request::GetTip)] = sent(&out)[..] else {
        panic!("a new peer is asked for its tip: {out:?}");
    };
    let out = m.handle(
        Event::Response {
            from: ALICE,
            id: tip_request,
            response: Ok(Response::Tip(claim_of(&chain))),
        },
        t0(),
    );
    let [
        (
            ALICE,
            first,
            Request::GetBlocks {
                ref locator,
                limit: 2,
                ..
            },
        ),
    ] = sent(&out)[..]
    else {
        panic!("more work claimed: the machine asks for blocks: {out:?}");
    };
    assert_eq!(locator, &[params().genesis_hash()]);
    let out = m.handle(
        Event::Response {
            from: ALICE,
            id: first,
            response: Ok(Response::Blocks(chain[..2].to_vec())),
        },
        t0(),
    );
    assert_eq!(m.tip().height, 2);
    let [(ALICE, second, Request::GetBlocks { ref locator, .. })] = sent(&out)[..] else {
        panic!("a full batch asks for the next: {out:?}");
    };
    assert_eq!(
        locator[0],
        chain[1].block_hash(),
        "led by the last block received"
    );
    let out = m.handle(
        Event::Response {
            from: ALICE,
            id: second,
            response: Ok(Response::Blocks(chain[2..].to_vec())),
        },
        t0(),
    );
    assert_eq!(m.tip().hash, chain[2].block_hash());
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Notice(Notice::SyncFinished {
            peer: ALICE,
            received: 3
        })
    )));
    assert!(bans(&out).is_empty());
    assert_eq!(m.score(&ALICE, t0()), 0, "it delivered what it claimed");
}

#[test]
fn a_peer_that_claims_more_work_than_it_delivers_pays_for_it() {
    let mut m = machine(MachineConfig::default());
    let chain = blocks(3, "a");
    let out = m.handle(Event::PeerConnected { peer: ALICE }, t0());
    let (_, tip_request, _) = sent(&out)[0].clone();
    let out = m.handle(
        Event::Response {
            from: ALICE,
            id: tip_request,
            response: Ok(Response::Tip(claim_of(&chain))),
        },
        t0(),
    );
    let (_, request, _) = sent(&out)[0].clone();
    // It answers with one block of the three it claimed, and then nothing.
    let out = m.handle(
        Event::Response {
            from: ALICE,
            id: request,
            response: Ok(Response::Blocks(chain[..1].to_vec())),
        },
        t0(),
    );
    assert_eq!(m.tip().height, 1, "what it did deliver is kept");
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::Notice(Notice::SyncFinished { .. })))
    );
    assert_eq!(m.score(&ALICE, t0()), 60, "a false claim costs 60 points");
}

#[test]
fn requests_are_answered_from_the_best_chain() {
    let mut m = machine(MachineConfig::default());
    let chain = blocks(3, "a");
    m.store()
        .append_blocks(&chain, t0().unix_secs())
        .expect("valid");
    let out = m.handle(
        Event::Request {
            from: ALICE,
            id: InboundId(5),
            request: Ok(Request::GetTip),
        },
        t0(),
    );
    assert_eq!(
        out,
        [Command::Respond {
            id: InboundId(5),
            response: Some(Response::Tip(claim_of(&chain)))
        }]
    );
    let out = m.handle(
        Event::Request {
            from: ALICE,
            id: InboundId(6),
            request: Ok(Request::GetBlocks {
                locator: vec![chain[0].block_hash()],
                stop: None,
                limit: 10,
            }),
        },
        t0(),
    );
    assert_eq!(
        out,
        [Command::Respond {
            id: InboundId(6),
            response: Some(Response::Blocks(chain[1..].to_vec()))
        }]
    );
}

#[test]
fn a_badly_framed_request_is_closed_unanswered_and_costs_score() {
    let mut m = machine(MachineConfig::default());
    let out = m.handle(
        Event::Request {
            from: ALICE,
            id: InboundId(1),
            request: Err(BadRequest::Frame(BadFrame::TooLarge {
                announced: 1 << 30,
                max: 1024,
            })),
        },
        t0(),
    );
    assert_eq!(
        out[0],
        Command::Respond {
            id: InboundId(1),
            response: None
        }
    );
    assert_eq!(m.score(&ALICE, t0()), 60);
}

/// Finds the nonce of a mining job the way the libp2p node's worker does.
fn solve(job: &MiningJob) -> Header {
    let search = MineJob {
        header: job.header,
        target: job.target,
        max_time: job.max_time,
        threads: 1,
    };
    match mine(&search, &MineControl::new()) {
        MineOutcome::Found(header) => header,
        other => panic!("regtest jobs are solved at once: {other:?}"),
    }
}

fn jobs(commands: &[Command<Peer>]) -> Vec<MiningJob> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Mine(job) => Some(job.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_miner_mines_pending_records_announces_the_block_and_pauses_its_minimum_interval() {
    let policy = MiningPolicy {
        mine_empty: false,
        min_interval: Duration::from_secs(5),
    };
    let mut m = machine(MachineConfig {
        mining: Some(policy),
        ..MachineConfig::default()
    });
    assert!(
        jobs(&m.start(t0())).is_empty(),
        "nothing pending, nothing to mine"
    );
    m.store()
        .add_records(&[b"pay bob".to_vec()])
        .expect("added");
    let out = m.handle(
        Event::RecordsAdded {
            records: vec![b"pay bob".to_vec()],
        },
        t0(),
    );
    assert!(out.contains(&Command::Publish(Gossip::Record(b"pay bob".to_vec()))));
    let [job] = &jobs(&out)[..] else {
        panic!("a pending record starts a job: {out:?}");
    };
    let out = m.handle(
        Event::Mined {
            job: job.id,
            header: solve(job),
        },
        t0(),
    );
    let published: Vec<_> = out
        .iter()
        .filter_map(|c| match c {
            Command::Publish(Gossip::Block(block)) => Some(block.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].records, [b"pay bob".to_vec()]);
    assert_eq!(m.tip().height, 1);
    // Another record right away: the minimum interval holds the next job back.
    m.store()
        .add_records(&[b"pay carol".to_vec()])
        .expect("added");
    let out = m.handle(
        Event::RecordsAdded {
            records: vec![b"pay carol".to_vec()],
        },
        t0().after(Duration::from_secs(1)),
    );
    assert!(jobs(&out).is_empty());
    // The first tick polls the peers (none here) and leaves the mining pause as the next timer.
    let out = m.handle(Event::Tick, t0().after(Duration::from_secs(2)));
    assert!(jobs(&out).is_empty(), "still within the minimum interval");
    assert_eq!(m.next_wakeup(), t0().after(Duration::from_secs(5)));
    let out = m.handle(Event::Tick, t0().after(Duration::from_secs(5)));
    assert_eq!(jobs(&out).len(), 1, "after the interval, mining resumes");
}

#[test]
fn a_block_found_for_a_replaced_job_is_ignored() {
    let policy = MiningPolicy {
        mine_empty: true,
        min_interval: Duration::ZERO,
    };
    let mut m = machine(MachineConfig {
        mining: Some(policy),
        ..MachineConfig::default()
    });
    let [old] = &jobs(&m.start(t0()))[..] else {
        panic!("an empty-block miner starts at once");
    };
    // A block from the network moves the tip: the job is replaced.
    let chain = blocks(1, "net");
    let out = m.handle(gossip(ALICE, 1, &chain[0]), t0());
    let [new] = &jobs(&out)[..] else {
        panic!("a new tip replaces the job: {out:?}");
    };
    assert_ne!(old.id, new.id);
    assert_eq!(new.header.prev_blockhash, chain[0].block_hash());
    let out = m.handle(
        Event::Mined {
            job: old.id,
            header: solve(old),
        },
        t0(),
    );
    assert!(out.is_empty(), "a stale find changes nothing: {out:?}");
    assert_eq!(m.tip().hash, chain[0].block_hash());
}

#[test]
fn a_store_tampered_while_running_is_cut_back_and_refetched_from_peers() {
    let mut m = machine(MachineConfig::default());
    let chain = blocks(4, "a");
    m.store()
        .append_blocks(&chain, t0().unix_secs())
        .expect("valid");
    m.handle(Event::PeerConnected { peer: ALICE }, t0());
    // Answer the connection's tip request, so the next one can be asked.
    let mut changed = (*chain[2]).clone();
    changed.records[0] = b"tampered".to_vec();
    m.store().tamper(3, changed).expect("block 3 exists");
    let out = m.handle(Event::Recheck, t0());
    let repaired = out.iter().find_map(|c| match c {
        Command::Notice(Notice::Repaired(repair)) => Some(repair.clone()),
        _ => None,
    });
    let repair = repaired.expect("the tampered block is found");
    assert_eq!(repair.bad_height, 3);
    assert_eq!(repair.code, "records-altered");
    assert_eq!(m.tip().height, 2);
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::TipChanged(tip) if tip.height == 2))
    );
}

#[test]
fn the_same_events_give_the_same_commands() {
    let run = || {
        let mut m = machine(MachineConfig::default());
        let chain = blocks(3, "a");
        let mut all = Vec::new();
        for peer in [BOB, ALICE] {
            all.extend(m.handle(Event::PeerConnected { peer }, t0()));
        }
        for (i, block) in chain.iter().enumerate() {
            all.extend(m.handle(gossip(ALICE, i as u64, block), t0()));
        }
        all.extend(m.handle(Event::Tick, t0().after(Duration::from_secs(60))));
        all
    };
    assert_eq!(run(), run());
}
