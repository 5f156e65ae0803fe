//! The named scenarios of `ironchain simulate`: a network, its miners, what goes wrong, and the
//! report.
//!
//! Every scenario runs the same way. The nodes start and connect; miners mine until `blocks`
//! have been mined (stale ones included), while the scenario's faults happen at their times;
//! then mining stops and the network settles until every honest node holds the same tip (or a
//! generous time passes). What differs is the faults and the attackers:
//!
//! | scenario | what happens |
//! |---|---|
//! | `baseline` | nothing: propagation, stale blocks and agreement of a healthy network |
//! | `partition` | the nodes split in two halves at a third of the run, heal at two thirds |
//! | `crashes` | a share of nodes crash and restart, half of them losing their last blocks |
//! | `tampered` | a share of nodes have a block of their store changed while down |
//! | `double-spend` | one attacker mines a private chain and reveals it if it gets ahead |
//! | `selfish` | one attacker follows Eyal and Sirer's selfish-mining strategy |
//! | `eclipse` | attacker nodes that refuse to relay honest blocks surround honest ones |

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ironchain_core::ChainParams;
use ironchain_core::attack::rng::Xoshiro256;
use ironchain_store::ChainStore;

use super::attack::{PrivateFork, Selfish};
use super::engine::{Action, Engine, EngineConfig, Role};
use super::links::{Latency, MS, Micros, SECOND};
use super::report::{self, AttackReport, RaceStats, Report};
use super::topology::Topology;
use super::{hash_rate_for, sim_params};
use crate::machine::{MachineConfig, MiningPolicy};

/// How the hash rate is split among the miners.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shares {
    /// Every miner the same.
    Equal,
    /// Miner `i` (from 0) gets a share proportional to `1 / (i + 1)^s`: a few large pools and a
    /// long tail, as on Bitcoin.
    Zipf(f64),
}

impl Shares {
    /// The shares of `miners` miners, summing to `total`.
    pub fn split(self, miners: usize, total: f64) -> Vec<f64> {
        let weights: Vec<f64> = (0..miners)
            .map(|i| match self {
                Shares::Equal => 1.0,
                Shares::Zipf(s) => 1.0 / ((i + 1) as f64).powf(s),
            })
            .collect();
        let sum: f64 = weights.iter().sum();
        weights
            .iter()
            .map(|w| total * w / sum.max(f64::MIN_POSITIVE))
            .collect()
    }
}

impl FromStr for Shares {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "equal" => Ok(Shares::Equal),
            "zipf" => Ok(Shares::Zipf(1.0)),
            other => match other.strip_prefix("zipf:").map(str::parse::<f64>) {
                Some(Ok(s)) if s.is_finite() && s >= 0.0 => Ok(Shares::Zipf(s)),
                _ => Err(format!(
                    "cannot read shares {other:?}: expected equal, zipf or zipf:S (S >= 0)"
                )),
            },
        }
    }
}

/// What goes wrong in a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// Nothing.
    Baseline,
    /// Two halves split at a third of the run and heal at two thirds.
    Partition,
    /// This share of nodes crash once and restart; half of them lose their last blocks.
    Crashes {
        /// The share of nodes.
        share: f64,
    },
    /// This share of nodes are stopped, have a block of their store changed, and restart.
    Tampered {
        /// The share of nodes.
        share: f64,
    },
    /// Races of an attacker with share `q` mining a private chain against `z` confirmations.
    DoubleSpend {
        /// The attacker's share of the hash rate.
        q: f64,
        /// Confirmations the merchant waits for.
        z: u64,
        /// Races to run.
        trials: u64,
    },
    /// A selfish miner with share `q` and connectivity `gamma`.
    Selfish {
        /// Its share of the hash rate.
        q: f64,
        /// The share of honest power that mines on its block in a tie.
        gamma: f64,
    },
    /// Attacker nodes, this share of all nodes, that relay only the attacker's blocks; one of
    /// them mines with share `q`.
    Eclipse {
        /// The attacker's share of the nodes.
        node_share: f64,
        /// The attacker's share of the hash rate.
        q: f64,
    },
}

impl Scenario {
    /// The scenario's name, as `--scenario` takes it.
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::Partition => "partition",
            Scenario::Crashes { .. } => "crashes",
            Scenario::Tampered { .. } => "tampered",
            Scenario::DoubleSpend { .. } => "double-spend",
            Scenario::Selfish { .. } => "selfish",
            Scenario::Eclipse { .. } => "eclipse",
        }
    }
}

/// A run to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Nodes.
    pub nodes: usize,
    /// Nodes that mine (besides any attacker).
    pub miners: usize,
    /// Blocks to mine, stale ones included.
    pub blocks: u64,
    /// Target block interval, seconds.
    pub block_interval: u32,
    /// Seeds every random choice.
    pub seed: u64,
    /// Link latencies.
    pub latency: Latency,
    /// Uplink bandwidth of each node, megabits per second (0: unlimited).
    pub bandwidth_mbit: f64,
    /// Peers each node dials.
    pub outbound: usize,
    /// Most peers a node accepts.
    pub max_inbound: usize,
    /// How the hash rate is split among miners.
    pub shares: Shares,
    /// Bytes of records in each mined block (a filler record).
    pub block_size: usize,
    /// How often each node asks its peers for their tips (`None`: the default, see
    /// [`SimConfig::tip_poll`]).
    pub tip_poll: Option<Duration>,
    /// Records posted to random nodes during the run.
    pub records: u64,
    /// What goes wrong.
    pub scenario: Scenario,
    /// Keep a line per event (small runs only), for replay checks.
    pub record_log: bool,
}

impl Default for SimConfig {
    /// Bitcoin-like: 8 outbound peers, up to 117 inbound (125 connections in all), log-normal
    /// latency with a 50 ms median and 200 ms at the 90th percentile, 50 Mbit/s uplinks.
    fn default() -> Self {
        Self {
            nodes: 1000,
            miners: 20,
            blocks: 200,
            block_interval: 600,
            seed: 1,
            latency: Latency::LogNormal {
                median: 50.0,
                p90: 200.0,
            },
            bandwidth_mbit: 50.0,
            outbound: 8,
            max_inbound: 117,
            shares: Shares::Equal,
            block_size: 0,
            tip_poll: None,
            records: 0,
            scenario: Scenario::Baseline,
            record_log: false,
        }
    }
}

impl SimConfig {
    /// How often nodes poll their peers' tips: the configured value, or by default ten block
    /// intervals, at least an hour. A real node polls every 10 s as a fallback to gossip; in a
    /// simulation of thousands of nodes that fallback would be most of the work while changing
    /// little (gossip and the sync that orphan blocks trigger carry the blocks), so it is rarer.
    pub fn tip_poll(&self) -> Duration {
        self.tip_poll
            .unwrap_or_else(|| Duration::from_secs((u64::from(self.block_interval) * 10).max(3600)))
    }

    fn interval(&self) -> Micros {
        u64::from(self.block_interval) * SECOND
    }

    pub(crate) fn engine_config(&self, params: Arc<ChainParams>) -> EngineConfig {
        let hash_rate = hash_rate_for(&params, Duration::from_secs(u64::from(self.block_interval)));
        EngineConfig {
            machine: MachineConfig {
                tip_poll_interval: self.tip_poll(),
                mining: Some(MiningPolicy {
                    mine_empty: true,
                    min_interval: Duration::ZERO,
                }),
                ..MachineConfig::default()
            },
            bandwidth: (self.bandwidth_mbit * 1e6) as u64,
            hash_rate,
            block_filler: self.block_size,
            record_log: self.record_log,
            params,
        }
    }
}

/// Picks `count` distinct nodes out of `nodes`, at random.
fn pick(rng: &mut Xoshiro256, nodes: usize, count: usize) -> Vec<u32> {
    let mut all: Vec<u32> = (0..nodes as u32).collect();
    let count = count.min(nodes);
    for i in 0..count {
        let j = i + (rng.next_u64() % (nodes - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(count);
    all
}

/// Runs a scenario and reports what it measured.
pub fn run(config: &SimConfig) -> Report {
    let started = Instant::now();
    let mut report = match &config.scenario {
        Scenario::DoubleSpend { q, z, trials } => double_spend(config, *q, *z, *trials).0,
        Scenario::Selfish { q, gamma } => selfish(config, *q, *gamma).0,
        _ => network(config).0,
    };
    report.scenario = config.scenario.name().to_owned();
    report.seed = config.seed;
    report.block_interval = config.block_interval;
    report.wall_seconds = started.elapsed().as_secs_f64();
    report.peak_rss_bytes = report::peak_rss_bytes();
    report
}

/// Runs a whole network (every scenario but the races) and returns its report and its engine.
pub fn network(config: &SimConfig) -> (Report, Engine) {
    let params = sim_params(config.block_interval);
    let mut rng = Xoshiro256::stream(config.seed, 0);
    let topology = Topology::random(
        config.nodes,
        config.outbound,
        config.max_inbound,
        &config.latency,
        &mut rng,
    );
    let mut roles = vec![Role::Honest; config.nodes];
    let mut shares = vec![0.0; config.nodes];
    let mut attacker = None;
    let miners = pick(&mut rng, config.nodes, config.miners);
    let honest_power = match config.scenario {
        Scenario::Eclipse { q, .. } => 1.0 - q,
        _ => 1.0,
    };
    if let Scenario::Eclipse { node_share, q } = config.scenario {
        // The attacker's nodes: a share of all nodes, none of the honest miners.
        let candidates: Vec<u32> = (0..config.nodes as u32)
            .filter(|n| !miners.contains(n))
            .collect();
        let count = ((config.nodes as f64 * node_share).round() as usize).min(candidates.len());
        let chosen = pick(&mut rng, candidates.len(), count);
        for &i in &chosen {
            roles[candidates[i as usize] as usize] = Role::Eclipsing;
        }
        if let Some(&first) = chosen.first() {
            let node = candidates[first as usize];
            shares[node as usize] = q;
            attacker = Some(node);
        }
    }
    for (miner, share) in miners
        .iter()
        .zip(config.shares.split(miners.len(), honest_power))
    {
        shares[*miner as usize] = share;
    }
    let mut engine = Engine::new(
        config.engine_config(params),
        topology,
        roles,
        shares,
        config.seed,
    );
    let interval = config.interval();
    let span = interval * config.blocks;
    schedule_faults(config, &mut engine, &mut rng, span);
    for _ in 0..config.records {
        // Within the first three quarters of the run: the run may end when its blocks are
        // mined, a little before `span`.
        let at = rng.next_u64() % (span * 3 / 4).max(1);
        let node = (rng.next_u64() % config.nodes.max(1) as u64) as u32;
        engine.schedule(at, Action::PostRecord(node));
    }
    engine.start();
    mine_and_settle(&mut engine, config.blocks, config, |_| false);
    let mut report = Report::default();
    report::measure(&engine, &mut report, config.block_interval);
    report.agreed = engine.honest_agree();
    report.agreed_at = engine.agreed_since.map(|t| t as f64 / SECOND as f64);
    if let Some(attacker) = attacker {
        let share = report::share_of_main(&engine, attacker);
        report.attack = Some(AttackReport {
            kind: "eclipse".into(),
            attacker_share: engine.nodes[attacker as usize].share,
            success: eclipsed(&engine) > 0,
            share_of_main_chain: share,
            races: None,
        });
    }
    (report, engine)
}

/// Returns how many honest nodes end on a tip the attacker mined.
pub fn eclipsed(engine: &Engine) -> usize {
    engine
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.role == Role::Honest && n.machine.is_some())
        .filter(|(i, _)| {
            engine
                .block_id(&engine.tips[*i])
                .is_some_and(|id| engine.is_attackers(id))
        })
        .count()
}

fn schedule_faults(config: &SimConfig, engine: &mut Engine, rng: &mut Xoshiro256, span: Micros) {
    let nodes = config.nodes;
    match config.scenario {
        Scenario::Partition => {
            let groups: Vec<u8> = (0..nodes).map(|i| (i % 2) as u8).collect();
            engine.schedule(span / 3, Action::Partition(groups));
            engine.schedule(span * 2 / 3, Action::Heal);
        }
        Scenario::Crashes { share } => {
            let count = (nodes as f64 * share).round() as usize;
            for (i, node) in pick(rng, nodes, count).into_iter().enumerate() {
                let at = rng.next_u64() % (span * 3 / 4).max(1);
                let down = (rng.next_exp() * config.interval() as f64 * 3.0) as Micros;
                let crash = if i % 2 == 0 {
                    Action::Crash(node)
                } else {
                    Action::CrashLosing(node, 1 + rng.next_u64() % 3)
                };
                engine.schedule(at, crash);
                engine.schedule(at + down.max(SECOND), Action::Restart(node));
            }
        }
        Scenario::Tampered { share } => {
            let count = (nodes as f64 * share).round() as usize;
            let at = span / 2;
            for node in pick(rng, nodes, count) {
                engine.schedule(at, Action::Crash(node));
                // Somewhere in the first half of the chain as it will be by then.
                let height = 1 + rng.next_u64() % (config.blocks / 4).max(1);
                engine.schedule(at + MS, Action::Tamper(node, height));
                engine.schedule(at + 60 * SECOND, Action::Restart(node));
            }
        }
        _ => {}
    }
}

/// Runs until `blocks` are mined, then stops mining and runs until the honest nodes agree and
/// nothing is in flight, or a settling time passes. `stop` may end the run early.
fn mine_and_settle(
    engine: &mut Engine,
    blocks: u64,
    config: &SimConfig,
    mut stop: impl FnMut(&mut Engine) -> bool,
) {
    let limit = config.interval() * blocks.max(1) * 20;
    let mut stopped_early = false;
    engine.run(limit, |engine| {
        if stop(engine) {
            stopped_early = true;
            return true;
        }
        engine.blocks.len() as u64 > blocks
    });
    if stopped_early {
        return;
    }
    engine.mining_on = false;
    let settle = engine.now + config.tip_poll().as_micros() as Micros * 3 + 600 * SECOND;
    engine.run(settle, |engine| {
        engine.honest_agree() && !engine.messages_in_flight()
    });
}

/// A miners' network for the races: `honest` miners of equal shares summing to `1 - q` and one
/// attacker with `q`, in a clique with `latency`.
fn race_engine(
    config: &SimConfig,
    honest: usize,
    q: f64,
    seed: u64,
    attacker_role: Role,
    topology: impl FnOnce(usize, &mut Xoshiro256) -> Topology,
) -> Engine {
    let params = sim_params(config.block_interval);
    let mut rng = Xoshiro256::stream(seed, 0);
    let nodes = honest + 1;
    let topology = topology(nodes, &mut rng);
    let mut roles = vec![Role::Honest; nodes];
    roles[honest] = attacker_role;
    let mut shares = Shares::Equal.split(honest, 1.0 - q);
    shares.push(q);
    let mut engine_config = config.engine_config(params);
    // The races test the attack's logic, as the papers model it: blocks cross a link in its
    // latency, with no uplink queue to reorder them.
    engine_config.block_filler = 0;
    engine_config.bandwidth = 0;
    Engine::new(engine_config, topology, roles, shares, seed)
}

/// Honest miners in a race network.
const RACE_MINERS: usize = 5;

/// Runs `trials` double-spend races and reports how often the attacker drew level and how often
/// it replaced the honest chain. Links take a microsecond: the race is the whitepaper's, with
/// no network in the way. Returns the report and each race's outcome.
pub fn double_spend(
    config: &SimConfig,
    q: f64,
    z: u64,
    trials: u64,
) -> (Report, Vec<super::attack::RaceOutcome>) {
    let give_up = give_up_deficit(q, z);
    let mut outcomes = Vec::new();
    for trial in 0..trials.max(1) {
        let seed = config.seed.wrapping_mul(1_000_003).wrapping_add(trial);
        let mut engine = race_engine(config, RACE_MINERS, q, seed, Role::Withholding, |n, rng| {
            Topology::clique(n, &Latency::Constant(0.001), rng)
        });
        let mut race = PrivateFork::new(RACE_MINERS as u32, z, give_up);
        race.isolate(&mut engine);
        engine.start();
        let limit = config.interval() * (z + give_up + 10) * 200;
        engine.run(limit, |engine| race.step(engine));
        outcomes.push(race.outcome);
    }
    let replaced = outcomes.iter().filter(|o| o.replaced).count() as f64;
    let report = Report {
        nodes: RACE_MINERS + 1,
        miners: RACE_MINERS,
        agreed: true,
        attack: Some(AttackReport {
            kind: "double-spend".into(),
            attacker_share: q,
            success: replaced > 0.0,
            share_of_main_chain: 0.0,
            races: Some(RaceStats::count(q, z, &outcomes)),
        }),
        ..Report::default()
    };
    (report, outcomes)
}

/// The deficit at which a racing attacker gives up: where its chance of ever coming back,
/// `(q/p)^d`, is below one in a million (at most 1,000 behind; never for a majority).
pub fn give_up_deficit(q: f64, z: u64) -> u64 {
    if q >= 0.5 {
        return u64::MAX;
    }
    if q <= 0.0 {
        return 1;
    }
    let d = (1e-6f64).ln() / (q / (1.0 - q)).ln();
    (d.ceil() as u64).clamp(z + 1, 1000)
}

/// Runs a selfish miner against `RACE_MINERS * 4` honest miners in a clique with 100 ms links,
/// and reports its share of the best chain.
pub fn selfish(config: &SimConfig, q: f64, gamma: f64) -> (Report, Engine) {
    let honest = RACE_MINERS * 4;
    let link = 100 * MS;
    let mut engine = race_engine(
        config,
        honest,
        q,
        config.seed,
        Role::Withholding,
        |n, rng| {
            let mut topology = Topology::empty(n);
            let attacker = n - 1;
            for a in 0..attacker {
                for b in a + 1..attacker {
                    topology.connect(a, b, link, link);
                }
                // The attacker hears every honest block at once; its own blocks travel normally
                // unless a race decides otherwise (see attack::Selfish).
                topology.connect(attacker, a, link, 1);
            }
            topology.choose_meshes(rng);
            topology
        },
    );
    // In a tie, the honest miner that found the competing block mines on its own; each other
    // honest miner gets the attacker's block first with this chance, so that on average a share
    // gamma of all honest power mines on it.
    let fast = (gamma * honest as f64 / (honest as f64 - 1.0)).clamp(0.0, 1.0);
    let mut strategy = Selfish::new(honest as u32, fast);
    engine.start();
    mine_and_settle(&mut engine, config.blocks, config, |engine| {
        strategy.step(engine);
        false
    });
    let mut report = Report::default();
    report::measure(&engine, &mut report, config.block_interval);
    report.agreed = engine.honest_agree();
    report.agreed_at = engine.agreed_since.map(|t| t as f64 / SECOND as f64);
    let share = report::share_of_main(&engine, honest as u32);
    report.attack = Some(AttackReport {
        kind: "selfish".into(),
        attacker_share: q,
        success: share > q,
        share_of_main_chain: share,
        races: None,
    });
    (report, engine)
}

/// Whether a store holds `record`, in its chain or its pool.
pub fn holds_record<S: ChainStore>(store: &S, record: &[u8]) -> (bool, bool) {
    let tip = store.tip().map(|t| t.height).unwrap_or(0);
    let in_chain = (1..=tip).any(|h| {
        store
            .block_at(h)
            .ok()
            .flatten()
            .is_some_and(|b| b.records.iter().any(|r| r == record))
    });
    let pending = store
        .all_pending()
        .map(|p| p.iter().any(|r| r.bytes == record))
        .unwrap_or(false);
    (in_chain, pending)
}

/// The stale rate measured at one block interval, and what theory predicts from the run's own
/// delays.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StalePoint {
    /// The block interval, seconds.
    pub block_interval: u32,
    /// Blocks mined.
    pub blocks_mined: u64,
    /// Stale blocks.
    pub stale_blocks: u64,
    /// The measured stale rate.
    pub stale_rate: f64,
    /// The estimate from measured miner-to-miner delays.
    pub estimate: f64,
}

/// The block intervals `stale-vs-interval` runs, seconds.
pub const STALE_INTERVALS: [u32; 6] = [10, 30, 60, 120, 300, 600];

/// Runs the baseline network at each of `intervals` and returns the stale rate at each.
pub fn stale_vs_interval(base: &SimConfig, intervals: &[u32]) -> Vec<StalePoint> {
    intervals
        .iter()
        .map(|&block_interval| {
            let config = SimConfig {
                block_interval,
                scenario: Scenario::Baseline,
                ..base.clone()
            };
            let (report, _) = network(&config);
            StalePoint {
                block_interval,
                blocks_mined: report.blocks_mined,
                stale_blocks: report.stale_blocks,
                stale_rate: report.stale_rate,
                estimate: report.stale_rate_estimate,
            }
        })
        .collect()
}
