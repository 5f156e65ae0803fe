//! Helpers shared by the CLI's integration tests: run the real binary, read its JSON, find the
//! test data. Each test file uses a different subset of them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `ironchain` binary, with no data directory inherited from the environment.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ironchain"));
    command.env_remove("IRONCHAIN_DATA_DIR");
    command
}

/// Runs `ironchain ARGS` to completion.
pub fn ironchain(args: &[&str]) -> Output {
    command().args(args).output().expect("the binary runs")
}

/// Parses what a `--json` run printed, whatever its exit code.
pub fn stdout_json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON object")
}

/// Runs `ironchain ARGS`, which must succeed, and parses its JSON.
pub fn json(args: &[&str]) -> serde_json::Value {
    let output = ironchain(args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout_json(&output)
}

/// A file of the workspace's test data (tests/data; sources in tests/data/SOURCES.md).
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

/// As [`data`], as a string for an argument list.
pub fn data_arg(name: &str) -> String {
    data(name).to_str().expect("a UTF-8 path").to_owned()
}
