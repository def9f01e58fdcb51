//! Recovery and verification: flows this version does not offer. Every
//! endpoint of theirs answers as Kratos does for a disabled flow: API
//! clients get the error as JSON, browsers that want pages are sent to the
//! error page showing it.

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::super::browser::wants_json;
use super::super::error::ApiError;
use super::super::state::AppState;
use super::respond::refuse;

/// A flow without an implementation, and whether its route is one that only
/// API clients call (native creation and reading a flow by id).
#[derive(Debug, Clone, Copy)]
pub struct NotOffered {
    /// Kratos's reason for the disabled flow, e.g. "Recovery is not allowed
    /// because it was disabled."
    pub reason: &'static str,
    /// True for routes that always answer JSON.
    pub json_only: bool,
}

/// Every route of a flow that is not offered.
pub async fn not_offered(
    State(state): State<AppState>,
    Extension(route): Extension<NotOffered>,
    headers: HeaderMap,
) -> Response {
    let error = ApiError::bad_request(route.reason);
    let page = !route.json_only && !wants_json(&headers);
    if page {
        refuse(&state, error, true, Vec::new()).await
    } else {
        error.into_response()
    }
}
