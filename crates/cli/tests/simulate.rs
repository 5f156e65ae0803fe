//! `ironchain simulate` run as a user runs it: the JSON report has the documented fields, the
//! same seed prints the same text byte for byte, `--events` writes a line per block, `--plot`
//! an SVG chart, and bad flags are refused with a clear error.

mod common;

use common::{ironchain, json};

const SMALL: [&str; 8] = [
    "simulate",
    "--nodes",
    "40",
    "--miners",
    "4",
    "--blocks",
    "12",
    "--records",
];

#[test]
fn the_json_report_has_every_documented_field() {
    let mut args = SMALL.to_vec();
    args.extend(["5", "--json"]);
    let report = json(&args);
    assert_eq!(report["blocks_mined"], 12);
    assert_eq!(report["nodes"], 40);
    assert_eq!(report["scenario"], "baseline");
    assert_eq!(report["agreed"], true);
    for field in [
        "stale_rate",
        "stale_blocks",
        "wall_seconds",
        "peak_rss_bytes",
    ] {
        assert!(report[field].is_number(), "{field} missing: {report}");
    }
    for reach in ["to_50", "to_90", "to_100"] {
        for p in ["p50", "p90", "p99"] {
            let value = report["propagation"][reach][p].as_f64().expect("a number");
            assert!(value > 0.0 && value < 60.0, "{reach}.{p} = {value}");
        }
    }
    assert!(report["messages_per_node"]["mean"].as_f64().expect("mean") > 0.0);
}

#[test]
fn the_same_seed_prints_the_same_report_byte_for_byte() {
    let mut args = SMALL.to_vec();
    args.extend(["5", "--seed", "42", "--scenario", "partition"]);
    let first = ironchain(&args);
    let second = ironchain(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(!first.stdout.is_empty());
    assert_eq!(first.stdout, second.stdout);
    let seed = args.len() - 3;
    args[seed] = "43";
    let other = ironchain(&args);
    assert_ne!(first.stdout, other.stdout, "another seed, another run");
}

#[test]
fn events_and_plot_files_are_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let events = dir.path().join("blocks.csv");
    let plot = dir.path().join("propagation.svg");
    let mut args = SMALL.to_vec();
    let (events_arg, plot_arg) = (
        events.to_str().expect("utf-8"),
        plot.to_str().expect("utf-8"),
    );
    args.extend(["0", "--events", events_arg, "--plot", plot_arg]);
    let output = ironchain(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let csv = std::fs::read_to_string(&events).expect("events written");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("block,hash,height,miner"));
    assert_eq!(lines.len(), 1 + 12, "a line per block mined");
    let svg = std::fs::read_to_string(&plot).expect("chart written");
    assert!(svg.starts_with("<svg") && svg.contains("nodes reached (%)"));
}

#[test]
fn impossible_settings_are_refused_with_a_clear_error() {
    let output = ironchain(&["simulate", "--nodes", "10", "--miners", "50"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--miners 50 is more than --nodes 10"),
        "{stderr}"
    );

    let output = ironchain(&["simulate", "--latency", "gaussian:5"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a malformed flag is a usage error"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("lognormal:MEDIAN:P90"));

    let output = ironchain(&["simulate", "--scenario", "selfish", "--gamma", "1.5"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--gamma is a share"));

    let output = ironchain(&["simulate", "--nodes", "1"]);
    assert_eq!(output.status.code(), Some(2), "a network needs two nodes");
}
