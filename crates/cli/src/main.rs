//! `ironchain`: the command-line tool. It parses arguments, calls the library crates and prints;
//! every rule and every byte layout lives in those crates, not here.
//!
//! Exit codes: 0 success; 1 the command failed (bad input, I/O, a refused operation);
//! 2 usage error (clap); 3 verification found an invalid block.

#![deny(unsafe_code)]

mod cmd;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ironchain: a proof-of-work blockchain you can read, run and attack.
#[derive(Debug, Parser)]
#[command(name = "ironchain", version, about, long_about = None)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,

    /// Where the chain is stored (default: the platform's data directory).
    #[arg(long, global = true, env = "IRONCHAIN_DATA_DIR", value_name = "DIR")]
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
    /// Measure hash rates and verification speed, side by side, as ratios.
    Bench(cmd::bench::Args),
}

/// How a command ended, when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked out.
    Ok,
    /// Verification named an invalid block (exit code 3).
    Invalid,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Demo(ref args) => cmd::demo::run(&cli, args),
        Command::Mine(ref args) => cmd::mine::run(&cli, args),
        Command::Headers(ref command) => cmd::headers::run(&cli, command),
        Command::Bench(ref args) => cmd::bench::run(&cli, args),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Invalid) => ExitCode::from(3),
        Err(error) => {
            if cli.json {
                let message = format!("{error:#}");
                println!("{}", serde_json::json!({ "error": message }));
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}
