//! What rewriting history costs: the chance that an attacker with a share `q` of the hash power
//! catches up from `z` blocks behind (the whitepaper's section 11, and the exact race).

use ironchain_core::attack::{self, AttackerShare};
use pyo3::prelude::*;

use crate::convert;
use crate::errors;

fn share(q: f64) -> PyResult<AttackerShare> {
    AttackerShare::new(q).map_err(|error| errors::value(error.to_string()))
}

fn blocks(z: &Bound<'_, PyAny>) -> PyResult<u32> {
    let z = convert::whole(z, "z (blocks the merchant waits)", u64::from(u32::MAX))?;
    Ok(u32::try_from(z).expect("bounded by u32::MAX"))
}

/// Returns the probability that an attacker with share `q` (0 to 1) of the hash power ever
/// catches up after the merchant waited for `z` blocks. `model="whitepaper"` is section 11's
/// closed form (the attacker's progress is Poisson with mean z q / p); `model="exact"` drops its
/// assumption that the honest blocks took their expected time (negative binomial, as in
/// Rosenfeld 2012). With q >= 0.5 the answer is 1.
#[pyfunction]
#[pyo3(signature = (q, z, model = "whitepaper"))]
pub fn catch_up_probability(q: f64, z: &Bound<'_, PyAny>, model: &str) -> PyResult<f64> {
    let q = share(q)?;
    let z = blocks(z)?;
    match model {
        "whitepaper" => Ok(attack::catch_up_probability(q, z)),
        "exact" => Ok(attack::catch_up_probability_exact(q, z)),
        other => Err(errors::value(format!(
            "model must be \"whitepaper\" or \"exact\", found {other:?}"
        ))),
    }
}

/// Returns the fewest blocks a merchant must wait for the whitepaper's catch-up probability to
/// fall below `threshold` (its "P < 0.1%" table), or None if no wait up to `max_z` is enough
/// (always None for q >= 0.5).
#[pyfunction]
#[pyo3(signature = (q, threshold = 0.001, max_z = None))]
pub fn blocks_needed(
    q: f64,
    threshold: f64,
    max_z: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<u32>> {
    let q = share(q)?;
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(errors::value(format!(
            "threshold is a probability above 0 and at most 1, found {threshold}"
        )));
    }
    let max_z = match max_z {
        Some(value) if !value.is_none() => blocks(value)?,
        _ => 10_000,
    };
    Ok(attack::blocks_needed(q, threshold, max_z))
}
