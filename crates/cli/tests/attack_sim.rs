//! `ironchain attack-sim` run as a user runs it: the table reproduces the Bitcoin whitepaper's
//! printed probabilities and "z needed" figures, the seeded Monte Carlo estimates agree with the
//! formulas within four standard errors and repeat exactly for the same seed, and `--live` races
//! real miners on the demo chain and reports a consistent outcome.

mod common;

use common::{ironchain, json};

fn row(report: &serde_json::Value, q: f64, z: u64) -> &serde_json::Value {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|row| row["q"].as_f64() == Some(q) && row["z"].as_u64() == Some(z))
        .unwrap_or_else(|| panic!("no row for q={q} z={z}"))
}

#[test]
fn json_table_reproduces_the_whitepaper_and_the_simulation_agrees() {
    let report = json(&[
        "attack-sim",
        "--q",
        "0.1,0.3",
        "--z",
        "0..=10:5",
        "--trials",
        "50000",
        "--seed",
        "11",
        "--json",
    ]);
    #[rustfmt::skip]
    let printed = [
        // (q, z, P) as printed in section 11 of the whitepaper.
        (0.1, 0, 1.0),
        (0.1, 5, 0.000_913_7),
        (0.1, 10, 0.000_001_2),
        (0.3, 5, 0.177_352_3),
        (0.3, 10, 0.041_660_5),
    ];
    for (q, z, p) in printed {
        let row = row(&report, q, z);
        let ours = row["whitepaper"].as_f64().expect("a probability");
        assert!((ours - p).abs() <= 0.5e-7, "q={q} z={z}: {ours}");
        let mc = &row["monte_carlo"];
        assert_eq!(mc["agrees"], true, "q={q} z={z}: {mc}");
        assert!(mc["sigmas"].as_f64().expect("sigmas") <= 4.0);
        assert_eq!(mc["trials"], 50_000);
    }
    // The "z needed for P < 0.1%" table for the requested shares.
    assert_eq!(report["blocks_needed"][0]["z"], 5);
    assert_eq!(report["blocks_needed"][1]["z"], 24);
}

#[test]
fn the_same_seed_prints_the_same_estimates() {
    let args = [
        "attack-sim",
        "--q",
        "0.35",
        "--z",
        "3",
        "--trials",
        "20000",
        "--seed",
        "5",
        "--json",
    ];
    let (a, b) = (json(&args), json(&args));
    assert_eq!(a["rows"], b["rows"]);
    let other = json(&[
        "attack-sim",
        "--q",
        "0.35",
        "--z",
        "3",
        "--trials",
        "20000",
        "--seed",
        "6",
        "--json",
    ]);
    assert_ne!(
        a["rows"][0]["monte_carlo"]["wins"],
        other["rows"][0]["monte_carlo"]["wins"]
    );
}

#[test]
fn the_exact_model_is_checked_against_the_exact_formula() {
    let report = json(&[
        "attack-sim",
        "--q",
        "0.1",
        "--z",
        "1",
        "--model",
        "negative-binomial",
        "--trials",
        "400000",
        "--json",
    ]);
    let row = row(&report, 0.1, 1);
    // Without the whitepaper's Poisson shortcut, z = 1 gives exactly 2q.
    assert!((row["exact"].as_f64().expect("a probability") - 0.2).abs() < 1e-12);
    assert_eq!(row["monte_carlo"]["checked_against"], "exact");
    assert_eq!(row["monte_carlo"]["agrees"], true, "{}", row["monte_carlo"]);
}

#[test]
fn text_table_shows_the_whitepaper_figures() {
    let output = ironchain(&[
        "attack-sim",
        "--q",
        "0.1..=0.45:0.05",
        "--z",
        "6",
        "--trials",
        "0",
    ]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "0.0002428",
        "q=0.100  z=5",
        "q=0.300  z=24",
        "q=0.450  z=340",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn bad_arguments_are_explained() {
    let output = ironchain(&["attack-sim", "--q", "1.5"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("between 0 and 1"), "{stderr}");
    let output = ironchain(&["attack-sim", "--live", "--z", "1,2"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("one z"));
}

#[test]
fn a_live_race_reports_a_consistent_outcome() {
    let report = json(&[
        "attack-sim",
        "--live",
        "--attacker-share",
        "0.3",
        "--z",
        "1",
        "--max-seconds",
        "60",
        "--json",
    ]);
    let race = &report["races"][0];
    let honest = race["honest_blocks"].as_i64().expect("a count");
    let attacker = race["attacker_blocks"].as_i64().expect("a count");
    assert!(honest >= 2, "the payment and one confirmation: {race}");
    match race["winner"].as_str().expect("a winner") {
        "attacker" => assert!(attacker >= honest - 1, "{race}"),
        "honest" => assert_eq!(
            honest - attacker,
            race["give_up_behind"].as_i64().expect("n")
        ),
        other => panic!("a race on the demo chain ends well within a minute, got {other}"),
    }
    let share = race["measured_share"].as_f64().expect("a share");
    assert!((share - 0.3).abs() < 0.05, "hashes split as asked: {share}");
    assert_eq!(
        race["events"].as_array().expect("events").len() as i64 + 2,
        honest + attacker,
        "every block but the two first ones is an event"
    );
    assert!(race["honest_hashes"].as_u64().expect("hashes") > 0);
}
