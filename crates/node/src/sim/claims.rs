//! The seed's claims, measured: `ironchain simulate --scenario seed-claims`.
//!
//! The seed says an attacker "would need to simultaneously coordinate" enough of the network's
//! tens of thousands of nodes. Proof of work decides differently: the valid chain with the most
//! work wins, however many nodes hold which copy. Four runs show where node count does and does
//! not matter:
//!
//! 1. An attacker owning 90% of the nodes (which relay blocks as honest nodes do) and 10% of the
//!    hash rate mines a private chain for the whole run: it never gets ahead, so it never
//!    replaces the honest chain, whatever its nodes hold.
//! 2. The same nodes refusing to relay honest blocks: an honest node whose peers are all
//!    attacker nodes never hears of the honest chain (Heilman et al.'s eclipse attack), so here
//!    node count matters, and the number of peers each node dials decides how much.
//! 3. One node with 51% of the hash rate and a private chain: it gets ahead eventually, and every
//!    honest node then switches to its chain.
//! 4. Stores tampered on 99% of the nodes: each detects its bad block, cuts it away and
//!    downloads the rest from peers, while one honest copy in a hundred remains reachable.

use std::fmt::Write as _;

use ironchain_core::attack::rng::Xoshiro256;
use ironchain_store::{ChainStore, VerifyMode};
use serde::Serialize;

use super::attack::PrivateFork;
use super::engine::{Engine, Role};
use super::links::SECOND;
use super::scenario::{self, Scenario, Shares, SimConfig};
use super::sim_params;
use super::topology::Topology;

/// Outbound peer counts tried in the eclipse row.
pub const OUTBOUND_COUNTS: [usize; 4] = [2, 4, 8, 16];

/// The four measurements.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Claims {
    /// Nodes in each run.
    pub nodes: usize,
    /// Blocks mined in each run.
    pub blocks: u64,
    /// Row 1: 90% of nodes relaying honestly, 10% of the hash rate.
    pub many_nodes_little_work: PrivateRace,
    /// Row 2: honest nodes eclipsed, for each outbound peer count.
    pub eclipse: Vec<EclipseRow>,
    /// Row 3: one node with 51% of the hash rate.
    pub one_node_majority: PrivateRace,
    /// Row 4: 99% of stores tampered.
    pub tampered: TamperRow,
}

/// A private chain's race against the honest network over a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PrivateRace {
    /// The attacker's share of the hash rate.
    pub attacker_share: f64,
    /// Whether every honest node ended on the attacker's chain.
    pub replaced: bool,
    /// Honest blocks mined when it did (or when the run ended).
    pub honest_blocks: u64,
    /// Attacker blocks mined by then.
    pub attacker_blocks: u64,
}

/// Eclipse, for one outbound peer count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EclipseRow {
    /// Peers each node dials.
    pub outbound: usize,
    /// Honest nodes.
    pub honest_nodes: usize,
    /// Honest nodes that ended on the attacker's chain.
    pub eclipsed: usize,
}

/// Tampered stores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TamperRow {
    /// Stores tampered.
    pub tampered: usize,
    /// Stores cut back after failing verification at restart.
    pub repaired: u64,
    /// Whether every honest node ended on one tip.
    pub agreed: bool,
    /// Stores that pass full verification at the end.
    pub verified: usize,
    /// Nodes.
    pub nodes: usize,
}

/// Runs the four measurements on networks shaped like `base` (nodes, miners, blocks, links).
pub fn run(base: &SimConfig) -> Claims {
    let eclipse = OUTBOUND_COUNTS
        .iter()
        .map(|&outbound| {
            let config = SimConfig {
                outbound,
                scenario: Scenario::Eclipse {
                    node_share: 0.9,
                    q: 0.1,
                },
                ..base.clone()
            };
            let (_, engine) = scenario::network(&config);
            EclipseRow {
                outbound,
                honest_nodes: engine
                    .nodes
                    .iter()
                    .filter(|n| n.role == Role::Honest)
                    .count(),
                eclipsed: scenario::eclipsed(&engine),
            }
        })
        .collect();
    let tampered = {
        let config = SimConfig {
            scenario: Scenario::Tampered { share: 0.99 },
            ..base.clone()
        };
        let (report, engine) = scenario::network(&config);
        let now = engine.time().unix_secs();
        TamperRow {
            tampered: (base.nodes as f64 * 0.99).round() as usize,
            repaired: report.repairs,
            agreed: report.agreed,
            verified: engine
                .nodes
                .iter()
                .filter(|n| n.store.verify(VerifyMode::Full, now).is_ok())
                .count(),
            nodes: base.nodes,
        }
    };
    Claims {
        nodes: base.nodes,
        blocks: base.blocks,
        many_nodes_little_work: private_race(base, 0.1),
        eclipse,
        one_node_majority: private_race(base, 0.51),
        tampered,
    }
}

/// One attacker node with share `q` mines a private chain from genesis for a whole run of
/// `base.blocks` honest blocks, revealing it whenever it has more work.
fn private_race(base: &SimConfig, q: f64) -> PrivateRace {
    let params = sim_params(base.block_interval);
    let mut rng = Xoshiro256::stream(base.seed, 2);
    let topology = Topology::random(
        base.nodes,
        base.outbound,
        base.max_inbound,
        &base.latency,
        &mut rng,
    );
    let attacker = (rng.next_u64() % base.nodes as u64) as u32;
    let mut roles = vec![Role::Honest; base.nodes];
    roles[attacker as usize] = Role::Withholding;
    let mut shares = vec![0.0; base.nodes];
    let miners: Vec<u32> = (0..base.nodes as u32)
        .filter(|&n| n != attacker)
        .take(base.miners)
        .collect();
    for (miner, share) in miners
        .iter()
        .zip(Shares::Equal.split(miners.len(), 1.0 - q))
    {
        shares[*miner as usize] = share;
    }
    shares[attacker as usize] = q;
    let config = SimConfig {
        scenario: Scenario::Baseline,
        ..base.clone()
    };
    let mut engine = Engine::new(
        config.engine_config(params),
        topology,
        roles,
        shares,
        base.seed,
    );
    let mut race = PrivateFork::new(attacker, 1, u64::MAX);
    race.isolate(&mut engine);
    engine.start();
    // A minority is given the run's blocks to get ahead; a majority as long as it takes (it
    // gets ahead with probability 1), within a hundred times as many.
    let majority = q >= 0.5;
    let limit = u64::from(base.block_interval) * SECOND * base.blocks * 200;
    engine.run(limit, |engine| {
        race.step(engine) || (!majority && race.outcome.honest_height >= base.blocks)
    });
    PrivateRace {
        attacker_share: q,
        replaced: race.outcome.replaced,
        honest_blocks: race.outcome.honest_height,
        attacker_blocks: race.outcome.attacker_height,
    }
}

impl Claims {
    /// The table, as text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "The seed's claims, measured ({} nodes, {} blocks per run)\n",
            self.nodes, self.blocks
        );
        let _ = writeln!(out, "{:<52} result", "claim");
        let row = &self.many_nodes_little_work;
        let _ = writeln!(
            out,
            "{:<52} {}",
            "90% of nodes (relaying honestly), 10% of hash rate",
            if row.replaced {
                format!("REPLACED the honest chain at block {}", row.honest_blocks)
            } else {
                format!(
                    "never replaced the honest chain: {} attacker blocks against {} honest",
                    row.attacker_blocks, row.honest_blocks
                )
            }
        );
        let eclipsed: Vec<String> = self
            .eclipse
            .iter()
            .map(|r| format!("{} out: {}/{}", r.outbound, r.eclipsed, r.honest_nodes))
            .collect();
        let _ = writeln!(
            out,
            "{:<52} honest nodes eclipsed onto the attacker's chain: {}",
            "90% of nodes refusing to relay honest blocks",
            eclipsed.join(", ")
        );
        let row = &self.one_node_majority;
        let _ = writeln!(
            out,
            "{:<52} {}",
            "1 node, 51% of hash rate",
            if row.replaced {
                format!(
                    "replaced the honest chain after {} honest blocks ({} of its own)",
                    row.honest_blocks, row.attacker_blocks
                )
            } else {
                format!(
                    "not yet ahead after {} honest blocks (a longer run gets there)",
                    row.honest_blocks
                )
            }
        );
        let row = &self.tampered;
        let _ = writeln!(
            out,
            "{:<52} {} of {} repaired; {}; {} of {} stores verify",
            "99% of stores tampered, 1% intact",
            row.repaired,
            row.tampered,
            if row.agreed {
                "all honest nodes agree"
            } else {
                "honest nodes DISAGREE"
            },
            row.verified,
            row.nodes
        );
        out
    }
}
