//! `ironchain attack-sim`: what rewriting the last `z` blocks takes, three ways.
//!
//! By default it prints the whitepaper's probability that an attacker with share `q` of the hash
//! power ever catches up from `z` blocks behind, the same race without the whitepaper's Poisson
//! shortcut, and a seeded Monte Carlo estimate with its standard error and whether it agrees.
//! `--live` instead races a real attacker miner against honest miners on the demo chain. All the
//! maths and the mining live in `ironchain_core::attack`; this file parses and prints.

use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use clap::ValueEnum;
use ironchain_core::ChainParams;
use ironchain_core::attack::live::{self, LiveRace, LiveReport, Side, Winner};
use ironchain_core::attack::montecarlo::{Model, RaceCap, Simulation, simulate};
use ironchain_core::attack::{
    AttackerShare, blocks_needed, catch_up_probability, catch_up_probability_exact,
};

use crate::output::count;
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Attacker shares of the hash power: a list (`0.1,0.3`) or a range with a step
    /// (`0.05..=0.45:0.05`).
    #[arg(long, default_value = "0.1,0.3", value_name = "LIST")]
    q: String,
    /// Confirmations the merchant waits for: a list (`0,1,6`) or a range with an optional step
    /// (`0..=10`, `0..=50:5`). Default `0..=10`; with `--live`, one number (default 2).
    #[arg(long, value_name = "LIST")]
    z: Option<String>,
    /// Monte Carlo races per row (0: formulas only).
    #[arg(long, default_value_t = 100_000)]
    trials: u64,
    /// Seed of the Monte Carlo races: the same seed prints the same estimates.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How the simulation draws the attacker's head start.
    #[arg(long, value_enum, default_value_t = ModelArg::Whitepaper)]
    model: ModelArg,
    /// A simulated attacker gives up once its chance of coming back is below this (the largest
    /// downward bias it adds).
    #[arg(long, default_value_t = 1e-9, value_name = "P")]
    give_up_bias: f64,
    /// A simulated race is stopped, as a loss, after this many blocks.
    #[arg(long, default_value_t = 1 << 20, value_name = "BLOCKS")]
    max_blocks: u64,
    /// The "z needed" table lists the fewest confirmations for which P is below this.
    #[arg(long, default_value_t = 0.001, value_name = "P")]
    threshold: f64,
    /// Simulation threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,

    /// Race a real attacker miner against honest miners on the demo chain instead.
    #[arg(long)]
    live: bool,
    /// With --live: the attacker's share of the hash power.
    #[arg(long, default_value_t = 0.3, value_name = "Q")]
    attacker_share: f64,
    /// With --live: the attacker gives up this many blocks behind (default z + 6).
    #[arg(long, value_name = "BLOCKS")]
    give_up_behind: Option<u32>,
    /// With --live: how many races to run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    races: u32,
    /// With --live: each race is called off, undecided, after this many seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    max_seconds: f64,
}

/// The simulation's models, as the command line names them.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModelArg {
    /// The whitepaper's: the attacker's head start is Poisson (the honest blocks took exactly
    /// their expected time).
    Whitepaper,
    /// The exact race: the head start is negative binomial.
    NegativeBinomial,
}

impl From<ModelArg> for Model {
    fn from(model: ModelArg) -> Self {
        match model {
            ModelArg::Whitepaper => Model::Whitepaper,
            ModelArg::NegativeBinomial => Model::NegativeBinomial,
        }
    }
}

/// How many standard errors a simulation may stray from its formula and still "agree".
const AGREEMENT_SIGMAS: f64 = 4.0;

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    if args.live {
        return run_live(cli, args);
    }
    let shares = parse_shares(&args.q)?;
    let zs = parse_zs(args.z.as_deref().unwrap_or("0..=10"))?;
    ensure!(
        args.give_up_bias > 0.0 && args.give_up_bias < 1.0,
        "--give-up-bias is a probability between 0 and 1, found {}",
        args.give_up_bias
    );
    let model = Model::from(args.model);
    let sim = Simulation {
        model,
        trials: args.trials,
        seed: args.seed,
        cap: RaceCap {
            max_bias: args.give_up_bias,
            max_blocks: args.max_blocks,
        },
        threads: args
            .threads
            .unwrap_or_else(ironchain_core::validate::default_threads),
    };
    let mut rows = Vec::new();
    for &q in &shares {
        for &z in &zs {
            let whitepaper = catch_up_probability(q, z);
            let exact = catch_up_probability_exact(q, z);
            let estimate = (sim.trials > 0).then(|| simulate(q, z, &sim));
            rows.push((q, z, whitepaper, exact, estimate));
        }
    }
    let needed: Vec<(AttackerShare, Option<u32>)> = shares
        .iter()
        .map(|&q| (q, blocks_needed(q, args.threshold, 1_000_000)))
        .collect();
    let checked = checked_column(model);
    if cli.json {
        let rows: Vec<_> = rows
            .iter()
            .map(|(q, z, whitepaper, exact, estimate)| {
                let expected = model.probability(*q, *z);
                serde_json::json!({
                    "q": q.get(),
                    "z": z,
                    "whitepaper": whitepaper,
                    "exact": exact,
                    "monte_carlo": estimate.map(|e| serde_json::json!({
                        "estimate": e.probability(),
                        "std_error": e.std_error(),
                        "trials": e.trials,
                        "wins": e.wins,
                        "gave_up": e.gave_up,
                        "stopped": e.stopped,
                        "give_up_behind": (e.give_up_behind != u64::MAX)
                            .then_some(e.give_up_behind),
                        "checked_against": checked,
                        "sigmas": e.sigmas_from(expected),
                        "agrees": e.agrees_with(expected, AGREEMENT_SIGMAS, &sim.cap),
                    })),
                })
            })
            .collect();
        let needed: Vec<_> = needed
            .iter()
            .map(|(q, z)| serde_json::json!({ "q": q.get(), "z": z }))
            .collect();
        let json = serde_json::json!({
            "model": model,
            "trials": sim.trials,
            "seed": sim.seed,
            "give_up_bias": sim.cap.max_bias,
            "max_blocks": sim.cap.max_blocks,
            "agreement_sigmas": AGREEMENT_SIGMAS,
            "rows": rows,
            "threshold": args.threshold,
            "blocks_needed": needed,
        });
        println!("{json:#}");
        return Ok(Outcome::Ok);
    }

    println!("The chance that an attacker with share q of the hash power ever catches up from z");
    println!("blocks behind (Bitcoin whitepaper, section 11).");
    println!("  whitepaper: its formula (the attacker's head start is Poisson)");
    println!("  exact:      the same race with a negative-binomial head start");
    if sim.trials > 0 {
        println!(
            "  simulated:  {} races per row, {} model, seed {}; checked against \"{checked}\"",
            count(sim.trials),
            model_name(model),
            sim.seed
        );
    }
    println!();
    println!(
        "{:>6} {:>5}  {:>12}  {:>12}  {:>26}  {:>6}  agrees",
        "q", "z", "whitepaper", "exact", "simulated ± std. error", "sigma"
    );
    let mut disagreements = 0;
    for (q, z, whitepaper, exact, estimate) in &rows {
        let simulated = match estimate {
            Some(e) => {
                let expected = model.probability(*q, *z);
                let agrees = e.agrees_with(expected, AGREEMENT_SIGMAS, &sim.cap);
                disagreements += usize::from(!agrees);
                format!(
                    "{:>12.7} ± {:<11.7}  {:>6.2}  {}",
                    e.probability(),
                    e.std_error(),
                    e.sigmas_from(expected),
                    if agrees { "yes" } else { "NO" }
                )
            }
            None => "-".to_owned(),
        };
        println!(
            "{:>6.3} {:>5}  {:>12.7}  {:>12.7}  {simulated}",
            q.get(),
            z,
            whitepaper,
            exact
        );
    }
    println!();
    println!(
        "Confirmations needed for P < {} (whitepaper formula):",
        args.threshold
    );
    for (q, z) in &needed {
        match z {
            Some(z) => println!("  q={:.3}  z={z}", q.get()),
            None if q.is_majority() => {
                println!("  q={:.3}  never: a majority always wins", q.get())
            }
            None => println!("  q={:.3}  more than 1,000,000", q.get()),
        }
    }
    if sim.trials > 0 {
        println!();
        println!(
            "A simulated attacker gives up once its chance of coming back is below {} and any \
             race stops after {} blocks; both can only lower the estimate, by at most that chance \
             plus the share of stopped races.",
            sim.cap.max_bias,
            count(sim.cap.max_blocks)
        );
        if disagreements > 0 {
            println!(
                "{disagreements} row(s) differ by more than {AGREEMENT_SIGMAS} standard errors."
            );
        }
    }
    Ok(Outcome::Ok)
}

/// The column the simulation of `model` is checked against.
fn checked_column(model: Model) -> &'static str {
    match model {
        Model::Whitepaper => "whitepaper",
        Model::NegativeBinomial => "exact",
    }
}

fn model_name(model: Model) -> &'static str {
    match model {
        Model::Whitepaper => "whitepaper",
        Model::NegativeBinomial => "negative-binomial",
    }
}

fn run_live(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let q = AttackerShare::new(args.attacker_share).context("--attacker-share")?;
    let z = match args.z.as_deref() {
        None => 2,
        Some(text) => match parse_zs(text)?.as_slice() {
            [z] => *z,
            _ => bail!("--live races one z: give a single number, such as --z 2"),
        },
    };
    ensure!(
        args.max_seconds > 0.0 && args.max_seconds.is_finite(),
        "--max-seconds must be positive, found {}",
        args.max_seconds
    );
    let mut race = LiveRace::new(q, z, Duration::from_secs_f64(args.max_seconds), args.seed);
    if let Some(behind) = args.give_up_behind {
        ensure!(behind >= 1, "--give-up-behind must be at least 1");
        race.give_up_behind = behind;
    }
    let params = ChainParams::demo();
    if !cli.json {
        println!(
            "Live race on the {} chain: the attacker has {:.0}% of the hash power; the merchant \
             accepts after {z} confirmation(s); the attacker gives up {} blocks behind.",
            params.name,
            q.get() * 100.0,
            race.give_up_behind
        );
        println!(
            "One thread mines for both sides in turn, each chunk of nonces to the side below its \
             share of the hashes."
        );
        println!();
        println!(
            "{:>4}  {:<9}  {:>7}  {:>6}  {:>8}  {:>14}  {:>14}  {:>8}",
            "race",
            "winner",
            "seconds",
            "honest",
            "attacker",
            "honest hashes",
            "attacker hashes",
            "share"
        );
    }
    let mut reports = Vec::new();
    for number in 1..=args.races {
        race.seed = args.seed.wrapping_add(u64::from(number));
        let report = live::race(&params, &race)?;
        if !cli.json {
            println!(
                "{number:>4}  {:<9}  {:>7.2}  {:>6}  {:>8}  {:>14}  {:>14}  {:>8.3}",
                winner_name(report.winner),
                report.seconds,
                report.honest_blocks,
                report.attacker_blocks,
                count(report.honest_hashes),
                count(report.attacker_hashes),
                report.measured_share
            );
        }
        reports.push(report);
    }
    let wins = reports
        .iter()
        .filter(|r| r.winner == Winner::Attacker)
        .count();
    let undecided = reports
        .iter()
        .filter(|r| r.winner == Winner::Undecided)
        .count();
    let expected = catch_up_probability_exact(q, z);
    if cli.json {
        let json = serde_json::json!({
            "chain": params.name,
            "attacker_share": q.get(),
            "z": z,
            "give_up_behind": race.give_up_behind,
            "max_seconds": args.max_seconds,
            "races": reports,
            "attacker_wins": wins,
            "undecided": undecided,
            "expected_probability": expected,
            "whitepaper_probability": catch_up_probability(q, z),
        });
        println!("{json:#}");
        return Ok(Outcome::Ok);
    }
    if let Some(first) = reports.first() {
        println!();
        println!("Race 1, block by block (H honest, A attacker; the number is how far behind the");
        println!(
            "attacker is after it, from 0 when both have their first block; * the merchant accepts):"
        );
        println!("  {}", timeline(first));
    }
    println!();
    println!(
        "The attacker won {wins} of {} race(s){}; the chance of ever catching up at q={:.2}, \
         z={z} is {expected:.4} (whitepaper formula: {:.4}).",
        reports.len(),
        if undecided > 0 {
            format!(" ({undecided} undecided)")
        } else {
            String::new()
        },
        q.get(),
        catch_up_probability(q, z)
    );
    Ok(Outcome::Ok)
}

fn winner_name(winner: Winner) -> &'static str {
    match winner {
        Winner::Attacker => "attacker",
        Winner::Honest => "honest",
        Winner::Undecided => "undecided",
    }
}

/// Renders a race as `H0 A-1 ... H2*`: who found each block and the deficit after it.
fn timeline(report: &LiveReport) -> String {
    let accept_at = report.accepted_after;
    let mut marked = false;
    report
        .events
        .iter()
        .map(|event| {
            let letter = match event.side {
                Side::Honest => 'H',
                Side::Attacker => 'A',
            };
            let star = match accept_at {
                Some(at) if !marked && event.seconds >= at => {
                    marked = true;
                    "*"
                }
                _ => "",
            };
            format!("{letter}{}{star}", event.deficit)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses `0.1,0.3` or `0.05..=0.45:0.05` into shares.
fn parse_shares(text: &str) -> anyhow::Result<Vec<AttackerShare>> {
    let values: Vec<f64> = if let Some((start, rest)) = text.split_once("..=") {
        let (end, step) = rest.split_once(':').with_context(|| {
            format!("a range of shares needs a step, such as 0.05..=0.45:0.05; found {text:?}")
        })?;
        let (start, end, step) = (number(start)?, number(end)?, number(step)?);
        ensure!(step > 0.0, "the step of {text:?} must be positive");
        ensure!(end >= start, "the range {text:?} runs backwards");
        let steps = ((end - start) / step + 1e-9).floor();
        ensure!(steps < 10_000.0, "{text:?} has more than 10,000 values");
        // Rounded, so that 0.1 + 2 * 0.1 prints and computes as 0.3.
        (0..=steps as u32)
            .map(|i| ((start + f64::from(i) * step) * 1e9).round() / 1e9)
            .collect()
    } else {
        text.split(',').map(number).collect::<anyhow::Result<_>>()?
    };
    values
        .into_iter()
        .map(|q| AttackerShare::new(q).with_context(|| format!("--q {text}")))
        .collect()
}

fn number(text: &str) -> anyhow::Result<f64> {
    text.trim()
        .parse()
        .with_context(|| format!("{text:?} is not a number"))
}

/// Parses `0,1,6`, `6`, `0..=10` or `0..=50:5` into confirmation counts.
fn parse_zs(text: &str) -> anyhow::Result<Vec<u32>> {
    let whole = |part: &str| -> anyhow::Result<u32> {
        part.trim()
            .parse()
            .with_context(|| format!("{part:?} is not a whole number of blocks"))
    };
    if let Some((start, rest)) = text.split_once("..=") {
        let (end, step) = match rest.split_once(':') {
            Some((end, step)) => (whole(end)?, whole(step)?),
            None => (whole(rest)?, 1),
        };
        let start = whole(start)?;
        ensure!(step > 0, "the step of {text:?} must be positive");
        ensure!(end >= start, "the range {text:?} runs backwards");
        ensure!(
            (end - start) / step < 10_000,
            "{text:?} has more than 10,000 values"
        );
        Ok((start..=end).step_by(step as usize).collect())
    } else {
        text.split(',').map(whole).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_lists_and_ranges_parse() {
        let get = |text| -> Vec<f64> {
            parse_shares(text)
                .expect("parses")
                .iter()
                .map(|q| q.get())
                .collect()
        };
        assert_eq!(get("0.1,0.3"), [0.1, 0.3]);
        assert_eq!(get("0.1..=0.3:0.1"), [0.1, 0.2, 0.3]);
        assert!(parse_shares("0.1,1.5").is_err());
        assert!(
            parse_shares("0.1..=0.3").is_err(),
            "a range of shares needs a step"
        );
    }

    #[test]
    fn z_lists_and_ranges_parse() {
        assert_eq!(parse_zs("0..=3").expect("parses"), [0, 1, 2, 3]);
        assert_eq!(parse_zs("0..=10:5").expect("parses"), [0, 5, 10]);
        assert_eq!(parse_zs("1, 6").expect("parses"), [1, 6]);
        assert!(parse_zs("3..=1").is_err());
        assert!(parse_zs("-1").is_err());
    }
}
