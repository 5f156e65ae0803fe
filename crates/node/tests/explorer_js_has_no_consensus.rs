//! The explorer's JavaScript holds no consensus arithmetic of its own: proof of work, targets,
//! work, hashing and merkle walks are computed by the WebAssembly build of core
//! (`/explorer/ironchain.js` and `.wasm`, crates/wasm), so the page and the node cannot
//! disagree about a rule. This reads every `.js` under `src/explorer` and fails on the marks such
//! code leaves: 256-bit `BigInt` arithmetic, WebCrypto hashing, compact-target masks.

use std::path::Path;

/// Marks of consensus code in JavaScript, each with what it betrays.
const MARKS: &[(&str, &str)] = &[
    (
        "BigInt",
        "256-bit arithmetic (targets, work, hashes as numbers)",
    ),
    (
        "crypto.subtle",
        "hashing in JavaScript (block hashes, merkle nodes)",
    ),
    ("SHA-256", "hashing in JavaScript"),
    ("0x007fffff", "decoding compact targets (the mantissa mask)"),
    ("0x00ffffff", "decoding compact targets"),
    ("leaf_index &", "walking a merkle audit path"),
];

/// Returns `(line number, line)` of every line of `text` with a `BigInt` literal (`1n`, `0n`).
fn bigint_literals(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or("");
            code.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|word| {
                    word.strip_suffix('n').is_some_and(|digits| {
                        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
                    })
                })
        })
        .map(|(number, line)| (number + 1, line))
        .collect()
}

// Ignored until the page uses the module (issue 17, parts 2 and 3): today's app.js still decodes
// targets with BigInt and walks proofs on WebCrypto, so this fails on it, as it should. The page
// integration removes that code and this `#[ignore]`.
#[test]
#[ignore = "passes once the explorer page calls the WebAssembly module (issue 17, part 2)"]
fn the_explorers_javascript_has_no_consensus_arithmetic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/explorer");
    let mut found = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("src/explorer exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|ext| ext != "js") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).expect("JavaScript is UTF-8");
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        for (number, line) in text.lines().enumerate() {
            // Code only: a comment may name what the module does.
            let code = line.split("//").next().unwrap_or("");
            for (mark, what) in MARKS {
                if code.contains(mark) {
                    found.push(format!("{name:?}:{}: {what}: {}", number + 1, line.trim()));
                }
            }
        }
        for (number, line) in bigint_literals(&text) {
            found.push(format!(
                "{name:?}:{number}: a BigInt literal: {}",
                line.trim()
            ));
        }
    }
    assert!(files > 0, "no JavaScript found in {}", dir.display());
    assert!(
        found.is_empty(),
        "the explorer computes consensus values itself; call the module instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_marks_catch_the_arithmetic_they_name() {
    // The test above can fail: these lines are from the explorer before the module.
    let old = "if (target === 0n) return Infinity;\nconst s = (limit * 1000000n) / target;";
    assert_eq!(bigint_literals(old).len(), 2);
    assert!(bigint_literals("const done = 10; // 5n in a comment\nlet fn1n = 2;").is_empty());
}
