//! ironchain's core compiled to WebAssembly, so the explorer page checks what the node tells it
//! instead of believing it: one set of consensus rules, written once in Rust, for the node, the
//! command line and the browser.
//!
//! The crate has two faces:
//! - Compiled for `wasm32-unknown-unknown` (by `build-module.sh`, with the `simd128` feature),
//!   it is the module `module/ironchain.wasm`, whose plain exports (`exports.rs`) take bytes and
//!   return JSON. `module/ironchain.js` is the ES module a page imports to call them.
//! - Compiled natively, it offers the same operations as plain functions (the tests compare the
//!   two builds), and [`MODULE`] and [`GLUE`], the committed module and its glue, which the node
//!   serves next to the explorer.
//!
//! Every answer holds what the matching `ironchain ... --json` command prints, with the same
//! rule codes:
//! - [`rules`]: which chain's rules to check against: a built-in chain by name, or the rules a
//!   node serves (`GET /params`, the byte layout of [`ironchain_core::params::encoding`]).
//! - [`headers`]: verify a file of 80-byte headers from genesis or after a checkpoint
//!   (`headers verify`), and its per-retarget-period statistics (`headers stats`).
//! - [`proof`]: check an inclusion proof document (`check-proof`).
//! - [`info`]: the hash, target, difficulty and work of one header.
//!
//! ```
//! use ironchain_wasm::{headers, rules};
//!
//! // Bitcoin's first two headers, hex, one a line, as `headers verify` reads them.
//! let file = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c
//! 010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c3540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299";
//! let bitcoin = rules::named("bitcoin")?;
//! let report = headers::verify(&bitcoin, file.as_bytes(), None, 1_800_000_000)?;
//! assert!(report.ok);
//! assert_eq!((report.verified, report.height), (2, Some(1)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod error;
#[cfg(target_arch = "wasm32")]
pub mod exports;
pub mod headers;
pub mod info;
pub mod kernel;
pub mod proof;
pub mod rules;

pub use error::InputError;

/// The committed WebAssembly module (`module/ironchain.wasm`), built from this crate by
/// `build-module.sh`; the node serves it at `/explorer/ironchain.wasm`. CI rebuilds it from
/// source and fails if a byte differs, so it cannot be stale.
#[cfg(not(target_arch = "wasm32"))]
pub const MODULE: &[u8] = include_bytes!("../module/ironchain.wasm");

/// The ES module a page imports to load and call [`MODULE`] (`module/ironchain.js`); the node
/// serves it at `/explorer/ironchain.js`.
#[cfg(not(target_arch = "wasm32"))]
pub const GLUE: &str = include_str!("../module/ironchain.js");
