//! The miner: search nonces until a header's hash meets its target, on every core.
//!
//! Mining is a lottery: each try is a double SHA-256 of the header with another nonce, and the
//! expected number of tries is the target's [`Work`](crate::pow::Work). Three things make it fast:
//! - the header's first 64 bytes do not contain the nonce, so their SHA-256 state (the
//!   "midstate") is computed once per job and each nonce costs two compressions, not three;
//! - the nonce loop itself is [`crate::sha256d::scan`], which interleaves several nonces on CPUs
//!   with SHA instructions;
//! - threads take chunks of the search space from a shared counter, so all cores stay busy.
//!
//! The search space is the nonce (2^32 values) and then the time: when every nonce has been tried
//! the miner moves the time forward one second and starts again, up to a limit the caller gives
//! (the latest time the chain's rules accept). Whatever the number of threads, the miner returns the
//! *first* solution in that order, so results are reproducible.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::header::Header;
use crate::pow::Target;
use crate::sha256d;

/// Shared state between a running miner and whoever watches or stops it.
#[derive(Debug, Default)]
pub struct MineControl {
    cancel: AtomicBool,
    hashes: AtomicU64,
}

impl MineControl {
    /// Creates a control with nothing hashed and no cancel request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the miner to stop; it returns [`MineOutcome::Cancelled`] within about a millisecond.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Returns true once [`MineControl::cancel`] has been called.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Returns how many hashes have been done so far, by all threads and jobs using this control.
    pub fn hashes(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }
}

/// How a mining job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MineOutcome {
    /// A header whose hash meets the target.
    Found(Header),
    /// [`MineControl::cancel`] was called first.
    Cancelled,
    /// Every nonce at every time up to the limit was tried without success.
    Exhausted,
}

/// What to mine and how.
#[derive(Debug, Clone, Copy)]
pub struct MineJob {
    /// The header to start from: its nonce is the first tried and its time the earliest used.
    pub header: Header,
    /// The target the hash must meet (usually the header's `bits`, decoded).
    pub target: Target,
    /// The latest time the miner may put in the header when it runs out of nonces.
    pub max_time: u32,
    /// How many threads to use (at least one).
    pub threads: usize,
}

/// Nonces a thread takes at a time: small enough to notice a cancel or another thread's find
/// within about a millisecond, large enough that taking them costs nothing.
const CHUNK: u64 = 1 << 14;

/// Mines `job`: returns the first header (in nonce-then-time order from the job's header) whose
/// hash meets the target, counting hashes in `control`.
///
/// ```
/// use ironchain_core::ChainParams;
/// use ironchain_core::miner::{self, MineControl, MineJob, MineOutcome};
///
/// // Mine the demo chain's genesis block again, from nonce 0, on two threads.
/// let params = ChainParams::demo();
/// let mut header = params.genesis.header;
/// header.nonce = 0;
/// let job = MineJob { header, target: params.pow_limit, max_time: header.time, threads: 2 };
///
/// let control = MineControl::new();
/// let MineOutcome::Found(found) = miner::mine(&job, &control) else {
///     panic!("a nonce below 2^32 meets a target this easy");
/// };
/// assert!(params.pow_limit.is_met_by(found.block_hash()));
/// // The first solution in nonce order, whatever the threads: the nonce genesis carries.
/// assert_eq!(found, params.genesis.header);
/// assert!(control.hashes() > u64::from(found.nonce));
///
/// // A cancelled control stops the miner (another thread would call `cancel` while it runs).
/// let control = MineControl::new();
/// control.cancel();
/// assert_eq!(miner::mine(&job, &control), MineOutcome::Cancelled);
/// ```
pub fn mine(job: &MineJob, control: &MineControl) -> MineOutcome {
    let bytes = job.header.to_bytes();
    let midstate = sha256d::midstate(bytes[..64].try_into().expect("a header has 64 bytes"));
    let target = job.target.to_le_bytes();
    // The search space, flattened: index = (time - header.time) * 2^32 + nonce.
    let start = u64::from(job.header.nonce);
    let Some(seconds) = job.max_time.checked_sub(job.header.time) else {
        return MineOutcome::Exhausted;
    };
    let end = (u64::from(seconds) + 1) << 32;
    let next = AtomicU64::new(start);
    let best = AtomicU64::new(u64::MAX);
    let search = || {
        loop {
            if control.is_cancelled() {
                return;
            }
            let from = next.fetch_add(CHUNK, Ordering::Relaxed);
            // Another thread found a solution earlier in the order: nothing here can beat it.
            if from >= end || from >= best.load(Ordering::Relaxed) {
                return;
            }
            let to = (from + CHUNK).min(end);
            if let Some(found) = scan_indices(&bytes, &midstate, from, to, &target, control) {
                best.fetch_min(found, Ordering::Relaxed);
                return;
            }
        }
    };
    let threads = job.threads.max(1);
    if threads == 1 {
        search();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(search);
            }
        });
    }
    match best.into_inner() {
        u64::MAX if control.is_cancelled() => MineOutcome::Cancelled,
        u64::MAX => MineOutcome::Exhausted,
        index => {
            let mut header = job.header;
            header.time += u32::try_from(index >> 32).expect("bounded by max_time");
            header.nonce = index as u32; // the low 32 bits are the nonce
            MineOutcome::Found(header)
        }
    }
}

/// Scans search indices `from..to`, splitting at the 2^32 boundaries where the time moves on.
fn scan_indices(
    header: &[u8; 80],
    midstate: &[u32; 8],
    from: u64,
    to: u64,
    target: &[u8; 32],
    control: &MineControl,
) -> Option<u64> {
    let mut at = from;
    while at < to {
        let seconds = at >> 32;
        let segment_end = ((seconds + 1) << 32).min(to);
        let mut tail: [u8; 16] = header[64..].try_into().expect("a header has 16 tail bytes");
        let time = u32::from_le_bytes([tail[4], tail[5], tail[6], tail[7]]);
        // `mine` bounds the index by max_time, so the time cannot overflow.
        let time = time + u32::try_from(seconds).expect("bounded by max_time");
        tail[4..8].copy_from_slice(&time.to_le_bytes());
        let outcome = sha256d::scan(midstate, &tail, at as u32, segment_end - at, target);
        control.hashes.fetch_add(outcome.hashes, Ordering::Relaxed);
        if let Some(nonce) = outcome.nonce {
            return Some((seconds << 32) | u64::from(nonce));
        }
        at = segment_end;
    }
    None
}

#[cfg(test)]
mod tests;
