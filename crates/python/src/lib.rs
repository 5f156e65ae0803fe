//! `ironchain` for Python: the seed's `Block` and `Blockchain` on ironchain's rules, and the real
//! store, header verifier, inclusion proofs and attack formulas beside them.
//!
//! The module is a thin layer: every rule, byte layout and hot loop is the core's or the store's,
//! called exactly as the CLI calls them (same miner, same verifier, same kernel, one thread per
//! core). This crate only converts Python values, maps errors to exceptions and keeps long work
//! off the GIL.
//!
//! Modules, in reading order:
//! - [`seed`]: `Block` and `Blockchain` as the seed defines them, on a real header;
//! - [`verification`]: `Verification` and `InvalidBlock`, the verdicts every verifier returns;
//! - [`store`]: `Store`, the chain on disk that the CLI uses;
//! - [`headers`]: `verify_headers`, for files of Bitcoin headers;
//! - [`proof`]: `InclusionProof`, checkable with no chain;
//! - [`attack`]: `catch_up_probability` and `blocks_needed`;
//! - [`errors`], [`convert`], [`interrupt`], [`html`]: exceptions, argument checks, Ctrl-C,
//!   notebook tables.
//!
//! ```python
//! from ironchain import Blockchain
//!
//! chain = Blockchain(difficulty=4)
//! for i in range(1, 6):
//!     chain.add_block(f"record {i}")
//! chain.chain[2].data = "tampered"
//! print(chain.first_invalid())      # 2
//! print(chain.verify().invalid)     # block 2 (…) is invalid: records altered: …
//! ```
#![warn(missing_docs)]

pub mod attack;
pub mod convert;
pub mod errors;
pub mod headers;
pub mod html;
pub mod interrupt;
pub mod proof;
pub mod seed;
pub mod store;
pub mod verification;

use pyo3::prelude::*;

/// ironchain: a proof-of-work blockchain on Bitcoin's rules, from Python.
///
/// The seed's interface: Block and Blockchain, with the seed's fields and difficulty (leading
/// hex zeros), hashed as 80-byte Bitcoin headers with double SHA-256 and verified by
/// ironchain's verifier. The real API: Store (the chain on disk the CLI uses), verify_headers
/// (files of Bitcoin headers), InclusionProof, catch_up_probability and blocks_needed.
#[pymodule]
fn ironchain(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<seed::block::Block>()?;
    module.add_class::<seed::chain::Blockchain>()?;
    module.add_class::<verification::Verification>()?;
    module.add_class::<verification::InvalidBlock>()?;
    module.add_class::<store::Store>()?;
    module.add_class::<store::StoredBlock>()?;
    module.add_class::<store::BlockIterator>()?;
    module.add_class::<proof::InclusionProof>()?;
    module.add_function(wrap_pyfunction!(headers::verify_headers, module)?)?;
    module.add_function(wrap_pyfunction!(attack::catch_up_probability, module)?)?;
    module.add_function(wrap_pyfunction!(attack::blocks_needed, module)?)?;
    errors::register(module)?;
    Ok(())
}
