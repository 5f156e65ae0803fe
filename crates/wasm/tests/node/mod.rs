//! Runs JavaScript in Node against the committed module, for the tests and the bench.
//!
//! The module's own build (WebAssembly) cannot run under `cargo test`; Node can run it, through
//! the same glue (`module/ironchain.js`) the page imports. Where `node` is missing the callers
//! skip, saying so, except under CI (`CI` set), which installs Node and must not skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate's directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed glue module, as a `file://` URL Node can import.
pub fn glue_url() -> String {
    format!(
        "file://{}",
        crate_dir().join("module/ironchain.js").display()
    )
}

/// The committed WebAssembly module.
pub fn module_path() -> PathBuf {
    crate_dir().join("module/ironchain.wasm")
}

/// Returns true if Node 17 or later (WebAssembly SIMD, and the glue's private methods) is on
/// the PATH. If not, prints why the caller skips, or panics under CI.
pub fn available(what: &str) -> bool {
    let version = Command::new("node").arg("--version").output();
    let major = version
        .as_ref()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout);
            text.trim()
                .trim_start_matches('v')
                .split('.')
                .next()?
                .parse::<u32>()
                .ok()
        });
    match major {
        Some(major) if major >= 17 => true,
        found => {
            let why = format!(
                "{what} needs Node 17 or later on the PATH (found {found:?}): install nodejs"
            );
            assert!(std::env::var_os("CI").is_none(), "under CI, {why}");
            eprintln!("SKIPPED: {why}");
            false
        }
    }
}

/// Runs `script` (an ES module) in Node with `args`, and returns what it printed.
///
/// # Panics
/// Panics, with Node's error output, if the script fails.
pub fn run(dir: &Path, script: &str, args: &[&str]) -> String {
    let path = dir.join("script.mjs");
    std::fs::write(&path, script).expect("the temporary directory is writable");
    let out = Command::new("node")
        .arg(&path)
        .args(args)
        .output()
        .expect("node ran (it answered --version)");
    assert!(
        out.status.success(),
        "node failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the script prints JSON, which is UTF-8")
}
