//! The simulator against what must hold and what theory predicts: runs replay exactly from their
//! seed; after a partition every node follows the most-work tip and no record is lost; tampered
//! stores repair from peers; double-spend races, stale rates and selfish mining agree with their
//! closed forms within a few standard errors; and the seed's claims come out as the docs say.
//!
//! Every run is seeded, so a failure replays exactly. The statistical tests use a few hundred
//! trials each; `IRONCHAIN_SIM_SCALE=N` multiplies the trials and blocks by N for a tighter check.
#![allow(clippy::unwrap_used)]

use ironchain_core::attack::{AttackerShare, catch_up_probability_exact};
use ironchain_node::sim::scenario::{self, Scenario, SimConfig};
use ironchain_node::sim::{Latency, claims, theory};
use ironchain_store::{ChainStore, VerifyMode};

/// How much longer than the default the statistical tests run (`IRONCHAIN_SIM_SCALE`).
fn scale() -> u64 {
    std::env::var("IRONCHAIN_SIM_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

fn small(scenario: Scenario) -> SimConfig {
    SimConfig {
        nodes: 60,
        miners: 6,
        blocks: 40,
        block_interval: 600,
        latency: Latency::LogNormal {
            median: 40.0,
            p90: 150.0,
        },
        scenario,
        ..SimConfig::default()
    }
}

/// Whether `value` is within `sigmas` standard errors of a proportion `p` estimated from `n`
/// trials (plus half a trial, for proportions near 0 or 1).
fn within(value: f64, p: f64, n: u64, sigmas: f64) -> bool {
    let se = (p * (1.0 - p) / n as f64).sqrt();
    (value - p).abs() <= sigmas * se + 0.5 / n as f64
}

#[test]
fn the_same_seed_replays_the_same_run_event_for_event() {
    let config = SimConfig {
        records: 15,
        record_log: true,
        ..small(Scenario::Partition)
    };
    let (first, a) = scenario::network(&config);
    let (second, b) = scenario::network(&config);
    assert!(
        a.log().len() > 10_000,
        "a real run: {} events",
        a.log().len()
    );
    assert_eq!(a.log(), b.log(), "the same seed gives the same event log");
    assert_eq!(first, second, "and the same report");
    let (_, other) = scenario::network(&SimConfig { seed: 2, ..config });
    assert_ne!(a.log(), other.log(), "another seed gives another run");
}

#[test]
fn after_a_partition_heals_every_node_follows_the_most_work_tip_and_no_record_is_lost() {
    let config = SimConfig {
        blocks: 60,
        records: 60,
        ..small(Scenario::Partition)
    };
    let (report, engine) = scenario::network(&config);
    assert!(report.agreed, "{}", report.to_text());
    assert!(
        report.stale_blocks > 0,
        "the halves mined apart: {}",
        report.to_text()
    );
    assert!(!report.reorgs.is_empty(), "the losing half reorganized");
    // Every node holds the same tip, and it is the one with the most work.
    let tips: Vec<_> = engine.stores().map(|s| s.tip().unwrap()).collect();
    assert!(tips.windows(2).all(|w| w[0] == w[1]), "one tip everywhere");
    let most = engine.blocks().iter().map(|b| b.height).max().unwrap();
    assert!(
        tips[0].height + 2 >= most,
        "the tip is at the front of the work"
    );
    // Every record posted is in the best chain exactly once, or still pending somewhere.
    let main = engine.stores().next().unwrap();
    let mut in_chain = std::collections::HashMap::new();
    for height in 1..=tips[0].height {
        for record in &main.block_at(height).unwrap().unwrap().records {
            *in_chain.entry(record.clone()).or_insert(0) += 1;
        }
    }
    assert_eq!(engine.records().len(), 60);
    for record in engine.records() {
        match in_chain.get(record) {
            Some(&count) => assert_eq!(count, 1, "{record:?} mined twice"),
            None => assert!(
                engine
                    .stores()
                    .any(|s| scenario::holds_record(s.as_ref(), record).1),
                "{:?} lost",
                String::from_utf8_lossy(record)
            ),
        }
    }
}

#[test]
fn tampered_stores_repair_from_the_peers_that_still_hold_the_chain() {
    let config = small(Scenario::Tampered { share: 0.5 });
    let (report, engine) = scenario::network(&config);
    assert_eq!(
        report.repairs, 30,
        "every tampered store is caught at restart"
    );
    assert_eq!(report.repairs_complete, 30, "and refilled from peers");
    assert!(report.agreed, "{}", report.to_text());
    let now = engine.time().unix_secs();
    for (i, store) in engine.stores().enumerate() {
        store
            .verify(VerifyMode::Full, now)
            .unwrap_or_else(|e| panic!("node {i}: {e}"));
    }
}

#[test]
fn double_spend_races_agree_with_the_negative_binomial_odds() {
    let trials = 300 * scale();
    for q in [0.1, 0.3] {
        for z in [1, 2, 4, 6] {
            let config = SimConfig {
                seed: 7 + z,
                ..small(Scenario::DoubleSpend { q, z, trials })
            };
            let (report, outcomes) = scenario::double_spend(&config, q, z, trials);
            let stats = report.attack.unwrap().races.unwrap();
            assert_eq!(outcomes.len() as u64, trials);
            let n = trials;
            let level = stats.drew_level as f64 / n as f64;
            let replaced = stats.replaced as f64 / n as f64;
            let expected = catch_up_probability_exact(AttackerShare::new(q).unwrap(), z as u32);
            assert_eq!(stats.theory_drew_level, expected);
            assert!(
                within(level, expected, n, 4.0),
                "q {q} z {z}: drew level in {level}, theory {expected}"
            );
            assert!(
                within(replaced, stats.theory_replaced, n, 4.0),
                "q {q} z {z}: replaced in {replaced}, theory {}",
                stats.theory_replaced
            );
            // Every race is decided: the attacker replaced the chain or gave up.
            assert_eq!(stats.replaced + stats.gave_up, trials, "q {q} z {z}");
        }
    }
}

#[test]
fn the_stale_rate_matches_theory_from_measured_delays_and_grows_as_blocks_come_faster() {
    let base = SimConfig {
        nodes: 150,
        miners: 15,
        blocks: 250 * scale(),
        latency: Latency::LogNormal {
            median: 80.0,
            p90: 300.0,
        },
        bandwidth_mbit: 10.0,
        block_size: 100_000,
        ..SimConfig::default()
    };
    let points = scenario::stale_vs_interval(&base, &[600, 60, 10]);
    for p in &points {
        // Stale blocks are rare events: compare counts, Poisson-style.
        let expected = p.estimate * p.blocks_mined as f64;
        let tolerance = 4.0 * expected.sqrt() + 2.0;
        assert!(
            (p.stale_blocks as f64 - expected).abs() <= tolerance,
            "at {} s: {} stale blocks, theory {expected:.1}",
            p.block_interval,
            p.stale_blocks
        );
    }
    let (slow, mid, fast) = (&points[0], &points[1], &points[2]);
    assert!(fast.estimate > mid.estimate && mid.estimate > slow.estimate);
    assert!(fast.stale_rate > mid.stale_rate && mid.stale_rate >= slow.stale_rate);
    assert!(
        fast.stale_rate > 0.02,
        "10 s blocks on 100 KB: {}",
        fast.stale_rate
    );
}

#[test]
fn a_selfish_miners_share_matches_eyal_and_sirer() {
    let runs = 5;
    for gamma in [0.0, 0.5] {
        for q in [0.25, 1.0 / 3.0, 0.4] {
            let shares: Vec<f64> = (0..runs)
                .map(|seed| {
                    let config = SimConfig {
                        seed: 100 + seed,
                        blocks: 800 * scale(),
                        ..small(Scenario::Selfish { q, gamma })
                    };
                    let (report, _) = scenario::selfish(&config, q, gamma);
                    report.attack.unwrap().share_of_main_chain
                })
                .collect();
            let mean = shares.iter().sum::<f64>() / runs as f64;
            let sd =
                (shares.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (runs - 1) as f64).sqrt();
            let se = sd / (runs as f64).sqrt();
            let expected = theory::selfish_revenue(q, gamma);
            assert!(
                (mean - expected).abs() <= 4.0 * se + 0.01,
                "q {q:.3} gamma {gamma}: share {mean:.4} ± {se:.4}, theory {expected:.4}"
            );
            // Below the threshold it earns less than its share, above it more.
            let threshold = theory::selfish_threshold(gamma);
            if q < threshold - 0.01 {
                assert!(mean < q, "q {q} below the threshold earned {mean}");
            }
            if q > threshold + 0.01 {
                assert!(mean > q, "q {q} above the threshold earned {mean}");
            }
        }
    }
}

#[test]
fn the_seed_claims_node_count_never_beats_work_but_eclipses_are_real() {
    let base = SimConfig {
        nodes: 200,
        miners: 10,
        blocks: 60,
        ..SimConfig::default()
    };
    let table = claims::run(&base);
    let row = table.many_nodes_little_work;
    assert!(
        !row.replaced,
        "90% of nodes with 10% of work never replace the chain"
    );
    assert!(row.honest_blocks >= 60 && row.attacker_blocks < row.honest_blocks);
    let eclipse = &table.eclipse;
    assert_eq!(eclipse.len(), 4);
    assert!(
        eclipse[0].eclipsed > eclipse[3].eclipsed,
        "more outbound peers, fewer eclipsed nodes: {eclipse:?}"
    );
    assert!(
        eclipse[0].eclipsed > 0,
        "with 2 outbound peers some honest nodes are eclipsed"
    );
    assert!(
        table.one_node_majority.replaced,
        "51% of work does replace the chain"
    );
    let tampered = table.tampered;
    assert_eq!(tampered.repaired, tampered.tampered as u64);
    assert!(tampered.agreed);
    assert_eq!(tampered.verified, tampered.nodes);
    print!("{}", table.to_text());
}
