//! `ironchain simulate`: thousands of nodes running the node's own state machine, on simulated
//! links and a simulated clock, replayed exactly from a seed. Everything is in
//! `ironchain_node::sim`; this file parses, runs and prints.

use std::path::PathBuf;

use anyhow::{Context as _, ensure};
use clap::ValueEnum;
use ironchain_node::sim::scenario::{self, STALE_INTERVALS};
use ironchain_node::sim::{Latency, Scenario, Shares, SimConfig, claims, plot, report};

use crate::{Cli, Outcome};

/// The scenarios, as `--scenario` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioArg {
    /// A healthy network: propagation, stale blocks, agreement.
    Baseline,
    /// The nodes split in two halves at a third of the run and heal at two thirds.
    Partition,
    /// A share of nodes (--share) crash and restart, half of them losing their last blocks.
    Crashes,
    /// A share of nodes (--share) have a block of their store changed while down.
    Tampered,
    /// Races of a private miner (--attacker-share) against --confirmations, --trials times.
    DoubleSpend,
    /// A selfish miner (--attacker-share, --gamma) over the whole run.
    Selfish,
    /// Attacker nodes (--node-share) that relay only the attacker's blocks.
    Eclipse,
    /// The seed's claims about node counts, measured, as one table.
    SeedClaims,
    /// The baseline at block intervals of 10 s to 10 min: the stale rate against theory.
    StaleVsInterval,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Every result is a pure function of the flags and --seed: the same seed \
                        prints the same report (wall_seconds and peak_rss_bytes measure this \
                        machine and differ). Long runs: --nodes 10000 --blocks 2000 takes minutes."
)]
pub struct Args {
    /// Nodes in the network.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    nodes: u64,
    /// Nodes that mine (besides any attacker).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    miners: u64,
    /// Blocks to mine, stale ones included.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    blocks: u64,
    /// Target block interval, seconds.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..))]
    block_interval: u32,
    /// Seeds every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// What happens in the run.
    #[arg(long, value_enum, default_value_t = ScenarioArg::Baseline)]
    scenario: ScenarioArg,
    /// Link latency: constant:MS, uniform:LOW:HIGH or lognormal:MEDIAN:P90 (milliseconds).
    #[arg(long, default_value = "lognormal:50:200")]
    latency: Latency,
    /// Uplink bandwidth of each node, megabits per second (0: unlimited).
    #[arg(long, default_value_t = 50.0)]
    bandwidth: f64,
    /// Peers each node dials (Bitcoin Core: 8).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1000))]
    outbound: u64,
    /// Most inbound peers a node accepts (Bitcoin Core: 125 connections in all).
    #[arg(long, default_value_t = 117)]
    max_inbound: u64,
    /// How the hash rate is split among miners: equal, zipf or zipf:S.
    #[arg(long, default_value = "equal")]
    shares: Shares,
    /// Bytes of records in each mined block.
    #[arg(long, default_value_t = 0)]
    block_size: usize,
    /// Seconds between each node's polls of its peers' tips (default: ten block intervals, at
    /// least an hour).
    #[arg(long, value_name = "SECS")]
    tip_poll: Option<u64>,
    /// Records posted to random nodes during the run.
    #[arg(long, default_value_t = 0)]
    records: u64,
    /// The attacker's share of the hash rate (double-spend, selfish, eclipse).
    #[arg(long, default_value_t = 0.3, value_name = "Q")]
    attacker_share: f64,
    /// Confirmations the merchant waits for (double-spend).
    #[arg(long, default_value_t = 6, value_name = "Z")]
    confirmations: u64,
    /// Races to run (double-spend).
    #[arg(long, default_value_t = 200)]
    trials: u64,
    /// Share of honest hash power that mines on the selfish miner's block in a tie (selfish).
    #[arg(long, default_value_t = 0.5)]
    gamma: f64,
    /// The attacker's share of the nodes (eclipse).
    #[arg(long, default_value_t = 0.9)]
    node_share: f64,
    /// Share of the nodes that crash or are tampered with (crashes, tampered).
    #[arg(long, default_value_t = 0.1)]
    share: f64,
    /// Write a CSV line per block (hash, height, miner, times to reach 50/90/100% of nodes).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Write an SVG chart: the propagation CDF, or for stale-vs-interval the stale rate.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
}

fn share(name: &str, value: f64) -> anyhow::Result<f64> {
    ensure!(
        (0.0..=1.0).contains(&value),
        "--{name} is a share between 0 and 1, found {value}"
    );
    Ok(value)
}

impl Args {
    fn config(&self) -> anyhow::Result<SimConfig> {
        ensure!(
            self.miners <= self.nodes,
            "--miners {} is more than --nodes {}",
            self.miners,
            self.nodes
        );
        ensure!(
            self.bandwidth.is_finite() && self.bandwidth >= 0.0,
            "--bandwidth is megabits per second, 0 or more"
        );
        let q = share("attacker-share", self.attacker_share)?;
        ensure!(
            q < 1.0,
            "--attacker-share must leave the honest network some hash rate"
        );
        let scenario = match self.scenario {
            ScenarioArg::Baseline | ScenarioArg::SeedClaims | ScenarioArg::StaleVsInterval => {
                Scenario::Baseline
            }
            ScenarioArg::Partition => Scenario::Partition,
            ScenarioArg::Crashes => Scenario::Crashes {
                share: share("share", self.share)?,
            },
            ScenarioArg::Tampered => Scenario::Tampered {
                share: share("share", self.share)?,
            },
            ScenarioArg::DoubleSpend => Scenario::DoubleSpend {
                q,
                z: self.confirmations,
                trials: self.trials,
            },
            ScenarioArg::Selfish => Scenario::Selfish {
                q,
                gamma: share("gamma", self.gamma)?,
            },
            ScenarioArg::Eclipse => Scenario::Eclipse {
                node_share: share("node-share", self.node_share)?,
                q,
            },
        };
        let size = |n: u64| usize::try_from(n).context("the number is too large for this machine");
        Ok(SimConfig {
            nodes: size(self.nodes)?,
            miners: size(self.miners)?,
            blocks: self.blocks,
            block_interval: self.block_interval,
            seed: self.seed,
            latency: self.latency,
            bandwidth_mbit: self.bandwidth,
            outbound: size(self.outbound)?,
            max_inbound: size(self.max_inbound)?,
            shares: self.shares,
            block_size: self.block_size,
            tip_poll: self.tip_poll.map(std::time::Duration::from_secs),
            records: self.records,
            scenario,
            record_log: false,
        })
    }
}

fn write(path: &PathBuf, contents: &str, what: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents)
        .with_context(|| format!("cannot write the {what} to {}", path.display()))?;
    eprintln!("wrote the {what} to {}", path.display());
    Ok(())
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let config = args.config()?;
    let started = std::time::Instant::now();
    match args.scenario {
        ScenarioArg::SeedClaims => {
            let table = claims::run(&config);
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&table)?);
            } else {
                print!("{}", table.to_text());
            }
        }
        ScenarioArg::StaleVsInterval => {
            let points = scenario::stale_vs_interval(&config, &STALE_INTERVALS);
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&points)?);
            } else {
                println!(
                    "Stale rate against block interval ({} nodes, {} miners, {} blocks each)",
                    config.nodes, config.miners, config.blocks
                );
                println!(
                    "{:>10} {:>8} {:>7} {:>10} {:>10}",
                    "interval", "mined", "stale", "measured", "theory"
                );
                for p in &points {
                    println!(
                        "{:>8} s {:>8} {:>7} {:>9.3}% {:>9.3}%",
                        p.block_interval,
                        p.blocks_mined,
                        p.stale_blocks,
                        p.stale_rate * 100.0,
                        p.estimate * 100.0
                    );
                }
            }
            if let Some(path) = &args.plot {
                write(
                    path,
                    &plot::stale_chart(&points, config.nodes).to_svg(),
                    "chart",
                )?;
            }
        }
        ScenarioArg::DoubleSpend | ScenarioArg::Selfish => {
            let report = scenario::run(&config);
            print_report(cli, &report)?;
        }
        _ => {
            let (mut report, engine) = scenario::network(&config);
            report.scenario = config.scenario.name().to_owned();
            report.seed = config.seed;
            report.block_interval = config.block_interval;
            report.wall_seconds = started.elapsed().as_secs_f64();
            report.peak_rss_bytes = report::peak_rss_bytes();
            print_report(cli, &report)?;
            if let Some(path) = &args.events {
                write(path, &report::events_csv(&engine), "per-block events")?;
            }
            if let Some(path) = &args.plot {
                let cdf = report::propagation_cdf(&engine);
                write(
                    path,
                    &plot::propagation_chart(&cdf, config.nodes).to_svg(),
                    "chart",
                )?;
            }
        }
    }
    Ok(Outcome::Ok)
}

fn print_report(cli: &Cli, report: &report::Report) -> anyhow::Result<()> {
    if cli.json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", report.to_text());
        eprintln!(
            "ran in {:.1} s wall time, {:.0} MB peak memory",
            report.wall_seconds,
            report.peak_rss_bytes as f64 / 1e6
        );
    }
    Ok(())
}
