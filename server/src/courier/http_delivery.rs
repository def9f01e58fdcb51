//! Messages over HTTP: email with `delivery_strategy: http`
//! (`courier.http.request_config`) and SMS (`courier.channels[]` with `id:
//! sms`). One request per message, authenticated as web hooks are
//! (`api_key` in a header or cookie, `basic_auth`); any answer but a 2xx is a
//! failed attempt.
//!
//! The body is the JSON a Jsonnet program (`body`: `file://`, `base64://`
//! or `http(s)://`) makes from the message, called as `function(ctx)` with
//!
//! ```json
//! {"recipient": "...", "template_type": "recovery_code_valid",
//!  "message_type": "email", "subject": "...", "body": "...",
//!  "template_data": {"To": "...", "RecoveryCode": "...", ...}}
//! ```
//!
//! Without a program the body is `recipient`, `template_type`, `to` (the
//! recipient again), `subject` and `body`, followed by every template data
//! field under its own name (`RecoveryCode`, `VerificationURL`, ...), which
//! never replaces one of the five. A program that calls `error "cancel"`
//! sends nothing, and the attempt counts as delivered.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bia_config::{HttpRequestConfig, WebHookAuth};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Map, Value, json};

use super::delivery::{CourierConfigError, Deliver, DeliveryError};
use super::message::Message;
use crate::hook::body::BodySource;
use crate::hook::jsonnet::{self, Rendered};
use crate::outbound;

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the body program may run.
const JSONNET_TIMEOUT: Duration = Duration::from_secs(1);

/// How much of an answer is read (for the dispatch log).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How much of a refusing answer's body the dispatch log keeps.
const LOGGED_ANSWER_CHARS: usize = 512;

/// Delivers messages as HTTP requests.
pub struct HttpDelivery {
    url: url::Url,
    method: reqwest::Method,
    headers: HeaderMap,
    auth: Option<WebHookAuth>,
    body: Option<Arc<str>>,
    client: reqwest::Client,
    name: String,
}

impl std::fmt::Debug for HttpDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpDelivery")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn invalid(key: &str, reason: impl Into<String>) -> CourierConfigError {
    CourierConfigError {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// The parts of a request that need nothing remote.
struct Parsed {
    url: url::Url,
    method: reqwest::Method,
    headers: HeaderMap,
    body: Option<BodySource>,
}

fn parse(key: &str, config: &HttpRequestConfig) -> Result<Parsed, CourierConfigError> {
    let url =
        url::Url::parse(&config.url).map_err(|e| invalid(&format!("{key}.url"), e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            &format!("{key}.url"),
            "must be an http:// or https:// URL",
        ));
    }
    let (method, headers) = outbound::request_parts(config.method.as_deref(), &config.headers)
        .map_err(|(part, reason)| invalid(&format!("{key}.{part}"), reason))?;
    let body = config
        .body
        .as_deref()
        .map(BodySource::parse)
        .transpose()
        .map_err(|reason| invalid(&format!("{key}.body"), reason))?;
    Ok(Parsed {
        url,
        method,
        headers,
        body,
    })
}

fn check_program(key: &str, text: &str) -> Result<(), CourierConfigError> {
    jsonnet::check(text).map_err(|reason| {
        invalid(
            &format!("{key}.body"),
            format!("not a valid Jsonnet program: {reason}"),
        )
    })
}

impl HttpDelivery {
    /// Checks a request's settings, and a local body program, without
    /// fetching anything.
    pub fn check(key: &str, config: &HttpRequestConfig) -> Result<(), CourierConfigError> {
        let parsed = parse(key, config)?;
        if let Some(source) = &parsed.body
            && let Some(text) = source
                .read_local()
                .map_err(|reason| invalid(&format!("{key}.body"), reason))?
        {
            check_program(key, &text)?;
        }
        Ok(())
    }

    /// Builds the delivery, loading its body program (fetched when remote).
    pub async fn load(key: &str, config: &HttpRequestConfig) -> Result<Self, CourierConfigError> {
        let parsed = parse(key, config)?;
        let client = outbound::client(REQUEST_TIMEOUT).map_err(|e| invalid(key, e.to_string()))?;
        let body = match &parsed.body {
            None => None,
            Some(source) => {
                let text = source
                    .load(&client, REQUEST_TIMEOUT)
                    .await
                    .map_err(|reason| invalid(&format!("{key}.body"), reason))?;
                check_program(key, &text)?;
                Some(Arc::from(text))
            }
        };
        Ok(Self {
            name: format!(
                "{} {}",
                parsed.method,
                crate::hook::redacted_url(&parsed.url)
            ),
            url: parsed.url,
            method: parsed.method,
            headers: parsed.headers,
            auth: config.auth.clone(),
            body,
            client,
        })
    }

    /// The body for a message: the program's, or the default one.
    async fn body(&self, message: &Message) -> Result<Option<Value>, DeliveryError> {
        let ctx = context(message);
        let Some(program) = &self.body else {
            return Ok(Some(default_body(ctx)));
        };
        match jsonnet::render(program.clone(), ctx, JSONNET_TIMEOUT).await {
            Ok(Rendered::Json(body)) => Ok(Some(body)),
            Ok(Rendered::Cancelled) => Ok(None),
            Err(e) => Err(DeliveryError::new(format!("body program: {e}"))),
        }
    }

    fn request(&self, body: &Value) -> Result<reqwest::RequestBuilder, DeliveryError> {
        let mut request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone());
        request = crate::outbound::with_auth(request, self.auth.as_ref());
        let bytes = serde_json::to_vec(body).map_err(|e| DeliveryError::new(e.to_string()))?;
        Ok(request.header(CONTENT_TYPE, "application/json").body(bytes))
    }
}

/// What a body program sees of a message.
fn context(message: &Message) -> Value {
    json!({
        "recipient": message.recipient,
        "template_type": message.template_type,
        "message_type": message.channel.message_type(),
        "subject": message.subject,
        "body": message.body,
        "template_data": message.template_data,
    })
}

/// The body without a program: the message's fields, then the template data's.
fn default_body(ctx: Value) -> Value {
    let mut body = Map::new();
    for (name, from) in [
        ("recipient", "recipient"),
        ("template_type", "template_type"),
        ("to", "recipient"),
        ("subject", "subject"),
        ("body", "body"),
    ] {
        body.insert(name.into(), ctx[from].clone());
    }
    if let Some(data) = ctx["template_data"].as_object() {
        for (name, value) in data {
            body.entry(name.clone()).or_insert_with(|| value.clone());
        }
    }
    Value::Object(body)
}

#[async_trait]
impl Deliver for HttpDelivery {
    async fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        let Some(body) = self.body(message).await? else {
            return Ok(());
        };
        let response = self.request(&body)?.send().await.map_err(|e| {
            DeliveryError::new(format!("{}: {}", self.name, crate::hook::describe(&e)))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let answer = outbound::read_bounded(response, MAX_ANSWER_BYTES)
            .await
            .map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(LOGGED_ANSWER_CHARS)
                    .collect::<String>()
            })
            .unwrap_or_default();
        Err(
            DeliveryError::new(format!("{} answered HTTP {status}: {answer}", self.name))
                .with_code(Some(status.as_u16().to_string())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_body_puts_message_fields_before_template_data() {
        let ctx = json!({
            "recipient": "+4912345", "template_type": "login_code_valid", "message_type": "phone",
            "subject": "", "body": "code 123",
            "template_data": {"LoginCode": "123", "to": "someone else", "To": "+4912345"}
        });
        let body = default_body(ctx);
        assert_eq!(body["to"], "+4912345");
        assert_eq!(body["LoginCode"], "123");
        assert_eq!(body["body"], "code 123");
        assert_eq!(body["To"], "+4912345");
    }

    #[test]
    fn settings_are_checked_by_key() {
        let mut config = HttpRequestConfig {
            url: "ftp://x".into(),
            method: None,
            headers: Default::default(),
            body: None,
            auth: None,
        };
        assert_eq!(HttpDelivery::check("k", &config).unwrap_err().key, "k.url");
        config.url = "https://sms.example/send".into();
        config.body = Some("base64://bm90IGpzb25uZXQgewo=".into());
        assert_eq!(HttpDelivery::check("k", &config).unwrap_err().key, "k.body");
        config.body = Some("base64://ZnVuY3Rpb24oY3R4KSB7dG86IGN0eC5yZWNpcGllbnR9".into());
        HttpDelivery::check("k", &config).unwrap();
    }
}
