//! The committed module (`module/ironchain.wasm`, which the node embeds and serves) is exactly
//! what this source builds to: a change to core or to this crate that is not followed by
//! `crates/wasm/build-module.sh` fails here, so a stale module cannot ship.
//!
//! The build is byte-reproducible (no debug info; embedded paths rewritten by the script), so
//! the comparison is of bytes. It needs the wasm32 target; without it the test says so and
//! skips, except under CI (`CI` set), which installs the target and must not skip.

use std::process::Command;

#[test]
fn the_committed_module_is_what_this_source_builds_to() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("wasm32-unknown-unknown"));
    if !installed {
        let why = "the module's freshness check needs the wasm32 target: \
                   rustup target add wasm32-unknown-unknown";
        assert!(std::env::var_os("CI").is_none(), "under CI, {why}");
        eprintln!("SKIPPED: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let built = dir.path().join("ironchain.wasm");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/build-module.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg(&built)
        .status()
        .expect("bash runs the build script");
    assert!(status.success(), "build-module.sh failed: {status}");
    let built = std::fs::read(&built).expect("the script wrote the module");
    assert!(
        built == ironchain_wasm::MODULE,
        "crates/wasm/module/ironchain.wasm is stale ({} bytes committed, {} built from this \
         source): run crates/wasm/build-module.sh and commit the module",
        ironchain_wasm::MODULE.len(),
        built.len()
    );
}
