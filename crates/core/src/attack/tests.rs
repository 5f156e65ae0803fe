//! The attack formulas against the whitepaper's own tables, and the simulation against the
//! formulas.

use std::time::Duration;

use super::live::{LiveRace, Winner};
use super::montecarlo::{Model, RaceCap, Simulation, simulate};
use super::*;
use crate::params::ChainParams;

fn share(q: f64) -> AttackerShare {
    AttackerShare::new(q).expect("a valid share")
}

/// The C function printed in section 11 of the whitepaper, transcribed line for line: the
/// reference the stable form is checked against.
fn whitepaper_c_function(q: f64, z: u32) -> f64 {
    let p = 1.0 - q;
    let lambda = f64::from(z) * (q / p);
    let mut sum = 1.0;
    for k in 0..=z {
        let mut poisson = (-lambda).exp();
        for i in 1..=k {
            poisson *= lambda / f64::from(i);
        }
        sum -= poisson * (1.0 - (q / p).powi(z as i32 - k as i32));
    }
    sum
}

/// Section 11 of the whitepaper prints P to seven decimals for these q and z.
#[rustfmt::skip]
const WHITEPAPER_TABLE: &[(f64, u32, f64)] = &[
    // (q, z, P as printed)
    (0.1,  0, 1.000_000_0), // "q=0.1 z=0 P=1.0000000"
    (0.1,  1, 0.204_587_3), // "z=1 P=0.2045873"
    (0.1,  2, 0.050_977_9), // "z=2 P=0.0509779"
    (0.1,  3, 0.013_172_2), // "z=3 P=0.0131722"
    (0.1,  4, 0.003_455_2), // "z=4 P=0.0034552"
    (0.1,  5, 0.000_913_7), // "z=5 P=0.0009137"
    (0.1,  6, 0.000_242_8), // "z=6 P=0.0002428"
    (0.1,  7, 0.000_064_7), // "z=7 P=0.0000647"
    (0.1,  8, 0.000_017_3), // "z=8 P=0.0000173"
    (0.1,  9, 0.000_004_6), // "z=9 P=0.0000046"
    (0.1, 10, 0.000_001_2), // "z=10 P=0.0000012"
    (0.3,  0, 1.000_000_0), // "q=0.3 z=0 P=1.0000000"
    (0.3,  5, 0.177_352_3), // "z=5 P=0.1773523"
    (0.3, 10, 0.041_660_5), // "z=10 P=0.0416605"
    (0.3, 15, 0.010_100_8), // "z=15 P=0.0101008"
    (0.3, 20, 0.002_480_4), // "z=20 P=0.0024804"
    (0.3, 25, 0.000_613_2), // "z=25 P=0.0006132"
    (0.3, 30, 0.000_152_2), // "z=30 P=0.0001522"
    (0.3, 35, 0.000_037_9), // "z=35 P=0.0000379"
    (0.3, 40, 0.000_009_5), // "z=40 P=0.0000095"
    (0.3, 45, 0.000_002_4), // "z=45 P=0.0000024"
    (0.3, 50, 0.000_000_6), // "z=50 P=0.0000006"
];

#[test]
fn catch_up_probability_reproduces_the_whitepaper_table() {
    for &(q, z, printed) in WHITEPAPER_TABLE {
        let ours = catch_up_probability(share(q), z);
        // Printed to seven decimals: within half a unit of the last place.
        assert!(
            (ours - printed).abs() <= 0.5e-7,
            "q={q} z={z}: {ours} vs {printed}"
        );
        let c = whitepaper_c_function(q, z);
        assert!(
            (ours - c).abs() <= 1e-12,
            "q={q} z={z}: stable {ours} vs C {c}"
        );
    }
}

#[test]
fn blocks_needed_reproduces_the_whitepaper_table() {
    #[rustfmt::skip]
    let table = [
        // "Solving for P less than 0.1%": (q, z) as printed.
        (0.10, 5), (0.15, 8), (0.20, 11), (0.25, 15),
        (0.30, 24), (0.35, 41), (0.40, 89), (0.45, 340),
    ];
    for (q, z) in table {
        assert_eq!(blocks_needed(share(q), 0.001, 100_000), Some(z), "q={q}");
    }
    assert_eq!(
        blocks_needed(share(0.5), 0.001, 100_000),
        None,
        "a majority always wins"
    );
    assert_eq!(
        blocks_needed(share(0.45), 0.001, 100),
        None,
        "340 is beyond the limit"
    );
}

#[test]
fn a_majority_attacker_always_catches_up() {
    for z in [0, 1, 6, 1000] {
        assert_eq!(catch_up_probability(share(0.5), z), 1.0);
        assert_eq!(catch_up_probability(share(0.7), z), 1.0);
        assert_eq!(catch_up_probability_exact(share(0.5), z), 1.0);
    }
    assert_eq!(catch_up_probability(share(0.0), 3), 0.0);
    assert_eq!(gamblers_ruin(share(0.25), 2), 1.0 / 9.0);
}

#[test]
fn the_stable_form_survives_where_the_c_function_cancels_or_underflows() {
    // At z = 2000 the C function's exp(-λ) underflows to 0 and it returns 1; the true value is
    // tiny, and falls geometrically with z.
    let q = share(0.3);
    assert_eq!(whitepaper_c_function(0.3, 2000), 1.0);
    let (p1000, p2000) = (catch_up_probability(q, 1000), catch_up_probability(q, 2000));
    assert!(p1000 > 0.0 && p1000 < 1e-50, "{p1000}");
    assert!(p2000 > 0.0 && p2000 < p1000 * 1e-50, "{p2000}");
}

#[test]
fn overtaking_needs_one_block_more_than_drawing_level() {
    // z = 1: the attacker's count k before the honest block is geometric, NB(k) = p q^k.
    // Level after it: k >= 1, or from k = 0 one block behind: q + p (q/p) = 2q.
    // Ahead after it: k >= 2, or k = 1 level (q/p), or k = 0 two behind (q/p)^2:
    // q^2 + p q (q/p) + p (q/p)^2 = 2 q^2 + q^2 / p.
    for q in [0.1, 0.25, 0.4] {
        let p = 1.0 - q;
        let level = catch_up_probability_exact(share(q), 1);
        let ahead = overtake_probability_exact(share(q), 1);
        assert!((level - 2.0 * q).abs() < 1e-12, "q {q}: {level}");
        assert!(
            (ahead - (2.0 * q * q + q * q / p)).abs() < 1e-12,
            "q {q}: {ahead}"
        );
    }
    // Always below drawing level, and 1 for a majority.
    for z in [0, 1, 2, 6, 20] {
        assert!(
            overtake_probability_exact(share(0.3), z) < catch_up_probability_exact(share(0.3), z)
        );
    }
    assert_eq!(overtake_probability_exact(share(0.5), 6), 1.0);
    assert_eq!(overtake_probability_exact(share(0.0), 6), 0.0);
}

#[test]
fn exact_model_matches_its_closed_form_for_one_block() {
    // With z = 1 the attacker finds k blocks before the honest one with probability p q^k; it
    // wins at once if k >= 1 (probability q), else from 1 behind (q/p): P = q + p (q/p) = 2q.
    for q in [0.05, 0.1, 0.3, 0.45] {
        let exact = catch_up_probability_exact(share(q), 1);
        assert!((exact - 2.0 * q).abs() < 1e-12, "q={q}: {exact}");
    }
    // The whitepaper's Poisson shortcut gives a little more than 2q at q = 0.1 (0.2045873).
    assert!(catch_up_probability(share(0.1), 1) > catch_up_probability_exact(share(0.1), 1));
}

fn sim(model: Model, trials: u64, seed: u64) -> Simulation {
    Simulation {
        model,
        trials,
        seed,
        cap: RaceCap::default(),
        threads: 2,
    }
}

#[test]
fn monte_carlo_agrees_with_both_closed_forms_within_four_standard_errors() {
    #[rustfmt::skip]
    let cases = [
        // (q, z): small and large deficits, weak and strong attackers.
        (0.1, 1), (0.1, 3), (0.2, 2), (0.25, 4), (0.3, 5), (0.35, 6), (0.4, 8), (0.45, 10),
    ];
    for model in [Model::Whitepaper, Model::NegativeBinomial] {
        for (index, &(q, z)) in cases.iter().enumerate() {
            let estimate = simulate(share(q), z, &sim(model, 200_000, 1000 + index as u64));
            let expected = model.probability(share(q), z);
            let sigmas = estimate.sigmas_from(expected);
            assert!(
                estimate.agrees_with(expected, 4.0, &RaceCap::default()),
                "{model:?} q={q} z={z}: {} vs {expected} ({sigmas:.1} sigma)",
                estimate.probability()
            );
            assert_eq!(estimate.stopped, 0, "no race hit the block cap");
        }
    }
}

#[test]
fn monte_carlo_tells_the_two_models_apart() {
    // At q = 0.1, z = 1 the whitepaper says 0.2046 and the exact race 0.2: with a million trials
    // (standard error 0.0004) the simulation of the exact race is far from the whitepaper's figure.
    let estimate = simulate(share(0.1), 1, &sim(Model::NegativeBinomial, 1_000_000, 7));
    assert!(
        estimate.sigmas_from(0.2) < 4.0,
        "{}",
        estimate.probability()
    );
    assert!(estimate.sigmas_from(catch_up_probability(share(0.1), 1)) > 6.0);
}

#[test]
fn monte_carlo_is_reproducible_from_its_seed_on_any_number_of_threads() {
    let mut one = sim(Model::Whitepaper, 50_000, 99);
    one.threads = 1;
    let mut four = one;
    four.threads = 4;
    let a = simulate(share(0.3), 4, &one);
    assert_eq!(a, simulate(share(0.3), 4, &four));
    assert_ne!(
        a,
        simulate(share(0.3), 4, &sim(Model::Whitepaper, 50_000, 100))
    );
}

#[test]
fn the_cap_gives_up_only_when_coming_back_is_hopeless() {
    let cap = RaceCap::default();
    // (3/7)^25 < 1e-9 <= (3/7)^24.
    assert_eq!(cap.give_up_behind(share(0.3), 5), 25);
    assert_eq!(
        cap.give_up_behind(share(0.3), 40),
        41,
        "never below the starting deficit"
    );
    assert_eq!(cap.give_up_behind(share(0.5), 5), u64::MAX);
    // A majority attacker is never given up on, and wins every race not stopped by the cap.
    let estimate = simulate(share(0.6), 6, &sim(Model::Whitepaper, 10_000, 3));
    assert_eq!(estimate.gave_up, 0);
    assert_eq!(estimate.wins + estimate.stopped, 10_000);
}

#[test]
fn shares_outside_zero_to_one_are_refused() {
    assert_eq!(AttackerShare::new(1.5), Err(ShareError::OutOfRange(1.5)));
    assert!(AttackerShare::new(-0.1).is_err());
    assert!(AttackerShare::new(f64::NAN).is_err());
}

#[test]
fn a_live_race_mines_real_valid_branches_at_the_requested_split() {
    let race = LiveRace::new(share(0.3), 1, Duration::from_secs(60), 1);
    let report = live::race(&ChainParams::demo(), &race).expect("the race runs");
    assert_ne!(report.winner, Winner::Undecided, "{report:?}");
    assert!(
        report.honest_blocks >= 2,
        "the payment and one confirmation"
    );
    assert!(report.attacker_blocks >= 1, "the double spend");
    assert!(report.accepted_after.is_some());
    let deficit = report.honest_blocks as i64 - report.attacker_blocks as i64;
    match report.winner {
        Winner::Attacker => assert!(report.attacker_work >= report.honest_work),
        Winner::Honest => assert_eq!(deficit, i64::from(report.give_up_behind)),
        Winner::Undecided => unreachable!(),
    }
    // One thread shares its time 30/70: the hashes follow, give or take scheduling noise.
    assert!(
        (report.measured_share - 0.3).abs() < 0.1,
        "{}",
        report.measured_share
    );
    assert_eq!(
        report.events.len() as u64 + 2,
        report.honest_blocks + report.attacker_blocks,
        "every block but the two first ones is an event"
    );
}
