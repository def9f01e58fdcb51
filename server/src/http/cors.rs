//! Cross-origin resource sharing for each listener (`serve.public.cors`,
//! `serve.admin.cors`) with Kratos's meaning and defaults.
//!
//! - Off unless `enabled: true`.
//! - `allowed_origins` (default `["*"]`): exact origins, `*` for any, or one `*`
//!   standing for any run of characters (`https://*.example.com`). Origins are
//!   compared case-insensitively. An allowed origin is echoed back, never `*`, so
//!   credentials work with any rule.
//! - `allowed_methods`, `allowed_headers`, `exposed_headers`, `allow_credentials`
//!   (default true) and `max_age` (seconds; 0 sends no `Access-Control-Max-Age`).
//!
//! A request from an origin that is not allowed is served without CORS headers, so the
//! browser withholds the answer from the calling page.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use bia_config::Cors;

const DEFAULT_METHODS: [&str; 5] = ["POST", "GET", "PUT", "PATCH", "DELETE"];
const DEFAULT_HEADERS: [&str; 6] = [
    "Authorization",
    "Content-Type",
    "Max-Age",
    "X-Session-Token",
    "X-XSRF-TOKEN",
    "X-CSRF-TOKEN",
];
const DEFAULT_EXPOSED: [&str; 1] = ["Content-Type"];

/// A CORS setting that cannot be applied, with the key below the `cors` section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct CorsError {
    /// The failing key below the section, e.g. `allowed_origins[1]`.
    pub key: String,
    /// Why it is refused.
    pub reason: String,
}

fn refuse(key: String, reason: &str) -> CorsError {
    CorsError {
        key,
        reason: reason.to_owned(),
    }
}

/// One `allowed_origins` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OriginRule {
    Any,
    Exact(String),
    Wildcard { prefix: String, suffix: String },
}

impl OriginRule {
    fn parse(index: usize, text: &str) -> Result<Self, CorsError> {
        let text = text.trim().to_ascii_lowercase();
        let key = || format!("allowed_origins[{index}]");
        if text == "*" {
            return Ok(OriginRule::Any);
        }
        if text.is_empty() {
            return Err(refuse(key(), "an origin may not be empty"));
        }
        match text.split_once('*') {
            None => Ok(OriginRule::Exact(text)),
            Some((_, rest)) if rest.contains('*') => {
                Err(refuse(key(), "an origin may hold at most one wildcard (*)"))
            }
            Some((prefix, suffix)) => Ok(OriginRule::Wildcard {
                prefix: prefix.to_owned(),
                suffix: suffix.to_owned(),
            }),
        }
    }

    fn admits(&self, origin: &str) -> bool {
        match self {
            OriginRule::Any => true,
            OriginRule::Exact(exact) => origin == exact,
            OriginRule::Wildcard { prefix, suffix } => {
                origin.len() >= prefix.len() + suffix.len()
                    && origin.starts_with(prefix.as_str())
                    && origin.ends_with(suffix.as_str())
            }
        }
    }
}

/// The allowed origins of one listener.
#[derive(Debug, Clone)]
struct OriginRules(Vec<OriginRule>);

impl OriginRules {
    fn admits(&self, origin: &HeaderValue) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        self.0.iter().any(|rule| rule.admits(&origin))
    }
}

/// Uses the configured list, or Kratos's default when it is empty.
fn or_default<'a>(configured: &'a [String], default: &'a [&'a str]) -> Vec<&'a str> {
    if configured.is_empty() {
        default.to_vec()
    } else {
        configured.iter().map(String::as_str).collect()
    }
}

fn header_names(key: &str, names: &[&str]) -> Result<Vec<HeaderName>, CorsError> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            HeaderName::try_from(name.trim())
                .map_err(|_| refuse(format!("{key}[{i}]"), "not a valid header name"))
        })
        .collect()
}

fn methods(names: &[&str]) -> Result<Vec<Method>, CorsError> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Method::from_bytes(name.trim().to_ascii_uppercase().as_bytes())
                .map_err(|_| refuse(format!("allowed_methods[{i}]"), "not a valid HTTP method"))
        })
        .collect()
}

/// The layer for a listener's `cors` section: `None` when CORS is off.
pub fn layer(config: Option<&Cors>) -> Result<Option<CorsLayer>, CorsError> {
    let Some(config) = config.filter(|c| c.enabled) else {
        return Ok(None);
    };
    let origins = or_default(&config.allowed_origins, &["*"])
        .iter()
        .enumerate()
        .map(|(i, origin)| OriginRule::parse(i, origin))
        .collect::<Result<Vec<_>, _>>()?;
    let rules = OriginRules(origins);
    let methods = methods(&or_default(&config.allowed_methods, &DEFAULT_METHODS))?;
    let allowed = or_default(&config.allowed_headers, &DEFAULT_HEADERS);
    let exposed = or_default(&config.exposed_headers, &DEFAULT_EXPOSED);
    let mut layer = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            rules.admits(origin)
        }))
        .allow_methods(methods)
        .allow_headers(header_names("allowed_headers", &allowed)?)
        .expose_headers(header_names("exposed_headers", &exposed)?)
        .allow_credentials(config.allow_credentials.unwrap_or(true));
    if let Some(seconds) = config.max_age.filter(|&s| s > 0) {
        layer = layer.max_age(Duration::from_secs(seconds));
    }
    Ok(Some(layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_rules_match_as_kratos_documents() {
        let wildcard = OriginRule::parse(0, "https://*.Example.com").unwrap();
        assert!(wildcard.admits("https://app.example.com"));
        assert!(wildcard.admits("https://a.b.example.com"));
        assert!(!wildcard.admits("https://example.com"));
        assert!(!wildcard.admits("http://app.example.com"));
        assert!(!wildcard.admits("https://app.example.com.evil.test"));
        let exact = OriginRule::parse(0, "https://app.example.com").unwrap();
        assert!(exact.admits("https://app.example.com"));
        assert!(!exact.admits("https://app.example.com:8443"));
        assert_eq!(OriginRule::parse(0, "*").unwrap(), OriginRule::Any);
    }

    #[test]
    fn bad_settings_name_their_key() {
        let config = Cors {
            enabled: true,
            allowed_origins: vec!["https://ok.test".into(), "https://*.*.test".into()],
            ..Cors::default()
        };
        let error = layer(Some(&config)).unwrap_err();
        assert_eq!(error.key, "allowed_origins[1]");
        let config = Cors {
            enabled: true,
            allowed_headers: vec!["Bad Header".into()],
            ..Cors::default()
        };
        assert_eq!(layer(Some(&config)).unwrap_err().key, "allowed_headers[0]");
        let config = Cors {
            enabled: true,
            allowed_methods: vec!["GE T".into()],
            ..Cors::default()
        };
        assert_eq!(layer(Some(&config)).unwrap_err().key, "allowed_methods[0]");
    }

    #[test]
    fn disabled_or_absent_means_no_layer() {
        assert!(layer(None).unwrap().is_none());
        assert!(layer(Some(&Cors::default())).unwrap().is_none());
        let on = Cors {
            enabled: true,
            ..Cors::default()
        };
        assert!(layer(Some(&on)).unwrap().is_some());
    }
}
