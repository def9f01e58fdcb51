//! A small client of a server's admin API (identities and schemas), reached through the
//! API server's Service proxy like [`crate::identities`]: no extra network path, no
//! credentials beyond the operator's own RBAC (`services/proxy`).
//!
//! Answers are plain JSON in Kratos's wire shape; refusals carry the server's error
//! (`{"error": {"reason", "message", ...}}`) so a resource's status can quote it.

use bia_crds::IdentityServer;
use http::{Method, Request, StatusCode};
use kube::{Client, ResourceExt};
use serde_json::Value;

use crate::render::names;

/// Largest answer read from the admin API; a bigger one is an error, not an allocation.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Why an admin API call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The server could not be reached (no ready pod, proxy failure, transport error,
    /// a 5xx answer).
    #[error("the admin API is unavailable: {0}")]
    Unavailable(String),
    /// The server refused the request (a 4xx answer) and said why.
    #[error("{message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's error message (with its reason when it gave one).
        message: String,
    },
    /// The answer was not the JSON expected.
    #[error("unexpected answer from the admin API: {0}")]
    Decode(String),
}

/// The admin API of one server.
#[derive(Clone)]
pub struct AdminApi {
    client: Client,
    base: String,
}

impl AdminApi {
    /// The admin API of `server`, through its admin Service.
    pub fn new(client: Client, server: &IdentityServer) -> Self {
        let ns = server.namespace().unwrap_or_default();
        let service = names(server).map(|n| n.admin_service).unwrap_or_default();
        Self {
            client,
            base: format!("/api/v1/namespaces/{ns}/services/{service}:admin/proxy"),
        }
    }

    /// `GET /admin/identities/{id}`; `None` when the server has no such identity.
    pub async fn identity(&self, id: &str) -> Result<Option<Value>, AdminError> {
        let path = format!("/admin/identities/{}", encode(id));
        self.optional(self.send(Method::GET, &path, None).await)
    }

    /// `GET /admin/identities/by/external/{id}`; `None` when no identity has that external id.
    pub async fn by_external_id(&self, external_id: &str) -> Result<Option<Value>, AdminError> {
        let path = format!("/admin/identities/by/external/{}", encode(external_id));
        self.optional(self.send(Method::GET, &path, None).await)
    }

    /// `GET /admin/identities?credentials_identifier=`: the identities holding `identifier`.
    pub async fn by_identifier(&self, identifier: &str) -> Result<Vec<Value>, AdminError> {
        let path = format!(
            "/admin/identities?credentials_identifier={}",
            encode(identifier)
        );
        let list = self.send(Method::GET, &path, None).await?;
        match list {
            Value::Array(items) => Ok(items),
            other => Err(AdminError::Decode(format!("expected a list, got {other}"))),
        }
    }

    /// `GET /schemas/{id}`; `None` when the server does not serve that schema.
    pub async fn schema(&self, id: &str) -> Result<Option<Value>, AdminError> {
        let path = format!("/schemas/{}", encode(id));
        self.optional(self.send(Method::GET, &path, None).await)
    }

    /// `POST /admin/identities`.
    pub async fn create(&self, body: &Value) -> Result<Value, AdminError> {
        self.send(Method::POST, "/admin/identities", Some(body))
            .await
    }

    /// `PUT /admin/identities/{id}`.
    pub async fn update(&self, id: &str, body: &Value) -> Result<Value, AdminError> {
        let path = format!("/admin/identities/{}", encode(id));
        self.send(Method::PUT, &path, Some(body)).await
    }

    /// `POST /admin/bia/schema-migrations`: one batch of a schema migration.
    pub async fn migrate_schema(&self, body: &Value) -> Result<Value, AdminError> {
        self.send(Method::POST, "/admin/bia/schema-migrations", Some(body))
            .await
    }

    /// `DELETE /admin/identities/{id}`; `false` when it was already gone.
    pub async fn delete(&self, id: &str) -> Result<bool, AdminError> {
        let path = format!("/admin/identities/{}", encode(id));
        match self.send(Method::DELETE, &path, None).await {
            Ok(_) => Ok(true),
            Err(AdminError::Refused { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn optional(&self, answer: Result<Value, AdminError>) -> Result<Option<Value>, AdminError> {
        match answer {
            Ok(v) => Ok(Some(v)),
            Err(AdminError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, AdminError> {
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| AdminError::Decode(e.to_string()))?,
            None => Vec::new(),
        };
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(bytes)
            .map_err(|e| AdminError::Unavailable(e.to_string()))?;
        let response = self
            .client
            .send(request.map(kube::client::Body::from))
            .await
            .map_err(|e| AdminError::Unavailable(e.to_string()))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| AdminError::Unavailable(e.to_string()))?;
        if body.len() > MAX_BODY {
            return Err(AdminError::Decode(format!(
                "answer of {} bytes exceeds {MAX_BODY}",
                body.len()
            )));
        }
        answer(status, &body)
    }
}

/// Reads an answer: JSON on success, the server's error otherwise.
fn answer(status: StatusCode, body: &[u8]) -> Result<Value, AdminError> {
    if status.is_success() {
        if body.is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(body).map_err(|e| AdminError::Decode(e.to_string()));
    }
    match error_message(body) {
        Some(message) if status.is_client_error() => Err(AdminError::Refused {
            status: status.as_u16(),
            message,
        }),
        Some(message) => Err(AdminError::Unavailable(format!(
            "status {status}: {message}"
        ))),
        None => {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            Err(AdminError::Unavailable(format!("status {status}: {text}")))
        }
    }
}

/// The reason of a Kratos error body (what went wrong, specifically), else its message.
pub fn error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let error = v.get("error")?;
    let text = |k: &str| {
        error
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    text("reason")
        .or_else(|| text("message"))
        .or_else(|| text("status"))
        .map(str::to_owned)
}

/// Percent-encodes a path segment or query value (everything but RFC 3986 unreserved).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_identifiers() {
        assert_eq!(encode("a+b@x.io"), "a%2Bb%40x.io");
        assert_eq!(encode("ü/&"), "%C3%BC%2F%26");
    }

    #[test]
    fn reads_kratos_errors() {
        let body = br#"{"error":{"code":400,"status":"Bad Request","reason":"traits.email: not an email","message":"The request was malformed or contained invalid parameters"}}"#;
        let e = answer(StatusCode::BAD_REQUEST, body).unwrap_err();
        assert!(
            matches!(&e, AdminError::Refused { status: 400, message } if message.contains("not an email")),
            "{e:?}"
        );
        // A 4xx without the Kratos shape comes from the proxy: the server was not reached.
        assert!(matches!(
            answer(StatusCode::FORBIDDEN, b"forbidden"),
            Err(AdminError::Unavailable(_))
        ));
        assert!(matches!(
            answer(StatusCode::SERVICE_UNAVAILABLE, b"no endpoints"),
            Err(AdminError::Unavailable(_))
        ));
        // A 404 of the proxy (no such Service) is not a missing identity.
        assert!(matches!(
            answer(StatusCode::NOT_FOUND, br#"{"kind":"Status","code":404}"#),
            Err(AdminError::Unavailable(_))
        ));
        assert!(matches!(
            answer(
                StatusCode::NOT_FOUND,
                br#"{"error":{"code":404,"message":"Not Found"}}"#
            ),
            Err(AdminError::Refused { status: 404, .. })
        ));
    }
}
