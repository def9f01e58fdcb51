//! Request extractors whose failures answer in the Kratos error envelope.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::session::Device;
use uuid::Uuid;

/// A JSON body; malformed JSON is a 400, an oversized body a 413.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
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
            })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut deserializer)
            .map(JsonBody)
            .map_err(|error| {
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
#[derive(Debug, Clone, Default)]
pub struct SessionToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SessionToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let token = header("x-session-token").or_else(|| {
            header("authorization").and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
                    .map(str::trim)
            })
        });
        Ok(SessionToken(token.map(str::to_owned)))
    }
}

/// The device a request comes from: client address and `User-Agent`.
#[derive(Debug, Clone)]
pub struct ClientDevice(pub Device);

impl<S: Send + Sync> FromRequestParts<S> for ClientDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let text = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let forwarded = text("true-client-ip").or_else(|| {
            text("x-forwarded-for").and_then(|v| v.split(',').next().map(|s| s.trim().to_owned()))
        });
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(ClientDevice(Device {
            id: Uuid::new_v4(),
            ip_address: forwarded.or(peer),
            user_agent: text("user-agent"),
            location: None,
        }))
    }
}
