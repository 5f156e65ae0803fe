//! A live double-spend race: a real attacker miner against real honest miners, on a real chain.
//!
//! Both sides fork from the same tip. The honest branch starts with the merchant's payment; the
//! attacker's private branch starts with a block paying the same coins back to itself. The race
//! starts level, once both first blocks exist (the whitepaper's accounting: the attacker's
//! progress is counted over the `z` honest blocks after the payment's block, and these two first
//! blocks are mined before the clock starts). The merchant accepts once the payment has `z`
//! blocks on top of it. From then on the attacker wins if its branch has at least as much work as
//! the honest one (it has "caught up"; one more block and every node would switch to it), and
//! gives up once `give_up_behind` blocks behind. The chance of an attacker win is then
//! [`catch_up_probability_exact`], less the small chance of coming back from `give_up_behind`.
//!
//! Each job starts at a random nonce (from [`LiveRace::seed`]), so that races started within the
//! same second, whose headers are otherwise identical, are independent lotteries.
//!
//! The hash-power split is real: one thread mines for both sides in turn, a chunk of nonces at a
//! time, giving each chunk to the side furthest below its share of the hashes done so far (a duty
//! cycle counted in hashes, not seconds, so that a busy machine pausing the thread cannot favour
//! either side). The measured split of hashes is reported next to the one asked for. A real
//! network splits hash power across machines; sharing one core is the same lottery, run slower.
//! Each side's blocks carry its own real times, so each branch retargets as its own pace demands.

use std::time::{Duration, Instant};

use crate::block::Block;
use crate::chain::{AddError, Blockchain, unix_now};
use crate::hash::BlockHash;
use crate::header::Header;
use crate::miner::MineControl;
use crate::params::ChainParams;
use crate::pow::Work;
use crate::sha256d;

use super::rng::Xoshiro256;
use super::{AttackerShare, catch_up_probability_exact};

/// The race to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveRace {
    /// The attacker's share of the hash power.
    pub attacker_share: AttackerShare,
    /// Confirmations the merchant waits for on top of the payment's block.
    pub z: u32,
    /// The attacker gives up when the honest branch is this many blocks longer (at least 1).
    pub give_up_behind: u32,
    /// The race is called off, undecided, after this long.
    pub max_duration: Duration,
    /// Seeds the random first nonce of every mining job.
    pub seed: u64,
}

impl LiveRace {
    /// A race at share `q` against `z` confirmations, giving up `z + 6` blocks behind, for at most
    /// `max_duration`, with first nonces drawn from `seed`.
    pub fn new(attacker_share: AttackerShare, z: u32, max_duration: Duration, seed: u64) -> Self {
        Self {
            attacker_share,
            z,
            give_up_behind: z.saturating_add(6),
            max_duration,
            seed,
        }
    }
}

/// Who won a live race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Winner {
    /// The attacker's branch caught up after the merchant accepted: the payment can be undone.
    Attacker,
    /// The attacker fell `give_up_behind` blocks behind and gave up.
    Honest,
    /// Time ran out first.
    Undecided,
}

/// Which side mined a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Side {
    /// The honest network.
    Honest,
    /// The attacker.
    Attacker,
}

/// One block found during the race.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Event {
    /// Seconds since the race started.
    pub seconds: f64,
    /// Who found it.
    pub side: Side,
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: BlockHash,
    /// Honest branch length minus attacker branch length, in blocks, after it.
    pub deficit: i64,
}

/// What happened in a live race.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LiveReport {
    /// Who won.
    pub winner: Winner,
    /// The share asked for.
    pub requested_share: f64,
    /// The attacker's share of the hashes actually done during the race.
    pub measured_share: f64,
    /// Confirmations the merchant waited for.
    pub z: u32,
    /// The deficit at which the attacker gives up.
    pub give_up_behind: u32,
    /// The height both branches fork from.
    pub fork_height: u64,
    /// Blocks on the honest branch (the payment's block and those after it).
    pub honest_blocks: u64,
    /// Blocks on the attacker's branch, its first block included.
    pub attacker_blocks: u64,
    /// Seconds from the start until the merchant accepted, if it did.
    pub accepted_after: Option<f64>,
    /// The attacker's blocks when the merchant accepted.
    pub attacker_blocks_at_acceptance: Option<u64>,
    /// Hashes the honest side did during the race (its first block not counted).
    pub honest_hashes: u64,
    /// Hashes the attacker did during the race (its first block not counted).
    pub attacker_hashes: u64,
    /// Work on the honest branch, from the fork.
    pub honest_work: Work,
    /// Work on the attacker's branch, from the fork.
    pub attacker_work: Work,
    /// The honest branch's tip.
    pub honest_tip: BlockHash,
    /// The attacker branch's tip.
    pub attacker_tip: BlockHash,
    /// How long the race took.
    pub seconds: f64,
    /// The chance that the attacker ever catches up, by [`catch_up_probability_exact`] at the
    /// requested share (the race's own cap makes the real chance a little lower).
    pub expected_probability: f64,
    /// Every block found, in order.
    pub events: Vec<Event>,
}

/// Why a live race could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// A mined block was refused by its own branch (a bug, not bad luck).
    #[error("a mined block was refused: {0}")]
    Refused(#[from] AddError),
}

/// Nonces one side tries before the clock is checked again: well under a millisecond.
const CHUNK: u64 = 1 << 10;

/// Runs a race on `params` (the demo chain's blocks take milliseconds, so races take seconds).
///
/// # Errors
/// [`LiveError::Refused`] if a block mined here fails validation, which would be a bug.
pub fn race(params: &ChainParams, race: &LiveRace) -> Result<LiveReport, LiveError> {
    let base = Blockchain::new(params.clone()).with_threads(1);
    let fork_height = base.height();
    let fork_work = base.total_work();
    // The two first blocks, mined before the clock starts: the race starts level.
    let (mut honest, mut attacker) = (base.clone(), base);
    honest.add_records_with(
        vec![b"alice pays the merchant 10".to_vec()],
        &MineControl::new(),
    )?;
    attacker.add_records_with(vec![b"alice pays alice 10".to_vec()], &MineControl::new())?;
    let mut honest = Miner::new(honest, b"honest block".to_vec(), race.seed);
    let mut attacker = Miner::new(attacker, b"attacker block".to_vec(), race.seed ^ u64::MAX);

    let q = race.attacker_share.get();
    let started = Instant::now();
    let mut events = Vec::new();
    let mut accepted = None;
    let winner = 'race: loop {
        let honest_len = honest.chain.height() - fork_height;
        let attacker_len = attacker.chain.height() - fork_height;
        let deficit = honest_len as i64 - attacker_len as i64;
        if accepted.is_none() && honest_len > u64::from(race.z) {
            // At the time of the block that made it: the race's start when z = 0.
            let at = events.last().map_or(0.0, |event: &Event| event.seconds);
            accepted = Some((at, attacker_len));
        }
        if accepted.is_some() {
            if attacker.chain.total_work() >= honest.chain.total_work() {
                break Winner::Attacker;
            }
            if deficit >= i64::from(race.give_up_behind.max(1)) {
                break Winner::Honest;
            }
        }
        // Mine, a chunk at a time, until either side finds a block.
        let (side, (height, hash)) = loop {
            if started.elapsed() >= race.max_duration {
                break 'race Winner::Undecided;
            }
            // The attacker mines next if its share of all hashes so far is below q.
            let total = (attacker.hashes + honest.hashes) as f64;
            let (side, miner) = if (attacker.hashes as f64) < q * (total + CHUNK as f64) {
                (Side::Attacker, &mut attacker)
            } else {
                (Side::Honest, &mut honest)
            };
            if let Some(found) = miner.mine_chunk()? {
                break (side, found);
            }
        };
        let deficit = match side {
            Side::Honest => deficit + 1,
            Side::Attacker => deficit - 1,
        };
        events.push(Event {
            seconds: started.elapsed().as_secs_f64(),
            side,
            height,
            hash,
            deficit,
        });
    };
    let total = honest.hashes + attacker.hashes;
    Ok(LiveReport {
        winner,
        requested_share: q,
        measured_share: attacker.hashes as f64 / total.max(1) as f64,
        z: race.z,
        give_up_behind: race.give_up_behind.max(1),
        fork_height,
        honest_blocks: honest.chain.height() - fork_height,
        attacker_blocks: attacker.chain.height() - fork_height,
        accepted_after: accepted.map(|(seconds, _)| seconds),
        attacker_blocks_at_acceptance: accepted.map(|(_, blocks)| blocks),
        honest_hashes: honest.hashes,
        attacker_hashes: attacker.hashes,
        honest_work: branch_work(&honest.chain, fork_work),
        attacker_work: branch_work(&attacker.chain, fork_work),
        honest_tip: honest.chain.tip().block_hash(),
        attacker_tip: attacker.chain.tip().block_hash(),
        seconds: started.elapsed().as_secs_f64(),
        expected_probability: catch_up_probability_exact(race.attacker_share, race.z),
        events,
    })
}

fn branch_work(chain: &Blockchain, fork_work: Work) -> Work {
    Work::from_u256(chain.total_work().to_u256() - fork_work.to_u256())
}

/// One side's miner: its branch and the block it is working on, mined a chunk at a time so the
/// two sides can take turns.
struct Miner {
    chain: Blockchain,
    record: Vec<u8>,
    job: Job,
    hashes: u64,
    rng: Xoshiro256,
}

/// The block being mined: its header's precomputed parts and where the nonce search is.
struct Job {
    records: Vec<Vec<u8>>,
    header: Header,
    midstate: [u32; 8],
    tail: [u8; 16],
    target: [u8; 32],
    next_nonce: u64,
}

impl Miner {
    fn new(chain: Blockchain, record: Vec<u8>, seed: u64) -> Self {
        let mut rng = Xoshiro256::seed_from(seed);
        let job = Job::next(&chain, vec![record.clone()], &mut rng);
        Self {
            chain,
            record,
            job,
            hashes: 0,
            rng,
        }
    }

    /// Tries the next chunk of nonces; returns the height and hash of the block if one was
    /// found and appended.
    fn mine_chunk(&mut self) -> Result<Option<(u64, BlockHash)>, AddError> {
        let job = &mut self.job;
        let count = CHUNK.min((1u64 << 32) - job.next_nonce);
        let outcome = sha256d::scan(
            &job.midstate,
            &job.tail,
            job.next_nonce as u32, // below 2^32: reset below when it reaches it
            count,
            &job.target,
        );
        self.hashes += outcome.hashes;
        job.next_nonce += count;
        let Some(nonce) = outcome.nonce else {
            if job.next_nonce >= 1 << 32 {
                // Every nonce tried at this time: move the time on, as the miner does.
                job.header.time = job.header.time.saturating_add(1);
                job.tail[4..8].copy_from_slice(&job.header.time.to_le_bytes());
                job.next_nonce = 0;
            }
            return Ok(None);
        };
        let mut header = job.header;
        header.nonce = nonce;
        let records = std::mem::take(&mut job.records);
        let block = Block::new(header, records);
        let hash = block.block_hash();
        self.chain.push(block, unix_now())?;
        self.job = Job::next(&self.chain, vec![self.record.clone()], &mut self.rng);
        Ok(Some((self.chain.height(), hash)))
    }
}

impl Job {
    fn next(chain: &Blockchain, records: Vec<Vec<u8>>, rng: &mut Xoshiro256) -> Self {
        let header = chain.next_header(&records, unix_now());
        let bytes = header.to_bytes();
        let target = header
            .bits
            .to_target()
            .expect("the chain's own next bits are a valid target");
        Self {
            midstate: sha256d::midstate(bytes[..64].try_into().expect("a header has 64 bytes")),
            tail: bytes[64..].try_into().expect("a header has 16 tail bytes"),
            target: target.to_le_bytes(),
            header,
            records,
            // A random start: every nonce is an equally good lottery ticket.
            next_nonce: rng.next_u64() >> 32,
        }
    }
}
