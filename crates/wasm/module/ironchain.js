// ironchain's consensus rules in the browser: the glue between a page and ironchain.wasm.
//
// The module is ironchain's Rust core compiled to WebAssembly (crates/wasm); this file only moves
// bytes in and JSON out, and holds no rule of its own. An ES module with no dependencies, served
// by the node next to the explorer (/explorer/ironchain.js, /explorer/ironchain.wasm).
//
//   import { load } from "/explorer/ironchain.js";
//   const ic = await load("/explorer/ironchain.wasm");    // or the module's bytes
//   ic.useChain("bitcoin");                                // or ic.useRules(bytesOfGetParams)
//   const report = ic.verifyHeaders(fileBytes);            // what `headers verify --json` prints
//
// Every method returns the JSON answer as an object, and throws an Error whose message says
// what is wrong with the input (not a header file, unknown chain, ...). An invalid header or
// proof is not an error: it is in the answer (`ok: false` and `invalid`, `valid: false`).

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Loads the module from a URL (or a fetch Response) or from its bytes. */
export async function load(source) {
  if (!simdSupported()) {
    throw new Error(
      "this browser cannot run WebAssembly SIMD (simd128), which the ironchain module needs: " +
        "use Chrome 91, Firefox 89, Safari 16.4 or later",
    );
  }
  let instance;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    ({ instance } = await WebAssembly.instantiate(source, {}));
  } else {
    const response = source instanceof Response ? source : await fetch(source);
    if (!response.ok) {
      throw new Error(`cannot load the ironchain module: HTTP ${response.status}`);
    }
    ({ instance } = await WebAssembly.instantiate(await response.arrayBuffer(), {}));
  }
  return new Ironchain(instance.exports);
}

/** True if this engine validates a tiny module that uses a simd128 instruction. */
export function simdSupported() {
  // (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt))
  const probe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253,
    15, 253, 98, 11,
  ]);
  return WebAssembly.validate(probe);
}

function parseDocument(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`not a proof from \`ironchain prove\`: ${e.message}`);
  }
}

/** Bytes of a hex string, or an Error naming `what` is not hex. */
function fromHex(hex, what) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error(`not a proof from \`ironchain prove\`: ${what} is not hex`);
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(2 * i, 2), 16);
  return bytes;
}

/** One instance of the module: the rules chosen last apply to the calls after. */
class Ironchain {
  #x;

  constructor(exports) {
    this.#x = exports;
  }

  /** Chooses a built-in chain's rules ("bitcoin", "demo", "regtest"); returns them. */
  useChain(name) {
    return this.#call(encoder.encode(name), () => this.#x.ic_use_chain());
  }

  /** Chooses the rules a node serves (the bytes of its GET /params); returns them. */
  useRules(bytes) {
    return this.#call(bytes, () => this.#x.ic_use_rules());
  }

  /**
   * Verifies a header file (raw 80-byte headers, or hex lines with an optional height line) as
   * `ironchain headers verify --json` does: { ok, chain, headers_in_file, start_height, verified,
   * height, tip, total_work, invalid: null | { height, hash, rule, message }, seconds }.
   * A startHeight above 0 makes the first header a checkpoint; `now` is the clock (Unix seconds)
   * the future-time rule checks against.
   */
  verifyHeaders(bytes, { startHeight = -1, now = Math.floor(Date.now() / 1000) } = {}) {
    const started = performance.now();
    const report = this.#call(bytes, () => this.#x.ic_verify_headers(startHeight, now));
    report.seconds = (performance.now() - started) / 1000;
    return report;
  }

  /** Per-retarget-period statistics, as `ironchain headers stats --json` prints them. */
  headerStats(bytes, { startHeight = -1 } = {}) {
    return this.#call(bytes, () => this.#x.ic_header_stats(startHeight));
  }

  /**
   * Checks an inclusion proof document (the JSON `ironchain prove` prints and the API serves, as
   * text or as an object) as `ironchain check-proof --json` does: { valid, block_hash, error }.
   * This glue only takes the document apart (JSON and hex); the module does the checking.
   */
  checkProof(document) {
    const doc = typeof document === "string" ? parseDocument(document) : document;
    const proof = doc?.proof;
    if (typeof doc?.header !== "string" || typeof doc?.record !== "string" || !proof ||
        !Array.isArray(proof.path) || !Number.isInteger(proof.leaf_index) ||
        !Number.isInteger(proof.tree_size)) {
      throw new Error(
        "not a proof from `ironchain prove`: it needs header, record and " +
          "proof { leaf_index, tree_size, path }",
      );
    }
    const header = fromHex(doc.header, "the header");
    const record = fromHex(doc.record, "the record");
    const input = new Uint8Array(header.length + 4 + record.length + 32 * proof.path.length);
    input.set(header, 0);
    new DataView(input.buffer).setUint32(header.length, record.length, true);
    input.set(record, header.length + 4);
    proof.path.forEach((hash, i) => {
      const bytes = fromHex(hash, "an audit path hash");
      if (bytes.length !== 32) throw new Error("not a proof: an audit path hash is not 32 bytes");
      input.set(bytes, header.length + 4 + record.length + 32 * i);
    });
    return this.#call(input, () => this.#x.ic_check_proof(proof.leaf_index, proof.tree_size));
  }

  /**
   * One header's proof of work under the chosen rules: { header, hash, target, bad_target,
   * difficulty_one, difficulty, work, meets_target, within_limit, hash_leading_zero_bits }.
   * The header is 80 bytes, or 160 hex digits.
   */
  headerInfo(header) {
    const bytes = typeof header === "string" ? encoder.encode(header) : header;
    return this.#call(bytes, () => this.#x.ic_header_info());
  }

  /** Checks this module's hashing kernels against the portable reference. */
  checkKernels(seed = 1) {
    return this.#call(new Uint8Array(0), () => this.#x.ic_check_kernels(seed));
  }

  /** Copies `bytes` into the module, runs `op` and returns its answer, or throws its error. */
  #call(bytes, op) {
    const input = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    const at = this.#x.ic_input(input.length);
    new Uint8Array(this.#x.memory.buffer, at, input.length).set(input);
    const status = op();
    const out = new Uint8Array(
      this.#x.memory.buffer,
      this.#x.ic_output_ptr(),
      this.#x.ic_output_len(),
    );
    const text = decoder.decode(out);
    if (status !== 0) {
      throw new Error(text);
    }
    return JSON.parse(text);
  }
}
