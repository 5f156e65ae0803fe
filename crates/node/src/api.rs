//! The HTTP API (JSON), for clients and scripts; bound to 127.0.0.1 unless configured otherwise.
//!
//! Reads are open; writes (`POST /records`) need `Authorization: Bearer <token>`, where the token
//! is the content of the cookie file the node writes in its data directory at start (as bitcoind
//! does with `.cookie`): whoever can read the data directory may write. Every error is JSON,
//! `{"code": "...", "message": "..."}`, with a fitting status. Request bodies are limited to the
//! largest record the chain accepts plus a little for JSON. The API is described by the OpenAPI
//! document served at `/openapi.json`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ironchain_core::merkle::InclusionProof;
use ironchain_core::{Block, BlockHash};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::driver::Shared;

/// The API's state: the node's shared state and the write token.
#[derive(Debug, Clone)]
pub(crate) struct ApiState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) token: Arc<str>,
    pub(crate) verification: Arc<tokio::sync::Mutex<Option<CachedVerification>>>,
}

impl ApiState {
    /// Builds the state for a node, with no verification done yet.
    pub(crate) fn new(shared: Arc<Shared>, token: Arc<str>) -> Self {
        Self {
            shared,
            token,
            verification: Arc::default(),
        }
    }
}

/// The last full verification of the stored chain, and what it cost, so `/verification` (polled
/// by the explorer every two seconds) re-reads the whole chain only now and then.
#[derive(Debug, Clone)]
pub(crate) struct CachedVerification {
    at: std::time::Instant,
    took: std::time::Duration,
    tip: BlockHash,
    result: Value,
}

/// An API error: a status, a stable code and a message for humans.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            error.to_string(),
        )
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "code": self.code, "message": self.message }));
        (self.status, body).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// A request axum could not even parse (a body over the limit, a malformed query or path) gets
/// the same JSON error shape as every other failure, not axum's plain-text default.
macro_rules! rejection_to_api_error {
    ($($rejection:ty => $code:literal),* $(,)?) => {$(
        impl From<$rejection> for ApiError {
            fn from(rejection: $rejection) -> Self {
                let status = rejection.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { $code };
                Self::new(status, code, rejection.body_text())
            }
        }
    )*};
}

rejection_to_api_error!(
    axum::extract::rejection::BytesRejection => "bad_body",
    axum::extract::rejection::QueryRejection => "bad_query",
    axum::extract::rejection::PathRejection => "bad_path",
);

/// Room for JSON quoting and field names around the largest record.
const BODY_OVERHEAD: usize = 64 * 1024;

/// Builds the router.
pub(crate) fn router(state: ApiState) -> Router {
    // Hex doubles the size of a record sent in JSON.
    let limit = state.shared.store.max_record_size().saturating_mul(2) + BODY_OVERHEAD;
    Router::new()
        .route("/status", get(status))
        .route("/params", get(params))
        .route("/blocks", get(blocks))
        .route("/blocks/{id}", get(block))
        .route("/blocks/{height}/records/{index}/proof", get(proof))
        .route("/peers", get(peers))
        .route("/records", axum::routing::post(post_records))
        .route("/verification", get(verification))
        .route(
            "/headers/stats",
            axum::routing::post(header_stats).layer(DefaultBodyLimit::max(HEADER_FILE_LIMIT)),
        )
        .route("/openapi.json", get(openapi))
        .merge(crate::explorer::router())
        .fallback(|| async { ApiError::not_found("no such endpoint: see /openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method: see /openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        // A client that stalls mid-request must not hold a connection's task forever.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            std::time::Duration::from_secs(30),
        ))
        .with_state(state)
}

async fn status(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let shared = &state.shared;
    let store = &shared.store;
    let tip = store.tip().map_err(ApiError::internal)?;
    let peers = shared.net.peers().await.map(|p| p.len()).unwrap_or(0);
    let (pending, pending_bytes) = store.pool_stats().map_err(ApiError::internal)?;
    let machine = shared.status();
    Ok(Json(json!({
        "chain": store.params().name,
        "genesis": store.params().genesis_hash(),
        "peer_id": shared.net.local_peer_id().to_string(),
        "height": tip.height,
        "tip": tip.hash,
        "work": tip.work,
        "peers": peers,
        "side_blocks": machine.side_blocks,
        "pending_records": pending,
        "pending_bytes": pending_bytes,
        "mining": shared.mining.enabled.load(Ordering::Relaxed),
        "blocks_mined": shared.mining.blocks.load(Ordering::Relaxed),
        "hash_rate": shared.mining.hash_rate(),
        "repair": machine.repair,
    })))
}

/// The chain's rules in the byte layout the store keeps them in
/// (`ironchain_core::params::encoding`), so a light client (the explorer's WebAssembly module)
/// checks this node's blocks under this node's own rules.
async fn params(State(state): State<ApiState>) -> impl IntoResponse {
    let bytes = ironchain_core::params::encoding::encode_params(state.shared.store.params());
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes)
}

#[derive(Debug, Deserialize)]
struct Range {
    from: Option<u64>,
    limit: Option<usize>,
}

/// The most blocks one `/blocks` page lists.
const MAX_PAGE: usize = 500;

fn summary(height: u64, block: &Block) -> Value {
    let header = &block.header;
    json!({
        "height": height,
        "hash": block.block_hash(),
        "prev": header.prev_blockhash,
        "merkle_root": header.merkle_root,
        "time": header.time,
        "bits": header.bits,
        "nonce": header.nonce,
        "records": block.records.len(),
    })
}

async fn blocks(
    State(state): State<ApiState>,
    range: Result<Query<Range>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(range) = range?;
    let store = &state.shared.store;
    let tip = store.tip().map_err(ApiError::internal)?;
    let limit = range.limit.unwrap_or(20).min(MAX_PAGE);
    // Newest first by default, as explorers show them.
    let from = range
        .from
        .unwrap_or_else(|| tip.height.saturating_sub(limit.saturating_sub(1) as u64));
    let mut out = Vec::new();
    for height in (from..=tip.height).take(limit) {
        if let Some(block) = store.block_at(height).map_err(ApiError::internal)? {
            out.push(summary(height, &block));
        }
    }
    Ok(Json(json!({ "tip": tip.height, "blocks": out })))
}

fn find_block(state: &ApiState, id: &str) -> ApiResult<(u64, Block)> {
    let store = &state.shared.store;
    let found = if let Ok(height) = id.parse::<u64>() {
        store
            .block_at(height)
            .map_err(ApiError::internal)?
            .map(|b| (height, b))
    } else {
        let hash: BlockHash = id.parse().map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_block_id",
                format!("expected a height or a 64-digit block hash: {e}"),
            )
        })?;
        store.block_by_hash(&hash).map_err(ApiError::internal)?
    };
    found.ok_or_else(|| ApiError::not_found(format!("no block {id} on the best chain")))
}

async fn block(
    State(state): State<ApiState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Json<Value>> {
    let Path(id) = id?;
    let (height, block) = find_block(&state, &id)?;
    let mut value = summary(height, &block);
    value["record_data"] = block
        .records
        .iter()
        .map(|r| json!({ "hex": hex::encode(r), "text": std::str::from_utf8(r).ok() }))
        .collect();
    Ok(Json(value))
}

/// An inclusion proof, in the same document `ironchain prove` prints, so `ironchain check-proof`
/// checks one from either source against the header it carries.
#[derive(Debug, Serialize)]
struct ProofResponse {
    height: u64,
    block_hash: BlockHash,
    merkle_root: ironchain_core::MerkleRoot,
    /// The 80-byte header, hex.
    header: String,
    /// The record, hex.
    record: String,
    /// The record, hex (the name the explorer reads).
    record_hex: String,
    proof: InclusionProof,
}

async fn proof(
    State(state): State<ApiState>,
    path: Result<Path<(String, usize)>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Json<ProofResponse>> {
    let Path((height, index)) = path?;
    let (height, block) = find_block(&state, &height)?;
    let proof = InclusionProof::new(&block.records, index).ok_or_else(|| {
        ApiError::not_found(format!(
            "block {height} has {} records, no record {index}",
            block.records.len()
        ))
    })?;
    Ok(Json(ProofResponse {
        height,
        block_hash: block.block_hash(),
        merkle_root: block.header.merkle_root,
        header: hex::encode(block.header.to_bytes()),
        record: hex::encode(&block.records[index]),
        record_hex: hex::encode(&block.records[index]),
        proof,
    }))
}

async fn peers(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let peers = state.shared.net.peers().await.map_err(ApiError::internal)?;
    let list: Vec<Value> = peers
        .into_iter()
        .map(|p| {
            json!({
                "peer_id": p.peer_id.to_string(),
                "address": p.address.to_string(),
                "outbound": p.outbound,
                "agent": p.agent_version,
                "rtt_ms": p.rtt.map(|d| d.as_secs_f64() * 1e3),
                "gossip_score": p.gossip_score,
            })
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

/// A record in JSON: text, or bytes in hex.
#[derive(Debug, Deserialize)]
struct RecordJson {
    text: Option<String>,
    hex: Option<String>,
}

async fn post_records(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = body?;
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|token| constant_time_eq(token.as_bytes(), state.token.as_bytes()));
    if !authorized {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "writes need `Authorization: Bearer <token>`, the token being the content of the \
             api.cookie file in the node's data directory",
        ));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let record = if is_json {
        let parsed: RecordJson = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_json", e.to_string()))?;
        match (parsed.text, parsed.hex) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(hex)) => hex::decode(hex)
                .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_hex", e.to_string()))?,
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_json",
                    "expected exactly one of {\"text\": ...} or {\"hex\": ...}",
                ));
            }
        }
    } else {
        body.to_vec()
    };
    let size = record.len();
    let ids = state.shared.add_records(vec![record]).await.map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "record_refused",
            e.to_string(),
        )
    })?;
    let id = ids.first().map(|id| id.0);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "bytes": size, "durable": true })),
    ))
}

/// Compares two byte strings in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Verifies the whole stored chain (headers, links, work, retarget, time and every record against
/// its merkle root) and reports the first bad block, if any.
///
/// A full check reads every block, so its result is reused while the tip is unchanged, for at
/// least two seconds and at least ten times as long as the check took: a tampered block shows up
/// within seconds on a small chain, and a large chain is not re-read on every poll. A failed check
/// makes the store read-only, as opening a tampered store does.
async fn verification(State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let mut cache = state.verification.lock().await;
    let tip = state.shared.store.tip().map_err(ApiError::internal)?;
    if let Some(cached) = cache.as_ref() {
        let fresh_for = (cached.took * 10).max(std::time::Duration::from_secs(2));
        if cached.tip == tip.hash && cached.at.elapsed() < fresh_for {
            return Ok(Json(cached.result.clone()));
        }
    }
    let store = state.shared.store.clone();
    let started = std::time::Instant::now();
    let now = ironchain_core::chain::unix_now();
    let outcome =
        tokio::task::spawn_blocking(move || store.verify(ironchain_store::VerifyMode::Full, now))
            .await
            .map_err(ApiError::internal)?;
    let result = match outcome {
        Ok(summary) => json!({
            "ok": true,
            "height": summary.height,
            "tip": summary.tip,
            "work": summary.work,
            "checked_at": now,
        }),
        Err(ironchain_store::VerifyError::Bad(bad)) => json!({
            "ok": false,
            "height": bad.height,
            "hash": bad.hash,
            "rule": bad.rule().map(|rule| rule.code()),
            "message": bad.fault.to_string(),
            "checked_at": now,
        }),
        Err(error) => return Err(ApiError::internal(error)),
    };
    *cache = Some(CachedVerification {
        at: std::time::Instant::now(),
        took: started.elapsed(),
        tip: tip.hash,
        result: result.clone(),
    });
    Ok(Json(result))
}

/// The largest header file `/headers/stats` reads: 400,000 raw headers.
const HEADER_FILE_LIMIT: usize = 32 * 1024 * 1024;

#[derive(Debug, Deserialize)]
struct StatsQuery {
    start_height: Option<u64>,
    chain: Option<String>,
}

/// Per-retarget-period statistics of a posted header file (raw 80-byte headers or hex lines),
/// Bitcoin's by default: the explorer charts them. Reads only the posted bytes; needs no token.
async fn header_stats(Query(query): Query<StatsQuery>, body: Bytes) -> ApiResult<Json<Value>> {
    use ironchain_core::header::HeaderFile;
    use ironchain_core::retarget::stats;
    let params = match query.chain.as_deref().unwrap_or("bitcoin") {
        "bitcoin" => ironchain_core::ChainParams::bitcoin(),
        "demo" => ironchain_core::ChainParams::demo(),
        "regtest" => ironchain_core::ChainParams::regtest(),
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_chain",
                format!("unknown chain {other:?}: expected bitcoin, demo or regtest"),
            ));
        }
    };
    let result = tokio::task::spawn_blocking(move || {
        let file = HeaderFile::parse(&body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_header_file", e.to_string())
        })?;
        if file.headers.is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_header_file",
                "the file holds no headers",
            ));
        }
        let start = query.start_height.or(file.start_height).unwrap_or(0);
        let headers: Vec<ironchain_core::Header> = file
            .headers
            .iter()
            .map(ironchain_core::Header::from_bytes)
            .collect();
        let periods = stats::period_stats(&params, &stats::consecutive(start, &headers))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_headers", e.to_string()))?;
        let periods: Vec<Value> = periods
            .iter()
            .map(|p| {
                json!({
                    "period": p.period,
                    "first_height": p.first_height,
                    "last_height": p.last_height,
                    "span_seconds": p.span_seconds,
                    "bits": p.bits,
                    "expected_next_bits": p.expected_next_bits,
                    "actual_next_bits": p.actual_next_bits,
                    "matches": p.matches,
                    "difficulty": p.difficulty_before,
                    "difficulty_after": p.difficulty_after,
                })
            })
            .collect();
        Ok::<_, ApiError>(json!({
            "chain": params.name,
            "headers": headers.len(),
            "start_height": start,
            "periods": periods,
        }))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(result))
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}
