//! The `web_hook` hook: renders a body from the flow's context with Jsonnet,
//! calls an HTTP endpoint, and reads its answer when asked to.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::Deserialize;
use serde_json::Value;

/// Largest answer of a parsing web hook that is read; a longer one fails the hook.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

use super::body::BodySource;
use super::config::{HookConfigError, WebHookAuth, WebHookConfig, config_error, validate_web_hook};
use super::jsonnet::{self, Rendered};
use super::{FieldMessage, HookContext, HookError, HookMessage, HookOutcome};

/// Time limits of web hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookLimits {
    /// How long a call may take, from connecting to reading the answer.
    pub request_timeout: Duration,
    /// How long a body program may run.
    pub jsonnet_timeout: Duration,
}

impl Default for HookLimits {
    fn default() -> Self {
        HookLimits {
            request_timeout: Duration::from_secs(10),
            jsonnet_timeout: Duration::from_secs(1),
        }
    }
}

/// What to do with the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMode {
    /// Wait; any 2xx continues the flow.
    Wait,
    /// Do not wait; errors are only logged.
    Ignore,
    /// Wait and read: patch the identity or interrupt the flow.
    Parse,
}

/// A web hook ready to run: its body program loaded and checked.
#[derive(Clone)]
pub struct WebHook {
    name: String,
    url: url::Url,
    method: reqwest::Method,
    headers: HeaderMap,
    auth: Option<WebHookAuth>,
    body: Option<Arc<str>>,
    response: ResponseMode,
    client: reqwest::Client,
    limits: HookLimits,
}

impl std::fmt::Debug for WebHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebHook")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("response", &self.response)
            .finish_non_exhaustive()
    }
}

impl WebHook {
    /// Builds a web hook from its `config`, loading the body program (fetched
    /// with `client` when it is an `http(s)://` URL) and parsing it. `key`
    /// names the `config` section in errors, e.g.
    /// `selfservice.flows.login.before.hooks[0].config`.
    pub async fn load(
        key: &str,
        config: &WebHookConfig,
        client: reqwest::Client,
        limits: HookLimits,
    ) -> Result<WebHook, HookConfigError> {
        validate_web_hook(key, config)?;
        let url = url::Url::parse(&config.url)
            .map_err(|e| config_error(&format!("{key}.url"), e.to_string()))?;
        let (method, headers) =
            crate::outbound::request_parts(config.method.as_deref(), &config.headers)
                .map_err(|(part, reason)| config_error(&format!("{key}.{part}"), reason))?;
        let body = match &config.body {
            None => None,
            Some(location) => {
                let body_key = format!("{key}.body");
                let source = BodySource::parse(location)
                    .map_err(|reason| config_error(&body_key, reason))?;
                let text = source
                    .load(&client, limits.request_timeout)
                    .await
                    .map_err(|reason| config_error(&body_key, reason))?;
                jsonnet::check(&text).map_err(|reason| {
                    config_error(&body_key, format!("not a valid Jsonnet program: {reason}"))
                })?;
                Some(Arc::from(text))
            }
        };
        let response = if config.response.ignore {
            ResponseMode::Ignore
        } else if config.parses_response() {
            ResponseMode::Parse
        } else {
            ResponseMode::Wait
        };
        let name = config
            .id
            .clone()
            .unwrap_or_else(|| format!("{method} {}", redacted_url(&url)));
        Ok(WebHook {
            name,
            url,
            method,
            headers,
            auth: config.auth.clone(),
            body,
            response,
            client,
            limits,
        })
    }

    /// Its name in logs and errors: the configured `id`, else method and URL
    /// (without query or credentials).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the answer is read (`response.parse`): such a hook may patch
    /// the identity or interrupt the flow, so during registration it runs
    /// before the identity is stored.
    pub fn parses_response(&self) -> bool {
        self.response == ResponseMode::Parse
    }

    /// Whether the call is made in the background (`response.ignore`).
    pub fn is_ignored(&self) -> bool {
        self.response == ResponseMode::Ignore
    }

    /// Runs the hook for one flow event.
    ///
    /// - `response.ignore`: the call is made on a background task and
    ///   `Continue` is returned at once; failures are only logged.
    /// - `response.parse`: a 2xx answer with an `identity` object gives
    ///   [`HookOutcome::PatchIdentity`]; a 4xx answer with Kratos's `messages`
    ///   gives [`HookError::Interrupted`].
    /// - otherwise any 2xx answer continues the flow.
    ///
    /// A body program that calls `error "cancel"` sends nothing and continues.
    pub async fn run(&self, ctx: &HookContext) -> Result<HookOutcome, HookError> {
        let ctx = serde_json::to_value(ctx).map_err(|e| self.failed(e.to_string()))?;
        if self.response == ResponseMode::Ignore {
            let hook = self.clone();
            tokio::spawn(async move {
                if let Err(error) = hook.call(ctx).await {
                    tracing::warn!(hook = %hook.name, %error, "background web hook failed");
                }
            });
            return Ok(HookOutcome::Continue);
        }
        self.call(ctx).await
    }

    async fn call(&self, ctx: Value) -> Result<HookOutcome, HookError> {
        let body = match &self.body {
            None => ctx,
            Some(program) => {
                match jsonnet::render(program.clone(), ctx, self.limits.jsonnet_timeout).await {
                    Ok(Rendered::Json(body)) => body,
                    Ok(Rendered::Cancelled) => {
                        tracing::debug!(hook = %self.name, "web hook cancelled by its body program");
                        return Ok(HookOutcome::Continue);
                    }
                    Err(e) => return Err(self.failed(format!("body program: {e}"))),
                }
            }
        };
        let mut request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .timeout(self.limits.request_timeout)
            .headers(self.headers.clone());
        request = crate::outbound::with_auth(request, self.auth.as_ref());
        if sends_body(&self.method) {
            let bytes = serde_json::to_vec(&body).map_err(|e| self.failed(e.to_string()))?;
            request = request.header(CONTENT_TYPE, "application/json").body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.failed(describe(&e)))?;
        let status = response.status();
        if self.response != ResponseMode::Parse {
            if status.is_success() {
                return Ok(HookOutcome::Continue);
            }
            return Err(self.failed(format!("answered HTTP {status}")));
        }
        let bytes = crate::outbound::read_bounded(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| self.failed(e.0))?;
        if status.is_success() {
            parse_success(&bytes).map_err(|reason| self.failed(reason))
        } else if status.is_client_error() {
            match parse_messages(&bytes) {
                Some(messages) if !messages.is_empty() => Err(HookError::Interrupted(messages)),
                _ => Err(self.failed(format!(
                    "answered HTTP {status} without messages in Kratos's format"
                ))),
            }
        } else {
            Err(self.failed(format!("answered HTTP {status}")))
        }
    }

    fn failed(&self, reason: String) -> HookError {
        HookError::Failed {
            hook: self.name.clone(),
            reason,
        }
    }
}

/// Methods whose requests carry the rendered body.
fn sends_body(method: &reqwest::Method) -> bool {
    !matches!(
        *method,
        reqwest::Method::GET
            | reqwest::Method::HEAD
            | reqwest::Method::DELETE
            | reqwest::Method::TRACE
    )
}

#[derive(Deserialize)]
struct SuccessBody {
    #[serde(default)]
    identity: Option<IdentityPatch>,
}

#[derive(Deserialize)]
struct IdentityPatch {
    #[serde(default)]
    traits: Option<Value>,
    #[serde(default)]
    metadata_public: Option<Value>,
    #[serde(default)]
    metadata_admin: Option<Value>,
}

/// A 2xx answer to a parsing hook: an empty body or one without `identity`
/// continues; `identity` patches.
fn parse_success(bytes: &[u8]) -> Result<HookOutcome, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(HookOutcome::Continue);
    }
    let body: SuccessBody = serde_json::from_slice(bytes)
        .map_err(|e| format!("the answer is not the expected JSON: {e}"))?;
    Ok(match body.identity {
        Some(patch)
            if patch.traits.is_some()
                || patch.metadata_public.is_some()
                || patch.metadata_admin.is_some() =>
        {
            HookOutcome::PatchIdentity {
                traits: patch.traits,
                metadata_public: patch.metadata_public,
                metadata_admin: patch.metadata_admin,
            }
        }
        _ => HookOutcome::Continue,
    })
}

#[derive(Deserialize)]
struct ErrorBody {
    messages: Vec<PointerMessages>,
}

#[derive(Deserialize)]
struct PointerMessages {
    #[serde(default)]
    instance_ptr: String,
    #[serde(default)]
    messages: Vec<WireMessage>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    id: u64,
    #[serde(default)]
    text: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    context: Option<Value>,
}

/// Kratos's interrupt answer: `{messages: [{instance_ptr, messages: [...]}]}`.
fn parse_messages(bytes: &[u8]) -> Option<Vec<FieldMessage>> {
    let body: ErrorBody = serde_json::from_slice(bytes).ok()?;
    Some(
        body.messages
            .into_iter()
            .flat_map(|group| {
                let field = field_name(&group.instance_ptr);
                group.messages.into_iter().map(move |m| FieldMessage {
                    field: field.clone(),
                    message: HookMessage {
                        id: m.id,
                        text: m.text,
                        kind: m.kind.unwrap_or_else(|| "error".into()),
                        context: m.context,
                    },
                })
            })
            .collect(),
    )
}

/// The form field a JSON pointer names: `#/traits/email` → `traits.email`;
/// `#` (the whole document) names none.
pub fn field_name(pointer: &str) -> Option<String> {
    let path = pointer.strip_prefix('#').unwrap_or(pointer);
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    (!segments.is_empty()).then(|| segments.join("."))
}

/// A URL as it may appear in logs and errors: no credentials, query or fragment.
pub(crate) fn redacted_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// A transport error without the URL it was for, with its causes.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer within the time limit".into();
    }
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_body() || error.is_decode() {
        "cannot read the answer".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_become_field_names() {
        assert_eq!(
            field_name("#/traits/email").as_deref(),
            Some("traits.email")
        );
        assert_eq!(field_name("/traits/a~1b").as_deref(), Some("traits.a/b"));
        assert_eq!(field_name("#"), None);
        assert_eq!(field_name("#/"), None);
        assert_eq!(field_name(""), None);
    }

    #[test]
    fn success_answers() {
        assert_eq!(parse_success(b"").unwrap(), HookOutcome::Continue);
        assert_eq!(parse_success(b"{}").unwrap(), HookOutcome::Continue);
        assert_eq!(
            parse_success(br#"{"identity": {"metadata_public": {"plan": "pro"}}}"#).unwrap(),
            HookOutcome::PatchIdentity {
                traits: None,
                metadata_public: Some(json!({"plan": "pro"})),
                metadata_admin: None,
            }
        );
        assert!(parse_success(b"OK").unwrap_err().contains("JSON"));
    }

    #[test]
    fn interrupt_answers() {
        let body = json!({"messages": [
            {"instance_ptr": "#/traits/email", "messages": [
                {"id": 1234, "text": "taken", "type": "error", "context": {"value": "a@b"}}
            ]},
            {"instance_ptr": "#", "messages": [{"id": 5, "text": "no"}]}
        ]});
        let messages = parse_messages(body.to_string().as_bytes()).unwrap();
        assert_eq!(
            messages,
            vec![
                FieldMessage {
                    field: Some("traits.email".into()),
                    message: HookMessage {
                        id: 1234,
                        text: "taken".into(),
                        kind: "error".into(),
                        context: Some(json!({"value": "a@b"})),
                    },
                },
                FieldMessage {
                    field: None,
                    message: HookMessage {
                        id: 5,
                        text: "no".into(),
                        kind: "error".into(),
                        context: None,
                    },
                },
            ]
        );
        assert!(parse_messages(b"nope").is_none());
    }

    #[test]
    fn urls_lose_their_secrets() {
        let url = url::Url::parse("https://u:p@example.org/hook?token=s#f").unwrap();
        assert_eq!(redacted_url(&url), "https://example.org/hook");
    }
}
