//! Prometheus metrics: the process-wide recorder, and the names of what the
//! server counts. Modules record through the `metrics` facade (as they log
//! through `tracing`); the admin listener serves the text exposition at
//! `/admin/metrics/prometheus`, as Kratos does.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `http_requests_total` | listener, method, route, status | requests answered |
//! | `http_request_duration_seconds` | listener, method, route | time to answer (histogram) |
//! | `bia_flows_created_total` | flow, type | self-service flows started |
//! | `bia_flow_submissions_total` | flow, result (`success`, `invalid`, `error`) | flow submissions |
//! | `bia_hash_pool_refusals_total` | | hash or verification refused: the queue was full |
//! | `bia_hash_pool_jobs` | | hash and verification jobs queued or running |
//! | `bia_throttle_refusals_total` | check (`identifier`, `address`) | attempts refused by the throttle |
//! | `bia_db_pool_connections` | state (`idle`, `in_use`) | database connections, at scrape time |
//! | `bia_courier_messages_total` | channel (`email`, `sms`), event (`queued`, `sent`, `failed`, `abandoned`) | courier messages queued, delivered, failed attempts (the last one of an abandoned message included), abandoned |

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Time to answer a request, in seconds.
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
/// Self-service flows started.
pub const FLOWS_CREATED: &str = "bia_flows_created_total";
/// Self-service flow submissions by result.
pub const FLOW_SUBMISSIONS: &str = "bia_flow_submissions_total";
/// Hashes and verifications refused because the queue was full.
pub const HASH_POOL_REFUSALS: &str = "bia_hash_pool_refusals_total";
/// Hash and verification jobs queued or running.
pub const HASH_POOL_JOBS: &str = "bia_hash_pool_jobs";
/// Attempts refused by the brute-force throttle.
pub const THROTTLE_REFUSALS: &str = "bia_throttle_refusals_total";
/// Database connections by state.
pub const DB_POOL_CONNECTIONS: &str = "bia_db_pool_connections";

/// Courier messages by channel and event: `queued`, `sent`, `failed` (one
/// per failed attempt) and `abandoned`.
pub const COURIER_MESSAGES: &str = "bia_courier_messages_total";

/// Latency buckets, in seconds: from a cached whoami to a slow hash.
const DURATION_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide recorder, installed on first use; `None` when another
/// recorder was installed first (metrics are then not served).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &DURATION_BUCKETS)
        .ok()?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).ok()?;
    describe();
    Some(handle)
}

/// Every counter with its help text.
const COUNTERS: [(&str, &str); 6] = [
    (HTTP_REQUESTS, "Requests answered."),
    (FLOWS_CREATED, "Self-service flows started."),
    (FLOW_SUBMISSIONS, "Self-service flow submissions by result."),
    (
        HASH_POOL_REFUSALS,
        "Hashes and verifications refused because the queue was full.",
    ),
    (THROTTLE_REFUSALS, "Attempts refused by the throttle."),
    (
        COURIER_MESSAGES,
        "Courier messages queued, sent, failed (per attempt) and abandoned.",
    ),
];

/// Every gauge with its help text.
const GAUGES: [(&str, &str); 2] = [
    (
        HASH_POOL_JOBS,
        "Hash and verification jobs queued or running.",
    ),
    (DB_POOL_CONNECTIONS, "Database connections by state."),
];

fn describe() {
    for (name, help) in COUNTERS {
        metrics::describe_counter!(name, help);
    }
    for (name, help) in GAUGES {
        metrics::describe_gauge!(name, help);
    }
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to answer a request."
    );
}

/// The text exposition of every metric, after folding finished histogram
/// windows (which also bounds the recorder's memory).
pub fn render() -> Option<String> {
    let handle = handle()?;
    handle.run_upkeep();
    Some(handle.render())
}
