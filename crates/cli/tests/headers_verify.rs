//! `ironchain headers verify` on real Bitcoin headers: the file verifies, any changed byte is named
//! at its header with exit code 3, and malformed files get a clear error, never a panic.

mod common;

use common::{data, ironchain, stdout_json as json};

/// The 0..9999 file as raw bytes.
fn raw_headers() -> Vec<u8> {
    let text = std::fs::read_to_string(data("btc_blockheaders_mainnet_0_10000.txt")).expect("data");
    text.lines()
        .flat_map(|line| hex::decode(line).expect("hex"))
        .collect()
}

#[test]
fn real_mainnet_headers_verify_with_their_tip_and_work() {
    let file = data("btc_blockheaders_mainnet_0_10000.txt");
    let output = ironchain(&["headers", "verify", file.to_str().expect("utf-8"), "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json(&output);
    assert_eq!(report["ok"], true);
    assert_eq!(report["verified"], 10_000);
    assert_eq!(
        report["tip"],
        "00000000fbc97cc6c599ce9c24dd4a2243e2bfd518eda56e1d5e47d29e29c3a7"
    );
    assert_eq!(report["total_work"], "0x271027102710");
}

#[test]
fn files_after_genesis_verify_from_their_start_height() {
    let file = data("btc_blockheaders_mainnet_30000_40000.txt");
    let output = ironchain(&["headers", "verify", file.to_str().expect("utf-8"), "--json"]);
    assert!(output.status.success());
    assert_eq!(json(&output)["height"], 39_999);
    let file = data("bh80_100k.txt");
    let path = file.to_str().expect("utf-8");
    let output = ironchain(&[
        "headers",
        "verify",
        path,
        "--start-height",
        "80001",
        "--json",
    ]);
    assert!(output.status.success());
    assert_eq!(
        json(&output)["tip"],
        "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506"
    );
}

#[test]
fn a_changed_byte_is_named_at_its_header_with_exit_code_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = raw_headers();
    // A spread of headers and every field: version, prev, merkle, time, bits, nonce.
    for (height, offset) in [
        (0, 0),
        (1, 4),
        (2016, 40),
        (5000, 68),
        (7777, 72),
        (9999, 79),
    ] {
        let mut bytes = original.clone();
        bytes[height * 80 + offset] ^= 0x01;
        let path = dir.path().join(format!("tampered-{height}-{offset}.bin"));
        std::fs::write(&path, &bytes).expect("write");
        let output = ironchain(&["headers", "verify", path.to_str().expect("utf-8"), "--json"]);
        assert_eq!(
            output.status.code(),
            Some(3),
            "height {height} offset {offset}"
        );
        let report = json(&output);
        assert_eq!(report["ok"], false);
        assert_eq!(
            report["invalid"]["height"], height as u64,
            "offset {offset}"
        );
    }
    let text = ironchain(&[
        "headers",
        "verify",
        dir.path()
            .join("tampered-5000-68.bin")
            .to_str()
            .expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("INVALID: block 5000"), "{stdout}");
}

#[test]
fn truncated_and_foreign_files_get_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let truncated = dir.path().join("truncated.bin");
    std::fs::write(&truncated, &raw_headers()[..80 * 3 + 17]).expect("write");
    let output = ironchain(&["headers", "verify", truncated.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a whole number of 80-byte headers"),
        "{stderr}"
    );

    // Bitcoin headers checked as the demo chain: the first is not its genesis.
    let raw = dir.path().join("bitcoin.bin");
    std::fs::write(&raw, &raw_headers()[..800]).expect("write");
    let output = ironchain(&[
        "headers",
        "verify",
        raw.to_str().expect("utf-8"),
        "--chain",
        "demo",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(json(&output)["invalid"]["rule"], "bad-genesis");

    let missing = ironchain(&["headers", "verify", "/nonexistent/headers.bin"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));

    let bad_hex = dir.path().join("bad.txt");
    std::fs::write(&bad_hex, "0100\nabcdef\n").expect("write");
    let output = ironchain(&["headers", "verify", bad_hex.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("expected 160 hex digits"));
}

#[test]
fn a_wrong_flag_is_a_usage_error() {
    let output = ironchain(&["headers", "verify", "--chian", "bitcoin", "x"]);
    assert_eq!(output.status.code(), Some(2));
}
