//! Identity schema endpoints (`/schemas`), on both listeners.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::QueryPairs;
use super::state::AppState;

/// `GET /schemas`: every schema as `{id, schema}`, paged by `page_size`/`page_token`.
pub async fn list(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<Value>, ApiError> {
    let registry = state.schemas.current();
    let size = query
        .number("page_size")?
        .or(query.number("per_page")?)
        .unwrap_or(250)
        .clamp(1, 1000) as usize;
    let all = registry.all();
    let start = match query.first("page_token").filter(|t| !t.is_empty()) {
        Some(token) => all
            .iter()
            .position(|s| s.id() == token)
            .map(|n| n + 1)
            .ok_or_else(|| ApiError::bad_request("page_token: the page token is invalid"))?,
        None => {
            // A page past the end is empty, however far past.
            let page = query.number("page")?.unwrap_or(1).max(1);
            usize::try_from(page - 1)
                .ok()
                .and_then(|before| before.checked_mul(size))
                .unwrap_or(usize::MAX)
        }
    };
    let body = all
        .iter()
        .skip(start)
        .take(size)
        .map(|s| json!({"id": s.id(), "schema": s.document()}))
        .collect();
    Ok(Json(Value::Array(body)))
}

/// `GET /schemas/{id}`: the raw schema; the id may be base64url-encoded.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state
        .schemas
        .current()
        .get_by_path_id(&id)
        .map(|s| Json(s.document().clone()))
        .ok_or_else(|| ApiError::not_found(format!("Identity schema {id:?} does not exist.")))
}
