//! Headers verified per second: the committed WebAssembly module in Node beside native core on
//! one thread, on the same Bitcoin mainnet files in the same run, printed as ratios (the goal:
//! the module at 0.3 x native or better), with the module's size against its 200 KB budget.
//!
//! `cargo bench -p ironchain-wasm` (needs `node`). Each figure is the median of `RUNS` runs after
//! `WARMUP` unmeasured ones (V8 compiles the module in tiers), with the best beside it, timed in
//! CPU time (Linux's per-thread `schedstat` natively, `process.cpuUsage()` in Node): on a
//! shared machine a run of the module takes tens of milliseconds, long enough to lose the CPU to
//! other work, while a native run fits between interruptions, so wall-clock medians compared
//! waiting, not code. (Where `schedstat` is missing, both sides fall back to wall time.) Native
//! core uses the kernel it detects; `IRONCHAIN_SHA256=sha-ni` (or `portable`) compares against
//! another.

#[path = "../tests/node/mod.rs"]
mod node;

use std::time::Instant;

use ironchain_core::ChainParams;
use ironchain_core::header::HeaderFile;
use ironchain_core::sha256d::Backend;
use ironchain_wasm::headers;

const RUNS: usize = 25;
const WARMUP: usize = 5;
const NOW: u32 = 1_800_000_000;
const BUDGET: usize = 200 * 1024;

/// Verifies each file `RUNS` times and prints the headers per second, as JSON:
/// `[[median, best], ...]` in file order.
const SCRIPT: &str = r#"
import { readFileSync } from "node:fs";
const [glue, module, warmup, runs, clock, ...files] = process.argv.slice(2);
const useCpu = clock === "cpu";
const { load } = await import(glue);
const ic = await load(readFileSync(module));
ic.useChain("bitcoin");
const out = [];
for (const spec of files) {
  const [path, start] = spec.split("@");
  const bytes = new Uint8Array(readFileSync(path));
  const rates = [];
  for (let i = -Number(warmup); i < Number(runs); i++) {
    const before = process.cpuUsage();
    const report = ic.verifyHeaders(bytes, { startHeight: Number(start), now: 1800000000 });
    const cpu = process.cpuUsage(before);
    if (!report.ok) throw new Error(`${path} did not verify`);
    const seconds = useCpu ? (cpu.user + cpu.system) / 1e6 : report.seconds;
    if (i >= 0) rates.push(bytes.length / 80 / seconds);
  }
  rates.sort((a, b) => a - b);
  out.push([rates[rates.length >> 1], rates[rates.length - 1]]);
}
process.stdout.write(JSON.stringify(out));
"#;

fn main() {
    let data = node::crate_dir().join("../../tests/data");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let bitcoin = ChainParams::bitcoin();
    let files = [
        (
            "mainnet 0..9,999 from genesis",
            "btc_blockheaders_mainnet_0_10000.txt",
            0u64,
        ),
        (
            "mainnet 80,001..100,000 from a checkpoint",
            "bh80_100k.txt",
            80_001,
        ),
    ];
    let mut specs = Vec::new();
    let mut native = Vec::new();
    for (i, (_, name, start)) in files.iter().enumerate() {
        let text = std::fs::read(data.join(name)).expect("tests/data is in the repository");
        let raw = HeaderFile::parse(&text)
            .expect("a header file")
            .headers
            .as_flattened()
            .to_vec();
        let path = dir.path().join(format!("{i}.bin"));
        std::fs::write(&path, &raw).expect("writable");
        specs.push(format!("{}@{start}", path.display()));
        let verify = || {
            let report = headers::verify(&bitcoin, &raw, Some(*start), NOW).expect("headers");
            assert!(report.ok, "{name} verifies");
        };
        // A native run is a millisecond or two, finer than `schedstat` updates while a thread
        // runs: each sample repeats it for about a quarter of a second.
        let started = Instant::now();
        verify();
        let reps = (0.25 / started.elapsed().as_secs_f64()).ceil().max(1.0) as usize;
        let mut rates: Vec<f64> = (0..WARMUP + RUNS)
            .map(|_| {
                let (started, cpu) = (Instant::now(), cpu_seconds());
                (0..reps).for_each(|_| verify());
                let seconds = match (cpu, cpu_seconds()) {
                    (Some(before), Some(after)) => after - before,
                    _ => started.elapsed().as_secs_f64(),
                };
                (reps * raw.len() / 80) as f64 / seconds
            })
            .skip(WARMUP)
            .collect();
        rates.sort_by(f64::total_cmp);
        native.push((rates[RUNS / 2], rates[RUNS - 1]));
    }

    let module = node::module_path();
    let size = std::fs::metadata(&module)
        .expect("the committed module")
        .len() as usize;
    println!(
        "module: {size} bytes ({:.0} KB; budget {} KB: {})",
        size as f64 / 1024.0,
        BUDGET / 1024,
        if size <= BUDGET { "within" } else { "OVER" }
    );
    println!(
        "native core: one thread, kernel {}; module: simd128 kernel, in Node",
        Backend::detect()
    );
    if !node::available("the wasm bench") {
        return;
    }
    let mut args = vec![
        node::glue_url(),
        module.display().to_string(),
        WARMUP.to_string(),
        RUNS.to_string(),
        if cpu_seconds().is_some() {
            "cpu"
        } else {
            "wall"
        }
        .to_owned(),
    ];
    args.extend(specs);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = node::run(dir.path(), SCRIPT, &args);
    let wasm: Vec<(f64, f64)> = serde_json::from_str(&out).expect("the script prints JSON");

    println!(
        "{:<44} {:>16} {:>16} {:>14}",
        format!(
            "headers/s, {} time (median / best of {RUNS})",
            if cpu_seconds().is_some() {
                "CPU"
            } else {
                "wall"
            }
        ),
        "native 1 thread",
        "wasm in Node",
        "wasm/native"
    );
    for ((label, _, _), ((n_med, n_best), (w_med, w_best))) in
        files.iter().zip(native.iter().zip(&wasm))
    {
        println!(
            "{label:<44} {:>7.2} / {:>5.2} M {:>7.2} / {:>5.2} M {:>6.2} / {:>5.2} x",
            n_med / 1e6,
            n_best / 1e6,
            w_med / 1e6,
            w_best / 1e6,
            w_med / n_med,
            w_best / n_best,
        );
    }
    let (w_med, w_best) = wasm[1];
    // The mainnet files are 10,000 and 20,000 headers: the first 100,000 are not in tests/data.
    println!(
        "100,000 headers at the module's rate on the 80,001..100,000 file: {:.3} s (median), \
         {:.3} s (best)",
        1e5 / w_med,
        1e5 / w_best
    );
    println!("Chromium: not measured by this bench (see the README).");
}

/// This thread's CPU time in seconds (Linux: the first field of `schedstat`, nanoseconds).
fn cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}
