//! Request extractors whose failures answer in the Kratos error envelope.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::browser::wants_json;
use super::error::ApiError;
use super::proxies::TrustedProxies;
use super::state::AppState;
use crate::flow::{CsrfEvidence, FlowKind};
use crate::session::Device;
use uuid::Uuid;

/// A JSON body; malformed JSON is a 400, an oversized body a 413.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

/// The whole body; over the limit is a 413.
async fn body_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The request body exceeds the configured size limit.",
                )
            } else {
                ApiError::bad_request(rejection.body_text())
            }
        })
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(request, state).await?;
        decode_json(&bytes).map(JsonBody)
    }
}

/// Decodes a JSON body as [`JsonBody`] does once it has the bytes: the nesting
/// depth is checked first (`limits::check_json_depth`), then the text is
/// decoded into `T`; a failure is a 400 naming the path where decoding stopped.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    super::limits::check_json_depth(bytes)?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let reason = if path == "." || path.is_empty() {
            format!("Unable to decode the JSON body: {inner}")
        } else {
            format!("Unable to decode the JSON body at {path}: {inner}")
        };
        ApiError::bad_request(reason)
    })
}

/// The id of a resource in a path; one that is no UUID names nothing: 404.
pub fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("Unable to locate the resource"))
}

/// The query string as ordered pairs; keys may repeat (`ids=a&ids=b`).
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    /// The first value of a key.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a key.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A numeric parameter; a non-number is a 400 naming the parameter.
    pub fn number(&self, key: &str) -> Result<Option<u64>, ApiError> {
        self.first(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "The query parameter {key} must be a non-negative integer, got {v:?}."
                    ))
                })
            })
            .transpose()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(QueryPairs(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

/// The session token a native client sent: `X-Session-Token`, else
/// `Authorization: Bearer`.
fn session_token(parts: &Parts) -> Option<String> {
    header_text(parts, "x-session-token").or_else(|| {
        let authorization = header_text(parts, "authorization")?;
        authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
            .map(|token| token.trim().to_owned())
    })
}

fn header_text(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn device_of(parts: &Parts, proxies: &TrustedProxies) -> Device {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // Forwarded headers count only when a trusted proxy sent them.
    let client = peer.map(|peer| {
        let true_client_ip = header_text(parts, "true-client-ip");
        let forwarded_for = header_text(parts, "x-forwarded-for");
        proxies.client_address(peer, true_client_ip.as_deref(), forwarded_for.as_deref())
    });
    Device {
        id: Uuid::new_v4(),
        ip_address: client.map(|ip| ip.to_string()),
        user_agent: header_text(parts, "user-agent"),
        location: None,
    }
}

/// The session credentials of a request: the token of `X-Session-Token` or
/// `Authorization: Bearer`, and the token inside the session cookie. Only
/// this is read on session endpoints (whoami is a hot path).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// The header's token.
    pub token: Option<String>,
    /// The token inside the session cookie, if the cookie opens.
    pub cookie_token: Option<String>,
}

impl Credentials {
    /// The session token to authenticate with: the header's, else the cookie's.
    pub fn any_token(&self) -> Option<&str> {
        self.token.as_deref().or(self.cookie_token.as_deref())
    }
}

impl FromRequestParts<AppState> for Credentials {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = session_token(parts);
        // A token in a header wins; the cookie is opened only without one.
        let cookie_token = match token {
            Some(_) => None,
            None => state.cookies.session_token(&parts.headers),
        };
        Ok(Credentials {
            token,
            cookie_token,
        })
    }
}

/// Everything a self-service request says about who sends it: session
/// token or cookie, anti-CSRF evidence, device, and whether it wants JSON.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The session credentials; here the cookie is opened even when a header
    /// token is sent, since flows compare the two.
    pub credentials: Credentials,
    /// Anti-CSRF evidence for browser flows.
    pub csrf: CsrfEvidence,
    /// The device.
    pub device: Device,
    /// Whether the client wants JSON rather than pages and redirects.
    pub json: bool,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let from_browser = parts.headers.contains_key(header::COOKIE)
            || parts.headers.contains_key(header::ORIGIN);
        Ok(Caller {
            credentials: Credentials {
                token: session_token(parts),
                cookie_token: state.cookies.session_token(&parts.headers),
            },
            csrf: CsrfEvidence {
                cookie_token: state.cookies.csrf_token(&parts.headers),
                header_token: header_text(parts, "x-csrf-token"),
                from_browser,
            },
            device: device_of(parts, &state.trusted_proxies),
            json: wants_json(&parts.headers),
        })
    }
}

/// What a self-service endpoint reads besides a body: the server's state,
/// the query and the caller.
#[derive(Clone)]
pub struct CallerRequest {
    /// The server's state.
    pub state: AppState,
    /// The query parameters.
    pub query: QueryPairs,
    /// Who sends the request.
    pub caller: Caller,
}

impl CallerRequest {
    /// The state, query and caller.
    pub fn into_parts(self) -> (AppState, QueryPairs, Caller) {
        (self.state, self.query, self.caller)
    }
}

impl FromRequestParts<AppState> for CallerRequest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(CallerRequest {
            state: state.clone(),
            query: QueryPairs::from_request_parts(parts, state).await?,
            caller: Caller::from_request_parts(parts, state).await?,
        })
    }
}

/// A [`CallerRequest`] to a route that serves several kinds of flow, with
/// the kind it serves (a route extension).
#[derive(Clone)]
pub struct FlowRequest {
    /// The kind of flow the route serves.
    pub kind: FlowKind,
    /// The rest of the request.
    pub request: CallerRequest,
}

impl FlowRequest {
    /// The state, kind, query and caller.
    pub fn into_parts(self) -> (AppState, FlowKind, QueryPairs, Caller) {
        let (state, query, caller) = self.request.into_parts();
        (state, self.kind, query, caller)
    }
}

impl FromRequestParts<AppState> for FlowRequest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let kind = parts
            .extensions
            .get::<FlowKind>()
            .copied()
            .ok_or_else(|| ApiError::internal(&"a flow route carries no flow kind"))?;
        let request = CallerRequest::from_request_parts(parts, state).await?;
        Ok(FlowRequest { kind, request })
    }
}

/// A self-service submission: JSON, or an HTML form whose dotted field names
/// (`traits.name.first`) become nested objects.
#[derive(Debug, Clone)]
pub struct Submission(pub Value);

impl<S: Send + Sync> FromRequest<S> for Submission {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let bytes = body_bytes(request, state).await?;
        decode_submission(form, &bytes).map(Submission)
    }
}

/// Decodes a self-service submission as [`Submission`] does once it has the
/// bytes: an HTML form (`form`), whose dotted names become nested objects, or
/// JSON; both within the limits of `limits` (depth, number of values).
pub fn decode_submission(form: bool, bytes: &[u8]) -> Result<Value, ApiError> {
    if !form {
        let value: Value = decode_json(bytes)?;
        super::limits::check_value_count(&value)?;
        return Ok(value);
    }
    let mut body = Value::Object(serde_json::Map::new());
    for (index, (key, value)) in url::form_urlencoded::parse(bytes).enumerate() {
        super::limits::check_form_field(index, &key)?;
        insert_dotted(&mut body, &key, Value::String(value.into_owned()));
    }
    Ok(body)
}

/// Sets `a.b.c` in a JSON object, creating the objects on the way.
fn insert_dotted(target: &mut Value, key: &str, value: Value) {
    let mut current = target;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let Value::Object(map) = current else {
            return;
        };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return;
        }
        current = map
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_form_keys_become_nested_objects() {
        let mut body = Value::Object(serde_json::Map::new());
        insert_dotted(&mut body, "traits.name.first", Value::String("Ada".into()));
        insert_dotted(&mut body, "traits.email", Value::String("a@b.co".into()));
        insert_dotted(&mut body, "method", Value::String("password".into()));
        assert_eq!(
            body,
            serde_json::json!({"traits": {"name": {"first": "Ada"}, "email": "a@b.co"}, "method": "password"})
        );
    }
}
