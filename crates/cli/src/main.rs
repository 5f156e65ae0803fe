//! `ironchain`: the command-line tool. It parses arguments, calls the library crates and prints;
//! every rule and every byte layout lives in those crates, not here.
//!
//! Exit codes: 0 success; 1 the command failed (bad input, I/O, a refused operation);
//! 2 usage error (clap); 3 verification found an invalid block (or a proof is invalid);
//! 130 interrupted by Ctrl-C after stopping cleanly (everything committed is kept).

#![deny(unsafe_code)]

mod cmd;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ironchain: a proof-of-work blockchain you can read, run and attack.
#[derive(Debug, Parser)]
#[command(
    name = "ironchain",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success; 1 the command failed (the message says why and the fix); \
                  2 usage error; 3 verification found an invalid block or proof; \
                  130 stopped by Ctrl-C, everything committed kept."
)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,

    /// Where the chain is stored (default: $IRONCHAIN_DATA_DIR if set and not empty, else the
    /// platform's data directory).
    // Read by hand rather than with clap's `env`: clap treats a set-but-empty variable as a
    // missing value and refuses every command, even with --data-dir given.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The tamper demo: mine blocks, change one, watch verification catch it and see what
    /// rewriting history costs.
    Demo(cmd::demo::Args),
    /// Mine blocks.
    Mine(cmd::mine::Args),
    /// Work with files of raw 80-byte block headers (such as Bitcoin's).
    #[command(subcommand)]
    Headers(cmd::headers::Command),
    /// How likely an attacker is to rewrite the last z blocks: the whitepaper's odds, a Monte
    /// Carlo check of them, or (--live) a real race on the demo chain.
    AttackSim(cmd::attack_sim::Args),
    /// Measure hash rates and verification speed, side by side, as ratios.
    Bench(cmd::bench::Args),
    /// Create a chain in the data directory.
    Init(cmd::init::Args),
    /// Add records to the durable pool (accepted = on disk, mined exactly once).
    Add(cmd::add::Args),
    /// Show the latest blocks and the pool.
    Log(cmd::log::Args),
    /// Show one block's header and records.
    Show(cmd::show::Args),
    /// Verify the stored chain; exit code 3 names an invalid block.
    Verify(cmd::verify::Args),
    /// Print an inclusion proof of a record (JSON).
    Prove(cmd::prove::Args),
    /// Check an inclusion proof against its header; no chain needed. Exit code 3 if invalid.
    CheckProof(cmd::check_proof::Args),
    /// Write the chain to a file as a stream of canonical blocks.
    Export(cmd::export::Args),
    /// Append the blocks of an export, validating all before committing any.
    Import(cmd::import::Args),
    /// TEACHING TOOL: change a stored block behind the chain's back.
    Tamper(cmd::tamper::Args),
    /// Cut a damaged chain back to its last good block (asks first).
    Repair(cmd::repair::Args),
    /// Run a node: sync with peers, follow the chain with the most work, serve the HTTP API and
    /// explorer page, and mine with --mine.
    Node(cmd::node::NodeArgs),
    /// Start a local network of nodes on loopback, one or more mining, and print how to reach
    /// each: the quickest way to watch consensus happen.
    Testnet(cmd::node::TestnetArgs),
    /// Simulate thousands of nodes running the node's own code, with partitions, crashes,
    /// tampered stores and attackers, replayed exactly from a seed.
    Simulate(cmd::simulate::Args),
}

/// How a command ended, when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked out.
    Ok,
    /// Verification named an invalid block (exit code 3).
    Invalid,
    /// Ctrl-C stopped the command cleanly (exit code 130).
    Interrupted,
}

/// Exit code for a reader that went away (`ironchain log | head`): 128 + SIGPIPE, as a shell
/// reports a process that SIGPIPE stopped.
const BROKEN_PIPE_EXIT: i32 = 141;

/// Ends the process quietly when stdout's reader has gone, instead of panicking.
///
/// `println!` panics when it cannot write. A closed pipe is not a bug but the normal end of
/// `ironchain ... | head`, so the panic hook recognises that one case and exits as a SIGPIPE-killed
/// process would; every other panic is reported as usual.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(BROKEN_PIPE_EXIT);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Demo(ref args) => cmd::demo::run(&cli, args),
        Command::Mine(ref args) => cmd::mine::run(&cli, args),
        Command::Headers(ref command) => cmd::headers::run(&cli, command),
        Command::AttackSim(ref args) => cmd::attack_sim::run(&cli, args),
        Command::Bench(ref args) => cmd::bench::run(&cli, args),
        Command::Init(ref args) => cmd::init::run(&cli, args),
        Command::Add(ref args) => cmd::add::run(&cli, args),
        Command::Log(ref args) => cmd::log::run(&cli, args),
        Command::Show(ref args) => cmd::show::run(&cli, args),
        Command::Verify(ref args) => cmd::verify::run(&cli, args),
        Command::Prove(ref args) => cmd::prove::run(&cli, args),
        Command::CheckProof(ref args) => cmd::check_proof::run(&cli, args),
        Command::Export(ref args) => cmd::export::run(&cli, args),
        Command::Import(ref args) => cmd::import::run(&cli, args),
        Command::Tamper(ref args) => cmd::tamper::run(&cli, args),
        Command::Repair(ref args) => cmd::repair::run(&cli, args),
        Command::Node(ref args) => cmd::node::run_node(&cli, args),
        Command::Testnet(ref args) => cmd::node::run_testnet(&cli, args),
        Command::Simulate(ref args) => cmd::simulate::run(&cli, args),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Invalid) => ExitCode::from(3),
        Ok(Outcome::Interrupted) => ExitCode::from(130),
        Err(error) => {
            let message = error_text(&error);
            if cli.json {
                println!("{}", serde_json::json!({ "error": message }));
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Formats an error and its causes as "context: cause: cause", leaving out a cause whose text
/// is already shown: our error enums, like many, put their source's text in their own message
/// and also return it as `source()`, so `{:#}` would print it twice ("cannot read the import:
/// failed to fill whole buffer: failed to fill whole buffer").
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
