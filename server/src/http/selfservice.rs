//! Native (api) self-service endpoints: create, fetch and submit login and
//! registration flows, and logout by session token.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{ClientDevice, JsonBody, QueryPairs, SessionToken};
use super::flow_json::{flow_json, outcome_json};
use super::session_json::{SessionView, session_json};
use super::state::AppState;
use super::wire::{View, identity_json};
use crate::flow::{FlowError, FlowKind};

fn flow_id(query: &QueryPairs) -> Result<Uuid, ApiError> {
    let id = query
        .first("flow")
        .or_else(|| query.first("id"))
        .filter(|i| !i.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("The flow query parameter is missing or malformed.")
        })?;
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("The requested flow could not be found."))
}

fn request_url(state: &AppState, uri: &axum::http::Uri) -> String {
    format!(
        "{}{}",
        state.public_base_url.trim_end_matches('/'),
        uri.path_and_query().map_or("", |p| p.as_str())
    )
}

fn flow_error(error: FlowError) -> Response {
    match error {
        FlowError::Invalid(flow) => {
            (StatusCode::BAD_REQUEST, Json(flow_json(&flow))).into_response()
        }
        other => ApiError::from(other).into_response(),
    }
}

async fn create(
    state: AppState,
    kind: FlowKind,
    uri: axum::http::Uri,
    token: SessionToken,
) -> Response {
    match state
        .flows
        .create_api(kind, &request_url(&state, &uri), token.0.as_deref())
        .await
    {
        Ok(flow) => Json(flow_json(&flow)).into_response(),
        Err(error) => flow_error(error),
    }
}

async fn fetch(state: AppState, kind: FlowKind, query: QueryPairs) -> Response {
    let id = match flow_id(&query) {
        Ok(id) => id,
        Err(error) => return error.into_response(),
    };
    match state.flows.get(kind, id).await {
        Ok(flow) => Json(flow_json(&flow)).into_response(),
        Err(error) => flow_error(error),
    }
}

async fn submit(
    state: AppState,
    kind: FlowKind,
    query: QueryPairs,
    device: ClientDevice,
    body: Value,
) -> Response {
    let id = match flow_id(&query) {
        Ok(id) => id,
        Err(error) => return error.into_response(),
    };
    match state.flows.submit(kind, id, &body, device.0).await {
        Ok(outcome) => {
            let view = SessionView {
                devices: true,
                admin: false,
            };
            let session =
                serde_json::to_value(session_json(&outcome.session, &state.public_base_url, view))
                    .unwrap_or(Value::Null);
            let identity = (kind == FlowKind::Registration).then(|| {
                serde_json::to_value(identity_json(
                    &outcome.identity,
                    &state.public_base_url,
                    &View::default(),
                ))
                .unwrap_or(Value::Null)
            });
            Json(outcome_json(identity, session, &outcome.token)).into_response()
        }
        Err(error) => flow_error(error),
    }
}

/// `GET /self-service/login/api`
pub async fn create_login(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    token: SessionToken,
) -> Response {
    create(state, FlowKind::Login, uri, token).await
}

/// `GET /self-service/registration/api`
pub async fn create_registration(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    token: SessionToken,
) -> Response {
    create(state, FlowKind::Registration, uri, token).await
}

/// `GET /self-service/login/flows?id=`
pub async fn get_login(State(state): State<AppState>, query: QueryPairs) -> Response {
    fetch(state, FlowKind::Login, query).await
}

/// `GET /self-service/registration/flows?id=`
pub async fn get_registration(State(state): State<AppState>, query: QueryPairs) -> Response {
    fetch(state, FlowKind::Registration, query).await
}

/// `POST /self-service/login?flow=`
pub async fn submit_login(
    State(state): State<AppState>,
    query: QueryPairs,
    device: ClientDevice,
    JsonBody(body): JsonBody<Value>,
) -> Response {
    submit(state, FlowKind::Login, query, device, body).await
}

/// `POST /self-service/registration?flow=`
pub async fn submit_registration(
    State(state): State<AppState>,
    query: QueryPairs,
    device: ClientDevice,
    JsonBody(body): JsonBody<Value>,
) -> Response {
    submit(state, FlowKind::Registration, query, device, body).await
}

/// The body of `DELETE /self-service/logout/api`.
#[derive(Debug, Deserialize)]
pub struct LogoutBody {
    #[serde(default)]
    session_token: String,
}

/// `DELETE /self-service/logout/api`
pub async fn logout_api(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LogoutBody>,
) -> Result<StatusCode, ApiError> {
    if body.session_token.is_empty() {
        return Err(ApiError::bad_request("The session_token is missing."));
    }
    match state.sessions.revoke_token(&body.session_token).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(crate::session::SessionError::Inactive) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "The provided session token could not be found or is no longer active.",
        )),
        Err(other) => Err(other.into()),
    }
}
