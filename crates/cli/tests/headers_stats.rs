//! `ironchain headers stats` on real Bitcoin headers: the first real difficulty change (block
//! 32,256) is shown and checked, the 2010 file shows its nine increases, the CSV is one header row
//! plus one row per period, boundary pairs give every retarget to 2024, and a file whose heights
//! are wrong is refused.

mod common;

use common::{data_arg as data, ironchain, json};

#[test]
fn the_first_real_difficulty_change_is_shown_at_32256() {
    let file = data("btc_blockheaders_mainnet_30000_40000.txt");
    let report = json(&["headers", "stats", &file, "--json"]);
    assert_eq!(report["all_match"], true);
    let first = &report["periods"][0];
    // SOURCES.md: 32256: 1d00ffff -> 1d00d86a over 1261130161 .. 1262152739.
    assert_eq!(first["first_height"], 30_240);
    assert_eq!(first["last_height"], 32_255);
    assert_eq!(first["span_seconds"], 1_262_152_739i64 - 1_261_130_161);
    assert_eq!(first["bits"], "1d00ffff");
    assert_eq!(first["expected_next_bits"], "1d00d86a");
    assert_eq!(first["actual_next_bits"], "1d00d86a");
    assert_eq!(first["matches"], true);
    assert_eq!(first["difficulty_before"], 1.0);
    let after = first["difficulty_after"].as_f64().expect("a difficulty");
    assert!((after - 1.1829).abs() < 1e-4, "{after}");
    assert_eq!(report["periods"].as_array().expect("periods").len(), 4);
}

#[test]
fn text_output_names_the_change() {
    let file = data("btc_blockheaders_mainnet_30000_40000.txt");
    let output = ironchain(&["headers", "stats", &file]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "30240..=32255",
        "1d00ffff  1d00d86a  1d00d86a",
        "11.84",
        "4 period(s)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn csv_has_one_header_row_and_one_row_per_period() {
    let file = data("bh80_100k.txt");
    let output = ironchain(&[
        "headers",
        "stats",
        &file,
        "--start-height",
        "80001",
        "--csv",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1 + 9,
        "nine retargets, 82656 to 98784:\n{text}"
    );
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header[0], "period");
    let column = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (actual, matches, change) = (
        column("actual_next_bits"),
        column("matches"),
        column("change_factor"),
    );
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|row| row.len() == header.len()));
    assert_eq!(rows[0][actual], "1b31b2a3", "82656");
    assert_eq!(rows[8][actual], "1b04864c", "98784");
    for row in &rows {
        assert_eq!(row[matches], "true");
        assert!(
            row[change].parse::<f64>().expect("a number") > 1.0,
            "each one an increase"
        );
    }
}

#[test]
fn boundary_pairs_give_every_retarget_to_832608() {
    let dir = data("ckb-bitcoin-spv-testdata/main-chain/headers/diff-change");
    let report = json(&["headers", "stats", &dir, "--json"]);
    assert_eq!(report["all_match"], true);
    let periods = report["periods"].as_array().expect("periods");
    assert_eq!(periods.len(), 413);
    assert_eq!(periods[412]["last_height"], 832_607);
    let clamped: Vec<_> = periods.iter().filter(|p| !p["clamp"].is_null()).collect();
    assert_eq!(clamped.len(), 1, "only 68544 hit the clamp");
    assert_eq!(clamped[0]["clamp"], "quarter");
    assert_eq!(clamped[0]["actual_next_bits"], "1c0168fd");
}

#[test]
fn a_wrong_start_height_shows_as_mismatches_with_exit_code_3() {
    // Numbered one too high, each period's "next block" is really the last block of the period,
    // which still carries the old bits: the retarget rule disagrees with it.
    let file = data("btc_blockheaders_mainnet_30000_40000.txt");
    let output = ironchain(&[
        "headers",
        "stats",
        &file,
        "--start-height",
        "30001",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["all_match"], false);
    assert_eq!(report["periods"][0]["matches"], false);
    assert_eq!(report["periods"][0]["actual_next_bits"], "1d00ffff");
}

#[test]
fn a_file_missing_a_header_is_refused() {
    let text = std::fs::read_to_string(data("btc_blockheaders_mainnet_0_10000.txt")).expect("data");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(5_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("gap.txt");
    std::fs::write(&path, lines.join("\n")).expect("write");
    let output = ironchain(&["headers", "stats", path.to_str().expect("utf-8")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("height 5000"), "{stderr}");
    assert!(stderr.contains("not one chain"), "{stderr}");
}

#[test]
fn headers_verify_still_works() {
    let file = data("btc_blockheaders_mainnet_30000_40000.txt");
    let report = json(&["headers", "verify", &file, "--json"]);
    assert_eq!(report["ok"], true);
    assert_eq!(report["height"], 39_999);
    assert_eq!(report["headers_in_file"], 10_000);
}

/// Found by running `ironchain headers stats DIR | head`: println! panicked with "failed
/// printing to stdout: Broken pipe" once head had read its line. A reader that goes away is
/// the normal end of a pipeline, so the process now ends quietly as SIGPIPE would end it.
#[test]
fn a_reader_that_closes_the_pipe_ends_the_command_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    // The JSON for every mainnet retarget is ~240 KB, several times a pipe's 64 KiB buffer, so the
    // command is still writing when the reader goes (with less, it could finish first and exit 0).
    let mut child = common::command()
        .args(["headers", "stats", "--json"])
        .arg(data(
            "ckb-bitcoin-spv-testdata/main-chain/headers/diff-change",
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut first = String::new();
    let mut reader = BufReader::new(child.stdout.take().expect("piped"));
    reader.read_line(&mut first).expect("one line");
    drop(reader);
    let output = child.wait_with_output().expect("it ends");
    assert_eq!(
        output.status.code(),
        Some(141),
        "exit as a SIGPIPE-stopped process"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
