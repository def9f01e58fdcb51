//! Recovery and verification: submitting a flow (an address, a code) and
//! following the link a message carries.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

use super::super::browser::{add_cookies, see_other};
use super::super::error::ApiError;
use super::super::extract::{Caller, FlowRequest, QueryPairs, Submission};
use super::super::flow_json::flow_json;
use super::super::state::AppState;
use super::flows::csrf_token;
use super::respond::{flow_failure, flow_response, offered_flow_id};
use crate::flow::{Flow, FlowError, FlowKind, FlowType, Recovered, RecoveryStep, Requester};
use crate::metrics::FLOW_SUBMISSIONS;

/// Who submits: no session (recovery signs in anew), the device and the
/// browser's anti-CSRF token. A browser without one (it opened a link an
/// administrator handed out) gets one now, with its cookie, so the settings
/// flow it continues in can be submitted.
fn requester(state: &AppState, caller: &Caller) -> (Requester, Vec<HeaderValue>) {
    let (csrf_cookie, cookies) = csrf_token(state, true, caller);
    let requester = Requester {
        session: None,
        session_token: None,
        device: caller.device.clone(),
        csrf_cookie,
    };
    (requester, cookies)
}

/// `POST /self-service/{recovery,verification}?flow=`
pub async fn submit_address(
    request: FlowRequest,
    Submission(body): Submission,
) -> Result<Response, Response> {
    let (state, kind, query, caller) = request.into_parts();
    let page = !caller.json;
    let id = offered_flow_id(&state, kind, &query, page).await?;
    let answer = match kind {
        FlowKind::Recovery => {
            let (requester, cookies) = requester(&state, &caller);
            state
                .flows
                .submit_recovery(id, &body, requester, &caller.csrf)
                .await
                .map(|step| recovery_step(&state, page, step, cookies))
        }
        _ => state
            .flows
            .submit_verification(id, &body, &caller.csrf)
            .await
            .map(|flow| shown(&state, page, &flow)),
    };
    count(kind, &answer);
    match answer {
        Ok(response) => Ok(response),
        Err(error) => Err(failure(&state, kind, id, page, error).await),
    }
}

/// `GET /self-service/{recovery,verification}?flow=&token=` (or `&code=`):
/// the link in a message. Without a secret, the browser is sent to the flow.
pub async fn follow_link(request: FlowRequest) -> Result<Response, Response> {
    let (state, kind, query, caller) = request.into_parts();
    let id = offered_flow_id(&state, kind, &query, true).await?;
    let Some(secret) = link_secret(&query) else {
        return Ok(see_other(&state.browser.flow_page(kind, id), Vec::new()));
    };
    let answer = match kind {
        FlowKind::Recovery => {
            let (requester, cookies) = requester(&state, &caller);
            state
                .flows
                .follow_recovery_link(id, secret, requester)
                .await
                .map(|step| recovery_step(&state, true, step, cookies))
        }
        _ => state
            .flows
            .follow_verification_link(id, secret)
            .await
            .map(|flow| verified_link(&state, &flow)),
    };
    count(kind, &answer);
    match answer {
        Ok(response) => Ok(response),
        Err(error) => Err(failure(&state, kind, id, true, error).await),
    }
}

/// The secret a link carries: `token`, or `code` in a code message's link.
fn link_secret(query: &QueryPairs) -> Option<&str> {
    query
        .first("token")
        .or_else(|| query.first("code"))
        .filter(|s| !s.is_empty())
}

fn count<T>(kind: FlowKind, answer: &Result<T, FlowError>) {
    let result = match answer {
        Ok(_) => "success",
        Err(FlowError::Invalid(_)) => "invalid",
        Err(_) => "error",
    };
    let labels = [("flow", kind.as_str()), ("result", result)];
    metrics::counter!(FLOW_SUBMISSIONS, &labels).increment(1);
}

async fn failure(
    state: &AppState,
    kind: FlowKind,
    id: Uuid,
    page: bool,
    error: FlowError,
) -> Response {
    let page = page && state.flows.flow_type(kind, id).await == Some(FlowType::Browser);
    flow_failure(state, error, page, Vec::new()).await
}

/// A flow shown again after a submission: browsers that want pages go to
/// the flow's page, the rest get the flow.
fn shown(state: &AppState, page: bool, flow: &Flow) -> Response {
    if page && flow.flow_type == FlowType::Browser {
        return see_other(&state.browser.flow_page(flow.kind, flow.id), Vec::new());
    }
    flow_response(state, StatusCode::OK, flow)
}

/// After a verification link: the flow's `return_to`, else its page.
fn verified_link(state: &AppState, flow: &Flow) -> Response {
    let next = flow
        .return_to
        .clone()
        .unwrap_or_else(|| state.browser.flow_page(flow.kind, flow.id));
    see_other(&next, Vec::new())
}

fn recovery_step(
    state: &AppState,
    page: bool,
    step: RecoveryStep,
    cookies: Vec<HeaderValue>,
) -> Response {
    match step {
        RecoveryStep::Sent(flow) => shown(state, page, &flow),
        RecoveryStep::Recovered(recovered) => signed_in(state, page, &recovered, cookies),
    }
}

/// A completed recovery: browsers get the session cookie and go to the
/// settings flow (a JSON-speaking browser is told to go there with 422, as
/// Kratos does); native apps get the token and the settings flow in
/// `continue_with`.
fn signed_in(
    state: &AppState,
    page: bool,
    recovered: &Recovered,
    csrf_cookies: Vec<HeaderValue>,
) -> Response {
    let Recovered {
        flow,
        token,
        settings,
        ..
    } = recovered;
    let settings_page = state.browser.flow_page(FlowKind::Settings, settings.id);
    if flow.flow_type == FlowType::Api {
        let mut json = flow_json(flow, &state.public_base_url);
        json.continue_with = Some(vec![
            json!({"action": "set_ory_session_token", "ory_session_token": token}),
            json!({"action": "show_settings_ui", "flow": {"id": settings.id, "url": settings_page}}),
        ]);
        return (StatusCode::OK, Json(json)).into_response();
    }
    let mut cookies = csrf_cookies;
    cookies.extend(
        state
            .cookies
            .session_cookie(token, state.sessions.lifespan()),
    );
    if page {
        return see_other(&settings_page, cookies);
    }
    add_cookies(
        ApiError::location_change(&settings_page).into_response(),
        cookies,
    )
}

/// `GET /.well-known/change-password`: where password managers send people
/// to change a password (the settings page).
pub async fn change_password(State(state): State<AppState>) -> Response {
    see_other(state.browser.ui_url(FlowKind::Settings), Vec::new())
}
