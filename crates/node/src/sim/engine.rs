//! The discrete-event engine: a clock, a queue of events in time order, and thousands of
//! [`Machine`]s exchanging messages over simulated links.
//!
//! One thread, one queue: events are taken in order of time, ties in the order they were
//! scheduled, so a run is a pure function of its configuration and seed. Nothing reads a real
//! clock or a socket. The engine plays the parts the libp2p driver plays for a real node:
//! - **Gossip**: a node's own block or record goes to all its peers, a received one (once the
//!   machine accepts it) to its mesh; each node drops copies it has already seen, as gossipsub's
//!   seen-cache does. Blocks are shared `Arc`s, never copied or re-encoded; message sizes are
//!   their encoded sizes, so bandwidth still costs what it would.
//! - **Requests**: delivered over the same links; a request to a node that is down, or across a
//!   partition, fails after the request timeout, as libp2p's would.
//! - **Mining**: no hashing race. A miner with share `s` of hash rate `H` finds a block for a
//!   target of work `w` after an exponential time of mean `w / (s H)`, so retargeting works as
//!   on a real chain. The block found is then mined for real (the chain's target is trivial: a
//!   couple of hashes), so every block carries valid proof of work.
//! - **Faults**: partitions, crashes and restarts, tampered stores, bans: see [`Action`].

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ironchain_core::attack::rng::Xoshiro256;
use ironchain_core::miner::{self, MineControl, MineJob, MineOutcome};
use ironchain_core::{Block, BlockHash, ChainParams, Header, Target};
use ironchain_store::{BlockIndex, ChainStore, MemStore};

use super::links::{Micros, SECOND, transfer_time};
use super::topology::Topology;
use crate::clock::Time;
use crate::machine::{
    Command, Event, Gossip, GossipId, InboundId, Machine, MachineConfig, MiningJob, Notice,
    RequestId, Validation,
};
use crate::startup;
use crate::sync::client::ResponseError;
use crate::sync::messages::{BLOCK_LENGTH_SIZE, BLOCKS_HEADER_SIZE};
use crate::sync::{Request, Response};

/// A simulated node's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// How long a request waits for its response (libp2p's request-response timeout in the node).
pub const REQUEST_TIMEOUT: Micros = 30 * SECOND;

/// Bytes a gossip message carries besides its payload: gossipsub's signature, key, topic and
/// framing, about what `net::behaviour` allows for.
const GOSSIP_OVERHEAD: usize = 200;

/// What a node does with the blocks and messages that reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Follows the protocol.
    Honest,
    /// Belongs to an attacker: its own blocks are held back until the attack releases them
    /// ([`super::attack`]); otherwise it follows the protocol.
    Withholding,
    /// Belongs to an attacker and ignores every block not mined by the attacker: it neither
    /// follows nor relays nor serves the honest chain (an eclipse attacker's node).
    Eclipsing,
}

/// Something the scenario does at a given time.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Splits the network: messages between nodes of different groups are lost, and
    /// connections across the cut close.
    Partition(Vec<u8>),
    /// Joins the groups again: the connections across the cut reopen.
    Heal,
    /// A node stops; its machine's memory is lost, its store kept.
    Crash(u32),
    /// A node stops and its store loses its last blocks, this many (writes that never reached
    /// the disk).
    CrashLosing(u32, u64),
    /// A stopped node starts again: it verifies its store, repairs it if needed, reconnects.
    Restart(u32),
    /// Changes a record of the block at this height in a node's store (the node should be down).
    Tamper(u32, u64),
    /// A record is posted to a node (as `POST /records` would).
    PostRecord(u32),
    /// Mining stops everywhere (the run then settles).
    StopMining,
}

/// A scheduled event.
#[derive(Debug)]
enum Due {
    Deliver {
        to: u32,
        incarnation: u32,
        from: u32,
        message: Message,
    },
    Found {
        node: u32,
        generation: u64,
    },
    Tick {
        node: u32,
        incarnation: u32,
    },
    Act(Action),
    Unban {
        a: u32,
        b: u32,
    },
}

/// What travels on a link.
#[derive(Debug)]
enum Message {
    Block(u32),
    Record(u32),
    Request(RequestId, Request),
    Response(RequestId, Result<Response, ResponseError>),
    Connected,
    Disconnected,
}

/// When an event is due, and where it waits: the heap orders small keys, the events themselves
/// stay put in a slab (moving whole events at every heap step was a quarter of a run's time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    at: Micros,
    seq: u64,
    slot: u32,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    /// Reversed: the heap's greatest is the earliest; ties go in the order they were scheduled.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Events in time order.
#[derive(Debug, Default)]
struct Queue {
    heap: BinaryHeap<Key>,
    slots: Vec<Option<Due>>,
    free: Vec<u32>,
    seq: u64,
}

impl Queue {
    fn insert(&mut self, at: Micros, due: Due) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(due);
                slot
            }
            None => {
                self.slots.push(Some(due));
                (self.slots.len() - 1) as u32
            }
        };
        self.heap.push(Key {
            at,
            seq: self.seq,
            slot,
        });
    }

    fn next_time(&self) -> Option<Micros> {
        self.heap.peek().map(|key| key.at)
    }

    fn take(&mut self) -> Option<(Micros, Due)> {
        let key = self.heap.pop()?;
        self.free.push(key.slot);
        let due = self.slots[key.slot as usize].take()?;
        Some((key.at, due))
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

/// A growable set of small numbers (block and record numbers), one bit each.
#[derive(Debug, Clone, Default)]
struct BitSet(Vec<u64>);

impl BitSet {
    /// Adds `n`; returns false if it was already there.
    fn insert(&mut self, n: u32) -> bool {
        let (word, bit) = ((n / 64) as usize, n % 64);
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let fresh = self.0[word] & (1 << bit) == 0;
        self.0[word] |= 1 << bit;
        fresh
    }
}

/// A simulated node.
#[derive(Debug)]
pub(crate) struct SimNode {
    pub(crate) machine: Option<Machine<Arc<MemStore>, NodeId>>,
    pub(crate) store: Arc<MemStore>,
    pub(crate) role: Role,
    /// Share of the total hash rate (0 for a node that does not mine).
    pub(crate) share: f64,
    /// Bumped at every crash, so messages to an earlier life are dropped.
    incarnation: u32,
    seen_blocks: BitSet,
    seen_records: BitSet,
    /// Gossip awaiting the machine's verdict: the block (or record) and who sent it.
    gossip: HashMap<GossipId, (u32, Option<u32>, u32)>,
    inbound: HashMap<InboundId, (u32, RequestId)>,
    next_handle: u64,
    /// The job being mined and its generation (bumped to cancel).
    job: Option<MiningJob>,
    generation: u64,
    tick_at: Option<Micros>,
    uplink_free_at: Micros,
    pub(crate) messages_sent: u64,
    pub(crate) bytes_sent: u64,
    /// Links down because of a ban, by peer.
    banned: Vec<u32>,
}

/// What is known of a block made in the run.
#[derive(Debug, Clone)]
pub struct BlockInfo {
    /// The block, shared by every store that holds it.
    pub block: Arc<Block>,
    /// Its hash.
    pub hash: BlockHash,
    /// Its height.
    pub height: u64,
    /// The node that mined it (`u32::MAX` for genesis).
    pub miner: u32,
    /// When it was mined, microseconds since the start.
    pub mined_at: Micros,
    /// Nodes that accepted it.
    reached: u32,
    /// When it first reached 1%, 2%, ... 100% of the nodes (time since it was mined).
    pub reached_percent: Vec<Micros>,
    /// When each miner accepted it (time since it was mined), by miner number.
    pub miner_accepts: Vec<Option<Micros>>,
}

/// The engine's settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The chain every node runs.
    pub params: Arc<ChainParams>,
    /// What each machine is told.
    pub machine: MachineConfig,
    /// Uplink bandwidth of every node, bits per second (0: unlimited).
    pub bandwidth: u64,
    /// Total hash rate, in expected hashes per second (see [`super::hash_rate_for`]).
    pub hash_rate: f64,
    /// Bytes of filler each mined block carries (a record of this size), to model block size.
    pub block_filler: usize,
    /// Keep a line per event, for replay checks (costly: small runs only).
    pub record_log: bool,
}

/// Counters of the whole run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counters {
    pub(crate) reorgs: BTreeMap<u64, u64>,
    pub(crate) duplicates: u64,
    pub(crate) bans: u64,
    pub(crate) repairs: u64,
    pub(crate) repairs_complete: u64,
    pub(crate) events: u64,
    pub(crate) peak_queue: usize,
}

/// The simulation's state.
#[derive(Debug)]
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) now: Micros,
    /// The Unix time the simulation starts at, in milliseconds.
    epoch_ms: u64,
    queue: Queue,
    pub(crate) rng: Xoshiro256,
    pub(crate) nodes: Vec<SimNode>,
    pub(crate) topology: Topology,
    /// Partition group of each node (all 0: no partition).
    group: Vec<u8>,
    pub(crate) blocks: Vec<BlockInfo>,
    block_ids: HashMap<BlockHash, u32>,
    pub(crate) records: Vec<Vec<u8>>,
    /// Miner number of each node that mines.
    pub(crate) miner_of: Vec<Option<u32>>,
    pub(crate) miners: Vec<u32>,
    pub(crate) mining_on: bool,
    pub(crate) counters: Counters,
    /// Blocks made by nodes whose role withholds them, not yet released.
    pub(crate) withheld: Vec<(u32, u32)>,
    pub(crate) log: Vec<String>,
    /// Tip of each node as last announced.
    pub(crate) tips: Vec<BlockHash>,
    /// How many honest nodes that are up have each tip.
    tip_counts: HashMap<BlockHash, u32>,
    honest_up: u32,
    /// Since when every honest node that is up has had the same tip.
    pub(crate) agreed_since: Option<Micros>,
    /// Messages scheduled and not yet delivered.
    in_flight: u64,
}

impl Engine {
    /// Builds the nodes on `topology`, each with its role and hash share; none runs yet.
    pub fn new(
        config: EngineConfig,
        topology: Topology,
        roles: Vec<Role>,
        shares: Vec<f64>,
        seed: u64,
    ) -> Self {
        let index = BlockIndex::new();
        let n = topology.links.len();
        let epoch_ms = (u64::from(config.params.genesis.header.time) + 60) * 1000;
        let genesis = Arc::new(config.params.genesis.clone());
        let genesis_hash = genesis.block_hash();
        let mut miner_of = vec![None; n];
        let mut miners = Vec::new();
        for (node, share) in shares.iter().enumerate() {
            if *share > 0.0 {
                miner_of[node] = Some(miners.len() as u32);
                miners.push(node as u32);
            }
        }
        let nodes = (0..n)
            .map(|i| SimNode {
                machine: None,
                store: Arc::new(MemStore::new(config.params.clone(), index.clone())),
                role: roles.get(i).copied().unwrap_or(Role::Honest),
                share: shares.get(i).copied().unwrap_or(0.0),
                incarnation: 0,
                seen_blocks: BitSet::default(),
                seen_records: BitSet::default(),
                gossip: HashMap::new(),
                inbound: HashMap::new(),
                next_handle: 0,
                job: None,
                generation: 0,
                tick_at: None,
                uplink_free_at: 0,
                messages_sent: 0,
                bytes_sent: 0,
                banned: Vec::new(),
            })
            .collect();
        let mut engine = Self {
            now: 0,
            epoch_ms,
            queue: Queue::default(),
            rng: Xoshiro256::stream(seed, 1),
            nodes,
            topology,
            group: vec![0; n],
            blocks: Vec::new(),
            block_ids: HashMap::new(),
            records: Vec::new(),
            miner_of,
            miners,
            mining_on: true,
            counters: Counters::default(),
            withheld: Vec::new(),
            log: Vec::new(),
            tips: vec![genesis_hash; n],
            tip_counts: HashMap::new(),
            honest_up: 0,
            agreed_since: None,
            in_flight: 0,
            config,
        };
        engine.intern(genesis, u32::MAX);
        engine
    }

    /// Returns the simulated time as the machines see it.
    pub fn time(&self) -> Time {
        Time::from_millis(self.epoch_ms + self.now / 1000)
    }

    /// Returns the simulated time in seconds since the start.
    pub fn seconds(&self) -> f64 {
        self.now as f64 / SECOND as f64
    }

    /// Schedules `action` at `at` microseconds since the start.
    pub fn schedule(&mut self, at: Micros, action: Action) {
        self.push(at, Due::Act(action));
    }

    fn push(&mut self, at: Micros, due: Due) {
        if matches!(due, Due::Deliver { .. }) {
            self.in_flight += 1;
        }
        self.queue.insert(at.max(self.now), due);
        self.counters.peak_queue = self.counters.peak_queue.max(self.queue.len());
    }

    /// Starts every node: machines start, connections open.
    pub fn start(&mut self) {
        for node in 0..self.nodes.len() as u32 {
            self.boot(node, None);
        }
    }

    /// Runs events until the queue empties, `until` passes, or `stop` says so (it is asked after
    /// every event). Returns whether `stop` ended it.
    pub fn run(&mut self, until: Micros, mut stop: impl FnMut(&mut Engine) -> bool) -> bool {
        while let Some(at) = self.queue.next_time() {
            if at > until {
                self.now = until;
                return false;
            }
            let Some((at, due)) = self.queue.take() else {
                break;
            };
            self.now = at;
            self.counters.events += 1;
            if matches!(due, Due::Deliver { .. }) {
                self.in_flight -= 1;
            }
            self.dispatch(due);
            if stop(self) {
                return true;
            }
        }
        false
    }

    fn dispatch(&mut self, due: Due) {
        match due {
            Due::Deliver {
                to,
                incarnation,
                from,
                message,
            } => self.deliver(to, incarnation, from, message),
            Due::Found { node, generation } => self.found(node, generation),
            Due::Tick { node, incarnation } => {
                let n = &mut self.nodes[node as usize];
                if n.incarnation == incarnation && n.tick_at == Some(self.now) {
                    n.tick_at = None;
                    self.handle(node, Event::Tick);
                }
            }
            Due::Act(action) => self.act(action),
            Due::Unban { a, b } => {
                self.nodes[a as usize].banned.retain(|&p| p != b);
                self.nodes[b as usize].banned.retain(|&p| p != a);
                self.connect_pair(a, b);
            }
        }
    }

    /// Interns a block: every node shares the one `Arc`.
    fn intern(&mut self, block: Arc<Block>, miner: u32) -> u32 {
        let hash = block.block_hash();
        if let Some(&id) = self.block_ids.get(&hash) {
            return id;
        }
        let id = self.blocks.len() as u32;
        let height = if block.header.prev_blockhash == BlockHash::ZERO {
            0
        } else {
            self.block_ids
                .get(&block.header.prev_blockhash)
                .map_or(0, |&parent| self.blocks[parent as usize].height + 1)
        };
        self.blocks.push(BlockInfo {
            block,
            hash,
            height,
            miner,
            mined_at: self.now,
            reached: 0,
            reached_percent: Vec::new(),
            miner_accepts: vec![None; self.miners.len()],
        });
        self.block_ids.insert(hash, id);
        id
    }

    /// Returns the number of the block with this hash, if it was made in the run.
    pub(crate) fn block_id(&self, hash: &BlockHash) -> Option<u32> {
        self.block_ids.get(hash).copied()
    }

    fn is_up(&self, node: u32) -> bool {
        self.nodes[node as usize].machine.is_some()
    }

    /// Whether a message can cross from `a` to `b` now.
    fn reachable(&self, a: u32, b: u32) -> bool {
        self.group[a as usize] == self.group[b as usize]
            && self.is_up(b)
            && !self.nodes[a as usize].banned.contains(&b)
    }

    /// Sends `message` of `size` bytes from `from` to `to` over their link.
    fn send(&mut self, from: u32, to: u32, message: Message, size: usize) {
        let Some(link) = self.topology.link(from as usize, to).copied() else {
            return;
        };
        self.send_with_latency(from, to, message, size, link.latency);
    }

    fn send_with_latency(
        &mut self,
        from: u32,
        to: u32,
        message: Message,
        size: usize,
        latency: Micros,
    ) {
        let bandwidth = self.config.bandwidth;
        let now = self.now;
        let sender = &mut self.nodes[from as usize];
        let start = sender.uplink_free_at.max(now);
        sender.uplink_free_at = start + transfer_time(size, bandwidth);
        sender.messages_sent += 1;
        sender.bytes_sent += size as u64;
        let arrival = sender.uplink_free_at + latency;
        let incarnation = self.nodes[to as usize].incarnation;
        if self.config.record_log {
            self.log.push(format!(
                "{now} send {from}->{to} {} {size}B at {arrival}",
                describe(&message)
            ));
        }
        self.push(
            arrival,
            Due::Deliver {
                to,
                incarnation,
                from,
                message,
            },
        );
    }

    /// Sends `message` from `from` to a list of peers, with a latency of `latency(peer)` (the
    /// attacks use this to reach some peers first).
    pub(crate) fn broadcast_block(
        &mut self,
        from: u32,
        block: u32,
        latency: impl Fn(&Engine, u32, Micros) -> Micros,
    ) {
        let size = self.blocks[block as usize].block.encoded_size() + GOSSIP_OVERHEAD;
        let links = self.topology.links[from as usize].clone();
        for link in links {
            if self.reachable(from, link.peer) {
                let delay = latency(self, link.peer, link.latency);
                self.send_with_latency(from, link.peer, Message::Block(block), size, delay);
            }
        }
    }

    fn deliver(&mut self, to: u32, incarnation: u32, from: u32, message: Message) {
        let node = &self.nodes[to as usize];
        // A connection opening or closing is news from the node's own side of the link: it
        // arrives across a cut or a ban (it is how the node learns of them).
        let local = matches!(message, Message::Connected | Message::Disconnected);
        let lost = node.incarnation != incarnation
            || node.machine.is_none()
            || (!local
                && (self.group[from as usize] != self.group[to as usize]
                    || node.banned.contains(&from)));
        if lost {
            // A request that is lost is answered, after the timeout, by a failure.
            if let Message::Request(id, _) = message {
                self.fail_request(from, to, id, REQUEST_TIMEOUT, "no response");
            }
            return;
        }
        let peer = NodeId(from);
        let event = match message {
            Message::Block(block) => {
                if !self.nodes[to as usize].seen_blocks.insert(block) {
                    self.counters.duplicates += 1;
                    return;
                }
                if self.nodes[to as usize].role == Role::Eclipsing && !self.is_attackers(block) {
                    return;
                }
                let id = self.gossip_id(to, block, None, from);
                Event::GossipBlock {
                    from: peer,
                    id,
                    block: Ok(self.blocks[block as usize].block.clone()),
                }
            }
            Message::Record(record) => {
                if !self.nodes[to as usize].seen_records.insert(record) {
                    self.counters.duplicates += 1;
                    return;
                }
                let id = self.gossip_id(to, u32::MAX, Some(record), from);
                Event::GossipRecord {
                    from: peer,
                    id,
                    record: self.records[record as usize].clone(),
                }
            }
            Message::Request(id, request) => {
                let node = &mut self.nodes[to as usize];
                node.next_handle += 1;
                let inbound = InboundId(node.next_handle);
                node.inbound.insert(inbound, (from, id));
                Event::Request {
                    from: peer,
                    id: inbound,
                    request: Ok(request),
                }
            }
            Message::Response(id, mut response) => {
                if self.nodes[to as usize].role == Role::Eclipsing
                    && let Ok(Response::Blocks(blocks)) = &mut response
                {
                    // It takes only the attacker's blocks, up to the first honest one.
                    let keep = blocks
                        .iter()
                        .take_while(|b| {
                            self.block_id(&b.block_hash())
                                .is_some_and(|id| self.is_attackers(id))
                        })
                        .count();
                    blocks.truncate(keep);
                }
                Event::Response {
                    from: peer,
                    id,
                    response,
                }
            }
            Message::Connected => Event::PeerConnected { peer },
            Message::Disconnected => Event::PeerDisconnected { peer },
        };
        self.handle(to, event);
    }

    /// Whether `block` was mined by a node that is not honest.
    pub(crate) fn is_attackers(&self, block: u32) -> bool {
        let miner = self.blocks[block as usize].miner;
        miner != u32::MAX && self.nodes[miner as usize].role != Role::Honest
    }

    fn gossip_id(&mut self, node: u32, block: u32, record: Option<u32>, from: u32) -> GossipId {
        let n = &mut self.nodes[node as usize];
        n.next_handle += 1;
        let id = GossipId(n.next_handle);
        n.gossip.insert(id, (block, record, from));
        id
    }

    fn fail_request(&mut self, asker: u32, asked: u32, id: RequestId, after: Micros, why: &str) {
        let incarnation = self.nodes[asker as usize].incarnation;
        let at = self.now + after;
        self.push(
            at,
            Due::Deliver {
                to: asker,
                incarnation,
                from: asked,
                message: Message::Response(id, Err(ResponseError::Failed(why.to_owned()))),
            },
        );
    }

    /// Hands an event to a node's machine and carries out its commands.
    pub(crate) fn handle(&mut self, node: u32, event: Event<NodeId>) {
        let time = self.time();
        let Some(machine) = self.nodes[node as usize].machine.as_mut() else {
            return;
        };
        if self.config.record_log {
            self.log
                .push(format!("{} n{node} {}", self.now, event_kind(&event)));
        }
        let commands = machine.handle(event, time);
        let wakeup = machine.next_wakeup();
        self.execute(node, commands);
        self.schedule_tick(node, wakeup);
    }

    fn schedule_tick(&mut self, node: u32, wakeup: Time) {
        let at = wakeup
            .as_millis()
            .saturating_sub(self.epoch_ms)
            .saturating_mul(1000)
            .max(self.now);
        let n = &mut self.nodes[node as usize];
        if n.tick_at.is_some_and(|scheduled| scheduled <= at) {
            return;
        }
        n.tick_at = Some(at);
        let incarnation = n.incarnation;
        self.push(at, Due::Tick { node, incarnation });
    }

    fn execute(&mut self, node: u32, commands: Vec<Command<NodeId>>) {
        for command in commands {
            match command {
                Command::Verdict { id, verdict } => {
                    let Some((block, record, from)) = self.nodes[node as usize].gossip.remove(&id)
                    else {
                        continue;
                    };
                    if verdict == Validation::Accept {
                        self.forward(node, block, record, from);
                    }
                }
                Command::Publish(Gossip::Block(block)) => {
                    let id = self.intern(block, node);
                    self.nodes[node as usize].seen_blocks.insert(id);
                    if self.nodes[node as usize].role == Role::Withholding {
                        self.withheld.push((node, id));
                    } else {
                        self.broadcast_block(node, id, |_, _, latency| latency);
                    }
                }
                Command::Publish(Gossip::Record(record)) => {
                    let id = self.records.len() as u32;
                    self.records.push(record);
                    self.nodes[node as usize].seen_records.insert(id);
                    self.flood_record(node, id, None);
                }
                Command::Send { peer, id, request } => {
                    let to = peer.0;
                    if self.reachable(node, to) {
                        let size = request.encode().len();
                        self.send(node, to, Message::Request(id, request), size);
                    } else {
                        self.fail_request(node, to, id, REQUEST_TIMEOUT, "unreachable");
                    }
                }
                Command::Respond { id, response } => {
                    let Some((asker, request)) = self.nodes[node as usize].inbound.remove(&id)
                    else {
                        continue;
                    };
                    match response {
                        Some(response) => {
                            let response = self.public_view(node, response);
                            let size = response_size(&response);
                            if self.reachable(node, asker) {
                                self.send(
                                    node,
                                    asker,
                                    Message::Response(request, Ok(response)),
                                    size,
                                );
                            } else {
                                self.fail_request(asker, node, request, REQUEST_TIMEOUT, "lost");
                            }
                        }
                        None => self.fail_request(asker, node, request, 0, "closed unanswered"),
                    }
                }
                Command::Ban { peer, duration } => self.ban(node, peer.0, duration),
                Command::Mine(job) => self.start_job(node, job),
                Command::StopMining => {
                    let n = &mut self.nodes[node as usize];
                    n.job = None;
                    n.generation += 1;
                }
                Command::TipChanged(tip) => self.set_tip(node, tip.hash),
                Command::Notice(notice) => self.observe(node, notice),
            }
        }
    }

    /// What a withholding node shows its peers: its chain without the blocks it holds back.
    fn public_view(&self, node: u32, response: Response) -> Response {
        if self.nodes[node as usize].role != Role::Withholding {
            return response;
        }
        let withheld = |hash: &BlockHash| {
            self.block_id(hash)
                .is_some_and(|id| self.withheld.contains(&(node, id)))
        };
        match response {
            Response::Blocks(mut blocks) => {
                let keep = blocks
                    .iter()
                    .take_while(|b| !withheld(&b.block_hash()))
                    .count();
                blocks.truncate(keep);
                Response::Blocks(blocks)
            }
            Response::Tip(mut claim) => {
                let store = &self.nodes[node as usize].store;
                while claim.height > 0 && withheld(&claim.hash) {
                    let Ok(Some(block)) = store.block_at(claim.height) else {
                        break;
                    };
                    let work = block.header.bits.to_target().map(Target::work);
                    claim.work = ironchain_core::Work::from_u256(
                        claim
                            .work
                            .to_u256()
                            .saturating_sub(work.unwrap_or_default().to_u256()),
                    );
                    claim.height -= 1;
                    claim.hash = block.header.prev_blockhash;
                }
                Response::Tip(claim)
            }
        }
    }

    /// Sends an accepted gossip message on to the node's mesh.
    fn forward(&mut self, node: u32, block: u32, record: Option<u32>, from: u32) {
        let mesh: Vec<u32> = self.topology.mesh[node as usize]
            .iter()
            .map(|&i| self.topology.links[node as usize][i as usize].peer)
            .filter(|&peer| peer != from)
            .collect();
        match record {
            Some(record) => {
                let size = self.records[record as usize].len() + GOSSIP_OVERHEAD;
                for peer in mesh {
                    if self.reachable(node, peer) {
                        self.send(node, peer, Message::Record(record), size);
                    }
                }
            }
            None => {
                if self.nodes[node as usize].role == Role::Eclipsing && !self.is_attackers(block) {
                    return;
                }
                let size = self.blocks[block as usize].block.encoded_size() + GOSSIP_OVERHEAD;
                for peer in mesh {
                    if self.reachable(node, peer) {
                        self.send(node, peer, Message::Block(block), size);
                    }
                }
            }
        }
    }

    fn flood_record(&mut self, node: u32, record: u32, except: Option<u32>) {
        let size = self.records[record as usize].len() + GOSSIP_OVERHEAD;
        let peers: Vec<u32> = self.topology.links[node as usize]
            .iter()
            .map(|l| l.peer)
            .filter(|&p| Some(p) != except)
            .collect();
        for peer in peers {
            if self.reachable(node, peer) {
                self.send(node, peer, Message::Record(record), size);
            }
        }
    }

    /// Releases a withheld block: it goes out as its miner's own gossip, with `latency` per
    /// peer.
    pub(crate) fn release(
        &mut self,
        node: u32,
        block: u32,
        latency: impl Fn(&Engine, u32, Micros) -> Micros,
    ) {
        self.withheld.retain(|&(n, b)| !(n == node && b == block));
        self.broadcast_block(node, block, latency);
    }

    fn ban(&mut self, node: u32, peer: u32, duration: Duration) {
        if self.nodes[node as usize].banned.contains(&peer) {
            return;
        }
        self.counters.bans += 1;
        self.nodes[node as usize].banned.push(peer);
        self.nodes[peer as usize].banned.push(node);
        self.disconnect_pair(node, peer);
        let until = self.now + u64::try_from(duration.as_micros()).unwrap_or(u64::MAX / 2);
        self.push(until, Due::Unban { a: node, b: peer });
    }

    fn start_job(&mut self, node: u32, job: MiningJob) {
        let share = self.nodes[node as usize].share;
        let n = &mut self.nodes[node as usize];
        n.generation += 1;
        let generation = n.generation;
        n.job = Some(job.clone());
        if share <= 0.0 || !self.mining_on {
            return;
        }
        let work = job.target.work().to_f64().max(1.0);
        let rate = share * self.config.hash_rate / work;
        let delay = self.rng.next_exp() / rate;
        let at = self.now + (delay * SECOND as f64).round() as Micros;
        self.push(at, Due::Found { node, generation });
    }

    /// A miner's exponential clock rang: mine the block for real and hand it to its machine.
    fn found(&mut self, node: u32, generation: u64) {
        if !self.mining_on {
            return;
        }
        let n = &self.nodes[node as usize];
        if n.generation != generation || n.machine.is_none() {
            return;
        }
        let Some(job) = n.job.clone() else {
            return;
        };
        let now = self.time().unix_secs();
        let mut header = job.header;
        header.time = header.time.max(now).min(job.max_time);
        let Some(header) = solve(header, job.target, job.max_time) else {
            self.handle(node, Event::MineFailed { job: job.id });
            return;
        };
        // This block takes the filler pending now; the next one gets a fresh one.
        self.add_filler(node);
        self.handle(
            node,
            Event::Mined {
                job: job.id,
                header,
            },
        );
    }

    fn observe(&mut self, node: u32, notice: Notice<NodeId>) {
        match notice {
            Notice::BlockAccepted { hash, .. } => {
                let Some(id) = self.block_id(&hash) else {
                    return;
                };
                let total = self.nodes.len() as u64;
                let now = self.now;
                let miner = self.miner_of[node as usize];
                let info = &mut self.blocks[id as usize];
                info.reached += 1;
                let since = now.saturating_sub(info.mined_at);
                let percent = (u64::from(info.reached) * 100 / total.max(1)) as usize;
                while info.reached_percent.len() < percent {
                    info.reached_percent.push(since);
                }
                if let Some(miner) = miner
                    && let Some(slot) = info.miner_accepts.get_mut(miner as usize)
                    && slot.is_none()
                {
                    *slot = Some(since);
                }
            }
            Notice::Reorganized { depth, .. } => {
                *self.counters.reorgs.entry(depth).or_default() += 1;
            }
            Notice::Repaired(_) => self.counters.repairs += 1,
            Notice::RepairComplete { .. } => self.counters.repairs_complete += 1,
            _ => {}
        }
    }

    /// Carries out `action` now.
    pub fn apply(&mut self, action: Action) {
        self.act(action);
    }

    fn act(&mut self, action: Action) {
        if self.config.record_log {
            self.log.push(format!("{} act {action:?}", self.now));
        }
        match action {
            Action::Partition(groups) => {
                let before = self.group.clone();
                for (node, group) in groups.into_iter().enumerate().take(self.group.len()) {
                    self.group[node] = group;
                }
                self.rewire(&before);
            }
            Action::Heal => {
                let before = std::mem::replace(&mut self.group, vec![0; self.nodes.len()]);
                self.rewire(&before);
            }
            Action::Crash(node) => self.crash(node),
            Action::CrashLosing(node, depth) => {
                self.crash(node);
                let store = &self.nodes[node as usize].store;
                if let Ok(tip) = store.tip() {
                    store.lose_blocks_above(tip.height.saturating_sub(depth));
                }
            }
            Action::Restart(node) => {
                if self.nodes[node as usize].machine.is_none() {
                    let repair = startup::check_and_repair(
                        self.nodes[node as usize].store.as_ref(),
                        self.time().unix_secs(),
                    )
                    .ok()
                    .flatten();
                    if repair.is_some() {
                        self.counters.repairs += 1;
                    }
                    self.boot(node, repair);
                }
            }
            Action::Tamper(node, height) => {
                let store = &self.nodes[node as usize].store;
                if let Ok(Some(block)) = store.block_at(height) {
                    let mut changed = (*block).clone();
                    match changed.records.first_mut() {
                        Some(record) => record.push(b'!'),
                        None => changed.records.push(b"tampered".to_vec()),
                    }
                    let _ = store.tamper(height, changed);
                }
            }
            Action::PostRecord(node) => {
                if !self.is_up(node) {
                    return;
                }
                let record =
                    format!("record {} posted to n{node}", self.records.len()).into_bytes();
                if self.nodes[node as usize]
                    .store
                    .add_records(std::slice::from_ref(&record))
                    .is_ok()
                {
                    self.handle(
                        node,
                        Event::RecordsAdded {
                            records: vec![record],
                        },
                    );
                }
            }
            Action::StopMining => {
                self.mining_on = false;
            }
        }
    }

    /// After the groups changed: connections across the new cut close, those across the old
    /// cut that are now whole reopen.
    fn rewire(&mut self, before: &[u8]) {
        for node in 0..self.nodes.len() as u32 {
            let links = self.topology.links[node as usize].clone();
            for link in links.iter().filter(|l| l.outbound) {
                let (a, b) = (node as usize, link.peer as usize);
                let was = before[a] == before[b];
                let is = self.group[a] == self.group[b];
                if was && !is {
                    self.notify_pair(node, link.peer, true);
                } else if !was && is {
                    self.connect_pair(node, link.peer);
                }
            }
        }
    }

    /// Tells both ends that their connection closed (`closed`) or opened.
    fn notify_pair(&mut self, a: u32, b: u32, closed: bool) {
        for (from, to) in [(a, b), (b, a)] {
            if self.is_up(to) {
                let message = if closed {
                    Message::Disconnected
                } else {
                    Message::Connected
                };
                let incarnation = self.nodes[to as usize].incarnation;
                // Connection events are local: the node learns of them at once.
                self.push(
                    self.now,
                    Due::Deliver {
                        to,
                        incarnation,
                        from,
                        message,
                    },
                );
            }
        }
    }

    fn disconnect_pair(&mut self, a: u32, b: u32) {
        self.notify_pair(a, b, true);
    }

    fn connect_pair(&mut self, a: u32, b: u32) {
        let linked = self.group[a as usize] == self.group[b as usize]
            && self.is_up(a)
            && self.is_up(b)
            && !self.nodes[a as usize].banned.contains(&b);
        if linked {
            self.notify_pair(a, b, false);
        }
    }

    fn crash(&mut self, node: u32) {
        let n = &mut self.nodes[node as usize];
        if n.machine.take().is_none() {
            return;
        }
        if n.role == Role::Honest {
            self.honest_up -= 1;
            let tip = self.tips[node as usize];
            self.uncount(tip);
            if let Some((&any, _)) = self.tip_counts.iter().next() {
                self.check_agreement(any);
            }
        }
        let n = &mut self.nodes[node as usize];
        n.incarnation += 1;
        n.job = None;
        n.generation += 1;
        n.tick_at = None;
        n.gossip.clear();
        let held: Vec<(u32, RequestId)> = n.inbound.drain().map(|(_, v)| v).collect();
        // Requests it was answering fail on the askers' side after their timeout.
        for (asker, id) in held {
            self.fail_request(asker, node, id, REQUEST_TIMEOUT, "peer went down");
        }
        let peers: Vec<u32> = self.topology.links[node as usize]
            .iter()
            .map(|l| l.peer)
            .collect();
        for peer in peers {
            if self.is_up(peer) && self.group[peer as usize] == self.group[node as usize] {
                let incarnation = self.nodes[peer as usize].incarnation;
                self.push(
                    self.now,
                    Due::Deliver {
                        to: peer,
                        incarnation,
                        from: node,
                        message: Message::Disconnected,
                    },
                );
            }
        }
    }

    /// Starts a node's machine on its store and opens its connections.
    fn boot(&mut self, node: u32, repair: Option<startup::RepairInfo>) {
        let time = self.time();
        let mut config = self.config.machine.clone();
        if self.nodes[node as usize].share <= 0.0 {
            config.mining = None;
        }
        let n = &mut self.nodes[node as usize];
        let Ok(mut machine) = Machine::new(n.store.clone(), config, repair, time) else {
            return;
        };
        let tip = machine.tip().hash;
        let start = machine.start(time);
        let wakeup = machine.next_wakeup();
        n.machine = Some(machine);
        if n.role == Role::Honest {
            self.honest_up += 1;
        }
        self.tips[node as usize] = BlockHash::ZERO;
        self.set_tip(node, tip);
        self.add_filler(node);
        self.execute(node, start);
        self.schedule_tick(node, wakeup);
        let peers: Vec<u32> = self.topology.links[node as usize]
            .iter()
            .map(|l| l.peer)
            .collect();
        for peer in peers {
            self.connect_pair(node, peer);
        }
    }

    /// Records a node's new tip, and whether the honest nodes now agree.
    fn set_tip(&mut self, node: u32, tip: BlockHash) {
        let old = std::mem::replace(&mut self.tips[node as usize], tip);
        let counted = self.nodes[node as usize].role == Role::Honest
            && self.nodes[node as usize].machine.is_some();
        if counted {
            self.uncount(old);
            *self.tip_counts.entry(tip).or_default() += 1;
        }
        self.check_agreement(tip);
    }

    fn uncount(&mut self, tip: BlockHash) {
        if let Some(count) = self.tip_counts.get_mut(&tip) {
            *count -= 1;
            if *count == 0 {
                self.tip_counts.remove(&tip);
            }
        }
    }

    /// Agreement holds when one tip is held by every honest node that is up.
    fn check_agreement(&mut self, tip: BlockHash) {
        let agree = self.honest_up > 0
            && (self.tip_counts.get(&tip) == Some(&self.honest_up) || self.tip_counts.len() == 1);
        match (agree, self.agreed_since) {
            (true, None) => self.agreed_since = Some(self.now),
            (false, Some(_)) => self.agreed_since = None,
            _ => {}
        }
    }

    /// Puts a filler record of the configured size in a miner's pool, so its next block has
    /// that size.
    pub(crate) fn add_filler(&mut self, node: u32) {
        let size = self.config.block_filler;
        if size == 0 || self.nodes[node as usize].share <= 0.0 {
            return;
        }
        let n = &mut self.nodes[node as usize];
        n.next_handle += 1;
        let mut filler = format!("filler n{node} #{}:", n.next_handle).into_bytes();
        filler.resize(size.max(filler.len()), b'.');
        let _ = n.store.add_records(&[filler]);
    }

    /// Returns the line-per-event log (empty unless [`EngineConfig::record_log`]).
    pub fn log(&self) -> &[String] {
        &self.log
    }

    /// Returns every block made in the run, genesis first.
    pub fn blocks(&self) -> &[BlockInfo] {
        &self.blocks
    }

    /// Returns every record posted in the run, in order.
    pub fn records(&self) -> &[Vec<u8>] {
        &self.records
    }

    /// Returns each node's store.
    pub fn stores(&self) -> impl Iterator<Item = &Arc<MemStore>> {
        self.nodes.iter().map(|n| &n.store)
    }

    /// Returns each node's role.
    pub fn roles(&self) -> impl Iterator<Item = Role> + '_ {
        self.nodes.iter().map(|n| n.role)
    }

    /// Returns whether every honest node that is up has the same tip.
    pub fn honest_agree(&self) -> bool {
        self.agreed_since.is_some()
    }

    /// Returns whether messages are still on their way.
    pub fn messages_in_flight(&self) -> bool {
        self.in_flight > 0
    }

    /// Returns how many events are waiting.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// Finds a nonce (and, if every nonce fails, a later time) for `header` meeting `target`.
fn solve(header: Header, target: Target, max_time: u32) -> Option<Header> {
    let job = MineJob {
        header,
        target,
        max_time,
        threads: 1,
    };
    match miner::mine(&job, &MineControl::new()) {
        MineOutcome::Found(header) => Some(header),
        MineOutcome::Cancelled | MineOutcome::Exhausted => None,
    }
}

/// The encoded size of a response, computed without encoding it.
fn response_size(response: &Response) -> usize {
    match response {
        Response::Tip(_) => 1 + 8 + 32 + 32,
        Response::Blocks(blocks) => {
            BLOCKS_HEADER_SIZE
                + blocks
                    .iter()
                    .map(|b| BLOCK_LENGTH_SIZE + b.encoded_size())
                    .sum::<usize>()
        }
    }
}

fn describe(message: &Message) -> String {
    match message {
        Message::Block(id) => format!("block#{id}"),
        Message::Record(id) => format!("record#{id}"),
        Message::Request(id, request) => format!("request#{} {request:?}", id.0),
        Message::Response(id, Ok(Response::Tip(claim))) => {
            format!("response#{} tip {} {}", id.0, claim.height, claim.hash)
        }
        Message::Response(id, Ok(Response::Blocks(blocks))) => {
            format!("response#{} {} blocks", id.0, blocks.len())
        }
        Message::Response(id, Err(error)) => format!("response#{} failed: {error}", id.0),
        Message::Connected => "connected".into(),
        Message::Disconnected => "disconnected".into(),
    }
}

fn event_kind(event: &Event<NodeId>) -> String {
    match event {
        Event::PeerConnected { peer } => format!("connected {peer}"),
        Event::PeerDisconnected { peer } => format!("disconnected {peer}"),
        Event::GossipBlock { from, block, .. } => match block {
            Ok(block) => format!("gossip block {} from {from}", block.block_hash()),
            Err(_) => format!("gossip garbage from {from}"),
        },
        Event::GossipRecord { from, record, .. } => {
            format!("gossip record {}B from {from}", record.len())
        }
        Event::Request { from, request, .. } => format!("request from {from}: {request:?}"),
        Event::Response { from, id, .. } => format!("response {} from {from}", id.0),
        Event::Mined { header, .. } => format!("mined {}", header.block_hash()),
        Event::MineFailed { .. } => "mine failed".into(),
        Event::RecordsAdded { records } => format!("{} records added", records.len()),
        Event::Recheck => "recheck".into(),
        Event::Tick => "tick".into(),
    }
}
