//! Login, registration and settings flows: create (browser or native),
//! fetch and submit.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::super::browser::{add_cookies, see_other};
use super::super::error::ApiError;
use super::super::extract::{Caller, QueryPairs, Submission};
use super::super::flow_json::outcome_json;
use super::super::session_json::{SessionView, session_json};
use super::super::state::AppState;
use super::super::wire::{View, identity_json};
use super::respond::{error_page, flow_failure, flow_id, flow_response, request_url};
use crate::flow::{FlowError, FlowKind, FlowService, FlowType, NewFlow, Outcome, Requester, csrf};
use crate::session::{Session, SessionError};

/// The valid session a request carries, if any.
async fn session_of(state: &AppState, token: Option<&str>) -> Result<Option<Session>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    match state.sessions.whoami(token).await {
        Ok(session) => Ok(Some(session)),
        Err(SessionError::Store(error)) => Err(error.into()),
        Err(_) => Ok(None),
    }
}

async fn create(
    state: AppState,
    kind: FlowKind,
    uri: Uri,
    caller: Caller,
    query: QueryPairs,
    flow_type: FlowType,
) -> Response {
    let browser = flow_type == FlowType::Browser;
    let page = browser && !caller.json;
    // A browser keeps its anti-CSRF token; a new browser gets one in a cookie.
    let (csrf_token, cookies) = match (browser, caller.csrf.cookie_token.clone()) {
        (false, _) => (None, Vec::new()),
        (true, Some(token)) => (Some(token), Vec::new()),
        (true, None) => {
            let token = csrf::new_token();
            let cookie = state.cookies.csrf_cookie(&token);
            (Some(token), cookie.into_iter().collect())
        }
    };
    let return_to = match query.first("return_to").filter(|r| !r.is_empty()) {
        None => None,
        Some(requested) => match state.browser.check_return_to(requested) {
            Ok(url) => Some(url),
            Err(error) if page => return error_page(&state, error, cookies).await,
            Err(error) => return add_cookies(error.into_response(), cookies),
        },
    };
    let token = if browser {
        caller.credentials.cookie_token.as_deref()
    } else {
        caller.credentials.token.as_deref()
    };
    let session = match session_of(&state, token).await {
        Ok(session) => session,
        Err(error) => return error.into_response(),
    };
    let new = NewFlow {
        kind,
        flow_type,
        request_url: request_url(&state, &uri),
        return_to: return_to.clone(),
        refresh: query.first("refresh") == Some("true"),
        csrf_token,
    };
    let requester = Requester {
        session,
        session_token: None,
        device: caller.device,
    };
    match state.flows.create(new, &requester).await {
        Ok(flow) if page => see_other(&state.browser.flow_page(kind, flow.id), cookies),
        Ok(flow) => add_cookies(flow_response(&state, StatusCode::OK, &flow), cookies),
        Err(FlowError::SessionAlreadyAvailable) if page => {
            let target = return_to.unwrap_or_else(|| state.browser.after(kind).to_owned());
            see_other(&target, cookies)
        }
        Err(FlowError::NoSession) if page => {
            let login = format!("{}self-service/login/browser", state.public_base_url);
            see_other(&login, cookies)
        }
        Err(error) => flow_failure(&state, error, page, cookies).await,
    }
}

async fn fetch(state: AppState, kind: FlowKind, caller: Caller, query: QueryPairs) -> Response {
    let id = match flow_id(&query) {
        Ok(id) => id,
        Err(error) => return error.into_response(),
    };
    let flow = match state.flows.get(kind, id).await {
        Ok(flow) => flow,
        Err(error) => return flow_failure(&state, error, false, Vec::new()).await,
    };
    if !FlowService::csrf_cookie_matches(&flow, caller.csrf.cookie_token.as_deref()) {
        return ApiError::csrf_violation(
            "The anti-CSRF cookie of this browser does not belong to the flow; start a new flow.",
        )
        .into_response();
    }
    if kind == FlowKind::Settings {
        let session = match session_of(&state, caller.credentials.any_token()).await {
            Ok(Some(session)) => session,
            Ok(None) => return ApiError::session_inactive().into_response(),
            Err(error) => return error.into_response(),
        };
        if flow.identity_id != Some(session.identity_id) {
            return ApiError::from(FlowError::IdentityMismatch { submitted: false })
                .into_response();
        }
    }
    flow_response(&state, StatusCode::OK, &flow)
}

fn success_json(state: &AppState, kind: FlowKind, outcome: &Outcome) -> Value {
    let view = SessionView {
        devices: true,
        admin: false,
    };
    let session = outcome.session.as_ref().map(|session| {
        serde_json::to_value(session_json(session, &state.public_base_url, view))
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
    outcome_json(identity, session, token)
}

async fn submit(
    state: AppState,
    kind: FlowKind,
    query: QueryPairs,
    caller: Caller,
    body: Value,
) -> Response {
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
    let requester = Requester {
        session,
        session_token: caller.credentials.token.clone(),
        device: caller.device.clone(),
    };
    match state
        .flows
        .submit(kind, id, &body, requester, &caller.csrf)
        .await
    {
        Ok(outcome) => {
            let browser = outcome.flow.flow_type == FlowType::Browser;
            let cookies: Vec<HeaderValue> = match (&outcome.token, browser) {
                (Some(token), true) => state
                    .cookies
                    .session_cookie(token, state.sessions.lifespan())
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            };
            if browser && page {
                let target = outcome
                    .flow
                    .return_to
                    .clone()
                    .unwrap_or_else(|| state.browser.after(kind).to_owned());
                return see_other(&target, cookies);
            }
            add_cookies(
                Json(success_json(&state, kind, &outcome)).into_response(),
                cookies,
            )
        }
        Err(error) => {
            let page = page && state.flows.flow_type(kind, id).await == Some(FlowType::Browser);
            flow_failure(&state, error, page, Vec::new()).await
        }
    }
}

async fn submit_settings_flow(
    state: AppState,
    query: QueryPairs,
    caller: Caller,
    body: Value,
) -> Response {
    let id = match flow_id(&query) {
        Ok(id) => id,
        Err(error) => return error.into_response(),
    };
    let page = !caller.json;
    let session = match session_of(&state, caller.credentials.any_token()).await {
        Ok(session) => session,
        Err(error) => return error.into_response(),
    };
    match state
        .flows
        .submit_settings(id, &body, session.as_ref(), &caller.csrf)
        .await
    {
        Ok(flow) if page && flow.flow_type == FlowType::Browser => {
            let target = flow
                .return_to
                .clone()
                .unwrap_or_else(|| state.browser.after(FlowKind::Settings).to_owned());
            see_other(&target, Vec::new())
        }
        Ok(flow) => flow_response(&state, StatusCode::OK, &flow),
        Err(error) => {
            let page = page
                && state.flows.flow_type(FlowKind::Settings, id).await == Some(FlowType::Browser);
            flow_failure(&state, error, page, Vec::new()).await
        }
    }
}

/// `GET /self-service/login/api`
pub async fn create_login_api(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    create(state, FlowKind::Login, uri, caller, query, FlowType::Api).await
}

/// `GET /self-service/login/browser`
pub async fn create_login_browser(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    create(
        state,
        FlowKind::Login,
        uri,
        caller,
        query,
        FlowType::Browser,
    )
    .await
}

/// `GET /self-service/registration/api`
pub async fn create_registration_api(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    create(
        state,
        FlowKind::Registration,
        uri,
        caller,
        query,
        FlowType::Api,
    )
    .await
}

/// `GET /self-service/registration/browser`
pub async fn create_registration_browser(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    create(
        state,
        FlowKind::Registration,
        uri,
        caller,
        query,
        FlowType::Browser,
    )
    .await
}

/// `GET /self-service/settings/api`
pub async fn create_settings_api(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    create(state, FlowKind::Settings, uri, caller, query, FlowType::Api).await
}

/// `GET /self-service/settings/browser`
pub async fn create_settings_browser(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    create(
        state,
        FlowKind::Settings,
        uri,
        caller,
        query,
        FlowType::Browser,
    )
    .await
}

/// `GET /self-service/login/flows?id=`
pub async fn get_login(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    fetch(state, FlowKind::Login, caller, query).await
}

/// `GET /self-service/registration/flows?id=`
pub async fn get_registration(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    fetch(state, FlowKind::Registration, caller, query).await
}

/// `GET /self-service/settings/flows?id=`
pub async fn get_settings(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryPairs,
) -> Response {
    fetch(state, FlowKind::Settings, caller, query).await
}

/// `POST /self-service/login?flow=`
pub async fn submit_login(
    State(state): State<AppState>,
    query: QueryPairs,
    caller: Caller,
    Submission(body): Submission,
) -> Response {
    submit(state, FlowKind::Login, query, caller, body).await
}

/// `POST /self-service/registration?flow=`
pub async fn submit_registration(
    State(state): State<AppState>,
    query: QueryPairs,
    caller: Caller,
    Submission(body): Submission,
) -> Response {
    submit(state, FlowKind::Registration, query, caller, body).await
}

/// `POST /self-service/settings?flow=`
pub async fn submit_settings(
    State(state): State<AppState>,
    query: QueryPairs,
    caller: Caller,
    Submission(body): Submission,
) -> Response {
    submit_settings_flow(state, query, caller, body).await
}
