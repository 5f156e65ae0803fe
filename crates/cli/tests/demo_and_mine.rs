//! The main job and its neighbours, run as a user runs them: the demo tells the tamper story
//! with the right verdicts at each step, `mine --in-memory` mines valid blocks, and `bench`
//! prints every figure it promises.

mod common;

use common::{ironchain, json};

#[test]
fn demo_catches_the_change_then_the_broken_link_then_loses_on_work() {
    let report = json(&["demo", "--blocks", "4", "--json"]);
    assert_eq!(report["verify_honest"]["ok"], true);
    assert_eq!(report["verify_after_change"]["height"], 2);
    assert_eq!(report["verify_after_change"]["rule"], "records-altered");
    assert_eq!(report["verify_after_remine"]["height"], 3);
    assert_eq!(report["verify_after_remine"]["rule"], "broken-link");
    assert_eq!(report["verify_forged"]["ok"], true);
    assert!(report["honest_new_blocks"].as_u64().expect("a count") >= 1);
    assert_eq!(report["honest_wins"], true);
    // It ran on a real store, and says which files it wrote.
    let files = report["files"].as_array().expect("files");
    assert!(files.iter().any(|f| {
        f["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("chain.redb"))
    }));
    assert!(report["kept"].is_null());
}

#[test]
fn demo_text_explains_each_step() {
    let output = ironchain(&["demo", "--blocks", "3"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "Step 1",
        "INVALID at block 2: records altered",
        "INVALID at block 3: broken link",
        "Chain work (expected hashes): honest",
        "chain.redb",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn mine_in_memory_mines_the_requested_blocks_at_the_requested_difficulty() {
    let report = json(&[
        "mine",
        "--in-memory",
        "--blocks",
        "3",
        "--difficulty-bits",
        "12",
        "--threads",
        "2",
        "--json",
    ]);
    let blocks = report["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 3);
    for block in blocks {
        let hash = block["hash"].as_str().expect("hash");
        // 12 leading zero bits: the shown hash starts with three zero hex digits.
        assert!(hash.starts_with("000"), "{hash}");
    }
    assert_eq!(report["threads"], 2);
}

#[test]
fn bench_json_reports_every_figure() {
    let report = json(&[
        "bench",
        "--json",
        "--runs",
        "1",
        "--chain-len",
        "3000",
        "--python-ref",
        "/nonexistent.py",
    ]);
    for field in [
        "compress256_per_sec",
        "sha2_midstate_hashes_per_sec",
        "kernel_hashes_per_sec_1_thread",
        "kernel_hashes_per_sec_all_threads",
        "headers_verified_per_sec",
    ] {
        assert!(report[field].as_f64().expect(field) > 0.0, "{field}");
    }
    assert!(report["threads"].as_u64().expect("threads") >= 1);
    assert!(report["python_reference_hashes_per_sec"].is_null());
}
