//! Login, registration and settings flows: create (browser or native),
//! fetch and submit. One handler per operation serves every flow kind; the
//! route says which kind through an extension ([`FlowRoute`] to create).

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::Value;
use uuid::Uuid;

use super::super::browser::{add_cookies, see_other};
use super::super::error::ApiError;
use super::super::extract::{Caller, FlowRequest, QueryPairs, Submission};
use super::super::flow_json::{flow_json, outcome_json, redirect_browser_to};
use super::super::session_json::{SessionView, session_json};
use super::super::state::AppState;
use super::super::wire::{View, identity_json};
use super::respond::{flow_failure, flow_id, flow_response, offered_flow_id, refuse, request_url};
use crate::aal::Aal;
use crate::flow::{
    Flow, FlowError, FlowKind, FlowService, FlowType, NewFlow, Outcome, Requester, csrf,
};
use crate::metrics::{FLOW_SUBMISSIONS, FLOWS_CREATED};
use crate::session::{Session, SessionError};

/// The flow a creation route makes, attached to the route as an extension
/// (fetch and submit routes carry only the [`FlowKind`]).
#[derive(Debug, Clone, Copy)]
pub struct FlowRoute {
    /// Login, registration or settings.
    pub kind: FlowKind,
    /// Native app or browser.
    pub flow_type: FlowType,
}

/// The valid session a request carries, if any.
pub(super) async fn session_of(
    state: &AppState,
    token: Option<&str>,
) -> Result<Option<Session>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    match state.sessions.whoami(token).await {
        Ok(session) => Ok(Some(session)),
        Err(SessionError::Store(error)) => Err(error.into()),
        Err(_) => Ok(None),
    }
}

/// A browser keeps its anti-CSRF token; a new browser gets one in a cookie.
/// Native flows have none.
pub(super) fn csrf_token(
    state: &AppState,
    browser: bool,
    caller: &Caller,
) -> (Option<String>, Vec<HeaderValue>) {
    match (browser, caller.csrf.cookie_token.clone()) {
        (false, _) => (None, Vec::new()),
        (true, Some(token)) => (Some(token), Vec::new()),
        (true, None) => {
            let token = csrf::new_token();
            let cookie = state.cookies.csrf_cookie(&token);
            (Some(token), cookie.into_iter().collect())
        }
    }
}

/// `return_to`, when given, checked against the allow list.
fn return_to(state: &AppState, query: &QueryPairs) -> Result<Option<String>, ApiError> {
    query
        .first("return_to")
        .filter(|r| !r.is_empty())
        .map(|requested| state.browser.check_return_to(requested))
        .transpose()
}

/// The `aal` a login flow asks for: `aal1` (or none) or `aal2`.
fn requested_aal(query: &QueryPairs) -> Result<Aal, ApiError> {
    match query.first("aal").filter(|a| !a.is_empty()) {
        None => Ok(Aal::Aal1),
        Some(name) => Aal::parse(name).ok_or_else(|| {
            ApiError::bad_request(format!("aal must be \"aal1\" or \"aal2\", not {name:?}"))
        }),
    }
}

/// `GET /self-service/<flow>/{api,browser}`
pub async fn create(
    State(state): State<AppState>,
    Extension(route): Extension<FlowRoute>,
    OriginalUri(uri): OriginalUri,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    let browser = route.flow_type == FlowType::Browser;
    let page = browser && !caller.json;
    let (csrf_token, cookies) = csrf_token(&state, browser, &caller);
    let new = match new_flow(&state, route, &uri, &query, csrf_token) {
        Ok(new) => new,
        Err(error) => return refuse(&state, error, page, cookies).await,
    };
    let requester = match creator(&state, browser, caller).await {
        Ok(requester) => requester,
        Err(error) => return error.into_response(),
    };
    let (kind, return_to) = (new.kind, new.return_to.clone());
    let created = state.flows.create(new, &requester).await;
    if created.is_ok() {
        let labels = [("flow", kind.as_str()), ("type", route.flow_type.as_str())];
        metrics::counter!(FLOWS_CREATED, &labels).increment(1);
    }
    if let Ok(flow) = created.as_ref()
        && wants_exchange(route, &query)
    {
        return add_cookies(with_exchange(&state, flow).await, cookies);
    }
    created_response(&state, kind, return_to, page, created, cookies).await
}

/// Whether a native login or registration flow is to start a session token
/// exchange (`return_session_token_exchange_code=true`).
fn wants_exchange(route: FlowRoute, query: &QueryPairs) -> bool {
    route.flow_type == FlowType::Api
        && matches!(route.kind, FlowKind::Login | FlowKind::Registration)
        && query.first("return_session_token_exchange_code") == Some("true")
}

/// A new native flow with its session token exchange started: the flow
/// carries the exchange's init code.
async fn with_exchange(state: &AppState, flow: &Flow) -> Response {
    match state.exchanges.start(flow.id, flow.expires_at).await {
        Ok(code) => {
            let mut json = flow_json(flow, &state.public_base_url);
            json.session_token_exchange_code = Some(code);
            (StatusCode::OK, Json(json)).into_response()
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// What the creation request asks for, read from its query.
fn new_flow(
    state: &AppState,
    route: FlowRoute,
    uri: &axum::http::Uri,
    query: &QueryPairs,
    csrf_token: Option<String>,
) -> Result<NewFlow, ApiError> {
    Ok(NewFlow {
        kind: route.kind,
        flow_type: route.flow_type,
        request_url: request_url(state, uri),
        return_to: return_to(state, query)?,
        refresh: query.first("refresh") == Some("true"),
        requested_aal: requested_aal(query)?,
        csrf_token,
        identity_schema: query
            .first("identity_schema")
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
    })
}

/// Who creates a flow: a browser by its session cookie, a native app by its
/// session token.
async fn creator(state: &AppState, browser: bool, caller: Caller) -> Result<Requester, ApiError> {
    let token = if browser {
        caller.credentials.cookie_token.as_deref()
    } else {
        caller.credentials.token.as_deref()
    };
    Ok(Requester {
        session: session_of(state, token).await?,
        session_token: None,
        csrf_cookie: caller.csrf.cookie_token.clone(),
        device: caller.device,
    })
}

async fn created_response(
    state: &AppState,
    kind: FlowKind,
    return_to: Option<String>,
    page: bool,
    created: Result<Flow, FlowError>,
    cookies: Vec<HeaderValue>,
) -> Response {
    match created {
        Ok(flow) if page => see_other(&state.browser.flow_page(kind, flow.id), cookies),
        Ok(flow) => add_cookies(flow_response(state, StatusCode::OK, &flow), cookies),
        Err(FlowError::SessionAlreadyAvailable) if page => {
            let after = || state.browser.already_signed_in().to_owned();
            see_other(&return_to.unwrap_or_else(after), cookies)
        }
        Err(FlowError::NoSession) if page => {
            let login = format!("{}self-service/login/browser", state.public_base_url);
            see_other(&login, cookies)
        }
        Err(error) => flow_failure(state, error, page, cookies).await,
    }
}

/// `GET /self-service/<flow>/flows?id=`
pub async fn fetch(request: FlowRequest) -> Result<Response, Response> {
    let (state, kind, query, caller) = request.into_parts();
    let id = offered_flow_id(&state, kind, &query, false).await?;
    let flow = match state.flows.get(kind, id).await {
        Ok(flow) => flow,
        Err(error) => return Err(flow_failure(&state, error, false, Vec::new()).await),
    };
    may_read(&state, kind, &caller, &flow)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(flow_response(&state, StatusCode::OK, &flow))
}

/// A flow is shown to the browser whose anti-CSRF cookie it carries, and a
/// settings flow only to its owner.
async fn may_read(
    state: &AppState,
    kind: FlowKind,
    caller: &Caller,
    flow: &Flow,
) -> Result<(), ApiError> {
    if !FlowService::csrf_cookie_matches(flow, caller.csrf.cookie_token.as_deref()) {
        return Err(ApiError::csrf_violation(
            "The anti-CSRF cookie of this browser does not belong to the flow; start a new flow.",
        ));
    }
    if kind != FlowKind::Settings {
        return Ok(());
    }
    let session = session_of(state, caller.credentials.any_token())
        .await?
        .ok_or_else(ApiError::session_inactive)?;
    if flow.identity_id != Some(session.identity_id) {
        return Err(FlowError::IdentityMismatch { submitted: false }.into());
    }
    Ok(())
}

/// `POST /self-service/{login,registration,settings}?flow=`
pub async fn submit(request: FlowRequest, Submission(body): Submission) -> Response {
    let (state, kind, query, caller) = request.into_parts();
    let id = match flow_id(&query) {
        Ok(id) => id,
        Err(error) => return error.into_response(),
    };
    // Whether a failure should be a page depends on the flow's type, known
    // only once it is read; a browser that does not ask for JSON gets pages.
    let page = !caller.json;
    let session = match session_of(&state, caller.credentials.any_token()).await {
        Ok(session) => session,
        Err(error) => return error.into_response(),
    };
    let answer = submit_to(&state, kind, id, &body, session, &caller, page).await;
    let result = match &answer {
        Ok(_) => "success",
        Err(FlowError::Invalid(_)) => "invalid",
        Err(_) => "error",
    };
    let labels = [("flow", kind.as_str()), ("result", result)];
    metrics::counter!(FLOW_SUBMISSIONS, &labels).increment(1);
    match answer {
        Ok(response) => response,
        Err(error) => {
            let page = page && state.flows.flow_type(kind, id).await == Some(FlowType::Browser);
            flow_failure(&state, error, page, Vec::new()).await
        }
    }
}

/// Hands a submission to the flow machine and renders its success.
pub(super) async fn submit_to(
    state: &AppState,
    kind: FlowKind,
    id: Uuid,
    body: &Value,
    session: Option<Session>,
    caller: &Caller,
    page: bool,
) -> Result<Response, FlowError> {
    if kind == FlowKind::Settings {
        let flow = state
            .flows
            .submit_settings(id, body, session.as_ref(), &caller.csrf)
            .await?;
        return Ok(settings_saved(state, page, &flow, method_of(body)));
    }
    let requester = Requester {
        session,
        session_token: caller.credentials.token.clone(),
        device: caller.device.clone(),
        csrf_cookie: caller.csrf.cookie_token.clone(),
    };
    let outcome = state
        .flows
        .submit(kind, id, body, requester, &caller.csrf)
        .await?;
    Ok(signed_in(state, page, &outcome, method_of(body)))
}

/// Where a browser goes once `method` completed a flow: its `return_to`,
/// else what the configuration says for the flow and method.
pub(super) fn after(state: &AppState, flow: &Flow, method: &str) -> String {
    flow.return_to
        .clone()
        .unwrap_or_else(|| state.browser.after(flow, method))
}

/// The method a submission names (`password`, `profile`, ...).
fn method_of(body: &Value) -> &str {
    body.get("method").and_then(Value::as_str).unwrap_or("")
}

/// A saved settings flow: browsers that want pages are sent on; a browser
/// flow answered as JSON says where to send the browser (`continue_with`).
fn settings_saved(state: &AppState, page: bool, flow: &Flow, method: &str) -> Response {
    if flow.flow_type == FlowType::Api {
        return flow_response(state, StatusCode::OK, flow);
    }
    let next = after(state, flow, method);
    if page {
        return see_other(&next, Vec::new());
    }
    let mut json = flow_json(flow, &state.public_base_url);
    json.continue_with = Some(vec![redirect_browser_to(&next)]);
    (StatusCode::OK, Json(json)).into_response()
}

fn signed_in(state: &AppState, page: bool, outcome: &Outcome, method: &str) -> Response {
    let browser = outcome.flow.flow_type == FlowType::Browser;
    let cookies: Vec<HeaderValue> = match (&outcome.token, browser) {
        (Some(token), true) => state
            .cookies
            .session_cookie(token, state.sessions.lifespan())
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    let verifications = verification_items(state, &outcome.continue_with);
    if !browser {
        let body = Json(success_json(state, outcome, verifications));
        return add_cookies(body.into_response(), cookies);
    }
    // With `show_verification_ui`, a registering browser goes to the first
    // verification flow started for it.
    let shown = verifications
        .first()
        .and_then(|item| item["flow"]["url"].as_str())
        .filter(|_| state.flows.shows_verification(method))
        .map(str::to_owned);
    let next = shown.unwrap_or_else(|| after(state, &outcome.flow, method));
    if page {
        return see_other(&next, cookies);
    }
    let mut items = verifications;
    items.push(redirect_browser_to(&next));
    let body = Json(success_json(state, outcome, items));
    add_cookies(body.into_response(), cookies)
}

/// The `show_verification_ui` items of an outcome, with the page of each flow.
fn verification_items(state: &AppState, items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .cloned()
        .map(|mut item| {
            let id = item["flow"]["id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok());
            if let Some(id) = id {
                item["flow"]["url"] =
                    Value::String(state.browser.flow_page(FlowKind::Verification, id));
            }
            item
        })
        .collect()
}

fn success_json(state: &AppState, outcome: &Outcome, continue_with: Vec<Value>) -> Value {
    let kind = outcome.flow.kind;
    let session = outcome.session.as_ref().map(|session| {
        serde_json::to_value(session_json(
            session,
            &state.public_base_url,
            SessionView::OWNER,
        ))
        .unwrap_or(Value::Null)
    });
    let identity = (kind == FlowKind::Registration).then(|| {
        serde_json::to_value(identity_json(
            &outcome.identity,
            &state.public_base_url,
            &View::default(),
        ))
        .unwrap_or(Value::Null)
    });
    let native = outcome.flow.flow_type == FlowType::Api;
    let token = outcome.token.as_deref().filter(|_| native);
    outcome_json(identity, session, token, continue_with)
}
