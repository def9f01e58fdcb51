//! Logout: native apps by session token, browsers by a logout URL whose
//! token is bound to their session.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::super::browser::{add_cookies, see_other};
use super::super::error::ApiError;
use super::super::extract::{CallerRequest, JsonBody};
use super::super::state::AppState;
use crate::session::SessionError;

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
        Err(SessionError::Inactive) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "The provided session token could not be found or is no longer active.",
        )),
        Err(other) => Err(other.into()),
    }
}

/// `GET /self-service/logout/browser`: a logout URL for the cookie's session.
pub async fn logout_browser(request: CallerRequest) -> Result<Response, ApiError> {
    let (state, query, caller) = request.into_parts();
    let token = caller
        .credentials
        .cookie_token
        .as_deref()
        .ok_or_else(ApiError::session_inactive)?;
    let session = state.sessions.whoami(token).await?;
    let logout_token = state
        .cookies
        .logout_token(session.id)
        .ok_or_else(|| ApiError::internal(&"no cookie secret"))?;
    let mut url = url::Url::parse(&format!("{}self-service/logout", state.public_base_url))
        .map_err(|e| ApiError::internal(&e))?;
    url.query_pairs_mut().append_pair("token", &logout_token);
    if let Some(requested) = query.first("return_to").filter(|r| !r.is_empty()) {
        let allowed = state.browser.check_return_to(requested)?;
        url.query_pairs_mut().append_pair("return_to", &allowed);
    }
    Ok(Json(json!({"logout_url": url.to_string(), "logout_token": logout_token})).into_response())
}

/// `GET /self-service/logout?token=`: ends the session the token was made
/// for, removes the cookie and sends the browser on.
pub async fn logout_with_token(request: CallerRequest) -> Result<Response, ApiError> {
    let (state, query, caller) = request.into_parts();
    let token = query
        .first("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("The token query parameter is missing."))?;
    let session_id = state.cookies.logout_session(token).ok_or_else(|| {
        ApiError::csrf_violation("The logout token is invalid or was made with another secret.")
    })?;
    let target = match query.first("return_to").filter(|r| !r.is_empty()) {
        Some(requested) => state.browser.check_return_to(requested)?,
        None => state.browser.after_logout().to_owned(),
    };
    match state.sessions.disable(session_id).await {
        Ok(()) | Err(SessionError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    let cookies = state.cookies.clear_session_cookie().into_iter().collect();
    if caller.json {
        return Ok(add_cookies(StatusCode::NO_CONTENT.into_response(), cookies));
    }
    Ok(see_other(&target, cookies))
}
