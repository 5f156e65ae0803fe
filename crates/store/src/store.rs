//! The store itself: the database file, its tables, creating and opening a chain, and reads.
//!
//! One redb file, `chain.redb`, in the data directory holds everything, so one write transaction
//! can change a block, its indexes, the tip and the pool together: after a crash either all of a
//! change is there or none of it. The tables:
//!
//! | table             | key                  | value                                        |
//! |-------------------|----------------------|----------------------------------------------|
//! | `meta`            | `"params"`, `"tip"`, `"next_record_id"` | see [`crate::codec`]      |
//! | `blocks`          | height, u64          | the block's canonical encoding               |
//! | `hash_by_height`  | height, u64          | the hash the block was accepted under        |
//! | `height_by_hash`  | hash, 32 bytes       | height                                       |
//! | `pool`            | record id, u64       | the pending record's bytes                   |
//! | `pool_by_digest`  | SHA-256 of a record  | record ids (a multimap: duplicates allowed)  |
//!
//! The hash a block was accepted under is kept apart from the block (as Bitcoin Core's block
//! index is), so a header changed in place is caught even if it still meets its target.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ironchain_core::validate::{ChainSummary, default_threads};
use ironchain_core::{Block, BlockHash, ChainParams, Header};
use redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    StorageBackend, TableDefinition,
};

use crate::codec::{self, TipInfo};
use crate::error::{BadBlock, CreateError, DbError, OpenError};

pub(crate) const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
pub(crate) const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
pub(crate) const HASHES: TableDefinition<'_, u64, &[u8; 32]> =
    TableDefinition::new("hash_by_height");
pub(crate) const HEIGHTS: TableDefinition<'_, &[u8; 32], u64> =
    TableDefinition::new("height_by_hash");
pub(crate) const POOL: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("pool");
pub(crate) const POOL_INDEX: MultimapTableDefinition<'_, &[u8; 32], u64> =
    MultimapTableDefinition::new("pool_by_digest");

pub(crate) const KEY_PARAMS: &str = "params";
pub(crate) const KEY_TIP: &str = "tip";
pub(crate) const KEY_NEXT_ID: &str = "next_record_id";

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "chain.redb";

/// redb's page cache. Verification streams the whole chain through it once, so a large cache
/// would only raise resident memory; 64 MiB keeps the recent blocks and the indexes' upper
/// levels. A real deployment serving many readers might want more.
const CACHE_BYTES: usize = 64 << 20;

/// How much [`Store::open`] checks before handing the store over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum VerifyMode {
    /// Every header: links, proof of work, retarget, time, and each header against the hash it
    /// was stored under. Parallel on all cores; about a second per million blocks.
    #[default]
    Quick,
    /// As `Quick`, and every block decoded and its records checked against its merkle root, and
    /// the hash index checked.
    Full,
    /// Trust the database (for tools that only inspect it, or right after a verification).
    None,
}

/// Options for [`Store::open_with`].
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// How much to verify.
    pub mode: VerifyMode,
    /// The clock the future-time rule is checked against; `None` for the system clock.
    pub now: Option<u32>,
    /// Threads for verification; `None` for one per core.
    pub threads: Option<usize>,
    /// Refuse the directory unless its chain has this genesis hash.
    pub expect_genesis: Option<BlockHash>,
}

impl OpenOptions {
    /// Options with this verification mode and everything else at its default.
    pub fn new(mode: VerifyMode) -> Self {
        Self {
            mode,
            ..Self::default()
        }
    }
}

/// A chain on disk: blocks, indexes, tip and the record pool.
///
/// Every method takes `&self`: redb serializes write transactions and lets readers run beside
/// them, so a `Store` can be shared (in an `Arc`) between a node's tasks.
#[derive(Debug)]
pub struct Store {
    pub(crate) db: Database,
    pub(crate) params: ChainParams,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) read_only: AtomicBool,
    pub(crate) threads: usize,
}

/// A store just opened, and the verdict of the verification done on the way.
#[derive(Debug)]
pub struct Opened {
    /// The store; read-only if verification found a bad block.
    pub store: Store,
    /// The verified chain's summary, or its first bad block. With [`VerifyMode::None`] it is the
    /// recorded tip, unchecked.
    pub verification: Result<ChainSummary, BadBlock>,
}

impl Store {
    /// Creates a chain in `dir` (creating the directory if needed) holding only `params`' genesis
    /// block.
    ///
    /// # Errors
    /// [`CreateError::AlreadyExists`] if `dir` already holds a chain (it is never overwritten),
    /// [`CreateError::Params`] if the params cannot make a working chain, or an I/O error.
    pub fn create(dir: &Path, params: ChainParams) -> Result<Store, CreateError> {
        std::fs::create_dir_all(dir).map_err(|source| CreateError::Io {
            dir: dir.to_owned(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        if path.exists() {
            return Err(
                match Store::open_with(dir, &OpenOptions::new(VerifyMode::None)) {
                    Ok(opened) => CreateError::AlreadyExists {
                        dir: dir.to_owned(),
                        name: opened.store.params.name.clone(),
                        genesis: opened.store.params.genesis_hash(),
                    },
                    Err(_) => CreateError::NotAChain {
                        dir: dir.to_owned(),
                    },
                },
            );
        }
        codec::check_params(&params)?;
        // Claim the file first (`create_new` fails if another process got there), so that if
        // creating the chain then fails (a full disk, most likely) the file is known to be ours,
        // holding nothing anyone was told about, and can be removed: `init` then works again
        // once the cause is fixed, instead of finding a half-made database in the way.
        std::fs::File::create_new(&path).map_err(|source| CreateError::Io {
            dir: dir.to_owned(),
            source,
        })?;
        let created = builder()
            .create(&path)
            .map_err(|error| CreateError::Db(error.into()))
            .and_then(|db| Store::initialize(db, params, Some(dir.to_owned())));
        match created {
            Ok(store) => {
                tracing::info!(dir = %dir.display(), chain = %store.params.name, "created chain");
                Ok(store)
            }
            Err(error) => {
                if let Err(remove) = std::fs::remove_file(&path) {
                    tracing::warn!(path = %path.display(), %remove, "cannot remove a failed chain");
                }
                Err(error)
            }
        }
    }

    /// Creates a chain on a custom redb storage backend (in memory, or a fault-injecting one in
    /// tests). If the backend already holds a chain, that chain is returned unchanged unless it
    /// is another chain.
    ///
    /// # Errors
    /// As [`Store::create`].
    pub fn create_with_backend(
        backend: impl StorageBackend,
        params: ChainParams,
    ) -> Result<Store, CreateError> {
        codec::check_params(&params)?;
        let db = builder()
            .create_with_backend(backend)
            .map_err(DbError::from)?;
        Store::initialize(db, params, None)
    }

    fn initialize(
        db: Database,
        params: ChainParams,
        dir: Option<PathBuf>,
    ) -> Result<Store, CreateError> {
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            if let Some(existing) = meta.get(KEY_PARAMS)? {
                let found = codec::decode_params(existing.value())?;
                if found != params {
                    return Err(CreateError::AlreadyExists {
                        dir: dir.unwrap_or_default(),
                        name: found.name.clone(),
                        genesis: found.genesis_hash(),
                    });
                }
            } else {
                let genesis = &params.genesis;
                let hash = genesis.block_hash();
                let tip = TipInfo {
                    height: 0,
                    hash,
                    work: codec::block_work(genesis.header.bits),
                };
                meta.insert(KEY_PARAMS, codec::encode_params(&params).as_slice())?;
                meta.insert(KEY_TIP, codec::encode_tip(&tip).as_slice())?;
                meta.insert(KEY_NEXT_ID, 0u64.to_le_bytes().as_slice())?;
                txn.open_table(BLOCKS)?
                    .insert(0, genesis.encode().as_slice())?;
                txn.open_table(HASHES)?.insert(0, hash.as_byte_array())?;
                txn.open_table(HEIGHTS)?.insert(hash.as_byte_array(), 0)?;
                txn.open_table(POOL)?;
                txn.open_multimap_table(POOL_INDEX)?;
            }
        }
        txn.commit()?;
        Ok(Store {
            db,
            params,
            dir,
            read_only: AtomicBool::new(false),
            threads: default_threads(),
        })
    }

    /// Opens the chain in `dir` and verifies it quickly or fully (see [`VerifyMode`]).
    ///
    /// A chain that fails verification still opens, read-only, so it can be inspected and
    /// repaired ([`Store::truncate_to`]); [`Opened::verification`] names the first bad block.
    ///
    /// # Errors
    /// [`OpenError::NoChain`] if there is no chain in `dir`, [`OpenError::Locked`] if another
    /// process has it open, [`OpenError::Unreadable`] if the file is not a readable database.
    pub fn open(dir: &Path, mode: VerifyMode) -> Result<Opened, OpenError> {
        Store::open_with(dir, &OpenOptions::new(mode))
    }

    /// As [`Store::open`], with options.
    ///
    /// # Errors
    /// As [`Store::open`], and [`OpenError::WrongChain`] if `expect_genesis` does not match.
    pub fn open_with(dir: &Path, options: &OpenOptions) -> Result<Opened, OpenError> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(OpenError::NoChain {
                dir: dir.to_owned(),
            });
        }
        // redb trusts its own page structure: a file damaged behind its back can make it panic
        // while opening rather than return an error. Report that as damage.
        let opened = std::panic::catch_unwind(|| {
            let db = builder().open(&path).map_err(|error| match error {
                redb::DatabaseError::DatabaseAlreadyOpen => OpenError::Locked {
                    dir: dir.to_owned(),
                },
                other => OpenError::Unreadable {
                    dir: dir.to_owned(),
                    source: other.into(),
                },
            })?;
            Store::load(db, Some(dir.to_owned()), options)
        });
        opened.unwrap_or_else(|panic| {
            Err(OpenError::Unreadable {
                dir: dir.to_owned(),
                source: DbError::Corrupt(crate::verify::panic_message(&panic)),
            })
        })
    }

    /// Opens a chain on a custom redb storage backend, as [`Store::open_with`] does.
    ///
    /// # Errors
    /// As [`Store::open_with`].
    pub fn open_backend(
        backend: impl StorageBackend,
        options: &OpenOptions,
    ) -> Result<Opened, OpenError> {
        let db = builder()
            .create_with_backend(backend)
            .map_err(|error| OpenError::Unreadable {
                dir: PathBuf::new(),
                source: error.into(),
            })?;
        Store::load(db, None, options)
    }

    fn load(
        db: Database,
        dir: Option<PathBuf>,
        options: &OpenOptions,
    ) -> Result<Opened, OpenError> {
        let shown = dir.clone().unwrap_or_default();
        let unreadable = |source: DbError| OpenError::Unreadable {
            dir: shown.clone(),
            source,
        };
        let params = {
            let txn = db.begin_read().map_err(|e| unreadable(e.into()))?;
            let meta = match txn.open_table(META) {
                Ok(meta) => meta,
                Err(redb::TableError::TableDoesNotExist(_)) => {
                    return Err(OpenError::NoChain { dir: shown });
                }
                Err(error) => return Err(unreadable(error.into())),
            };
            let Some(bytes) = meta.get(KEY_PARAMS).map_err(|e| unreadable(e.into()))? else {
                return Err(OpenError::NoChain { dir: shown });
            };
            codec::decode_params(bytes.value()).map_err(|e| OpenError::Damaged {
                dir: shown.clone(),
                reason: e.to_string(),
            })?
        };
        if let Some(expected) = options.expect_genesis {
            let found = params.genesis_hash();
            if found != expected {
                return Err(OpenError::WrongChain {
                    dir: shown,
                    found_name: params.name,
                    found,
                    expected,
                });
            }
        }
        let store = Store {
            db,
            params,
            dir,
            read_only: AtomicBool::new(false),
            threads: options.threads.unwrap_or_else(default_threads).max(1),
        };
        let now = options.now.unwrap_or_else(ironchain_core::chain::unix_now);
        let verification = match options.mode {
            VerifyMode::None => {
                let tip = store.tip().map_err(unreadable)?;
                Ok(ChainSummary {
                    blocks: tip.height + 1,
                    height: tip.height,
                    tip: tip.hash,
                    work: tip.work,
                })
            }
            mode => match store.verify_with_progress(mode, now, &mut |_, _| {}) {
                Ok(summary) => Ok(summary),
                Err(crate::VerifyError::Bad(bad)) => Err(*bad),
                Err(crate::VerifyError::Db(error)) => return Err(unreadable(error)),
            },
        };
        Ok(Opened {
            store,
            verification,
        })
    }

    /// Returns the chain's parameters, as stored with it.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// Returns the data directory, if the store is on disk.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Returns true if the store refuses normal writes because verification found a bad block.
    /// [`Store::truncate_to`] and the tamper functions still work.
    pub fn is_read_only(&self) -> bool {
        self.read_only.load(Ordering::Relaxed)
    }

    pub(crate) fn set_read_only(&self, read_only: bool) {
        self.read_only.store(read_only, Ordering::Relaxed);
    }

    /// Returns the recorded tip.
    ///
    /// # Errors
    /// [`DbError`] if the database fails or the tip record is damaged.
    pub fn tip(&self) -> Result<TipInfo, DbError> {
        let txn = self.db.begin_read()?;
        read_tip(&txn.open_table(META)?)
    }

    /// Returns the stored bytes of the block at `height`, exactly as they are on disk.
    ///
    /// # Errors
    /// [`DbError`] if the database fails.
    pub fn raw_block_at(&self, height: u64) -> Result<Option<Vec<u8>>, DbError> {
        let txn = self.db.begin_read()?;
        let blocks = txn.open_table(BLOCKS)?;
        Ok(blocks.get(height)?.map(|bytes| bytes.value().to_vec()))
    }

    /// Returns the block at `height`, or `None` above the tip.
    ///
    /// # Errors
    /// [`DbError::Corrupt`] if the stored bytes do not decode.
    pub fn block_at(&self, height: u64) -> Result<Option<Block>, DbError> {
        self.raw_block_at(height)?
            .map(|bytes| self.decode(height, &bytes))
            .transpose()
    }

    pub(crate) fn decode(&self, height: u64, bytes: &[u8]) -> Result<Block, DbError> {
        Block::decode(bytes, self.params.max_block_size)
            .map_err(|error| DbError::Corrupt(format!("block {height} does not decode: {error}")))
    }

    /// Returns the block with this hash and its height, if it is in the chain.
    ///
    /// # Errors
    /// As [`Store::block_at`].
    pub fn block_by_hash(&self, hash: &BlockHash) -> Result<Option<(u64, Block)>, DbError> {
        let Some(height) = self.height_of(hash)? else {
            return Ok(None);
        };
        Ok(self.block_at(height)?.map(|block| (height, block)))
    }

    /// Returns the hash the block at `height` was accepted under.
    ///
    /// # Errors
    /// [`DbError`] if the database fails.
    pub fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, DbError> {
        let txn = self.db.begin_read()?;
        let hashes = txn.open_table(HASHES)?;
        Ok(hashes
            .get(height)?
            .map(|hash| BlockHash::from_byte_array(*hash.value())))
    }

    /// Returns the height of the block with this hash, if it is in the chain.
    ///
    /// # Errors
    /// [`DbError`] if the database fails.
    pub fn height_of(&self, hash: &BlockHash) -> Result<Option<u64>, DbError> {
        let txn = self.db.begin_read()?;
        let heights = txn.open_table(HEIGHTS)?;
        Ok(heights
            .get(hash.as_byte_array())?
            .map(|height| height.value()))
    }

    /// Returns up to `limit` headers from height `from` upward.
    ///
    /// # Errors
    /// [`DbError::Corrupt`] if a stored block is shorter than a header.
    pub fn headers(&self, from: u64, limit: usize) -> Result<Vec<Header>, DbError> {
        let txn = self.db.begin_read()?;
        let blocks = txn.open_table(BLOCKS)?;
        let mut out = Vec::with_capacity(limit.min(2000));
        for entry in blocks.range(from..)?.take(limit) {
            let (height, bytes) = entry?;
            out.push(header_of(height.value(), bytes.value())?);
        }
        Ok(out)
    }

    /// Returns a Bitcoin block locator for the tip: the last ten hashes, then hashes at
    /// doubling steps back, then genesis (Bitcoin Core's `CChain::GetLocator`).
    ///
    /// # Errors
    /// [`DbError`] if the database fails.
    pub fn locator(&self) -> Result<Vec<BlockHash>, DbError> {
        let txn = self.db.begin_read()?;
        let tip = read_tip(&txn.open_table(META)?)?;
        let hashes = txn.open_table(HASHES)?;
        let mut out = Vec::new();
        let (mut height, mut step) = (tip.height, 1u64);
        loop {
            if let Some(hash) = hashes.get(height)? {
                out.push(BlockHash::from_byte_array(*hash.value()));
            }
            if height == 0 {
                break;
            }
            if out.len() >= 10 {
                step = step.saturating_mul(2);
            }
            height = height.saturating_sub(step);
        }
        Ok(out)
    }

    /// Returns how many records are pending.
    ///
    /// # Errors
    /// [`DbError`] if the database fails.
    pub fn pending_count(&self) -> Result<u64, DbError> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(POOL)?.len()?)
    }
}

fn builder() -> redb::Builder {
    let mut builder = Database::builder();
    builder.set_cache_size(CACHE_BYTES);
    builder
}

/// Reads the tip from the `meta` table.
pub(crate) fn read_tip(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<TipInfo, DbError> {
    let bytes = meta
        .get(KEY_TIP)?
        .ok_or_else(|| DbError::Corrupt("the tip is missing".into()))?;
    codec::decode_tip(bytes.value()).ok_or_else(|| DbError::Corrupt("the tip is malformed".into()))
}

/// Returns the header at the front of a stored block.
pub(crate) fn header_of(height: u64, bytes: &[u8]) -> Result<Header, DbError> {
    let raw: &[u8; 80] = bytes
        .get(..Header::SIZE)
        .and_then(|raw| raw.try_into().ok())
        .ok_or_else(|| DbError::Corrupt(format!("block {height} is shorter than a header")))?;
    Ok(Header::from_bytes(raw))
}
