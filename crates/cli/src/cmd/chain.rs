//! Shared by the stored-chain commands: where the chain lives, opening it with errors that say
//! the fix, and printing records.

use std::path::PathBuf;

use anyhow::{Context, bail};
use ironchain_store::{BadBlock, ChainSummary, Store, VerifyMode};

use crate::Cli;

/// Returns the data directory: `--data-dir`, `IRONCHAIN_DATA_DIR` (when set and not empty), or
/// the platform's data directory (`~/.local/share/ironchain` on Linux).
pub fn data_dir(cli: &Cli) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &cli.data_dir {
        return Ok(dir.clone());
    }
    if let Some(dir) = std::env::var_os("IRONCHAIN_DATA_DIR").filter(|dir| !dir.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "ironchain")
        .context("no home directory to keep the chain in: pass --data-dir DIR")?;
    Ok(dirs.data_dir().to_owned())
}

/// Opens the chain with `mode` verification, returning the verdict alongside.
pub fn open(
    cli: &Cli,
    mode: VerifyMode,
) -> anyhow::Result<(Store, Result<ChainSummary, BadBlock>)> {
    let dir = data_dir(cli)?;
    let opened = Store::open(&dir, mode)?;
    Ok((opened.store, opened.verification))
}

/// Opens the chain for a command that changes it: a chain that fails quick verification is
/// refused with the fix.
pub fn open_writable(cli: &Cli) -> anyhow::Result<Store> {
    let (store, verification) = open(cli, VerifyMode::Quick)?;
    if let Err(bad) = verification {
        bail!(
            "the chain failed verification: {bad}. It is read-only: inspect it with \
             `ironchain verify --full`, then cut it back with `ironchain repair --truncate`"
        );
    }
    Ok(store)
}

/// Shows a record as text if it is printable UTF-8, otherwise as hex.
pub fn record_text(record: &[u8]) -> String {
    match std::str::from_utf8(record) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t') =>
        {
            text.to_owned()
        }
        _ => format!("0x{}", hex::encode(record)),
    }
}

/// Prints a JSON value on one line.
pub fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
