//! The one error type of the HTTP edge, rendered in Kratos's error envelope:
//! `{"error": {"id", "code", "status", "reason", "message"}}`.
//!
//! The internal cause of a 5xx is logged here and never sent to the client.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::flow::{FlowError, FlowKind, Problem};
use crate::identity::IdentityError;
use crate::identity::migration::MigrationError;
use crate::schema::{SchemaChoiceError, TraitViolation};
use crate::session::SessionError;
use crate::store::StoreError;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    id: Option<&'static str>,
    reason: String,
    message: Option<String>,
    details: Option<Box<Map<String, Value>>>,
    extra: Option<Box<Map<String, Value>>>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status and a reason for the client.
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            id: None,
            reason: reason.into(),
            message: None,
            details: None,
            extra: None,
            retry_after: None,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }

    /// 404 Not Found.
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, reason)
    }

    /// 500, logging the cause and hiding it from the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "")
    }

    /// Sets Kratos's machine-readable error id.
    pub fn with_id(mut self, id: &'static str) -> Self {
        self.id = Some(id);
        self
    }

    /// Overrides the generic message of the status.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: Map<String, Value>) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// Adds fields next to `error` at the top level (e.g. `use_flow_id`).
    pub fn with_extra(mut self, extra: Map<String, Value>) -> Self {
        self.extra = Some(Box::new(extra));
        self
    }

    /// Asks the client to retry after this many seconds.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The envelope as JSON.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        if let Some(id) = self.id {
            error.insert("id".into(), json!(id));
        }
        error.insert("code".into(), json!(self.status.as_u16()));
        error.insert(
            "status".into(),
            json!(self.status.canonical_reason().unwrap_or("Error")),
        );
        if !self.reason.is_empty() {
            error.insert("reason".into(), json!(self.reason));
        }
        if let Some(details) = &self.details {
            error.insert("details".into(), Value::Object((**details).clone()));
        }
        error.insert(
            "message".into(),
            json!(
                self.message
                    .clone()
                    .unwrap_or_else(|| default_message(self.status).to_owned())
            ),
        );
        let mut body = Map::new();
        body.insert("error".into(), Value::Object(error));
        if let Some(extra) = &self.extra {
            body.extend((**extra).clone());
        }
        Value::Object(body)
    }
}

/// The generic message Kratos sends for a status.
pub fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request was malformed or contained invalid parameters",
        401 => "The request could not be authorized",
        403 => "The requested action was forbidden",
        404 => "The requested resource could not be found",
        409 => "The resource could not be created due to a conflict",
        410 => "The requested resource is no longer available",
        413 => "The request body is too large",
        415 => "The request's content type is not supported",
        429 => "Too many requests, please try again later",
        503 => "The service is temporarily unavailable",
        _ => "An internal server error occurred, please contact the system administrator",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::not_found("Unable to locate the resource"),
            StoreError::Conflict(_) => ApiError::new(
                StatusCode::CONFLICT,
                "This resource conflicts with one that exists already.",
            ),
            StoreError::Unavailable(_) => {
                tracing::error!(error = %error, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database is unavailable.",
                )
                .with_retry_after(1)
            }
            StoreError::Contention(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The write collided with a concurrent one; retry it.",
            )
            .with_retry_after(1),
            other => ApiError::internal(&other),
        }
    }
}

impl ApiError {
    /// 401 `session_inactive`: no valid session in the request.
    pub fn session_inactive() -> Self {
        SESSION_INACTIVE.into()
    }

    /// 403 `security_csrf_violation`, with a hint on what was wrong.
    pub fn csrf_violation(hint: &str) -> Self {
        let mut details = Map::new();
        details.insert("hint".into(), json!(hint));
        ApiError::from(CSRF_VIOLATION).with_details(details)
    }

    /// 400 `self_service_flow_return_to_forbidden`.
    pub fn return_to_forbidden(url: &str) -> Self {
        ApiError::bad_request(format!("Requested return_to URL {url:?} is not allowed."))
            .with_id("self_service_flow_return_to_forbidden")
    }

    /// 422 `browser_location_change_required`: a JSON-speaking browser must
    /// go to `url` to go on (`redirect_browser_to`).
    pub fn location_change(url: &str) -> Self {
        let mut extra = Map::new();
        extra.insert("redirect_browser_to".into(), Value::String(url.to_owned()));
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("In order to complete this flow please redirect the browser to: {url}"),
        )
        .with_id("browser_location_change_required")
        .with_message("browser location change required")
        .with_extra(extra)
    }
}

/// An answer fixed in advance: status, Kratos's error id, reason, message
/// (`None`: the status's generic one) and `Retry-After` seconds.
struct Answer(
    StatusCode,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    Option<u64>,
);

impl From<Answer> for ApiError {
    fn from(Answer(status, id, reason, message, retry_after): Answer) -> Self {
        ApiError {
            id,
            message: message.map(str::to_owned),
            retry_after,
            ..ApiError::new(status, reason)
        }
    }
}

/// The answers the domain errors map onto, one a row.
#[rustfmt::skip]
mod answers {
    use axum::http::StatusCode as S;

    use super::Answer as A;

    pub const RESOURCE_NOT_FOUND: A = A(S::NOT_FOUND, None, "Unable to locate the resource", None, None);
    pub const HASHER_BUSY: A = A(S::TOO_MANY_REQUESTS, None, "The password hasher is at capacity; retry shortly.", None, Some(1));
    pub const IDENTITY_CONFLICT: A = A(S::CONFLICT, None, "This identity conflicts with another identity that already exists.", None, None);
    pub const SESSION_INACTIVE: A = A(S::UNAUTHORIZED, Some("session_inactive"), "No valid session credentials found in the request.", Some("request does not have a valid authentication session"), None);
    pub const CURRENT_SESSION: A = A(S::BAD_REQUEST, None, "You tried to revoke the session you are currently using; use the logout flow instead.", None, None);
    pub const CSRF_VIOLATION: A = A(S::FORBIDDEN, Some("security_csrf_violation"), "The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF). Start the flow again, clearing this site's cookies if it keeps happening.", Some("the request was rejected to protect you from Cross-Site-Request-Forgery"), None);
    pub const FLOW_NOT_FOUND: A = A(S::NOT_FOUND, None, "The requested flow could not be found.", None, None);
    pub const SESSION_ALREADY_AVAILABLE: A = A(S::BAD_REQUEST, Some("session_already_available"), "A valid session was detected and thus this flow is not possible.", Some("A valid session was detected and thus this flow is not possible."), None);
    pub const SUBMISSION_INVALID: A = A(S::BAD_REQUEST, None, "The submission is invalid.", None, None);
    pub const AAL2_REQUIRED: A = A(S::FORBIDDEN, Some("session_aal2_required"), "The session is active but its identity has set up a second factor, which this session has not used: complete a login with aal=aal2.", Some("a second authentication factor is required"), None);
    pub const AAL1_REQUIRED: A = A(S::UNAUTHORIZED, Some("session_aal1_required"), "A higher authenticator assurance level can only be requested with an active session.", Some("a session is required"), None);
    pub const NO_SECOND_FACTOR: A = A(S::BAD_REQUEST, None, "The identity has no second factor set up, so no higher authenticator assurance level can be reached.", None, None);
    pub const REFRESH_REQUIRED: A = A(S::FORBIDDEN, Some("session_refresh_required"), "The login session is too old and thus not allowed to update these fields. Please re-authenticate.", None, None);
    pub const UNKNOWN_METHOD: A = A(S::BAD_REQUEST, None, "Could not find a strategy to handle the request; check the method field.", None, None);
    pub const HOOK_FAILED: A = A(S::BAD_GATEWAY, None, "A configured hook could not be carried out.", Some("A hook of this flow failed; try again later."), None);
    pub const NATIVE_FROM_BROWSER: A = A(S::BAD_REQUEST, None, "This flow was started as a native (api) flow but the request carries cookies or an Origin header, as a browser's does; browsers must use browser flows.", None, None);
    pub const FLOW_DISABLED: A = A(S::BAD_REQUEST, Some("self_service_flow_disabled"), "This self-service flow is disabled in the configuration.", None, None);
}

use answers::*;

impl From<IdentityError> for ApiError {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::NotFound => RESOURCE_NOT_FOUND.into(),
            IdentityError::UnknownSchema(id) => ApiError::bad_request(format!(
                "The identity schema {id:?} is not configured on this server."
            )),
            IdentityError::InvalidTraits(violations) => invalid_traits(&violations),
            IdentityError::BadRequest(reason) => ApiError::bad_request(reason),
            IdentityError::Conflict => IDENTITY_CONFLICT.into(),
            IdentityError::Busy => HASHER_BUSY.into(),
            IdentityError::Store(store) => store.into(),
        }
    }
}

impl From<MigrationError> for ApiError {
    fn from(error: MigrationError) -> Self {
        match error {
            MigrationError::UnknownSchema(id) => ApiError::not_found(format!(
                "No identity schema with id {id:?} is configured (and no identity uses it)."
            )),
            MigrationError::BadRequest(reason) => ApiError::bad_request(reason),
            MigrationError::InvalidTransform(reason) => {
                ApiError::bad_request(format!("transform: {reason}"))
            }
            MigrationError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many Jsonnet programs are running; retry shortly.",
            )
            .with_retry_after(1),
            MigrationError::Store(store) => store.into(),
        }
    }
}

fn invalid_traits(violations: &[TraitViolation]) -> ApiError {
    let reason = violations
        .iter()
        .map(|v| format!("{}: {}", v.path, v.message))
        .collect::<Vec<_>>()
        .join("; ");
    let listed = violations
        .iter()
        .map(|v| json!({"path": v.path, "message": v.message}))
        .collect();
    let mut details = Map::new();
    details.insert("violations".into(), Value::Array(listed));
    ApiError::bad_request(format!(
        "The traits do not match the identity schema: {reason}"
    ))
    .with_details(details)
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Inactive => SESSION_INACTIVE.into(),
            SessionError::NotFound => RESOURCE_NOT_FOUND.into(),
            SessionError::CurrentSession => CURRENT_SESSION.into(),
            SessionError::Aal2Required => AAL2_REQUIRED.into(),
            SessionError::Store(store) => store.into(),
        }
    }
}

/// 400 for a flow that asked for a schema it may not use, in Kratos's words;
/// an id no schema could have (overlong, control characters) is not echoed.
fn schema_choice(id: &str, reason: &SchemaChoiceError) -> ApiError {
    let shown = if id.len() <= 64 && !id.chars().any(char::is_control) {
        format!(" {id:?}")
    } else {
        String::new()
    };
    ApiError::bad_request(match reason {
        SchemaChoiceError::Unknown => format!("Requested identity schema{shown} does not exist."),
        SchemaChoiceError::NotSelectable => {
            format!("Requested identity schema{shown} is not enabled for self-service flows.")
        }
    })
}

impl From<FlowError> for ApiError {
    fn from(error: FlowError) -> Self {
        match error {
            FlowError::NotFound => FLOW_NOT_FOUND.into(),
            FlowError::Expired {
                new_flow,
                expired_at,
            } => flow_expired(new_flow.id, expired_at),
            FlowError::Invalid(_) => SUBMISSION_INVALID.into(),
            FlowError::Redirect { to } => ApiError::location_change(&to),
            FlowError::UnknownMethod => UNKNOWN_METHOD.into(),
            FlowError::SessionAlreadyAvailable => SESSION_ALREADY_AVAILABLE.into(),
            FlowError::Busy => HASHER_BUSY.into(),
            FlowError::Inactive | FlowError::NoSession => SESSION_INACTIVE.into(),
            FlowError::IdentityMismatch { submitted } => identity_mismatch(submitted),
            FlowError::RefreshRequired(_) => REFRESH_REQUIRED.into(),
            FlowError::Aal2Required => AAL2_REQUIRED.into(),
            FlowError::Aal1Required => AAL1_REQUIRED.into(),
            FlowError::NoSecondFactor => NO_SECOND_FACTOR.into(),
            FlowError::Csrf(hint) => ApiError::csrf_violation(hint),
            FlowError::NativeFromBrowser => NATIVE_FROM_BROWSER.into(),
            FlowError::SchemaChoice { id, reason } => schema_choice(&id, &reason),
            FlowError::HookRefused(problems) => hook_refused(&problems),
            FlowError::HookFailed(reason) => {
                tracing::warn!(%reason, "hook failed");
                HOOK_FAILED.into()
            }
            FlowError::Disabled(FlowKind::Registration) => FLOW_DISABLED.into(),
            FlowError::Disabled(kind) => flow_disabled(kind),
            FlowError::Throttled { retry_after } => throttled(retry_after),
            FlowError::Refused(refusal) => refused(refusal),
            FlowError::Identity(error) => error.into(),
            FlowError::Store(error) => error.into(),
        }
    }
}

/// A method's outright refusal: its status (400 when it is not a client
/// error) and reason, with what was wrong in `details.cause`.
fn refused(refusal: crate::flow::Refusal) -> ApiError {
    let status = StatusCode::from_u16(refusal.status)
        .ok()
        .filter(StatusCode::is_client_error)
        .unwrap_or(StatusCode::BAD_REQUEST);
    let mut details = Map::new();
    details.insert("cause".into(), Value::String(refusal.cause));
    ApiError::new(status, refusal.reason).with_details(details)
}

/// 400: a flow switched off in the configuration, with Kratos's reason.
fn flow_disabled(kind: FlowKind) -> ApiError {
    let name = match kind {
        FlowKind::Login => "Login",
        FlowKind::Registration => "Registration",
        FlowKind::Settings => "Settings",
        FlowKind::Recovery => "Recovery",
        FlowKind::Verification => "Verification",
    };
    ApiError::bad_request(format!("{name} is not allowed because it was disabled."))
}

/// 410 `self_service_flow_expired`, naming the flow that replaces it.
fn flow_expired(new_flow: uuid::Uuid, expired_at: DateTime<Utc>) -> ApiError {
    let minutes = (Utc::now() - expired_at).num_seconds().max(0) as f64 / 60.0;
    let mut extra = Map::new();
    extra.insert("use_flow_id".into(), json!(new_flow));
    extra.insert("expired_at".into(), json!(crate::time::format(expired_at)));
    extra.insert("since".into(), json!((minutes * 60e9) as i64));
    ApiError::new(
        StatusCode::GONE,
        format!("The self-service flow expired {minutes:.2} minutes ago, initialize a new one."),
    )
    .with_id("self_service_flow_expired")
    .with_message("self-service flow expired")
    .with_extra(extra)
}

/// `security_identity_mismatch`: 400 on a submission, 403 on a read.
fn identity_mismatch(submitted: bool) -> ApiError {
    let status = if submitted {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::FORBIDDEN
    };
    ApiError::new(
        status,
        "The flow belongs to another identity than the current session.",
    )
    .with_id("security_identity_mismatch")
}

fn hook_refused(problems: &[Problem]) -> ApiError {
    let messages: Vec<&str> = problems.iter().map(|p| p.message.text.as_str()).collect();
    ApiError::bad_request(format!(
        "A web hook refused the flow: {}",
        messages.join(" ")
    ))
}

/// 429 with `Retry-After` in whole seconds, at least one.
fn throttled(retry_after: Duration) -> ApiError {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts to sign in; retry later.",
    )
    .with_retry_after(seconds.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_matches_kratos() {
        let body = ApiError::not_found("Unable to locate the resource").body();
        assert_eq!(
            body,
            json!({"error": {
                "code": 404,
                "status": "Not Found",
                "reason": "Unable to locate the resource",
                "message": "The requested resource could not be found"
            }})
        );
        let body = ApiError::internal(&"secret cause").body();
        assert!(!body.to_string().contains("secret cause"));
    }
}
