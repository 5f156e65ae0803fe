//! The WebAssembly build and native core agree: on Bitcoin mainnet's headers (tests/data), on
//! many damaged copies of them (changed bytes, truncations, swapped headers) and on randomly
//! mined ironchain chains, the module in Node gives the same answer as the same operation run
//! natively, field for field: count, tip, work, the first invalid height, its rule and message.
//!
//! The damage is drawn from a seed (printed; `IRONCHAIN_DIFF_SEED=N` replays a run, and
//! `IRONCHAIN_DIFF_CASES=N` draws N damaged copies per file instead of 40). Each case is sent to
//! Node as a description (which file, which bytes to change), so only the base files are written.

mod node;

use std::path::Path;

use ironchain_core::chain::unix_now;
use ironchain_core::miner::MineControl;
use ironchain_core::params::encoding::encode_params;
use ironchain_core::{Blockchain, ChainParams, merkle::InclusionProof};
use ironchain_wasm::{headers, info, proof, rules};
use serde_json::{Value, json};

/// The runner: applies each case's damage to its base file, runs the operation in the module,
/// and prints one JSON answer (or `{"error": message}`) per case, as a JSON array.
const RUNNER: &str = r#"
import { readFileSync } from "node:fs";
const [glue, module, jobPath] = process.argv.slice(2);
const { load } = await import(glue);
const ic = await load(readFileSync(module));
const job = JSON.parse(readFileSync(jobPath, "utf8"));
const bases = job.bases.map((path) => new Uint8Array(readFileSync(path)));
const rules = new Map();
const answers = [];
for (const c of job.cases) {
  try {
    if (c.chain) ic.useChain(c.chain);
    if (c.rules) ic.useRules(readFileSync(c.rules));
    let bytes = bases[c.base].slice();
    for (const [at, mask] of c.flips) bytes[at] ^= mask;
    if (c.swap) {
      const [i, j] = c.swap;
      const a = bytes.slice(80 * i, 80 * i + 80);
      bytes.copyWithin(80 * i, 80 * j, 80 * j + 80);
      bytes.set(a, 80 * j);
    }
    if (c.cut !== null) bytes = bytes.slice(0, c.cut);
    let answer;
    if (c.op === "verify") {
      answer = ic.verifyHeaders(bytes, { startHeight: c.start ?? -1, now: job.now });
      delete answer.seconds;
    } else if (c.op === "stats") {
      answer = ic.headerStats(bytes, { startHeight: c.start ?? -1 });
    } else if (c.op === "info") {
      answer = ic.headerInfo(bytes);
    } else if (c.op === "proof") {
      answer = ic.checkProof(new TextDecoder().decode(bytes));
    }
    answers.push(answer);
  } catch (e) {
    answers.push({ error: e.message });
  }
}
process.stdout.write(JSON.stringify(answers));
"#;

/// One case: an operation on a base file after some damage.
#[derive(Debug, Clone, serde::Serialize)]
struct Case {
    op: &'static str,
    base: usize,
    /// A built-in chain's name, or…
    chain: Option<&'static str>,
    /// …the path of a node's encoded rules.
    rules: Option<String>,
    start: Option<u64>,
    /// `(offset, xor mask)`: bytes to change, in order.
    flips: Vec<(usize, u8)>,
    /// Two headers to swap, by index.
    swap: Option<(usize, usize)>,
    /// Where to cut the file, after the other damage.
    cut: Option<usize>,
}

impl Case {
    fn new(op: &'static str, base: usize) -> Self {
        Self {
            op,
            base,
            chain: None,
            rules: None,
            start: None,
            flips: Vec::new(),
            swap: None,
            cut: None,
        }
    }

    /// The damaged bytes, made exactly as the runner makes them.
    fn bytes(&self, bases: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = bases[self.base].clone();
        for &(at, mask) in &self.flips {
            bytes[at] ^= mask;
        }
        if let Some((i, j)) = self.swap {
            let a: Vec<u8> = bytes[80 * i..80 * i + 80].to_vec();
            bytes.copy_within(80 * j..80 * j + 80, 80 * i);
            bytes[80 * j..80 * j + 80].copy_from_slice(&a);
        }
        if let Some(cut) = self.cut {
            bytes.truncate(cut);
        }
        bytes
    }

    /// The native answer, as JSON, or `{"error": message}`.
    fn native(&self, bases: &[Vec<u8>], now: u32) -> Value {
        let params = match (&self.chain, &self.rules) {
            (Some(name), _) => rules::named(name),
            (None, Some(path)) => rules::encoded(&std::fs::read(path).expect("written above")),
            (None, None) => Ok(ChainParams::bitcoin()),
        };
        let bytes = self.bytes(bases);
        let answer = params.and_then(|params| match self.op {
            "verify" => headers::verify(&params, &bytes, self.start, now).map(|r| json!(r)),
            "stats" => headers::stats(&params, &bytes, self.start).map(|r| json!(r)),
            "info" => info::header_info(&params, &bytes).map(|r| json!(r)),
            "proof" => proof::check(&bytes).map(|r| json!(r)),
            other => unreachable!("no operation {other}"),
        });
        answer.unwrap_or_else(|error| json!({ "error": error.to_string() }))
    }
}

/// SplitMix64, the damage's dice.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Draws `count` damaged copies of base file `base` (`len` bytes of raw headers).
fn damaged(dice: &mut Dice, template: &Case, len: usize, count: usize) -> Vec<Case> {
    let headers = len / 80;
    (0..count)
        .map(|i| {
            let mut case = template.clone();
            match i % 4 {
                // One to three changed bits or bytes, anywhere.
                0 | 1 => {
                    for _ in 0..=dice.below(3) {
                        let mask = if i % 4 == 0 {
                            1 << dice.below(8)
                        } else {
                            dice.next() as u8 | 1
                        };
                        case.flips.push((dice.below(len), mask));
                    }
                }
                // Two headers swapped: neighbours, or far apart.
                2 => {
                    let i = dice.below(headers - 1);
                    let j = if dice.next().is_multiple_of(2) {
                        i + 1
                    } else {
                        dice.below(headers)
                    };
                    case.swap = Some((i, j.max(i + 1).min(headers - 1)));
                }
                // Cut short: on a header boundary, or anywhere (not a header file any more).
                _ => {
                    let at = dice.below(len);
                    case.cut = Some(if dice.next().is_multiple_of(2) {
                        at - at % 80
                    } else {
                        at
                    });
                }
            }
            case
        })
        .collect()
}

/// Raw 80-byte headers of a hex test file, and the height its first line gives.
fn mainnet(name: &str) -> (Vec<u8>, Option<u64>) {
    let path = node::crate_dir().join("../../tests/data").join(name);
    let text = std::fs::read(&path).expect("tests/data is in the repository");
    let file = ironchain_core::header::HeaderFile::parse(&text).expect("a header file");
    (file.headers.as_flattened().to_vec(), file.start_height)
}

/// Mines a chain of `blocks` blocks under `params`, a second apart on a simulated clock (a
/// random `jitter` in seconds shakes the retargets), and returns it.
fn mined(params: ChainParams, blocks: u32, dice: &mut Dice) -> Blockchain {
    let mut chain = Blockchain::new(params);
    let mut now = chain.tip().header.time;
    for height in 1..=blocks {
        now += 1 + dice.below(3) as u32;
        let records = vec![format!("record of block {height}").into_bytes(); 1 + dice.below(4)];
        chain
            .add_records_at(records, now, &MineControl::new())
            .expect("an easy chain mines");
    }
    chain
}

#[test]
fn module_and_native_core_agree_on_real_and_damaged_headers_and_mined_chains() {
    if !node::available("the differential test") {
        return;
    }
    let seed = std::env::var("IRONCHAIN_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(unix_now()));
    let per_file: usize = std::env::var("IRONCHAIN_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    eprintln!("differential seed {seed} (IRONCHAIN_DIFF_SEED={seed} replays it)");
    let mut dice = Dice(seed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let now = unix_now();

    let mut bases: Vec<Vec<u8>> = Vec::new();
    let mut cases: Vec<Case> = Vec::new();

    // Mainnet: from genesis; from the checkpoint at 30,000 (across the first retarget); and
    // 80,001..100,000 (nine retargets).
    for (name, start) in [
        ("btc_blockheaders_mainnet_0_10000.txt", None),
        ("btc_blockheaders_mainnet_30000_40000.txt", None),
        ("bh80_100k.txt", Some(80_001)),
    ] {
        let (raw, file_start) = mainnet(name);
        let base = bases.len();
        let mut case = Case::new("verify", base);
        case.chain = Some("bitcoin");
        case.start = start.or(file_start);
        cases.push(case.clone());
        let mut stats = case.clone();
        stats.op = "stats";
        cases.push(stats);
        let mut first = Case::new("info", base);
        first.chain = Some("bitcoin");
        first.cut = Some(80);
        cases.push(first);
        cases.extend(damaged(&mut dice, &case, raw.len(), per_file));
        bases.push(raw);
    }

    // Mined chains: the demo chain by name, and chains of the user's own under the rules a node
    // would serve (its encoded params), each intact and damaged.
    let chains = [
        (mined(ChainParams::demo(), 25, &mut dice), None),
        (
            mined(ChainParams::custom("diff-a", 6, 1, 4, 1), 40, &mut dice),
            Some(0),
        ),
        (
            mined(ChainParams::custom("diff-b", 9, 2, 7, 1), 30, &mut dice),
            Some(1),
        ),
    ];
    for (chain, custom) in &chains {
        let raw: Vec<u8> = chain
            .blocks()
            .iter()
            .flat_map(|b| b.header.to_bytes())
            .collect();
        let base = bases.len();
        let mut case = Case::new("verify", base);
        match custom {
            None => case.chain = Some("demo"),
            Some(n) => {
                let path = dir.path().join(format!("rules{n}.bin"));
                std::fs::write(&path, encode_params(chain.params())).expect("writable");
                case.rules = Some(path.display().to_string());
            }
        }
        cases.push(case.clone());
        cases.extend(damaged(&mut dice, &case, raw.len(), per_file / 2));
        bases.push(raw);

        // A proof of a record in a middle block, as `prove` writes it, intact and damaged.
        let height = chain.blocks().len() / 2;
        let block = &chain.blocks()[height];
        let proof = InclusionProof::new(&block.records, 0).expect("every block has records");
        let document = json!({
            "height": height,
            "block_hash": block.block_hash(),
            "header": hex::encode(block.header.to_bytes()),
            "record": hex::encode(&block.records[0]),
            "proof": proof,
        });
        let document = serde_json::to_vec_pretty(&document).expect("JSON");
        let base = bases.len();
        let proof_case = Case::new("proof", base);
        cases.push(proof_case.clone());
        for _ in 0..6 {
            let mut case = proof_case.clone();
            // A changed hex digit (or quote, or brace): an invalid proof or not a document.
            let at = dice.below(document.len());
            case.flips.push((at, 1 << dice.below(3)));
            cases.push(case);
        }
        bases.push(document);
    }

    let mut base_paths = Vec::new();
    for (i, base) in bases.iter().enumerate() {
        let path = dir.path().join(format!("base{i}.bin"));
        std::fs::write(&path, base).expect("writable");
        base_paths.push(path.display().to_string());
    }
    let job = json!({ "bases": base_paths, "cases": cases, "now": now });
    let job_path = dir.path().join("job.json");
    std::fs::write(&job_path, job.to_string()).expect("writable");
    let module = node::module_path();
    let out = node::run(
        dir.path(),
        RUNNER,
        &[&node::glue_url(), &path_str(&module), &path_str(&job_path)],
    );
    let answers: Vec<Value> = serde_json::from_str(&out).expect("the runner prints JSON");
    assert_eq!(answers.len(), cases.len(), "one answer per case");

    let (mut invalid, mut errors) = (0, 0);
    for (case, wasm) in cases.iter().zip(&answers) {
        let native = case.native(&bases, now);
        if case.op == "proof" && native.get("error").is_some() {
            // A document that is not a proof: the glue (JSON, hex) and serde word it
            // differently; both must refuse it.
            assert!(
                wasm.get("error").is_some(),
                "{case:?}: the module took {wasm}"
            );
            errors += 1;
            continue;
        }
        assert_eq!(
            as_numbers_f64(&native),
            as_numbers_f64(wasm),
            "the module and native core disagree (seed {seed}) on {case:?}"
        );
        invalid += usize::from(native["ok"] == json!(false) || native["valid"] == json!(false));
        errors += usize::from(native.get("error").is_some());
    }
    eprintln!(
        "{} cases agree: {invalid} invalid verdicts, {errors} errors for bad input",
        cases.len()
    );
    // The damage must actually have produced verdicts of every kind, or the test proves little.
    assert!(
        invalid >= cases.len() / 4,
        "only {invalid} invalid verdicts"
    );
    assert!(errors > 0, "no damaged file was refused as input");
}

#[test]
fn the_modules_kernels_agree_with_the_portable_reference_lane_by_lane() {
    if !node::available("the kernel check") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let script = r#"
import { readFileSync } from "node:fs";
const [glue, module] = process.argv.slice(2);
const { load } = await import(glue);
const ic = await load(readFileSync(module));
process.stdout.write(JSON.stringify([1, 2, 3].map((seed) => ic.checkKernels(seed))));
"#;
    let module = node::module_path();
    let out = node::run(dir.path(), script, &[&node::glue_url(), &path_str(&module)]);
    let checks: Vec<Value> = serde_json::from_str(&out).expect("JSON");
    for check in checks {
        assert_eq!(check["mismatches"], json!([]), "{check}");
        assert_eq!(check["selected"], json!("simd128"), "{check}");
        assert_eq!(check["backends"], json!(["simd128", "portable"]), "{check}");
        assert!(check["hashes_compared"].as_u64() > Some(1000), "{check}");
    }
}

/// `value` with every number as an `f64`: JavaScript has no other, so the module's `1.0`
/// comes back from the glue as `1` (the comparison of every number stays exact).
fn as_numbers_f64(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.iter().map(as_numbers_f64).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), as_numbers_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn path_str(path: &Path) -> String {
    path.display().to_string()
}
