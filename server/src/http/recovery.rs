//! Admin recovery: a code or link for an identity, handed to its owner by
//! other means (`POST /admin/recovery/code`, `POST /admin/recovery/link`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{JsonBody, QueryPairs};
use super::state::AppState;
use crate::flow::{AdminRecovery, FlowError, FlowKind};
use crate::onetime::Delivery;
use crate::time;

/// Longest recovery an administrator may hand out.
const MAX_EXPIRES_IN: Duration = Duration::from_secs(30 * 24 * 3600);

/// The body of both endpoints.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RecoveryForIdentityBody {
    /// The identity to recover.
    pub identity_id: Uuid,
    /// How long the code or link works (Go duration, e.g. `1h`); the
    /// method's configured lifespan by default.
    #[serde(default)]
    pub expires_in: Option<String>,
    /// Code only: `browser` (default) or `api`; only browser flows are made.
    #[serde(default)]
    pub flow_type: Option<String>,
}

fn lifespan(
    state: &AppState,
    body: &RecoveryForIdentityBody,
    delivery: Delivery,
) -> Result<Duration, ApiError> {
    let Some(text) = body.expires_in.as_deref() else {
        return Ok(state.flows.one_time_lifespan(delivery));
    };
    let parsed = bia_config::GoDuration::parse(text)
        .map_err(|reason| ApiError::bad_request(format!("expires_in: {reason}")))?;
    if parsed.0.is_zero() || parsed.0 > MAX_EXPIRES_IN {
        return Err(ApiError::bad_request(
            "expires_in must be positive and at most 720h.",
        ));
    }
    Ok(parsed.0)
}

async fn recover(
    state: &AppState,
    body: &RecoveryForIdentityBody,
    delivery: Delivery,
    return_to: Option<String>,
) -> Result<AdminRecovery, ApiError> {
    if !state.flows.offers(FlowKind::Recovery) {
        return Err(FlowError::Disabled(FlowKind::Recovery).into());
    }
    if body.flow_type.as_deref().is_some_and(|t| t != "browser") {
        return Err(ApiError::bad_request(
            "flow_type: only browser recovery flows can be created by an administrator.",
        ));
    }
    let lifespan = lifespan(state, body, delivery)?;
    let request_url = format!(
        "{}admin/recovery/{}",
        state.admin_base_url,
        delivery.as_str()
    );
    state
        .flows
        .admin_recovery(body.identity_id, delivery, lifespan, request_url, return_to)
        .await
        .map_err(ApiError::from)
}

fn flow_link(state: &AppState, recovery: &AdminRecovery) -> String {
    format!(
        "{}self-service/recovery?flow={}",
        state.public_base_url, recovery.flow.id
    )
}

/// `POST /admin/recovery/code`: 201 with the code and the link to the flow
/// that accepts it.
pub async fn create_code(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RecoveryForIdentityBody>,
) -> Response {
    match recover(&state, &body, Delivery::Code, None).await {
        Ok(recovery) => (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "recovery_link": flow_link(&state, &recovery),
                "recovery_code": recovery.secret,
                "expires_at": time::format(recovery.flow.expires_at),
            })),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

/// `POST /admin/recovery/link?return_to=`: the link that recovers the
/// account.
pub async fn create_link(
    State(state): State<AppState>,
    query: QueryPairs,
    JsonBody(body): JsonBody<RecoveryForIdentityBody>,
) -> Response {
    let return_to = query
        .first("return_to")
        .filter(|r| !r.is_empty())
        .map(|requested| state.browser.check_return_to(requested))
        .transpose();
    let answer = match return_to {
        Ok(return_to) => recover(&state, &body, Delivery::Link, return_to).await,
        Err(error) => Err(error),
    };
    match answer {
        Ok(recovery) => Json(serde_json::json!({
            "recovery_link": format!("{}&token={}", flow_link(&state, &recovery), recovery.secret),
            "expires_at": time::format(recovery.flow.expires_at),
        }))
        .into_response(),
        Err(error) => error.into_response(),
    }
}
