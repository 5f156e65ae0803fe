// ironchain explorer: a small page over the node's JSON API. No framework, no network beyond
// this node. Routes: #/ (chain, charts, peers, header stats) and #/block/<height-or-hash>.
"use strict";

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `${path}: HTTP ${response.status}`);
  return body;
}

// --- Proof of work arithmetic (BigInt), as crates/core/src/pow.rs does it. ---

// Decodes a compact `bits` value (hex text, as the API shows it) into a target.
function targetFromBits(bitsHex) {
  const bits = parseInt(bitsHex, 16);
  const size = bits >>> 24;
  let word = BigInt(bits & 0x007fffff);
  if (size <= 3) return word >> BigInt(8 * (3 - size));
  return word << BigInt(8 * (size - 3));
}

// The value of a hash shown byte-reversed (as the API shows it) is its hex read big-endian.
const hashValue = (hashHex) => BigInt("0x" + hashHex);

function difficulty(target, limit) {
  // limit / target as a float, keeping 6 significant digits of the quotient.
  if (target === 0n) return Infinity;
  const scaled = (limit * 1000000n) / target;
  return Number(scaled) / 1e6;
}

const short = (hash) => hash.slice(0, 8) + "…" + hash.slice(-8);
const when = (seconds) => new Date(seconds * 1000).toISOString().replace("T", " ").replace(".000Z", " UTC");

// --- State shared by the views. ---

const state = { status: null, verification: null, powLimit: null, lastTip: null, lastVerdict: null };

async function loadPowLimit() {
  if (state.powLimit !== null) return state.powLimit;
  const genesis = await api("/blocks/0");
  state.powLimit = targetFromBits(genesis.bits);
  return state.powLimit;
}

// --- The status panel, refreshed every two seconds. ---

async function refresh() {
  try {
    const [status, verification] = await Promise.all([api("/status"), api("/verification")]);
    state.status = status;
    state.verification = verification;
    $("#live").classList.remove("stale");
    $("#chain-name").textContent = `${status.chain} chain`;
    const rows = [
      ["height", status.height],
      ["tip", el("a", { href: `#/block/${status.tip}`, class: "mono" }, status.tip)],
      ["total work", el("span", { class: "mono" }, status.work)],
      ["peers", status.peers],
      ["pending records", status.pending_records],
      ["mining", status.mining ? `yes, ${(status.hash_rate / 1e6).toFixed(2)} MH/s` : "no"],
    ];
    $("#status").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    const box = $("#verification");
    if (verification.ok) {
      box.className = "verification ok";
      box.textContent = `Local chain verified: every block from genesis to ${verification.height} is valid.`;
    } else {
      box.className = "verification bad";
      box.textContent = `Local chain INVALID at block ${verification.height}: ${verification.message}`;
    }
    // Redraw the list when the chain grows or the verdict changes (a block found tampered).
    const verdict = verification.ok ? "ok" : `${verification.height}`;
    if (state.lastTip !== status.tip || state.lastVerdict !== verdict) {
      state.lastTip = status.tip;
      state.lastVerdict = verdict;
      if (currentRoute().name === "home") await renderHome(false);
    }
  } catch (error) {
    $("#live").classList.add("stale");
    $("#live").textContent = "offline: " + error.message;
    return;
  }
  $("#live").textContent = "live";
}

// --- Routing. ---

function currentRoute() {
  const match = location.hash.match(/^#\/block\/(.+)$/);
  return match ? { name: "block", id: decodeURIComponent(match[1]) } : { name: "home" };
}

async function route() {
  const r = currentRoute();
  try {
    if (r.name === "block") await renderBlock(r.id);
    else await renderHome(true);
  } catch (error) {
    $("#view").replaceChildren(el("section", { class: "card" }, el("h2", {}, "Error"), error.message));
  }
}

// --- Home: blocks, charts, peers, header-file stats. ---

const homeState = { from: null };

function tamperedHeight() {
  const v = state.verification;
  return v && !v.ok ? v.height : null;
}

async function renderHome(resetPage) {
  if (resetPage) homeState.from = null;
  const limit = 20;
  const query = homeState.from === null ? `limit=${limit}` : `from=${homeState.from}&limit=${limit}`;
  const [page, limitTarget, history, peers] = await Promise.all([
    api(`/blocks?${query}`),
    loadPowLimit(),
    api(`/blocks?from=0&limit=500`).then(async (first) => {
      // Charts cover the latest 500 blocks.
      const from = Math.max(0, first.tip - 499);
      return from === 0 ? first : api(`/blocks?from=${from}&limit=500`);
    }),
    api("/peers"),
  ]);
  const bad = tamperedHeight();
  const rows = page.blocks.slice().reverse().map((b) => {
    const target = targetFromBits(b.bits);
    const row = el("tr", { class: b.height === bad ? "tampered" : "", "data-height": b.height },
      el("td", {}, b.height),
      el("td", {}, el("a", { href: `#/block/${b.height}`, class: "hash-short" }, short(b.hash))),
      el("td", { class: "wide" }, when(b.time)),
      el("td", {}, b.records),
      el("td", {}, difficulty(target, limitTarget).toFixed(2)),
    );
    if (b.height === bad) row.title = state.verification.message;
    return row;
  });
  const first = page.blocks.length ? page.blocks[0].height : 0;
  const pager = el("div", { class: "pager" },
    el("button", { onclick: () => { homeState.from = Math.max(0, first - limit); renderHome(false); } }, "older"),
    el("button", { onclick: () => { homeState.from = null; renderHome(false); } }, "latest"),
  );
  const blocksCard = el("section", { class: "card" },
    el("h2", {}, "Blocks"),
    el("table", { id: "blocks" },
      el("thead", {}, el("tr", {}, el("th", {}, "height"), el("th", {}, "hash"),
        el("th", { class: "wide" }, "time"), el("th", {}, "records"), el("th", {}, "difficulty"))),
      el("tbody", {}, rows)),
    pager);
  const points = history.blocks;
  // The gap between genesis (made once, long ago) and block 1 says nothing about retargeting.
  const blockTimes = points.slice(1).map((b, i) => [b.height, b.time - points[i].time])
    .filter(([height]) => height > 1);
  const difficulties = points.map((b) => [b.height, difficulty(targetFromBits(b.bits), limitTarget)]);
  const charts = el("section", { class: "card" },
    el("h2", {}, "Retargeting at work"),
    el("div", { class: "charts" },
      chart("Seconds between blocks", blockTimes, "block-time-chart"),
      chart("Difficulty (1 = easiest)", difficulties, "difficulty-chart")));
  const peerRows = peers.map((p) => el("tr", {},
    el("td", { class: "mono" }, short(p.peer_id)), el("td", { class: "mono" }, p.address),
    el("td", { class: "wide" }, p.outbound ? "outbound" : "inbound"),
    el("td", {}, p.rtt_ms == null ? "" : `${p.rtt_ms.toFixed(1)} ms`)));
  const peersCard = el("section", { class: "card" }, el("h2", {}, `Peers (${peers.length})`),
    peers.length ? el("table", { id: "peers" }, el("tbody", {}, peerRows)) : "No peers connected.");
  $("#view").replaceChildren(blocksCard, charts, peersCard, headerStatsCard());
}

// A line chart of [x, y] points as inline SVG.
function chart(title, points, id) {
  const width = 500, height = 180, pad = 28;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("id", id);
  if (points.length) {
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1];
    const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys) || 1];
    const sx = (x) => pad + ((x - x0) / Math.max(1, x1 - x0)) * (width - 2 * pad);
    const sy = (y) => height - pad - ((y - y0) / Math.max(1e-9, y1 - y0)) * (height - 2 * pad);
    const path = document.createElementNS(svg.namespaceURI, "polyline");
    path.setAttribute("points", points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" "));
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "#3b5bdb");
    path.setAttribute("stroke-width", "1.5");
    svg.append(path);
    const label = (text, x, y, anchor) => {
      const t = document.createElementNS(svg.namespaceURI, "text");
      t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("font-size", "11");
      t.setAttribute("text-anchor", anchor); t.setAttribute("fill", "#667085");
      t.textContent = text;
      svg.append(t);
    };
    label(String(x0), pad, height - 8, "start");
    label(String(x1), width - pad, height - 8, "end");
    label(Number(y1.toPrecision(3)).toString(), 4, pad - 8, "start");
  }
  return el("div", { class: "chart" }, el("h3", {}, title), svg);
}

// --- Header-file stats: the same retarget chart for a file of real headers. ---

function headerStatsCard() {
  const output = el("div", { id: "header-stats" });
  const input = el("input", { type: "file", id: "header-file" });
  const start = el("input", { type: "number", id: "header-start", placeholder: "start height (if not in the file)", min: "0" });
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    output.textContent = "computing...";
    try {
      const query = start.value ? `?start_height=${encodeURIComponent(start.value)}` : "";
      const stats = await api(`/headers/stats${query}`, { method: "POST", body: await file.arrayBuffer() });
      renderHeaderStats(output, stats);
    } catch (error) {
      output.textContent = "error: " + error.message;
    }
  });
  return el("section", { class: "card" },
    el("h2", {}, "Bitcoin truth: difficulty per retarget period of a header file"),
    el("p", {}, "Pick a file of Bitcoin headers (raw 80-byte or hex lines) to chart each period's span and difficulty."),
    input, " ", start, output);
}

function renderHeaderStats(output, stats) {
  const periods = stats.periods || [];
  const spans = periods.map((p) => [p.first_height, p.span_seconds / 86400]);
  const diffs = periods.map((p) => [p.first_height, p.difficulty]);
  const rows = periods.map((p) => el("tr", {},
    el("td", {}, `${p.first_height}–${p.last_height}`),
    el("td", {}, (p.span_seconds / 86400).toFixed(2)),
    el("td", { class: "mono" }, p.bits),
    el("td", { class: "mono" }, p.expected_next_bits ?? ""),
    el("td", { class: "mono" }, p.actual_next_bits ?? ""),
    el("td", {}, p.matches == null ? "" : p.matches ? "yes" : "NO"),
    el("td", {}, Number(p.difficulty.toPrecision(6)))));
  output.replaceChildren(
    el("div", { class: "charts" },
      chart("Days per period (target 14)", spans, "header-span-chart"),
      chart("Difficulty", diffs, "header-difficulty-chart")),
    el("table", { id: "header-periods" },
      el("thead", {}, el("tr", {}, ...["heights", "days", "bits", "expected next", "actual next", "match", "difficulty"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)));
}

// --- A block's page. ---

async function renderBlock(id) {
  const [block, limitTarget] = await Promise.all([api(`/blocks/${encodeURIComponent(id)}`), loadPowLimit()]);
  const target = targetFromBits(block.bits);
  const hash = hashValue(block.hash);
  const bad = tamperedHeight() === block.height;
  const zeros = block.hash.match(/^0*/)[0].length;
  const powText = el("div", { class: "pow" },
    el("div", {}, "hash   ", el("span", { class: "zero" }, block.hash.slice(0, zeros)), block.hash.slice(zeros)),
    el("div", {}, "target ", target.toString(16).padStart(64, "0")));
  // Positions on a log2 scale from 2^256 (left) down: smaller is further right.
  const position = (value) => `${(100 * (256 - Math.max(0, value.toString(2).length))) / 256}%`;
  const bar = el("div", { class: "powbar" },
    el("div", { class: "mark target", style: `left:${position(target)}` }, el("span", {}, "target")),
    el("div", { class: "mark hash", style: `left:${position(hash)}` }, el("span", {}, "hash")));
  const fields = [
    ["height", block.height],
    ["hash", el("span", { class: "mono" }, block.hash)],
    ["previous", el("a", { href: `#/block/${block.prev}`, class: "mono" }, block.prev)],
    ["merkle root", el("span", { class: "mono" }, block.merkle_root)],
    ["time", `${when(block.time)} (${block.time})`],
    ["bits", el("span", { class: "mono" }, block.bits)],
    ["difficulty", difficulty(target, limitTarget).toFixed(4)],
    ["nonce", block.nonce],
    ["meets target", hash <= target ? "yes" : "NO"],
  ];
  const records = (block.record_data || []).map((record, index) => {
    const result = el("div", { class: "proof" });
    const check = el("button", { onclick: () => checkProof(block, index, record, result) }, "inclusion proof");
    return el("div", { class: "record", "data-index": index },
      el("div", {}, el("strong", {}, `#${index} `), record.text ?? el("span", { class: "mono" }, record.hex)),
      check, result);
  });
  $("#view").replaceChildren(
    el("section", { class: "card" + (bad ? " tampered" : "") },
      el("h2", {}, `Block ${block.height}`),
      bad ? el("div", { class: "verification bad", id: "block-invalid" }, `This block is invalid: ${state.verification.message}`) : "",
      el("dl", {}, fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]))),
    el("section", { class: "card" },
      el("h2", {}, "Proof of work"),
      el("p", {}, `The hash, read as a number, must be at most the target. It has ${zeros * 4}+ leading zero bits.`),
      powText, bar),
    el("section", { class: "card", id: "records" }, el("h2", {}, `Records (${block.records})`), records));
}

// Fetches a record's inclusion proof and checks it here, in the browser, with SHA-256.
async function checkProof(block, index, record, result) {
  try {
    const proof = await api(`/blocks/${block.height}/records/${index}/proof`);
    const ok = await verifyInclusion(proof.record_hex, proof.proof, proof.merkle_root);
    result.className = "proof " + (ok ? "ok" : "bad");
    result.textContent = `${ok ? "verified" : "DOES NOT VERIFY"}: ${proof.proof.path.length} hashes lead from the record to merkle root ${short(proof.merkle_root)}`;
  } catch (error) {
    result.className = "proof bad";
    result.textContent = error.message;
  }
}

const fromHex = (hex) => new Uint8Array(hex.match(/../g)?.map((b) => parseInt(b, 16)) ?? []);
const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
async function sha256(...parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const part of parts) { data.set(part, at); at += part.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

// RFC 9162 section 2.1.3.2, as crates/core/src/merkle.rs.
async function verifyInclusion(recordHex, proof, rootShown) {
  let index = BigInt(proof.leaf_index), last = BigInt(proof.tree_size) - 1n;
  let hash = await sha256(new Uint8Array([0]), fromHex(recordHex));
  for (const siblingHex of proof.path) {
    const sibling = fromHex(siblingHex);
    if (last === 0n) return false;
    if ((index & 1n) === 1n || index === last) {
      hash = await sha256(new Uint8Array([1]), sibling, hash);
      while ((index & 1n) === 0n && index !== 0n) { index >>= 1n; last >>= 1n; }
    } else {
      hash = await sha256(new Uint8Array([1]), hash, sibling);
    }
    index >>= 1n; last >>= 1n;
  }
  // The API shows roots byte-reversed, as Bitcoin shows hashes.
  return last === 0n && toHex(hash.slice().reverse()) === rootShown;
}

window.addEventListener("hashchange", route);
refresh().then(route);
setInterval(refresh, 2000);
