//! Validation: the rules every block must meet against its parent, and a verifier that walks a
//! chain forward from genesis and names the first block that breaks one.
//!
//! A chain cannot repair tampering, but it can always *identify* it: change anything in a block
//! and that block stops meeting some rule, and if it is re-mined to meet them again, the next block
//! stops linking to it. [`Verifier`] reports the first failure as an [`InvalidBlock`]: its height,
//! its hash and the [`Rule`] it broke.
//!
//! Hashing dominates the cost and the hash of each block is independent of the others, so the
//! verifier hashes batches on all cores (through [`crate::sha256d`]) and then walks the batch in
//! order, which is cheap: compare a link, a `bits` value and a few times per block.

use std::collections::VecDeque;
use std::fmt;

use crate::block::Block;
use crate::hash::{BlockHash, MerkleRoot};
use crate::header::Header;
use crate::params::ChainParams;
use crate::pow::{CompactTarget, CompactTargetError, Target, Work};
use crate::retarget;
use crate::sha256d;

/// The rule a block broke.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// Block 0 is not the chain's genesis block.
    BadGenesis {
        /// The chain's genesis hash.
        expected: BlockHash,
    },
    /// The header no longer hashes to the hash it was stored under: it was changed after it was
    /// accepted.
    HeaderChanged {
        /// The hash the block was stored under.
        recorded: BlockHash,
    },
    /// The block does not name the block before it as its parent.
    BrokenLink {
        /// The hash of the block before it.
        expected: BlockHash,
        /// The parent hash in this block's header.
        found: BlockHash,
    },
    /// The `bits` field differs from what the retarget rule demands at this height.
    WrongDifficulty {
        /// What the retarget rule demands.
        expected: CompactTarget,
        /// What the header has.
        found: CompactTarget,
    },
    /// The `bits` field is not a usable target.
    BadTarget(CompactTargetError),
    /// The target is easier than the chain's proof-of-work limit.
    TargetAboveLimit {
        /// The header's target.
        target: Target,
    },
    /// The hash is above the target: not enough work was done.
    HashAboveTarget {
        /// The header's target.
        target: Target,
    },
    /// The time is not after the median time of the previous blocks.
    TimeTooOld {
        /// The header's time.
        time: u32,
        /// The median time past it must exceed.
        median_time_past: u32,
    },
    /// The time is too far ahead of the verifier's clock.
    TimeTooNew {
        /// The header's time.
        time: u32,
        /// The latest time allowed (now plus the chain's drift).
        limit: u64,
    },
    /// The block's encoding is larger than the chain allows.
    TooLarge {
        /// The encoded size.
        size: usize,
        /// The chain's limit.
        max: usize,
    },
    /// The records do not hash to the merkle root in the header: they were changed.
    RecordsMismatch {
        /// The root the header commits to.
        header: MerkleRoot,
        /// The root of the records as they are.
        records: MerkleRoot,
    },
}

impl Rule {
    /// Returns a short stable name for the rule, for JSON output and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Rule::BadGenesis { .. } => "bad-genesis",
            Rule::HeaderChanged { .. } => "header-changed",
            Rule::BrokenLink { .. } => "broken-link",
            Rule::WrongDifficulty { .. } => "wrong-difficulty",
            Rule::BadTarget(_) => "bad-target",
            Rule::TargetAboveLimit { .. } => "target-above-limit",
            Rule::HashAboveTarget { .. } => "not-enough-work",
            Rule::TimeTooOld { .. } => "time-too-old",
            Rule::TimeTooNew { .. } => "time-too-new",
            Rule::TooLarge { .. } => "too-large",
            Rule::RecordsMismatch { .. } => "records-altered",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::BadGenesis { expected } => {
                write!(
                    f,
                    "bad genesis: block 0 must be this chain's genesis block {expected}"
                )
            }
            Rule::HeaderChanged { recorded } => write!(
                f,
                "header changed: it no longer hashes to {recorded}, the hash it was stored under"
            ),
            Rule::BrokenLink { expected, found } => write!(
                f,
                "broken link: it names {found} as its parent, but the block before it is {expected}"
            ),
            Rule::WrongDifficulty { expected, found } => write!(
                f,
                "wrong difficulty: bits are {found}, the retarget rule requires {expected}"
            ),
            Rule::BadTarget(error) => write!(f, "bad target: {error}"),
            Rule::TargetAboveLimit { target } => {
                write!(
                    f,
                    "target above limit: {target} is easier than the chain allows"
                )
            }
            Rule::HashAboveTarget { target } => {
                write!(
                    f,
                    "not enough work: the block hash is above its target {target}"
                )
            }
            Rule::TimeTooOld {
                time,
                median_time_past,
            } => write!(
                f,
                "time too old: {time} is not after {median_time_past}, the median of the \
                 previous blocks"
            ),
            Rule::TimeTooNew { time, limit } => {
                write!(f, "time too far in the future: {time} is after {limit}")
            }
            Rule::TooLarge { size, max } => {
                write!(f, "too large: {size} bytes, above the limit of {max}")
            }
            Rule::RecordsMismatch { header, records } => write!(
                f,
                "records altered: they hash to {records}, but the header commits to {header}"
            ),
        }
    }
}

/// The first invalid block of a chain: where it is, what it is, and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block {height} ({hash}) is invalid: {rule}")]
pub struct InvalidBlock {
    /// The block's height (genesis is 0).
    pub height: u64,
    /// The block's hash, as its header hashes now.
    pub hash: BlockHash,
    /// The rule it broke.
    pub rule: Rule,
}

/// What a block needs to know of its ancestors to be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// The height of the block being checked.
    pub height: u64,
    /// The hash of its parent.
    pub prev_hash: BlockHash,
    /// The `bits` the retarget rule demands, or `None` if the verifier cannot know (it started
    /// from a checkpoint after the period's first block).
    pub expected_bits: Option<CompactTarget>,
    /// The median time of the parent and its ancestors, or `None` if not enough are known.
    pub median_time_past: Option<u32>,
    /// The checker's clock, in seconds since the Unix epoch.
    pub now: u32,
}

impl Context {
    /// Builds the context of the block at `height` from its ancestors: `ancestors` ends with the
    /// parent and holds up to `median_time_span` of the latest blocks, oldest first;
    /// `period_start_time` is the time of the block at [`retarget::period_start_height`] (only
    /// needed at a retarget height).
    ///
    /// Returns `None` if `ancestors` is empty.
    pub fn from_ancestors(
        params: &ChainParams,
        height: u64,
        ancestors: &[Header],
        period_start_time: Option<u32>,
        now: u32,
    ) -> Option<Self> {
        let parent = ancestors.last()?;
        let span = &ancestors[ancestors.len().saturating_sub(params.median_time_span)..];
        let times: Vec<u32> = span.iter().map(|header| header.time).collect();
        Some(Self {
            height,
            prev_hash: parent.block_hash(),
            expected_bits: retarget::next_bits(params, height, parent, period_start_time),
            median_time_past: median_time_past(&times),
            now,
        })
    }
}

/// Returns the median of block times as Bitcoin Core's GetMedianTimePast takes it (the upper
/// middle for an even count), or `None` for no times.
pub fn median_time_past(times: &[u32]) -> Option<u32> {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

/// Checks the header rules of a non-genesis block whose header hashes to `hash`.
///
/// # Errors
/// Returns the first rule broken, in this order: link, difficulty, target, work, time.
pub fn check_header(
    params: &ChainParams,
    header: &Header,
    hash: BlockHash,
    ctx: &Context,
) -> Result<(), Rule> {
    if header.prev_blockhash != ctx.prev_hash {
        return Err(Rule::BrokenLink {
            expected: ctx.prev_hash,
            found: header.prev_blockhash,
        });
    }
    if let Some(expected) = ctx.expected_bits
        && header.bits != expected
    {
        return Err(Rule::WrongDifficulty {
            expected,
            found: header.bits,
        });
    }
    let target = header.bits.to_target().map_err(Rule::BadTarget)?;
    if target > params.pow_limit {
        return Err(Rule::TargetAboveLimit { target });
    }
    if !target.is_met_by(hash) {
        return Err(Rule::HashAboveTarget { target });
    }
    check_time(params, header.time, ctx)
}

fn check_time(params: &ChainParams, time: u32, ctx: &Context) -> Result<(), Rule> {
    if let Some(median_time_past) = ctx.median_time_past
        && time <= median_time_past
    {
        return Err(Rule::TimeTooOld {
            time,
            median_time_past,
        });
    }
    let limit = u64::from(ctx.now) + u64::from(params.max_future_drift);
    if u64::from(time) > limit {
        return Err(Rule::TimeTooNew { time, limit });
    }
    Ok(())
}

/// Checks the rules about a block's body: its size and its records against the merkle root.
///
/// # Errors
/// Returns [`Rule::TooLarge`] or [`Rule::RecordsMismatch`].
pub fn check_body(params: &ChainParams, block: &Block) -> Result<(), Rule> {
    let size = block.encoded_size();
    if size > params.max_block_size {
        return Err(Rule::TooLarge {
            size,
            max: params.max_block_size,
        });
    }
    let records = block.compute_merkle_root();
    if records != block.header.merkle_root {
        return Err(Rule::RecordsMismatch {
            header: block.header.merkle_root,
            records,
        });
    }
    Ok(())
}

/// A summary of a verified chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ChainSummary {
    /// The number of blocks, genesis included (or checked after a checkpoint).
    pub blocks: u64,
    /// The tip's height.
    pub height: u64,
    /// The tip's hash.
    pub tip: BlockHash,
    /// The sum of the work of the blocks counted.
    pub work: Work,
}

/// Walks a chain forward, one batch at a time, and stops at the first invalid block.
///
/// Feed it headers ([`Verifier::push_headers`]) or whole blocks ([`Verifier::push_blocks`]) in
/// order from genesis; it keeps only what the rules need of the past (the last few times, the
/// period's start, the parent), so a chain of any length verifies in constant memory.
///
/// ```
/// use ironchain_core::chain::unix_now;
/// use ironchain_core::{BlockHash, Blockchain, ChainParams, Header, Rule, Verifier};
///
/// // Mine three blocks on the regtest chain (about two hashes a block) and take their headers.
/// let params = ChainParams::regtest();
/// let mut chain = Blockchain::new(params.clone());
/// for i in 1..=3 {
///     chain.add_records(vec![format!("record {i}").into_bytes()])?;
/// }
/// let headers: Vec<Header> = chain.blocks().iter().map(|block| block.header).collect();
///
/// let mut verifier = Verifier::new(&params, unix_now());
/// verifier.push_headers(&headers)?;
/// let summary = verifier.summary().expect("genesis was accepted");
/// assert_eq!((summary.blocks, summary.height), (4, 3));
/// assert_eq!(summary.tip, chain.tip().block_hash());
///
/// // A header that does not link to the one before it is named, with the rule it broke.
/// let mut forged = headers.clone();
/// forged[2].prev_blockhash = BlockHash::ZERO;
/// let invalid = Verifier::new(&params, unix_now())
///     .push_headers(&forged)
///     .expect_err("block 2 does not link to block 1");
/// assert_eq!(invalid.height, 2);
/// assert!(matches!(invalid.rule, Rule::BrokenLink { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Verifier<'p> {
    params: &'p ChainParams,
    now: u32,
    threads: usize,
    /// The height of the next block to check.
    next_height: u64,
    /// The last accepted header and its hash.
    parent: Option<(Header, BlockHash)>,
    /// Times of the last `median_time_span` blocks, oldest first.
    recent_times: VecDeque<u32>,
    /// Whether `recent_times` holds every block it should (false after a checkpoint, until full).
    times_complete: bool,
    /// The time of the first block of the current retarget period, if seen.
    period_start_time: Option<u32>,
    /// The last target seen and its work, to skip the division while `bits` stays the same.
    last_work: Option<(CompactTarget, Work)>,
    work: Work,
    blocks: u64,
}

/// How many headers are hashed per parallel batch: big enough to amortise starting threads,
/// small enough to keep memory flat.
const BATCH: usize = 1 << 16;

impl<'p> Verifier<'p> {
    /// Starts a verifier at genesis. `now` is the clock the future-time rule is checked against.
    pub fn new(params: &'p ChainParams, now: u32) -> Self {
        Self {
            params,
            now,
            threads: default_threads(),
            next_height: 0,
            parent: None,
            recent_times: VecDeque::with_capacity(params.median_time_span),
            times_complete: true,
            period_start_time: None,
            last_work: None,
            work: Work::ZERO,
            blocks: 0,
        }
    }

    /// Starts a verifier after a trusted header at `height` (a checkpoint), for files of headers
    /// that do not begin at genesis. Rules that need more history than the checkpoint gives (the
    /// median time of the previous blocks, a retarget whose period began before it) are checked
    /// from the point where that history has been seen.
    pub fn from_checkpoint(params: &'p ChainParams, height: u64, header: Header, now: u32) -> Self {
        let mut verifier = Self::new(params, now);
        verifier.times_complete = false;
        verifier.next_height = height;
        verifier.accept(&header, header.block_hash());
        verifier
    }

    /// Sets how many threads hash in parallel (at least one).
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Returns what the next block will be checked against, or `None` before genesis.
    pub fn context(&self) -> Option<Context> {
        let (parent, prev_hash) = self.parent.as_ref()?;
        let height = self.next_height;
        let period_start_time = self.period_start_time;
        Some(Context {
            height,
            prev_hash: *prev_hash,
            expected_bits: retarget::next_bits(self.params, height, parent, period_start_time),
            median_time_past: self.median_time_past(),
            now: self.now,
        })
    }

    /// Returns the summary of what has been accepted so far, or `None` if nothing has.
    pub fn summary(&self) -> Option<ChainSummary> {
        let (_, tip) = self.parent.as_ref()?;
        Some(ChainSummary {
            blocks: self.blocks,
            height: self.next_height.saturating_sub(1),
            tip: *tip,
            work: self.work,
        })
    }

    /// Checks headers, in order, continuing from the last one accepted.
    ///
    /// # Errors
    /// Returns the first invalid header; the verifier stays at the header before it.
    pub fn push_headers(&mut self, headers: &[Header]) -> Result<(), InvalidBlock> {
        let mut raw = Vec::with_capacity(headers.len().min(BATCH));
        for chunk in headers.chunks(BATCH) {
            raw.clear();
            raw.extend(chunk.iter().map(Header::to_bytes));
            let hashes = hash_headers_parallel(&raw, self.threads);
            for (header, hash) in chunk.iter().zip(hashes) {
                self.check_and_accept(header, hash, None, None)?;
            }
        }
        Ok(())
    }

    /// Checks raw 80-byte headers, in order, as [`Verifier::push_headers`] does.
    ///
    /// # Errors
    /// As [`Verifier::push_headers`].
    pub fn push_raw_headers(&mut self, headers: &[[u8; 80]]) -> Result<(), InvalidBlock> {
        for chunk in headers.chunks(BATCH) {
            let hashes = hash_headers_parallel(chunk, self.threads);
            for (raw, hash) in chunk.iter().zip(hashes) {
                self.check_and_accept(&Header::from_bytes(raw), hash, None, None)?;
            }
        }
        Ok(())
    }

    /// Checks whole blocks, in order: every header rule, and with `check_records` the size and
    /// merkle rules too. `recorded` optionally gives the hash each block was stored under, so a
    /// changed header is named even when it happens to still meet its target.
    ///
    /// # Errors
    /// As [`Verifier::push_headers`].
    ///
    /// # Panics
    /// Panics if `recorded` is given with a different length than `blocks`.
    pub fn push_blocks(
        &mut self,
        blocks: &[Block],
        recorded: Option<&[BlockHash]>,
        check_records: bool,
    ) -> Result<(), InvalidBlock> {
        if let Some(recorded) = recorded {
            assert_eq!(recorded.len(), blocks.len(), "one recorded hash per block");
        }
        let params = self.params;
        for (index, chunk) in blocks.chunks(BATCH).enumerate() {
            // Hash headers (in kernel batches) and check bodies on all cores; the walk below
            // stays in order.
            let checked = parallel_chunks(chunk, self.threads, |blocks| {
                let raw: Vec<[u8; 80]> = blocks.iter().map(|b| b.header.to_bytes()).collect();
                let mut hashes = vec![[0u8; 32]; raw.len()];
                sha256d::hash_headers(&raw, &mut hashes);
                blocks
                    .iter()
                    .zip(hashes)
                    .map(|(block, hash)| {
                        let body = if check_records {
                            check_body(params, block).err()
                        } else {
                            None
                        };
                        (BlockHash::from_byte_array(hash), body)
                    })
                    .collect()
            });
            for (offset, (block, (hash, body))) in chunk.iter().zip(checked).enumerate() {
                let recorded = recorded.map(|all| all[index * BATCH + offset]);
                self.check_and_accept(&block.header, hash, recorded, body)?;
            }
        }
        Ok(())
    }

    /// Checks one header against the current context and, if it and the body's result (`body`,
    /// the rule the body broke if any) pass, makes it the parent.
    fn check_and_accept(
        &mut self,
        header: &Header,
        hash: BlockHash,
        recorded: Option<BlockHash>,
        body: Option<Rule>,
    ) -> Result<(), InvalidBlock> {
        let height = self.next_height;
        let fail = |rule| InvalidBlock { height, hash, rule };
        if let Some(recorded) = recorded
            && recorded != hash
        {
            return Err(fail(Rule::HeaderChanged { recorded }));
        }
        match self.context() {
            None => {
                let expected = self.params.genesis_hash();
                if hash != expected {
                    return Err(fail(Rule::BadGenesis { expected }));
                }
            }
            Some(ctx) => check_header(self.params, header, hash, &ctx).map_err(fail)?,
        }
        if let Some(rule) = body {
            return Err(fail(rule));
        }
        self.accept(header, hash);
        Ok(())
    }

    /// Makes `header` the parent of the next block, updating the history the rules need.
    fn accept(&mut self, header: &Header, hash: BlockHash) {
        let height = self.next_height;
        if height.is_multiple_of(u64::from(self.params.retarget_interval)) {
            self.period_start_time = Some(header.time);
        }
        if self.recent_times.len() == self.params.median_time_span {
            self.recent_times.pop_front();
            self.times_complete = true;
        }
        self.recent_times.push_back(header.time);
        let work = match self.last_work {
            Some((bits, work)) if bits == header.bits => work,
            _ => {
                // A checkpoint or genesis with unusable bits adds no work rather than failing.
                let work = header
                    .bits
                    .to_target()
                    .map(Target::work)
                    .unwrap_or(Work::ZERO);
                self.last_work = Some((header.bits, work));
                work
            }
        };
        self.work += work;
        self.blocks += 1;
        self.parent = Some((*header, hash));
        self.next_height = height + 1;
    }

    /// Bitcoin Core's GetMedianTimePast: the median of the parent's and its ancestors' times (up
    /// to `median_time_span` of them), the upper middle one for an even count.
    fn median_time_past(&self) -> Option<u32> {
        if !self.times_complete {
            return None;
        }
        // Sorting a copy on the stack: this runs once per block, so it must not allocate.
        let mut times = [0u32; 64];
        let n = self.recent_times.len().min(times.len());
        for (slot, time) in times.iter_mut().zip(&self.recent_times) {
            *slot = *time;
        }
        let times = &mut times[..n];
        times.sort_unstable();
        times.get(n / 2).copied()
    }
}

/// Returns the number of threads to use: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Double-SHA-256 hashes of raw headers, computed on up to `threads` threads.
pub fn hash_headers_parallel(headers: &[[u8; 80]], threads: usize) -> Vec<BlockHash> {
    let mut out = vec![[0u8; 32]; headers.len()];
    // Below this, starting threads costs more than it saves.
    const MIN_PER_THREAD: usize = 4096;
    let threads = threads.clamp(1, headers.len().div_ceil(MIN_PER_THREAD).max(1));
    if threads == 1 {
        sha256d::hash_headers(headers, &mut out);
    } else {
        let per = headers.len().div_ceil(threads);
        std::thread::scope(|scope| {
            for (input, output) in headers.chunks(per).zip(out.chunks_mut(per)) {
                scope.spawn(move || sha256d::hash_headers(input, output));
            }
        });
    }
    out.into_iter().map(BlockHash::from_byte_array).collect()
}

/// Applies `f` to consecutive chunks of `items` on up to `threads` threads and concatenates the
/// results in order.
fn parallel_chunks<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&[T]) -> Vec<U> + Sync,
) -> Vec<U> {
    const MIN_PER_THREAD: usize = 1024;
    let threads = threads.clamp(1, items.len().div_ceil(MIN_PER_THREAD).max(1));
    if threads == 1 {
        return f(items);
    }
    let per = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|chunk| scope.spawn(move || f(chunk)))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests;
