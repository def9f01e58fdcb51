//! `GET /self-service/methods/oidc/callback/{provider}`: where providers
//! send browsers back. The state names the flow; the provider's answer is
//! handed to the flow machine as the flow's next submission, bound to the
//! browser by the anti-CSRF token the flow was made with.
//!
//! Providers answering with `response_mode=form_post` (Apple) post the
//! answer instead. That cross-site POST carries no SameSite=Lax cookie, so
//! the answer is sent on to the GET of the same path (303): the browser's
//! own navigation brings its cookies, and the anti-CSRF binding holds.

use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::super::browser::see_other;
use super::super::error::ApiError;
use super::super::extract::{Caller, QueryPairs};
use super::super::state::AppState;
use super::flows::{after, session_of, submit_to};
use super::respond::{flow_failure, refuse};
use crate::flow::{Flow, FlowError, FlowType, Requester};
use crate::method::oidc_state;

/// The callback parameters passed on to the method.
/// (`user` is the name Apple posts on the first sign-in.)
const ANSWER_PARAMETERS: [&str; 5] = ["state", "code", "error", "error_description", "user"];
/// The largest form a provider may post (a state, a code, an error and
/// Apple's `user` fit well within).
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The callback parameters the method reads, as JSON.
fn provider_answer(query: &QueryPairs) -> Map<String, Value> {
    ANSWER_PARAMETERS
        .iter()
        .filter_map(|name| query.first(name).map(|v| ((*name).to_owned(), json!(v))))
        .collect()
}

/// The provider's answer as the flow's next submission, with the flow's own
/// masked token: it opens only with the anti-CSRF cookie of the browser
/// that started the flow.
fn submission(provider: &str, flow: &Flow, answer: Map<String, Value>) -> Value {
    json!({
        "method": "oidc",
        "provider": provider,
        "csrf_token": flow.csrf_token,
        "oidc_callback": answer,
    })
}

/// `GET /self-service/methods/oidc/callback/{provider}`
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    let answer = provider_answer(&query);
    let named = answer
        .get("state")
        .and_then(Value::as_str)
        .and_then(oidc_state);
    let Some((kind, id)) = named else {
        let error = ApiError::bad_request(
            "The state query parameter is missing or malformed; start the sign-in again.",
        );
        return refuse(&state, error, !caller.json, Vec::new()).await;
    };
    let flow = match state.flows.get(kind, id).await {
        Ok(flow) => flow,
        Err(error) => return flow_failure(&state, error, !caller.json, Vec::new()).await,
    };
    let page = flow.flow_type == FlowType::Browser && !caller.json;
    let body = submission(&provider, &flow, answer);
    if let Some(response) = through_exchange(&state, &flow, &body, &caller).await {
        return response;
    }
    let session = match session_of(&state, caller.credentials.cookie_token.as_deref()).await {
        Ok(session) => session,
        Err(error) => return error.into_response(),
    };
    match submit_to(&state, kind, id, &body, session, &caller, page).await {
        Ok(response) => response,
        Err(error) => flow_failure(&state, error, page, Vec::new()).await,
    }
}

/// `POST /self-service/methods/oidc/callback/{provider}`: the answer of a
/// provider using `response_mode=form_post`, sent on to the GET of the same
/// path as its query.
pub async fn callback_form(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    caller: Caller,
    body: Body,
) -> Response {
    let refused = |status: StatusCode, reason: &str| ApiError::new(status, reason.to_owned());
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        let error = refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The provider's answer is larger than a sign-in answer can be.",
        );
        return refuse(&state, error, !caller.json, Vec::new()).await;
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut seen = Vec::new();
    for (name, value) in url::form_urlencoded::parse(&bytes) {
        if ANSWER_PARAMETERS.contains(&name.as_ref()) && !seen.contains(&name) {
            query.append_pair(&name, &value);
            seen.push(name);
        }
    }
    let location = format!(
        "{}{}?{}",
        state.public_base_url.trim_end_matches('/'),
        uri.path(),
        query.finish()
    );
    Redirect::to(&location).into_response()
}

/// The answer for a native app's flow whose session token exchange waits
/// for this sign-in; none for any other flow.
async fn through_exchange(
    state: &AppState,
    flow: &Flow,
    body: &Value,
    caller: &Caller,
) -> Option<Response> {
    let completed = match exchange_pending(state, flow).await {
        Ok(false) => return None,
        Ok(true) => complete_exchange(state, flow, body, caller).await,
        Err(error) => Err(error),
    };
    Some(match completed {
        Ok(response) => response,
        Err(error) => flow_failure(state, error, !caller.json, Vec::new()).await,
    })
}

/// Whether the flow is a native app's whose session token exchange waits
/// for this sign-in.
async fn exchange_pending(state: &AppState, flow: &Flow) -> Result<bool, FlowError> {
    if flow.flow_type != FlowType::Api {
        return Ok(false);
    }
    Ok(state.exchanges.pending(flow.id).await?)
}

/// Completes a native app's flow in the browser: the new session is bound
/// to the flow's exchange, and the browser goes to the flow's `return_to`
/// with the return-to code (`code`) for the app to redeem.
async fn complete_exchange(
    state: &AppState,
    flow: &Flow,
    body: &Value,
    caller: &Caller,
) -> Result<Response, FlowError> {
    let requester = Requester {
        session: None,
        session_token: None,
        device: caller.device.clone(),
        csrf_cookie: caller.csrf.cookie_token.clone(),
    };
    let outcome = state
        .flows
        .submit(flow.kind, flow.id, body, requester, &caller.csrf)
        .await?;
    let mut target = after(state, &outcome.flow, "oidc");
    if let Some(session) = &outcome.session
        && let Some(code) = state.exchanges.complete(flow.id, session.id).await?
        && let Ok(mut url) = url::Url::parse(&target)
    {
        url.query_pairs_mut().append_pair("code", &code);
        target = url.into();
    }
    Ok(see_other(&target, Vec::new()))
}
