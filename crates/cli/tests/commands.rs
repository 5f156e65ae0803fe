//! Every stored-chain command run as a user runs it: the real binary on a chain in a temporary
//! `--data-dir`, checking what it prints (text and `--json`), what it changes on disk, and the
//! exit codes scripts rely on (0 ok, 1 failed, 2 usage, 3 invalid block or proof).
//!
//! Most tests use a `custom` chain at 1 difficulty bit, so a block takes a couple of hashes even
//! in a debug build; the demo chain is used where a fixed genesis matters (export and import
//! into a second directory).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// A data directory in a temporary directory that is removed when the test ends.
struct Chain {
    tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Chain {
    /// An empty data directory (no chain yet).
    fn empty() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("chain");
        Self { tmp, dir }
    }

    /// A chain created with `ironchain init ARGS`.
    fn init(args: &[&str]) -> Self {
        let chain = Self::empty();
        let out = chain.run(&[&["init"], args].concat());
        assert_ok(&out);
        chain
    }

    /// A custom chain where every block takes a couple of hashes.
    fn easy() -> Self {
        Self::init(&[
            "--chain",
            "custom",
            "--difficulty-bits",
            "1",
            "--spacing",
            "1",
        ])
    }

    /// A path for a scratch file next to the data directory.
    fn file(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ironchain"));
        // The data directory comes from --data-dir only: a developer's own
        // IRONCHAIN_DATA_DIR must not leak into (or be changed by) the tests.
        command
            .env_remove("IRONCHAIN_DATA_DIR")
            .arg("--data-dir")
            .arg(&self.dir)
            .args(args);
        command
    }

    /// Runs `ironchain --data-dir DIR ARGS` with no input.
    fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, b"")
    }

    /// Runs `ironchain --data-dir DIR ARGS` with `input` on stdin.
    fn run_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs `ironchain --json ARGS`, checks it succeeded and returns its JSON.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(&[&["--json"], args].concat());
        assert_ok(&out);
        parse(&out)
    }

    /// Adds `records` as text arguments and mines them into one block.
    fn add_and_mine(&self, records: &[&str]) -> Value {
        assert_ok(&self.run(&[&["add"], records].concat()));
        self.json(&["mine", "--blocks", "1", "--threads", "1"])
    }

    /// The `log --json` summary: height, tip, work, pending.
    fn log(&self) -> Value {
        self.json(&["log"])
    }

    /// The records of the block at `height`, decoded from `show --json`.
    fn records_at(&self, height: u64) -> Vec<Vec<u8>> {
        self.json(&["show", &height.to_string()])["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| hex::decode(r.as_str().unwrap()).unwrap())
            .collect()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

/// Checks the exit code, showing the output if it is not the one expected.
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

fn parse(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON value ({e}): {}", stdout(out)))
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

// ---------------------------------------------------------------- init

#[test]
fn init_creates_the_demo_chain_and_a_second_init_is_refused_naming_it() {
    let chain = Chain::empty();
    let created = chain.json(&["init"]);
    assert_eq!(created["chain"], "demo");
    assert_eq!(created["target_spacing"], 1);
    assert_eq!(created["retarget_interval"], 10);
    let genesis = created["genesis"].as_str().unwrap().to_owned();
    assert_eq!(chain.log()["tip"], genesis.as_str());
    assert_eq!(chain.log()["height"], 0);

    let again = chain.run(&["init", "--chain", "custom"]);
    assert_exit(&again, 1);
    let message = stderr(&again);
    assert!(
        message.contains("already holds the chain \"demo\"") && message.contains(&genesis),
        "{message}"
    );
    // The chain that was there is untouched.
    assert_eq!(chain.log()["tip"], genesis.as_str());
}

#[test]
fn init_custom_takes_its_difficulty_spacing_and_interval_from_the_flags() {
    let chain = Chain::empty();
    let created = chain.json(&[
        "init",
        "--chain",
        "custom",
        "--difficulty-bits",
        "4",
        "--spacing",
        "7",
        "--retarget-interval",
        "30",
    ]);
    assert_eq!(created["chain"], "custom");
    assert_eq!(created["target_spacing"], 7);
    assert_eq!(created["retarget_interval"], 30);
    // 4 leading zero bits: the target 0x0fff…f, compact 0x200fffff.
    assert_eq!(created["genesis_bits"], "200fffff");
    let genesis = chain.json(&["show", "0"]);
    assert_eq!(genesis["header"]["bits"], "200fffff");
    assert_eq!(genesis["hash"], created["genesis"]);
}

#[test]
fn init_bitcoin_like_follows_bitcoins_schedule_at_the_chosen_difficulty() {
    let chain = Chain::empty();
    let created = chain.json(&["init", "--chain", "bitcoin-like", "--difficulty-bits", "8"]);
    assert_eq!(created["chain"], "bitcoin-like");
    assert_eq!(created["target_spacing"], 600);
    assert_eq!(created["retarget_interval"], 2016);
    assert_eq!(created["max_block_size"], 1_000_000);
    // 8 leading zero bits: 0x00ff…f; its top byte would read as a sign, so compact 0x2000ffff.
    assert_eq!(created["genesis_bits"], "2000ffff");
}

#[test]
fn init_help_says_what_bitcoin_like_means_and_its_default_difficulty() {
    let out = Chain::empty().run(&["init", "--help"]);
    assert_ok(&out);
    let help = stdout(&out);
    for promise in ["600-second spacing", "2016 blocks", "1 MB", "default 24"] {
        assert!(
            help.contains(promise),
            "init --help lacks {promise:?}:\n{help}"
        );
    }
}

#[test]
fn init_refuses_flags_its_preset_would_ignore() {
    let chain = Chain::empty();
    let out = chain.run(&["init", "--difficulty-bits", "3"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("--chain custom"), "{}", stderr(&out));
    let out = chain.run(&["init", "--chain", "bitcoin-like", "--spacing", "5"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("--chain custom"), "{}", stderr(&out));
    // Nothing was created by the refused commands.
    assert!(!chain.dir.join("chain.redb").exists());
}

// ---------------------------------------------------------------- add and mine

#[test]
fn add_accepts_text_files_and_stdin_byte_for_byte_and_mining_stores_them() {
    let chain = Chain::easy();
    let accepted = chain.json(&["add", "alice pays bob 5", "bob pays carol 2"]);
    assert_eq!(accepted["accepted"], serde_json::json!([0, 1]));

    // Not UTF-8, with a NUL, a lone continuation byte and a trailing newline.
    let binary: Vec<u8> = vec![0xff, 0x00, 0xfe, 0x80, b'\n'];
    let path = chain.file("record.bin");
    write(&path, &binary);
    let accepted = chain.json(&["add", "--file", path.to_str().unwrap()]);
    assert_eq!(accepted["accepted"], serde_json::json!([2]));

    let piped: Vec<u8> = (0..=255u8).rev().collect();
    let out = chain.run_with_input(&["--json", "add", "-"], &piped);
    assert_ok(&out);
    assert_eq!(parse(&out)["accepted"], serde_json::json!([3]));
    assert_eq!(chain.log()["pending"], 4);

    let mined = chain.json(&["mine", "--blocks", "1", "--threads", "1"]);
    assert_eq!(mined["blocks"][0]["records"], 4);
    assert_eq!(mined["pending"], 0);
    assert_eq!(
        chain.records_at(1),
        vec![
            b"alice pays bob 5".to_vec(),
            b"bob pays carol 2".to_vec(),
            binary,
            piped
        ]
    );
}

#[test]
fn add_prints_each_accepted_record_and_with_lines_splits_stdin() {
    let chain = Chain::easy();
    let out = chain.run(&["add", "one", "two", "three"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("accepted record 2 (5 bytes)"), "{text}");

    let out = chain.run_with_input(&["--json", "add", "-", "--lines"], b"a\nb\n\nc");
    assert_ok(&out);
    assert_eq!(parse(&out)["accepted"], serde_json::json!([3, 4, 5]));
}

#[test]
fn an_oversized_record_is_refused_naming_the_limit_and_nothing_is_added() {
    let chain = Chain::easy();
    // A custom chain's blocks are 1 MiB: an 80-byte header and a 4-byte count leave 1,048,492
    // bytes, and the record's 4-byte length field leaves 1,048,488 for the record itself.
    let limit = 1_048_488;
    let big = chain.file("big.bin");
    write(&big, &vec![7u8; limit + 1]);
    let fits = chain.file("fits.bin");
    write(&fits, &vec![7u8; limit]);

    let out = chain.run(&["add", "small", "--file", big.to_str().unwrap()]);
    assert_exit(&out, 1);
    let message = stderr(&out);
    assert!(
        message.contains(&format!("limit of {limit} bytes")) && message.contains("1048489"),
        "{message}"
    );
    // All or nothing: the small record of the refused batch was not accepted either.
    assert_eq!(chain.log()["pending"], 0);

    let out = chain.run(&["--json", "add", "--file", big.to_str().unwrap()]);
    assert_exit(&out, 1);
    assert!(parse(&out)["error"].as_str().unwrap().contains("limit"));

    // A record exactly at the limit is accepted and fits in a block on its own.
    chain.json(&["add", "--file", fits.to_str().unwrap()]);
    let mined = chain.json(&["mine", "--until-empty", "--threads", "1"]);
    assert_eq!(mined["blocks"][0]["records"], 1);
    assert_eq!(chain.records_at(1)[0].len(), limit);
}

#[test]
fn add_with_nothing_to_add_fails_and_says_how_to_give_records() {
    let chain = Chain::easy();
    let out = chain.run(&["add"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("--file PATH"), "{}", stderr(&out));
}

#[test]
fn mine_blocks_n_mines_exactly_n_blocks_even_with_an_empty_pool() {
    let chain = Chain::easy();
    chain.json(&["add", "r1", "r2"]);
    let mined = chain.json(&["mine", "--blocks", "3", "--threads", "1"]);
    let blocks = mined["blocks"].as_array().unwrap();
    let heights: Vec<u64> = blocks
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, vec![1, 2, 3]);
    // The first block takes both records; the others are empty.
    let counts: Vec<u64> = blocks
        .iter()
        .map(|b| b["records"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![2, 0, 0]);
    assert_eq!(mined["interrupted"], false);
    let log = chain.log();
    assert_eq!(log["height"], 3);
    assert_eq!(log["tip"], blocks[2]["hash"]);
    assert_eq!(log["pending"], 0);
}

#[test]
fn mine_until_empty_mines_until_every_record_has_left_the_pool() {
    let chain = Chain::easy();
    // Three records of 600 kB: a 1 MiB block holds one, so emptying the pool takes 3 blocks.
    let mut paths = Vec::new();
    for i in 0..3u8 {
        let path = chain.file(&format!("r{i}"));
        write(&path, &vec![i; 600_000]);
        paths.push(path);
    }
    let mut args = vec!["add"];
    for path in &paths {
        args.extend(["--file", path.to_str().unwrap()]);
    }
    assert_ok(&chain.run(&args));
    chain.json(&["add", "small"]);
    assert_eq!(chain.log()["pending"], 4);

    let mined = chain.json(&["mine", "--until-empty", "--threads", "1"]);
    assert_eq!(mined["pending"], 0);
    let records: u64 = mined["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records, 4);
    assert_eq!(mined["blocks"].as_array().unwrap().len(), 3);
    assert_eq!(chain.log()["pending"], 0);
    assert_eq!(chain.records_at(1), vec![vec![0u8; 600_000]]);

    // With nothing pending, --until-empty mines nothing and succeeds.
    let again = chain.json(&["mine", "--until-empty", "--threads", "1"]);
    assert_eq!(again["blocks"], serde_json::json!([]));
    assert_eq!(chain.log()["height"], 3);
}

// ---------------------------------------------------------------- log and show

#[test]
fn log_lists_blocks_newest_first_with_the_pool() {
    let chain = Chain::easy();
    let first = chain.add_and_mine(&["first block's record"]);
    let second = chain.add_and_mine(&["second"]);
    chain.json(&["add", "waiting"]);

    let log = chain.log();
    assert_eq!(log["chain"], "custom");
    assert_eq!(log["height"], 2);
    assert_eq!(log["pending"], 1);
    assert_eq!(log["tip"], second["blocks"][0]["hash"]);
    let heights: Vec<u64> = log["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, vec![2, 1, 0]);
    assert_eq!(log["blocks"][1]["hash"], first["blocks"][0]["hash"]);
    assert!(log["work"].as_f64().unwrap() > 0.0);

    let limited = chain.json(&["log", "-n", "1"]);
    assert_eq!(limited["blocks"].as_array().unwrap().len(), 1);

    let out = chain.run(&["log"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("height 2, 1 records pending"), "{text}");
    assert!(text.contains("first block's record"), "{text}");
}

#[test]
fn show_finds_a_block_by_height_and_by_hash_alike() {
    let chain = Chain::easy();
    let mined = chain.add_and_mine(&["hello", "world"]);
    let hash = mined["blocks"][0]["hash"].as_str().unwrap().to_owned();

    let by_height = chain.json(&["show", "1"]);
    let by_hash = chain.json(&["show", &hash]);
    assert_eq!(by_height, by_hash);
    assert_eq!(by_height["height"], 1);
    assert_eq!(by_height["hash"], hash.as_str());
    assert_eq!(by_height["merkle_root_matches"], true);
    assert_eq!(
        by_height["records"],
        serde_json::json!([hex::encode("hello"), hex::encode("world")])
    );
    // The header's fields and its raw bytes agree.
    let raw = hex::decode(by_height["header_hex"].as_str().unwrap()).unwrap();
    assert_eq!(raw.len(), 80);
    let genesis = chain.json(&["show", "0"])["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(by_height["header"]["prev_blockhash"], genesis.as_str());

    let out = chain.run(&["show", &hash]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains(&format!("block 1  {hash}")), "{text}");
    assert!(text.contains("[  1] world"), "{text}");
}

#[test]
fn show_of_a_missing_block_or_a_malformed_argument_fails_saying_why() {
    let chain = Chain::easy();
    let out = chain.run(&["show", "5"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("tip is at height 0"),
        "{}",
        stderr(&out)
    );
    let out = chain.run(&["show", &"ab".repeat(32)]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("no block"), "{}", stderr(&out));
    let out = chain.run(&["show", "not-a-block"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("neither a height nor a block hash"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------- verify and tamper

/// A chain of four blocks, one record each ("r1" … "r4").
fn four_blocks() -> Chain {
    let chain = Chain::easy();
    for i in 1..=4 {
        chain.add_and_mine(&[&format!("r{i}")]);
    }
    chain
}

#[test]
fn verify_reports_ok_with_tip_height_and_work_in_both_modes() {
    let chain = four_blocks();
    let tip = chain.log()["tip"].clone();
    for mode in ["quick", "full"] {
        let args: &[&str] = if mode == "full" {
            &["verify", "--full"]
        } else {
            &["verify"]
        };
        let report = chain.json(args);
        assert_eq!(report["ok"], true);
        assert_eq!(report["mode"], mode);
        assert_eq!(report["height"], 4);
        assert_eq!(report["tip"], tip);
        assert_eq!(report["work"], chain.log()["work"]);
        let out = chain.run(args);
        assert_ok(&out);
        assert!(stdout(&out).starts_with("ok: 5 blocks"), "{}", stdout(&out));
    }
}

#[test]
fn a_changed_record_is_caught_by_full_verify_only_and_a_changed_header_by_both() {
    let chain = four_blocks();
    let tampered = chain.run(&["tamper", "2", "--record", "0", "--text", "r2 forged"]);
    assert_ok(&tampered);
    assert!(
        stderr(&tampered).contains("TEACHING TOOL"),
        "{}",
        stderr(&tampered)
    );
    let hash2 = chain.json(&["show", "2"])["hash"].clone();

    // Quick mode checks headers only: a record changed inside a block passes it.
    assert_eq!(chain.json(&["verify"])["ok"], true);

    let out = chain.run(&["--json", "verify", "--full"]);
    assert_exit(&out, 3);
    let report = parse(&out);
    assert_eq!(report["ok"], false);
    assert_eq!(report["height"], 2);
    assert_eq!(report["hash"], hash2);
    assert_eq!(report["rule"], "records-altered");
    let out = chain.run(&["verify", "--full"]);
    assert_exit(&out, 3);
    let text = stdout(&out);
    assert!(
        text.contains("INVALID: block 2") && text.contains("records altered"),
        "{text}"
    );
    assert!(text.contains("repair --truncate"), "{text}");

    // A header change is seen by quick mode too (the header no longer hashes to the hash it was
    // stored under); full mode still names the first bad block.
    assert_ok(&chain.run(&["tamper", "3", "--header-time", "1"]));
    let out = chain.run(&["--json", "verify"]);
    assert_exit(&out, 3);
    let report = parse(&out);
    assert_eq!(
        (report["height"].as_u64(), report["rule"].as_str()),
        (Some(3), Some("header-changed"))
    );
    let out = chain.run(&["--json", "verify", "--full"]);
    assert_exit(&out, 3);
    assert_eq!(parse(&out)["height"], 2);

    // A chain that fails quick verification refuses changes, and says how to repair it.
    let out = chain.run(&["add", "more"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("ironchain repair --truncate"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tamper_with_nothing_to_change_or_a_missing_block_fails() {
    let chain = four_blocks();
    assert_exit(&chain.run(&["tamper", "2"]), 1);
    let out = chain.run(&["tamper", "9", "--record", "0", "--text", "x"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no block at height 9"),
        "{}",
        stderr(&out)
    );
    let out = chain.run(&["tamper", "2", "--record", "5", "--text", "x"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("has no record 5"), "{}", stderr(&out));
    // None of that changed anything.
    assert_eq!(chain.json(&["verify", "--full"])["ok"], true);
}

// ---------------------------------------------------------------- prove and check-proof

#[test]
fn a_proof_from_prove_checks_and_fails_on_a_changed_record_or_another_header() {
    let chain = Chain::easy();
    chain.add_and_mine(&["a", "b", "c", "d", "e"]);
    chain.add_and_mine(&["other block"]);
    let out = chain.run(&["prove", "1", "3"]);
    assert_ok(&out);
    let proof = parse(&out);
    assert_eq!(proof["record"], hex::encode("d"));
    assert_eq!(proof["block_hash"], chain.json(&["show", "1"])["hash"]);
    let path = chain.file("proof.json");
    write(&path, &out.stdout);

    // check-proof needs no chain: run it from an empty data directory.
    let anywhere = Chain::empty();
    let checked = anywhere.json(&["check-proof", path.to_str().unwrap()]);
    assert_eq!(checked["valid"], true);
    assert_eq!(checked["block_hash"], proof["block_hash"]);
    let out = anywhere.run_with_input(&["check-proof"], &out.stdout);
    assert_ok(&out);
    assert!(
        stdout(&out).starts_with("valid: the record is leaf 3 of 5"),
        "{}",
        stdout(&out)
    );

    let check = |changed: &Value| {
        let path = anywhere.file("changed.json");
        write(&path, changed.to_string().as_bytes());
        anywhere.run(&["--json", "check-proof", path.to_str().unwrap()])
    };
    let mut changed = proof.clone();
    changed["record"] = hex::encode("D").into();
    let out = check(&changed);
    assert_exit(&out, 3);
    assert_eq!(parse(&out)["valid"], false);

    // The same proof against block 2's header: the header is genuine, the proof is not for it.
    let mut changed = proof.clone();
    changed["header"] = chain.json(&["show", "2"])["header_hex"].clone();
    let out = check(&changed);
    assert_exit(&out, 3);
    assert_eq!(parse(&out)["valid"], false);

    // Not a proof at all is a failure to read (1), not a verdict (3).
    let mut changed = proof.clone();
    changed["header"] = "00ff".into();
    let out = check(&changed);
    assert_exit(&out, 1);
    assert!(
        parse(&out)["error"]
            .as_str()
            .unwrap()
            .contains("a header is 80")
    );
    let out = anywhere.run_with_input(&["check-proof"], b"{ not json");
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("not a proof"), "{}", stderr(&out));
}

#[test]
fn prove_of_a_missing_block_or_record_fails_saying_what_exists() {
    let chain = Chain::easy();
    chain.add_and_mine(&["only"]);
    let out = chain.run(&["prove", "7", "0"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("the tip is at 1"), "{}", stderr(&out));
    let out = chain.run(&["prove", "1", "1"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("has 1 records"), "{}", stderr(&out));
}

// ---------------------------------------------------------------- export and import

#[test]
fn an_export_imports_into_a_fresh_directory_with_the_same_tip_and_records() {
    let source = Chain::init(&[]);
    source.add_and_mine(&["one", "two"]);
    source.add_and_mine(&["three"]);
    source.json(&["add", "still pending"]);
    let export = source.file("chain.export");
    let exported = source.json(&["export", export.to_str().unwrap()]);
    assert_eq!(exported["blocks"], 3);

    let target = Chain::init(&[]);
    let imported = target.json(&["import", export.to_str().unwrap()]);
    assert_eq!(
        (imported["known"].as_u64(), imported["appended"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(imported["tip"], source.log()["tip"]);
    assert_eq!(target.log()["tip"], source.log()["tip"]);
    assert_eq!(target.log()["work"], source.log()["work"]);
    assert_eq!(target.records_at(1), source.records_at(1));
    // The pool is not part of an export.
    assert_eq!(target.log()["pending"], 0);
    assert_eq!(target.json(&["verify", "--full"])["ok"], true);

    // Importing again finds every block known and changes nothing.
    let again = target.json(&["import", export.to_str().unwrap()]);
    assert_eq!(
        (again["known"].as_u64(), again["appended"].as_u64()),
        (Some(3), Some(0))
    );

    // Export to stdout writes the same bytes.
    let out = source.run(&["export", "-"]);
    assert_ok(&out);
    assert_eq!(out.stdout, std::fs::read(&export).unwrap());
}

#[test]
fn a_truncated_export_is_refused_and_nothing_is_committed() {
    let source = Chain::init(&[]);
    for i in 0..3 {
        source.add_and_mine(&[&format!("block {i}")]);
    }
    let export = source.file("chain.export");
    source.json(&["export", export.to_str().unwrap()]);
    let bytes = std::fs::read(&export).unwrap();
    let target = Chain::init(&[]);
    let genesis_tip = target.log()["tip"].clone();

    // Cut inside the last block: every block before it is valid, and still none is committed.
    let truncated = source.file("truncated.export");
    write(&truncated, &bytes[..bytes.len() - 10]);
    let out = target.run(&["import", truncated.to_str().unwrap()]);
    assert_exit(&out, 1);
    let message = stderr(&out);
    assert!(message.contains("nothing was committed"), "{message}");
    assert!(message.contains("truncated"), "{message}");
    // Each cause is printed once, not once per error in the chain.
    assert_eq!(message.matches("truncated").count(), 1, "{message}");
    assert_eq!(target.log()["height"], 0);
    assert_eq!(target.log()["tip"], genesis_tip);

    // Cut inside a length field, and before the magic ends.
    for cut in [bytes.len() - 2 - (bytes.len() - 8) / 2, 5] {
        write(&truncated, &bytes[..cut]);
        let out = target.run(&["--json", "import", truncated.to_str().unwrap()]);
        assert_exit(&out, 1);
        assert!(
            parse(&out)["error"]
                .as_str()
                .unwrap()
                .contains("nothing was committed")
        );
        assert_eq!(target.log()["height"], 0);
    }

    // An export of another chain is refused too.
    let other = Chain::easy();
    other.add_and_mine(&["x"]);
    let foreign = other.file("other.export");
    other.json(&["export", foreign.to_str().unwrap()]);
    let out = target.run(&["import", foreign.to_str().unwrap()]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("another chain"), "{}", stderr(&out));
    assert_eq!(target.log()["height"], 0);
}

// ---------------------------------------------------------------- repair

#[test]
fn repair_cuts_back_to_the_last_good_block_and_returns_intact_records_to_the_pool() {
    let chain = four_blocks();
    let block1 = chain.json(&["show", "1"])["hash"].clone();
    assert_ok(&chain.run(&["tamper", "2", "--record", "0", "--text", "forged"]));

    let report = chain.json(&["repair", "--truncate", "--yes"]);
    assert_eq!(report["repaired"], true);
    assert_eq!(report["height"], 1);
    assert_eq!(report["dropped"], 3);
    // Blocks 3 and 4 were intact: their records are pending again. Block 2 was changed, so its
    // record cannot be trusted and is not returned.
    assert_eq!(report["returned_to_pool"], 2);
    assert_eq!(report["damaged_blocks"], serde_json::json!([2]));

    let log = chain.log();
    assert_eq!(
        (log["height"].as_u64(), log["pending"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(log["tip"], block1);
    assert_eq!(chain.json(&["verify", "--full"])["ok"], true);

    // The chain is writable again, and the returned records mine back in.
    let mined = chain.json(&["mine", "--until-empty", "--threads", "1"]);
    assert_eq!(mined["blocks"][0]["records"], 2);
    assert_eq!(chain.records_at(2), vec![b"r3".to_vec(), b"r4".to_vec()]);
}

#[test]
fn repair_asks_first_and_changes_nothing_unless_confirmed() {
    let chain = four_blocks();
    assert_ok(&chain.run(&["tamper", "3", "--record", "0", "--text", "forged"]));
    let out = chain.run_with_input(&["repair", "--truncate"], b"n\n");
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("cut the chain back to height 2"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("nothing was changed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(chain.log()["height"], 4);

    let out = chain.run_with_input(&["repair", "--truncate"], b"y\n");
    assert_ok(&out);
    assert!(
        stdout(&out).contains("cut back to height 2"),
        "{}",
        stdout(&out)
    );
    assert_eq!(chain.log()["height"], 2);
}

#[test]
fn repair_of_a_healthy_chain_changes_nothing() {
    let chain = four_blocks();
    let report = chain.json(&["repair", "--truncate", "--yes"]);
    assert_eq!(report["repaired"], false);
    assert_eq!(report["height"], 4);
    // --truncate is the only repair there is, and it must be asked for.
    assert_exit(&chain.run(&["repair", "--yes"]), 2);
}

// ---------------------------------------------------------------- errors

#[test]
fn every_command_on_a_directory_without_a_chain_says_to_run_init() {
    let chain = Chain::empty();
    for args in [
        &["log"][..],
        &["show", "0"],
        &["add", "x"],
        &["mine", "--blocks", "1"],
        &["verify"],
        &["verify", "--full"],
        &["prove", "0", "0"],
        &["export", "-"],
        &["import", "-"],
        &["tamper", "0", "--flip-bit", "0"],
        &["repair", "--truncate", "--yes"],
    ] {
        let out = chain.run(args);
        assert_exit(&out, 1);
        let message = stderr(&out);
        assert!(
            message.contains("no chain in") && message.contains("run `ironchain init`"),
            "{args:?}: {message}"
        );
    }
    // Nothing was created along the way.
    assert!(!chain.dir.exists());
}

#[test]
fn errors_with_json_are_one_json_object_on_stdout() {
    let chain = Chain::empty();
    let out = chain.run(&["--json", "log"]);
    assert_exit(&out, 1);
    let error = parse(&out);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("run `ironchain init`")
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn a_wrong_flag_or_a_missing_argument_is_a_usage_error() {
    let chain = Chain::easy();
    for args in [
        &["log", "--no-such-flag"][..],
        &["show"],
        &["prove", "1"],
        &["init", "--chain", "litecoin"],
        &["init", "--difficulty-bits", "0"],
        &["mine", "--blocks", "2", "--until-empty"],
    ] {
        let out = chain.run(args);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("--help"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// Found by setting `IRONCHAIN_DATA_DIR=` in a shell: clap read the empty variable as a missing
/// value and refused every command, even with `--data-dir` given. An empty variable now counts
/// as unset, and a set one is used when `--data-dir` is absent.
#[test]
fn the_data_dir_variable_is_used_when_set_and_ignored_when_empty() {
    let chain = Chain::easy();
    let with_empty = chain
        .command(&["log", "--json"])
        .env("IRONCHAIN_DATA_DIR", "")
        .output();
    assert_ok(&with_empty.expect("runs"));
    let by_env = Command::new(env!("CARGO_BIN_EXE_ironchain"))
        .env("IRONCHAIN_DATA_DIR", &chain.dir)
        .args(["log", "--json"])
        .output()
        .expect("runs");
    assert_ok(&by_env);
    assert_eq!(parse(&by_env)["height"], 0);
}
