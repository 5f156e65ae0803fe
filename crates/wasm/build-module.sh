#!/usr/bin/env bash
# Builds module/ironchain.wasm from this crate's source (and core's), the same bytes on every
# machine with the same Rust toolchain: no debug info, and the paths rustc embeds in panic
# locations rewritten to fixed names (the checkout and cargo's registry live in different
# places on different machines).
#
#   crates/wasm/build-module.sh            rebuild the committed module (commit the result)
#   crates/wasm/build-module.sh OUT.wasm   build elsewhere (CI and the freshness test compare)
#
# Needs the target once: rustup target add wasm32-unknown-unknown
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/crates/wasm/module/ironchain.wasm}
# Its own target directory: different flags than native builds, and no wait on a cargo lock a
# running `cargo test` may hold.
target_dir=${CARGO_TARGET_DIR:-$root/target}/wasm-module
cargo_home=${CARGO_HOME:-$HOME/.cargo}
unset CARGO_ENCODED_RUSTFLAGS
# simd128: the 4-lane SHA-256 kernel (core's sha256d/simd128.rs). Every browser since 2021
# (Chrome 91, Firefox 89, Safari 16.4) and Node 17 run it.
export RUSTFLAGS="-C target-feature=+simd128 --remap-path-prefix=$root=/ironchain --remap-path-prefix=$cargo_home=/cargo"
cargo build --quiet --locked --profile wasm --target wasm32-unknown-unknown \
  -p ironchain-wasm --target-dir "$target_dir"
cp "$target_dir/wasm32-unknown-unknown/wasm/ironchain_wasm.wasm" "$out"
