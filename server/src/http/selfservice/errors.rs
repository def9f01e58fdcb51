//! `GET /self-service/errors?id=`: the error a browser was sent to the error page for.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use uuid::Uuid;

use super::super::error::ApiError;
use super::super::extract::QueryPairs;
use super::super::state::AppState;
use crate::time;

/// `GET /self-service/errors?id=`
pub async fn get_error(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<Value>, ApiError> {
    let id = query
        .first("id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::bad_request("The id query parameter is missing."))?;
    let id = Uuid::parse_str(id)
        .map_err(|_| ApiError::not_found("The requested error could not be found."))?;
    let error = state.flows.get_error(id).await?;
    let at = time::format(error.created_at);
    Ok(Json(json!({
        "id": error.id,
        "error": error.error,
        "created_at": at,
        "updated_at": at,
    })))
}
