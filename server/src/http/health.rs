//! Health and version endpoints.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::AppState;

/// `GET /health/alive`: the process answers.
pub async fn alive() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// How long the readiness check waits for the database: within the 1 s a
/// Kubernetes probe waits by default, so a database that has gone away reads
/// as a 503 with its reason rather than a probe timeout.
const READY_CHECK_LIMIT: Duration = Duration::from_millis(900);

/// `GET /health/ready`: the database answers and every migration is applied.
pub async fn ready(State(state): State<AppState>) -> Response {
    let problem = match tokio::time::timeout(READY_CHECK_LIMIT, state.db.is_migrated()).await {
        Ok(Ok(true)) => None,
        Ok(Ok(false)) => Some("migrations are pending; run `bia migrate sql -e --yes`".to_owned()),
        Ok(Err(error)) => Some(format!(
            "the database does not answer: {}",
            short(&error.to_string())
        )),
        Err(_) => Some(format!(
            "the database does not answer within {} ms",
            READY_CHECK_LIMIT.as_millis()
        )),
    };
    match problem {
        None if state.is_ready() => Json(json!({"status": "ok"})).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"errors": {"database": "starting"}})),
        )
            .into_response(),
        Some(problem) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"errors": {"database": problem}})),
        )
            .into_response(),
    }
}

fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

/// `GET /version`
pub async fn version() -> Json<serde_json::Value> {
    Json(json!({"version": env!("CARGO_PKG_VERSION")}))
}
