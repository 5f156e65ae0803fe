//! Attackers: a miner that mines in secret to rewrite history (the double-spend race of the
//! whitepaper's section 11), and a selfish miner (Eyal and Sirer, 2014).
//!
//! Both attackers run the node's real machine: it mines, validates and chooses the chain with
//! the most work like any node. What makes them attackers is what they *publish*: the engine
//! holds their blocks back ([`Role::Withholding`](super::engine::Role::Withholding)) and the
//! strategies here decide, after every event, whether to release them. The honest nodes then
//! handle released blocks exactly as they handle any block: gossip, sync, fork choice.

use super::engine::{Engine, Role};
use super::links::Micros;

/// The double-spend race: the attacker is cut off from the start and mines on its own chain
/// from genesis while the honest network mines the payment's block and `z` more... it reveals
/// its chain (reconnects) as soon as it has more work than the honest chain after `z`
/// confirmations, and gives up `give_up` blocks behind.
#[derive(Debug, Clone)]
pub struct PrivateFork {
    /// The attacker's node.
    pub node: u32,
    /// Confirmations the merchant waits for.
    pub z: u64,
    /// The deficit at which the attacker gives up (`u64::MAX`: never).
    pub give_up: u64,
    /// What happened.
    pub outcome: RaceOutcome,
}

/// How a race went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RaceOutcome {
    /// The attacker's blocks when the honest chain reached `z` confirmations.
    pub head_start: Option<u64>,
    /// The attacker's chain drew level with the honest one after `z` confirmations (the
    /// whitepaper's "catch up").
    pub drew_level: bool,
    /// The attacker revealed a chain with more work.
    pub released: bool,
    /// Every honest node switched to the attacker's chain.
    pub replaced: bool,
    /// The attacker gave up.
    pub gave_up: bool,
    /// Honest blocks mined when the race ended.
    pub honest_height: u64,
    /// Attacker blocks mined when the race ended.
    pub attacker_height: u64,
}

impl PrivateFork {
    /// A race for `node` against `z` confirmations.
    pub fn new(node: u32, z: u64, give_up: u64) -> Self {
        Self {
            node,
            z,
            give_up,
            outcome: RaceOutcome::default(),
        }
    }

    /// Cuts the attacker off: it hears and tells nothing until it reveals its chain.
    pub fn isolate(&self, engine: &mut Engine) {
        let mut groups = vec![0u8; engine.nodes.len()];
        groups[self.node as usize] = 1;
        engine.schedule(0, super::engine::Action::Partition(groups));
    }

    /// Looks at the race after an event; returns true once it is decided.
    pub fn step(&mut self, engine: &mut Engine) -> bool {
        let honest = honest_height(engine);
        let attacker = engine.blocks[..]
            .iter()
            .filter(|b| b.miner == self.node)
            .map(|b| b.height)
            .max()
            .unwrap_or(0);
        self.outcome.honest_height = honest;
        self.outcome.attacker_height = attacker;
        if self.outcome.released {
            if engine.honest_agree() && on_attackers_chain(engine, self.node) {
                self.outcome.replaced = true;
                return true;
            }
            return false;
        }
        if honest >= self.z {
            if self.outcome.head_start.is_none() {
                self.outcome.head_start = Some(attacker);
            }
            if attacker >= honest {
                self.outcome.drew_level = true;
            }
            if attacker > honest {
                // Strictly more work (every block has the same target here): reconnect, and
                // announce the private chain, oldest block first.
                self.outcome.released = true;
                engine.apply(super::engine::Action::Heal);
                let mut blocks: Vec<u32> = engine
                    .withheld
                    .iter()
                    .filter(|(node, _)| *node == self.node)
                    .map(|(_, block)| *block)
                    .collect();
                blocks.sort_by_key(|b| engine.blocks[*b as usize].height);
                for block in blocks {
                    engine.release(self.node, block, |_, _, latency| latency);
                }
                return false;
            }
        }
        if honest.saturating_sub(attacker) >= self.give_up {
            self.outcome.gave_up = true;
            return true;
        }
        false
    }
}

/// The height of the highest block an honest node mined.
fn honest_height(engine: &Engine) -> u64 {
    engine
        .blocks
        .iter()
        .filter(|b| b.miner != u32::MAX && engine.nodes[b.miner as usize].role == Role::Honest)
        .map(|b| b.height)
        .max()
        .unwrap_or(0)
}

/// Whether the honest nodes' tip is a block of the attacker's.
fn on_attackers_chain(engine: &Engine, attacker: u32) -> bool {
    let Some(node) = engine
        .nodes
        .iter()
        .position(|n| n.role == Role::Honest && n.machine.is_some())
    else {
        return false;
    };
    engine
        .block_id(&engine.tips[node])
        .is_some_and(|id| engine.blocks[id as usize].miner == attacker)
}

/// Eyal and Sirer's selfish mining (their Algorithm 1), for the node `node`.
///
/// The attacker keeps its blocks private while it leads; when the honest network finds a block,
/// it publishes just enough to keep (or win) the race: a tie with a lead of one, everything with a
/// lead of two, one block with a longer lead. In a tie, its block reaches a share of the honest
/// miners first: each honest miner other than the one that found the competing block gets it
/// first with probability `fast`, so that on average a share `gamma` of honest power mines on
/// the attacker's block.
#[derive(Debug, Clone)]
pub struct Selfish {
    /// The attacker's node.
    pub node: u32,
    /// The chance that a released block reaches a given honest miner first.
    pub fast: f64,
    /// How many blocks of the run the strategy has looked at.
    seen: usize,
    /// The height of the longest chain published (honest, or released by the attacker).
    public_height: u64,
    /// The attacker's private branch length, as the algorithm counts it.
    branch: u64,
}

impl Selfish {
    /// Selfish mining for `node`, whose released blocks reach each honest miner first with
    /// probability `fast`.
    pub fn new(node: u32, fast: f64) -> Self {
        Self {
            node,
            fast,
            seen: 1, // genesis
            public_height: 0,
            branch: 0,
        }
    }

    /// The attacker's private chain length: its machine's tip height.
    fn private_height(&self, engine: &Engine) -> u64 {
        engine.nodes[self.node as usize]
            .machine
            .as_ref()
            .map_or(0, |m| m.tip().height)
    }

    /// Reacts to the blocks made since the last call.
    pub fn step(&mut self, engine: &mut Engine) {
        while self.seen < engine.blocks.len() {
            let id = self.seen;
            self.seen += 1;
            let (miner, height) = (engine.blocks[id].miner, engine.blocks[id].height);
            if miner == self.node {
                self.on_own_block(engine, height);
            } else {
                self.on_others_block(engine, height);
            }
        }
    }

    fn on_own_block(&mut self, engine: &mut Engine, height: u64) {
        // Δprev: the lead before this block.
        let lead_before = height.saturating_sub(1).saturating_sub(self.public_height);
        self.branch += 1;
        if lead_before == 0 && self.branch == 2 {
            // It was a tie with a branch of one: the new block wins the race.
            self.publish_all(engine);
            self.branch = 0;
        }
    }

    fn on_others_block(&mut self, engine: &mut Engine, height: u64) {
        let private = self.private_height(engine);
        let lead_before = private.saturating_sub(self.public_height);
        self.public_height = self.public_height.max(height);
        match lead_before {
            0 => self.branch = 0, // they win; the machine adopts their chain by itself
            1 => self.publish_last(engine),
            2 => {
                self.publish_all(engine);
                self.branch = 0;
            }
            _ => self.publish_first(engine),
        }
    }

    /// The attacker's withheld blocks still on its best chain, lowest first.
    fn withheld_on_chain(&self, engine: &Engine) -> Vec<u32> {
        let Some(machine) = engine.nodes[self.node as usize].machine.as_ref() else {
            return Vec::new();
        };
        let store = machine.store();
        let mut blocks: Vec<u32> = engine
            .withheld
            .iter()
            .filter(|(node, _)| *node == self.node)
            .map(|(_, b)| *b)
            .filter(|b| {
                let info = &engine.blocks[*b as usize];
                ironchain_store::ChainStore::hash_at(store, info.height)
                    .ok()
                    .flatten()
                    == Some(info.hash)
            })
            .collect();
        blocks.sort_by_key(|b| engine.blocks[*b as usize].height);
        blocks
    }

    fn publish_all(&mut self, engine: &mut Engine) {
        for block in self.withheld_on_chain(engine) {
            self.release(engine, block);
        }
    }

    fn publish_last(&mut self, engine: &mut Engine) {
        if let Some(&block) = self.withheld_on_chain(engine).last() {
            // Everything below it too: a block is of no use without its parents.
            for lower in self.withheld_on_chain(engine) {
                self.release(engine, lower);
                if lower == block {
                    break;
                }
            }
        }
    }

    fn publish_first(&mut self, engine: &mut Engine) {
        if let Some(&block) = self.withheld_on_chain(engine).first() {
            self.release(engine, block);
        }
    }

    fn release(&mut self, engine: &mut Engine, block: u32) {
        let height = engine.blocks[block as usize].height;
        self.public_height = self.public_height.max(height);
        let fast = self.fast;
        // Draw each honest peer's side of the race now, in link order: reproducible.
        let links = engine.topology.links[self.node as usize].clone();
        let draws: Vec<(u32, bool)> = links
            .iter()
            .map(|l| (l.peer, engine.rng.next_f64() < fast))
            .collect();
        engine.release(self.node, block, move |_, peer, latency: Micros| {
            let first = draws.iter().any(|&(p, fast)| p == peer && fast);
            if first { 1 } else { latency * 3 }
        });
    }
}
