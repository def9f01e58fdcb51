//! Session endpoints: `whoami`, the caller's own sessions (public) and the
//! admin session API. Thin handlers: parse, one service call, render.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Credentials, QueryPairs, parse_id};
use super::paging::Paging;
use super::session_json::{SessionJson, SessionView, session_json};
use super::state::AppState;
use crate::session::{BulkTarget, ExchangeError, Session, SessionError};
use crate::store::{SessionPage, SessionQuery};

fn page_query(query: &QueryPairs) -> Result<(Paging, SessionQuery), ApiError> {
    let paging = Paging::keyset_only(query)?;
    let active = match query.first("active").filter(|a| !a.is_empty()) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "active: must be true or false, got {other:?}"
            )));
        }
    };
    let filter = SessionQuery {
        page_size: paging.limit(),
        after: paging.after,
        active,
        ..SessionQuery::default()
    };
    Ok((paging, filter))
}

/// `expand`: whether to load the identity, and the admin view with or
/// without devices.
fn expand(query: &QueryPairs) -> Result<(bool, SessionView), ApiError> {
    let mut identity = false;
    let mut devices = false;
    for value in query.all("expand") {
        match value.to_ascii_lowercase().as_str() {
            "identity" => identity = true,
            "devices" => devices = true,
            other => {
                return Err(ApiError::bad_request(format!(
                    "expand: unknown value {other:?}; expected identity or devices"
                )));
            }
        }
    }
    let view = SessionView {
        devices,
        admin: true,
    };
    Ok((identity, view))
}

fn render(state: &AppState, session: &Session, view: SessionView) -> Json<SessionJson> {
    Json(session_json(session, &state.public_base_url, view))
}

fn render_page(
    state: &AppState,
    path: &str,
    paging: &Paging,
    page: &SessionPage,
    view: SessionView,
) -> Response {
    let body: Vec<SessionJson> = page
        .sessions
        .iter()
        .map(|s| session_json(s, &state.public_base_url, view))
        .collect();
    let last = page.sessions.last().map(|s| s.id);
    paging.respond(path, page.has_more, last, body)
}

async fn current(state: &AppState, caller: Credentials) -> Result<Session, ApiError> {
    let token = caller.any_token().ok_or_else(ApiError::session_inactive)?;
    Ok(state.sessions.whoami(token).await?)
}

/// `GET /sessions/whoami`
pub async fn whoami(
    State(state): State<AppState>,
    caller: Credentials,
) -> Result<Response, ApiError> {
    let session = current(&state, caller).await?;
    if let Err(error) = state.sessions.check_whoami_aal(&session) {
        return Err(aal2_required(&state, error));
    }
    let mut response = render(&state, &session, SessionView::OWNER).into_response();
    if let Ok(value) = HeaderValue::from_str(&session.identity_id.to_string()) {
        response
            .headers_mut()
            .insert("x-kratos-authenticated-identity-id", value);
    }
    Ok(response)
}

/// The answer to codes that redeem nothing, whatever the reason.
const NO_EXCHANGE: &str = "no session yet for this \"code\"";

/// `GET /sessions/token-exchange?init_code=&return_to_code=`: a native
/// app redeems its session token exchange, once, for the session its
/// sign-in in a browser created and a token for it.
pub async fn exchange_token(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let init_code = query.first("init_code").unwrap_or_default();
    let return_to_code = query.first("return_to_code").unwrap_or_default();
    if init_code.is_empty() || return_to_code.is_empty() {
        return Err(ApiError::bad_request(
            "\"init_code\" and \"return_to_code\" query params must be set",
        ));
    }
    let id = match state.exchanges.redeem(init_code, return_to_code).await {
        Ok(id) => id,
        Err(ExchangeError::Unknown) => return Err(ApiError::not_found(NO_EXCHANGE)),
        Err(ExchangeError::Store(error)) => return Err(error.into()),
    };
    let (session, token) = match state.sessions.reissue_token(id).await {
        Ok(issued) => issued,
        Err(SessionError::Inactive | SessionError::NotFound) => {
            return Err(ApiError::not_found(NO_EXCHANGE));
        }
        Err(error) => return Err(error.into()),
    };
    let session = session_json(&session, &state.public_base_url, SessionView::OWNER);
    Ok(Json(json!({ "session": session, "session_token": token })).into_response())
}

/// 403 `session_aal2_required`, naming where a browser steps its session up.
fn aal2_required(state: &AppState, error: SessionError) -> ApiError {
    let mut extra = serde_json::Map::new();
    extra.insert(
        "redirect_browser_to".into(),
        json!(state.browser.step_up_login()),
    );
    ApiError::from(error).with_extra(extra)
}

/// `GET /sessions`: the caller's other active sessions.
pub async fn list_mine(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    caller: Credentials,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let session = current(&state, caller).await?;
    let (paging, filter) = page_query(&query)?;
    let page = state.sessions.list_mine(&session, filter).await?;
    Ok(render_page(
        &state,
        uri.path(),
        &paging,
        &page,
        SessionView::OWNER,
    ))
}

/// `DELETE /sessions`: revokes the caller's other sessions.
pub async fn revoke_mine(
    State(state): State<AppState>,
    caller: Credentials,
) -> Result<Json<Value>, ApiError> {
    let session = current(&state, caller).await?;
    let count = state.sessions.revoke_others(&session).await?;
    Ok(Json(json!({ "count": count })))
}

/// `DELETE /sessions/{id}`: revokes one other session of the caller.
pub async fn revoke_one_of_mine(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Credentials,
) -> Result<StatusCode, ApiError> {
    let session = current(&state, caller).await?;
    state.sessions.revoke_mine(&session, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/sessions`
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let (paging, filter) = page_query(&query)?;
    let (identity, view) = expand(&query)?;
    let page = state.sessions.list(&filter, identity).await?;
    Ok(render_page(&state, uri.path(), &paging, &page, view))
}

/// `GET /admin/sessions/{id}`
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Json<SessionJson>, ApiError> {
    let (identity, view) = expand(&query)?;
    let session = state.sessions.get(parse_id(&id)?, identity).await?;
    Ok(render(&state, &session, view))
}

/// `DELETE /admin/sessions/{id}`: deactivates the session.
pub async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.sessions.disable(parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /admin/sessions/{id}/extend`: 200 with the session, extended or,
/// before `session.earliest_possible_extend`, as it was.
pub async fn extend(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SessionJson>, ApiError> {
    let session = state.sessions.extend(parse_id(&id)?).await?;
    Ok(render(&state, &session, SessionView::ADMIN))
}

/// `GET /admin/identities/{id}/sessions`
pub async fn list_for_identity(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let (paging, filter) = page_query(&query)?;
    let page = state
        .sessions
        .list_for_identity(parse_id(&id)?, filter)
        .await?;
    Ok(render_page(
        &state,
        uri.path(),
        &paging,
        &page,
        SessionView::ADMIN,
    ))
}

/// `DELETE /admin/identities/{id}/sessions`
pub async fn delete_for_identity(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.sessions.delete_for_identity(parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `POST /admin/sessions`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManageBody {
    action: String,
    #[serde(default)]
    identities: Option<Vec<String>>,
    #[serde(default)]
    sessions: Option<Vec<String>>,
}

/// Most explicit ids one bulk call accepts.
const MAX_BULK_IDS: usize = 500;

fn bulk_ids(field: &str, ids: &[String]) -> Result<Vec<Uuid>, ApiError> {
    if ids.len() > MAX_BULK_IDS {
        return Err(ApiError::bad_request(format!(
            "{field}: at most {MAX_BULK_IDS} ids per call, got {}",
            ids.len()
        )));
    }
    ids.iter()
        .map(|id| {
            Uuid::parse_str(id)
                .map_err(|_| ApiError::bad_request(format!("{field}: {id:?} is not a UUID")))
        })
        .collect()
}

/// `POST /admin/sessions`: disables or deletes sessions in bulk.
pub async fn manage(
    State(state): State<AppState>,
    super::extract::JsonBody(body): super::extract::JsonBody<ManageBody>,
) -> Result<Json<Value>, ApiError> {
    let delete = match body.action.as_str() {
        "disable" => false,
        "delete" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "action: must be disable or delete, got {other:?}"
            )));
        }
    };
    let target = match (&body.identities, &body.sessions) {
        (Some(ids), None) if ids.len() == 1 && ids[0] == "*" => BulkTarget::All,
        (Some(ids), None) if ids.iter().any(|i| i == "*") => {
            return Err(ApiError::bad_request(
                "identities: the wildcard \"*\" must appear alone",
            ));
        }
        (Some(ids), None) if !ids.is_empty() => {
            BulkTarget::Identities(bulk_ids("identities", ids)?)
        }
        (None, Some(ids)) if ids.iter().any(|i| i == "*") => {
            return Err(ApiError::bad_request(
                "sessions: the wildcard is not accepted here; use identities: [\"*\"]",
            ));
        }
        (None, Some(ids)) if !ids.is_empty() => BulkTarget::Sessions(bulk_ids("sessions", ids)?),
        _ => {
            return Err(ApiError::bad_request(
                "exactly one of identities or sessions must be given, and not empty",
            ));
        }
    };
    let outcome = state.sessions.manage(target, delete).await?;
    Ok(Json(
        json!({"processed": outcome.processed, "more": outcome.more}),
    ))
}
