//! The one error type of the HTTP edge, rendered in Kratos's error envelope:
//! `{"error": {"id", "code", "status", "reason", "message"}}`.
//!
//! The internal cause of a 5xx is logged here and never sent to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::flow::FlowError;
use crate::identity::IdentityError;
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
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed,
            ) => {
                tracing::error!(error = %error, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database is unavailable.",
                )
                .with_retry_after(1)
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::NotFound => ApiError::not_found("Unable to locate the resource"),
            IdentityError::UnknownSchema(id) => ApiError::bad_request(format!(
                "The identity schema {id:?} is not configured on this server."
            )),
            IdentityError::InvalidTraits(violations) => {
                let reason = violations
                    .iter()
                    .map(|v| format!("{}: {}", v.path, v.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut details = Map::new();
                details.insert(
                    "violations".into(),
                    Value::Array(
                        violations
                            .iter()
                            .map(|v| json!({"path": v.path, "message": v.message}))
                            .collect(),
                    ),
                );
                ApiError::bad_request(format!(
                    "The traits do not match the identity schema: {reason}"
                ))
                .with_details(details)
            }
            IdentityError::BadRequest(reason) => ApiError::bad_request(reason),
            IdentityError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "This identity conflicts with another identity that already exists.",
            ),
            IdentityError::Busy => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "The password hasher is at capacity; retry shortly.",
            )
            .with_retry_after(1),
            IdentityError::Store(store) => store.into(),
        }
    }
}

impl ApiError {
    /// 401 `session_inactive`: no valid session in the request.
    pub fn session_inactive() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "No valid session credentials found in the request.",
        )
        .with_id("session_inactive")
        .with_message("request does not have a valid authentication session")
    }
}

impl ApiError {
    /// 403 `security_csrf_violation`, with a hint on what was wrong.
    pub fn csrf_violation(hint: &str) -> Self {
        let mut details = Map::new();
        details.insert("hint".into(), json!(hint));
        ApiError::new(
            StatusCode::FORBIDDEN,
            "The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF). \
             Start the flow again, clearing this site's cookies if it keeps happening.",
        )
        .with_id("security_csrf_violation")
        .with_message("the request was rejected to protect you from Cross-Site-Request-Forgery")
        .with_details(details)
    }

    /// 400 `self_service_flow_return_to_forbidden`.
    pub fn return_to_forbidden(url: &str) -> Self {
        ApiError::bad_request(format!("Requested return_to URL {url:?} is not allowed."))
            .with_id("self_service_flow_return_to_forbidden")
    }
}

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Inactive => ApiError::session_inactive(),
            SessionError::NotFound => ApiError::not_found("Unable to locate the resource"),
            SessionError::CurrentSession => ApiError::bad_request(
                "You tried to revoke the session you are currently using; use the logout flow instead.",
            ),
            SessionError::Store(store) => store.into(),
        }
    }
}

impl From<FlowError> for ApiError {
    fn from(error: FlowError) -> Self {
        match error {
            FlowError::NotFound => ApiError::not_found("The requested flow could not be found."),
            FlowError::Expired {
                new_flow,
                expired_at,
            } => {
                let minutes = (chrono::Utc::now() - expired_at).num_seconds().max(0) as f64 / 60.0;
                let mut extra = Map::new();
                extra.insert("use_flow_id".into(), json!(new_flow.id));
                extra.insert("expired_at".into(), json!(crate::time::format(expired_at)));
                extra.insert("since".into(), json!((minutes * 60e9) as i64));
                ApiError::new(
                    StatusCode::GONE,
                    format!(
                        "The self-service flow expired {minutes:.2} minutes ago, initialize a new one."
                    ),
                )
                .with_id("self_service_flow_expired")
                .with_message("self-service flow expired")
                .with_extra(extra)
            }
            FlowError::Invalid(_) => ApiError::bad_request("The submission is invalid."),
            FlowError::UnknownMethod => ApiError::bad_request(
                "Could not find a strategy to handle the request; check the method field.",
            ),
            FlowError::SessionAlreadyAvailable => ApiError::bad_request(
                "A valid session was detected and thus this flow is not possible.",
            )
            .with_id("session_already_available")
            .with_message("A valid session was detected and thus this flow is not possible."),
            FlowError::Busy => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "The password hasher is at capacity; retry shortly.",
            )
            .with_retry_after(1),
            FlowError::Inactive | FlowError::NoSession => ApiError::session_inactive(),
            FlowError::IdentityMismatch { submitted } => ApiError::new(
                if submitted {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::FORBIDDEN
                },
                "The flow belongs to another identity than the current session.",
            )
            .with_id("security_identity_mismatch"),
            FlowError::RefreshRequired(_) => ApiError::new(
                StatusCode::FORBIDDEN,
                "The login session is too old and thus not allowed to update these fields. Please re-authenticate.",
            )
            .with_id("session_refresh_required"),
            FlowError::Csrf(hint) => ApiError::csrf_violation(hint),
            FlowError::NativeFromBrowser => ApiError::bad_request(
                "This flow was started as a native (api) flow but the request carries cookies or \
                 an Origin header, as a browser's does; browsers must use browser flows.",
            ),
            FlowError::HookRefused(problems) => ApiError::bad_request(format!(
                "A web hook refused the flow: {}",
                problems
                    .iter()
                    .map(|p| p.message.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
            FlowError::HookFailed(reason) => {
                tracing::warn!(%reason, "hook failed");
                ApiError::new(StatusCode::BAD_GATEWAY, "A configured hook could not be carried out.")
                    .with_message("A hook of this flow failed; try again later.")
            }
            FlowError::Disabled => {
                ApiError::bad_request("This self-service flow is disabled in the configuration.")
                    .with_id("self_service_flow_disabled")
            }
            FlowError::Throttled { retry_after } => {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts to sign in; retry later.",
                )
                .with_retry_after(seconds.max(1))
            }
            FlowError::Identity(error) => error.into(),
            FlowError::Store(error) => error.into(),
        }
    }
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
