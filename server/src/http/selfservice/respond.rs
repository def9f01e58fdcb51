//! How flow results become responses: JSON for native apps and JSON-speaking
//! browsers, redirects and error pages for plain browsers.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::super::browser::{add_cookies, see_other};
use super::super::error::ApiError;
use super::super::extract::QueryPairs;
use super::super::flow_json::flow_json;
use super::super::state::AppState;
use crate::flow::{Flow, FlowError, FlowKind, FlowType};

/// The flow id of `?flow=` (or `?id=`).
pub fn flow_id(query: &QueryPairs) -> Result<Uuid, ApiError> {
    let id = query
        .first("flow")
        .or_else(|| query.first("id"))
        .filter(|i| !i.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("The flow query parameter is missing or malformed.")
        })?;
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("The requested flow could not be found."))
}

/// The absolute URL of this request on the public listener.
pub fn request_url(state: &AppState, uri: &axum::http::Uri) -> String {
    format!(
        "{}{}",
        state.public_base_url.trim_end_matches('/'),
        uri.path_and_query().map_or("", |p| p.as_str())
    )
}

/// A flow as JSON with a status.
pub fn flow_response(state: &AppState, status: StatusCode, flow: &Flow) -> Response {
    (status, Json(flow_json(flow, &state.public_base_url))).into_response()
}

/// An error for a browser that wants a page: the error is stored and the
/// browser is sent to the error page.
pub async fn error_page(state: &AppState, error: ApiError, cookies: Vec<HeaderValue>) -> Response {
    let body = error.body();
    let inner = body.get("error").cloned().unwrap_or(Value::Null);
    match state.flows.record_error(inner).await {
        Ok(id) => see_other(&state.browser.error_page(id), cookies),
        Err(_) => add_cookies(error.into_response(), cookies),
    }
}

/// Answers an error: with the error page when the client wants pages, else
/// as JSON.
pub async fn refuse(
    state: &AppState,
    error: ApiError,
    page: bool,
    cookies: Vec<HeaderValue>,
) -> Response {
    if page {
        error_page(state, error, cookies).await
    } else {
        add_cookies(error.into_response(), cookies)
    }
}

/// Answers a failed flow operation. `page` is true for browser flows whose
/// client wants pages rather than JSON.
pub async fn flow_failure(
    state: &AppState,
    error: FlowError,
    page: bool,
    cookies: Vec<HeaderValue>,
) -> Response {
    match error {
        FlowError::Invalid(flow) if page => {
            see_other(&state.browser.flow_page(flow.kind, flow.id), cookies)
        }
        FlowError::Invalid(flow) => add_cookies(
            flow_response(state, StatusCode::BAD_REQUEST, &flow),
            cookies,
        ),
        FlowError::Redirect { to } if page => see_other(&to, cookies),
        FlowError::Expired { new_flow, .. } if page => see_other(
            &state.browser.flow_page(new_flow.kind, new_flow.id),
            cookies,
        ),
        FlowError::RefreshRequired(flow) => {
            let settings_page = state.browser.flow_page(flow.kind, flow.id);
            let login = state.browser.refresh_login(&settings_page);
            let browser = flow.flow_type == FlowType::Browser;
            sign_in_again(
                FlowError::RefreshRequired(flow),
                login,
                browser,
                page,
                cookies,
            )
        }
        FlowError::Aal2Required => {
            let login = state.browser.step_up_login();
            sign_in_again(FlowError::Aal2Required, login, true, page, cookies)
        }
        other => refuse(state, ApiError::from(other), page, cookies).await,
    }
}

/// A flow that needs the browser to sign in again (`login`): a redirect for
/// pages, else the error, naming `login` for browsers.
fn sign_in_again(
    error: FlowError,
    login: String,
    browser: bool,
    page: bool,
    cookies: Vec<HeaderValue>,
) -> Response {
    if page {
        return see_other(&login, cookies);
    }
    let mut extra = Map::new();
    if browser {
        extra.insert("redirect_browser_to".into(), json!(login));
    }
    add_cookies(
        ApiError::from(error).with_extra(extra).into_response(),
        cookies,
    )
}

/// The answer for a flow kind switched off in the configuration, if it is:
/// JSON, or the error page for browsers that want pages.
pub async fn refuse_disabled(state: &AppState, kind: FlowKind, page: bool) -> Option<Response> {
    if state.flows.offers(kind) {
        return None;
    }
    Some(flow_failure(state, FlowError::Disabled(kind), page, Vec::new()).await)
}

/// The flow id of a request to a flow kind that is offered; otherwise the
/// answer to send (the disabled error, or a malformed id's).
pub async fn offered_flow_id(
    state: &AppState,
    kind: FlowKind,
    query: &QueryPairs,
    page: bool,
) -> Result<Uuid, Response> {
    if let Some(refusal) = refuse_disabled(state, kind, page).await {
        return Err(refusal);
    }
    flow_id(query).map_err(IntoResponse::into_response)
}
