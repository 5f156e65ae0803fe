//! What a run measured, as text, JSON and CSV.
//!
//! Every figure here is a pure function of the run, so the same seed prints the same report,
//! byte for byte, except the two that measure this machine rather than the network:
//! `wall_seconds` and `peak_rss_bytes`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::attack::RaceOutcome;
use super::engine::{BlockInfo, Engine, Role};
use super::links::SECOND;

/// Percentiles of a set of durations, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// The percentiles of `values` (seconds); all zero for none.
    pub fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let index = ((values.len() - 1) as f64 * q).round() as usize;
            values[index.min(values.len() - 1)]
        };
        Self {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
        }
    }
}

/// How long blocks took to reach a share of the nodes, over the main chain's blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Propagation {
    /// Time to reach half of the nodes.
    pub to_50: Percentiles,
    /// Time to reach 90% of the nodes.
    pub to_90: Percentiles,
    /// Time to reach every node.
    pub to_100: Percentiles,
}

/// Mean and largest of a per-node figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PerNode {
    /// The mean over nodes.
    pub mean: f64,
    /// The largest.
    pub max: u64,
}

/// The result of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The scenario run.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Nodes.
    pub nodes: usize,
    /// Nodes that mine.
    pub miners: usize,
    /// The target block interval, seconds.
    pub block_interval: u32,
    /// Simulated time, seconds.
    pub simulated_seconds: f64,
    /// Blocks mined, stale ones included.
    pub blocks_mined: u64,
    /// Height of the final best chain.
    pub main_chain_height: u64,
    /// Blocks mined that are not on the final best chain.
    pub stale_blocks: u64,
    /// `stale_blocks / blocks_mined`.
    pub stale_rate: f64,
    /// The stale rate theory predicts from this run's own miner-to-miner delays.
    pub stale_rate_estimate: f64,
    /// Reorganizations by depth (blocks disconnected), over all nodes.
    pub reorgs: BTreeMap<u64, u64>,
    /// Block propagation, over the final best chain's blocks.
    pub propagation: Propagation,
    /// Messages sent per node.
    pub messages_per_node: PerNode,
    /// Bytes sent per node.
    pub bytes_per_node: PerNode,
    /// Gossip copies dropped as already seen.
    pub duplicate_messages: u64,
    /// Peers banned.
    pub bans: u64,
    /// Stores cut back after failing verification, and how many of those were refilled.
    pub repairs: u64,
    /// Repairs whose dropped blocks were replaced from peers.
    pub repairs_complete: u64,
    /// Whether every honest node ended on one tip.
    pub agreed: bool,
    /// When they last came to agree, seconds since the start (if they did).
    pub agreed_at: Option<f64>,
    /// The attack, if the scenario has one.
    pub attack: Option<AttackReport>,
    /// Events the engine handled (deliveries, ticks, mining, faults).
    pub events: u64,
    /// The most events waiting at once.
    pub peak_queue: usize,
    /// Wall-clock time of the run (this machine, not the network: differs between runs).
    pub wall_seconds: f64,
    /// Peak resident memory of the process (this machine: differs between runs).
    pub peak_rss_bytes: u64,
}

/// What an attack achieved.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AttackReport {
    /// The attack's name.
    pub kind: String,
    /// The attacker's share of the hash rate.
    pub attacker_share: f64,
    /// Whether it succeeded (what success means depends on the attack).
    pub success: bool,
    /// The attacker's share of the final best chain's blocks.
    pub share_of_main_chain: f64,
    /// The races, for a double spend.
    pub races: Option<RaceStats>,
}

/// Double-spend races, counted, beside what theory predicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RaceStats {
    /// Confirmations the merchant waited for.
    pub z: u64,
    /// Races run.
    pub trials: u64,
    /// Races where the attacker drew level after `z` confirmations (the whitepaper's "catch
    /// up").
    pub drew_level: u64,
    /// Races where the attacker's chain replaced the honest one at every honest node.
    pub replaced: u64,
    /// Races the attacker gave up.
    pub gave_up: u64,
    /// `attack-sim`'s exact (negative binomial) probability of drawing level.
    pub theory_drew_level: f64,
    /// The exact probability of getting a block ahead, which replacing the chain takes.
    pub theory_replaced: f64,
}

impl RaceStats {
    /// Counts `outcomes` of races against `z` confirmations by an attacker with share `q`.
    pub fn count(q: f64, z: u64, outcomes: &[RaceOutcome]) -> Self {
        use ironchain_core::attack::{
            AttackerShare, catch_up_probability_exact, overtake_probability_exact,
        };
        let z32 = u32::try_from(z).unwrap_or(u32::MAX);
        let (level, ahead) = match AttackerShare::new(q) {
            Ok(share) => (
                catch_up_probability_exact(share, z32),
                overtake_probability_exact(share, z32),
            ),
            Err(_) => (f64::NAN, f64::NAN),
        };
        Self {
            z,
            trials: outcomes.len() as u64,
            drew_level: outcomes.iter().filter(|o| o.drew_level).count() as u64,
            replaced: outcomes.iter().filter(|o| o.replaced).count() as u64,
            gave_up: outcomes.iter().filter(|o| o.gave_up).count() as u64,
            theory_drew_level: level,
            theory_replaced: ahead,
        }
    }
}

/// The blocks of the final best chain: the chain of the first honest node that is up.
pub(crate) fn main_chain(engine: &Engine) -> Vec<u32> {
    let Some(node) = engine
        .nodes
        .iter()
        .find(|n| n.role == Role::Honest && n.machine.is_some())
    else {
        return Vec::new();
    };
    node.store
        .blocks()
        .iter()
        .filter_map(|b| engine.block_id(&b.block_hash()))
        .collect()
}

/// Fills the network-wide figures of a report from a finished run.
pub(crate) fn measure(engine: &Engine, report: &mut Report, interval: u32) {
    let main = main_chain(engine);
    let mut on_main = vec![false; engine.blocks.len()];
    for &id in &main {
        on_main[id as usize] = true;
    }
    let mined: Vec<&BlockInfo> = engine
        .blocks
        .iter()
        .filter(|b| b.miner != u32::MAX)
        .collect();
    report.blocks_mined = mined.len() as u64;
    report.main_chain_height = main.len().saturating_sub(1) as u64;
    report.stale_blocks = engine
        .blocks
        .iter()
        .enumerate()
        .filter(|(id, b)| b.miner != u32::MAX && !on_main[*id])
        .count() as u64;
    report.stale_rate = if report.blocks_mined == 0 {
        0.0
    } else {
        report.stale_blocks as f64 / report.blocks_mined as f64
    };
    let shares: Vec<f64> = engine
        .miners
        .iter()
        .map(|&node| engine.nodes[node as usize].share)
        .collect();
    let all: Vec<BlockInfo> = mined.iter().map(|b| (*b).clone()).collect();
    report.stale_rate_estimate =
        super::theory::stale_rate_estimate(&all, &shares, f64::from(interval));
    report.reorgs = engine.counters.reorgs.clone();
    let reach = |percent: usize| -> Vec<f64> {
        main.iter()
            .map(|&id| &engine.blocks[id as usize])
            .filter(|b| b.miner != u32::MAX)
            .filter_map(|b| b.reached_percent.get(percent - 1))
            .map(|&t| t as f64 / SECOND as f64)
            .collect()
    };
    report.propagation = Propagation {
        to_50: Percentiles::of(reach(50)),
        to_90: Percentiles::of(reach(90)),
        to_100: Percentiles::of(reach(100)),
    };
    let per_node = |value: &dyn Fn(usize) -> u64| {
        let values: Vec<u64> = (0..engine.nodes.len()).map(value).collect();
        PerNode {
            mean: values.iter().sum::<u64>() as f64 / values.len().max(1) as f64,
            max: values.iter().copied().max().unwrap_or(0),
        }
    };
    report.messages_per_node = per_node(&|i| engine.nodes[i].messages_sent);
    report.bytes_per_node = per_node(&|i| engine.nodes[i].bytes_sent);
    report.duplicate_messages = engine.counters.duplicates;
    report.bans = engine.counters.bans;
    report.repairs = engine.counters.repairs;
    report.repairs_complete = engine.counters.repairs_complete;
    report.simulated_seconds = engine.seconds();
    report.events = engine.counters.events;
    report.peak_queue = engine.counters.peak_queue;
    report.nodes = engine.nodes.len();
    report.miners = engine.miners.len();
}

/// The share of the main chain's blocks mined by `miner`.
pub(crate) fn share_of_main(engine: &Engine, miner: u32) -> f64 {
    let main = main_chain(engine);
    let mined: Vec<&BlockInfo> = main
        .iter()
        .map(|&id| &engine.blocks[id as usize])
        .filter(|b| b.miner != u32::MAX)
        .collect();
    if mined.is_empty() {
        return 0.0;
    }
    mined.iter().filter(|b| b.miner == miner).count() as f64 / mined.len() as f64
}

/// One line per block: what the CSV of `--events` holds.
pub fn events_csv(engine: &Engine) -> String {
    let main = main_chain(engine);
    let mut on_main = vec![false; engine.blocks.len()];
    for &id in &main {
        on_main[id as usize] = true;
    }
    let mut out = String::from(
        "block,hash,height,miner,mined_at_s,main_chain,reached_50_s,reached_90_s,reached_100_s\n",
    );
    let seconds = |b: &BlockInfo, percent: usize| {
        b.reached_percent
            .get(percent - 1)
            .map_or(String::new(), |t| {
                format!("{:.6}", *t as f64 / SECOND as f64)
            })
    };
    for (id, block) in engine.blocks.iter().enumerate().skip(1) {
        let _ = writeln!(
            out,
            "{id},{},{},n{},{:.6},{},{},{},{}",
            block.hash,
            block.height,
            block.miner,
            block.mined_at as f64 / SECOND as f64,
            on_main[id],
            seconds(block, 50),
            seconds(block, 90),
            seconds(block, 100),
        );
    }
    out
}

impl Report {
    /// The report as text for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "scenario {}: {} nodes, {} miners, {} s blocks, seed {}",
            self.scenario, self.nodes, self.miners, self.block_interval, self.seed
        );
        let _ = writeln!(
            out,
            "simulated {:.0} s ({:.1} h): {} blocks mined, best chain {} high",
            self.simulated_seconds,
            self.simulated_seconds / 3600.0,
            self.blocks_mined,
            self.main_chain_height
        );
        let _ = writeln!(
            out,
            "stale blocks: {} ({:.3}%; theory from measured delays: {:.3}%)",
            self.stale_blocks,
            self.stale_rate * 100.0,
            self.stale_rate_estimate * 100.0
        );
        let reorgs: Vec<String> = self
            .reorgs
            .iter()
            .map(|(depth, count)| format!("depth {depth}: {count}"))
            .collect();
        let _ = writeln!(
            out,
            "reorganizations (all nodes): {}",
            if reorgs.is_empty() {
                "none".into()
            } else {
                reorgs.join(", ")
            }
        );
        let p = &self.propagation;
        let _ = writeln!(out, "propagation        p50       p90       p99");
        for (name, row) in [
            ("to 50%", p.to_50),
            ("to 90%", p.to_90),
            ("to 100%", p.to_100),
        ] {
            let _ = writeln!(
                out,
                "  {name:<8} {:>8.3} s {:>8.3} s {:>8.3} s",
                row.p50, row.p90, row.p99
            );
        }
        let _ = writeln!(
            out,
            "per node: {:.0} messages, {:.1} KB sent on average (max {}, {:.1} KB)",
            self.messages_per_node.mean,
            self.bytes_per_node.mean / 1e3,
            self.messages_per_node.max,
            self.bytes_per_node.max as f64 / 1e3
        );
        let _ = writeln!(
            out,
            "events simulated: {} (at most {} waiting at once)",
            self.events, self.peak_queue
        );
        if self.bans > 0 || self.repairs > 0 {
            let _ = writeln!(
                out,
                "bans: {}, stores repaired: {} ({} refilled from peers)",
                self.bans, self.repairs, self.repairs_complete
            );
        }
        match (self.agreed, self.agreed_at) {
            (true, Some(at)) => {
                let _ = writeln!(out, "all honest nodes agree on one tip (since {at:.1} s)");
            }
            _ => {
                let _ = writeln!(out, "honest nodes do NOT agree on one tip");
            }
        }
        if let Some(races) = self.attack.as_ref().and_then(|a| a.races) {
            let n = races.trials.max(1) as f64;
            let _ = writeln!(
                out,
                "{} races against {} confirmations: drew level {} ({:.4}; theory {:.4}), \
                 replaced the honest chain {} ({:.4}; theory {:.4}), gave up {}",
                races.trials,
                races.z,
                races.drew_level,
                races.drew_level as f64 / n,
                races.theory_drew_level,
                races.replaced,
                races.replaced as f64 / n,
                races.theory_replaced,
                races.gave_up
            );
        }
        if let Some(attack) = &self.attack {
            let _ = writeln!(
                out,
                "attack {} with {:.1}% of the hash rate: {}; its share of the best chain {:.1}%",
                attack.kind,
                attack.attacker_share * 100.0,
                if attack.success {
                    "succeeded"
                } else {
                    "failed"
                },
                attack.share_of_main_chain * 100.0
            );
        }
        out
    }
}

/// Returns this process's peak resident memory, in bytes (Linux; 0 elsewhere).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The share of nodes a block reaches over time: for each percent of the nodes, the median time
/// (seconds) the final best chain's blocks took to reach it. The points of a propagation CDF.
pub fn propagation_cdf(engine: &Engine) -> Vec<(f64, f64)> {
    let main = main_chain(engine);
    let blocks: Vec<&BlockInfo> = main
        .iter()
        .map(|&id| &engine.blocks[id as usize])
        .filter(|b| b.miner != u32::MAX)
        .collect();
    (1..=100)
        .filter_map(|percent| {
            let times: Vec<f64> = blocks
                .iter()
                .filter_map(|b| b.reached_percent.get(percent - 1))
                .map(|&t| t as f64 / SECOND as f64)
                .collect();
            (!times.is_empty()).then(|| (Percentiles::of(times).p50, percent as f64))
        })
        .collect()
}
