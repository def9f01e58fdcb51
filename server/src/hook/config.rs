//! Hook configuration with Kratos's key names: the `before` and `after`
//! sections of `selfservice.flows.<flow>`.
//!
//! ```yaml
//! selfservice:
//!   flows:
//!     registration:
//!       before:
//!         hooks:
//!           - hook: web_hook
//!             config: { url: https://example.org/check, method: POST }
//!       after:
//!         default_browser_return_url: https://example.org/welcome
//!         hooks: [ ... ]           # for every method without its own list
//!         password:
//!           hooks:
//!             - hook: session
//! ```
//!
//! The types are data in the `bia-config` crate; this module checks them
//! (where each hook may run, web hook fields, local bodies) and
//! [`super::Hooks`] turns them into runnable hooks.

pub use crate::flow::FlowKind;
pub use bia_config::hooks::{
    AFTER_METHODS, AfterHooks, ApiKeyAuth, ApiKeyLocation, BasicAuth, BeforeHooks, HookConfig,
    MethodAfterHooks, WebHookAuth, WebHookConfig, WebHookResponse,
};

/// A hook configuration that is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key {key}: {reason}")]
pub struct HookConfigError {
    /// Dotted key of the failing value, e.g.
    /// `selfservice.flows.login.after.hooks[0].config.url`.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

pub(crate) fn config_error(key: &str, reason: impl Into<String>) -> HookConfigError {
    HookConfigError {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// Checks the hooks of one flow without network access: hook placement, web
/// hook URLs, methods, headers, response options, and every `file://` or
/// `base64://` body (read and parsed as Jsonnet). `http(s)://` bodies are only
/// checked for syntax here; [`super::Hooks::load`] fetches and parses them.
///
/// `prefix` is the flow's key, e.g. `selfservice.flows.login`; errors name the
/// key below it.
pub fn validate_flow(
    prefix: &str,
    kind: FlowKind,
    before: &BeforeHooks,
    after: &AfterHooks,
) -> Result<(), HookConfigError> {
    for (n, hook) in before.hooks.iter().enumerate() {
        validate_hook(
            &format!("{prefix}.before.hooks[{n}]"),
            kind,
            Stage::Before,
            hook,
        )?;
    }
    for (n, hook) in after.hooks.iter().enumerate() {
        validate_hook(
            &format!("{prefix}.after.hooks[{n}]"),
            kind,
            Stage::After,
            hook,
        )?;
    }
    validate_return_url(
        &format!("{prefix}.after.default_browser_return_url"),
        after.default_browser_return_url.as_deref(),
    )?;
    for (method, section) in after.methods() {
        for (n, hook) in section.hooks.iter().enumerate() {
            validate_hook(
                &format!("{prefix}.after.{method}.hooks[{n}]"),
                kind,
                Stage::After,
                hook,
            )?;
        }
        validate_return_url(
            &format!("{prefix}.after.{method}.default_browser_return_url"),
            section.default_browser_return_url.as_deref(),
        )?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Before,
    After,
}

fn validate_return_url(key: &str, url: Option<&str>) -> Result<(), HookConfigError> {
    let Some(url) = url else { return Ok(()) };
    if url.starts_with('/') {
        return Ok(());
    }
    url::Url::parse(url).map_err(|e| config_error(key, format!("{url:?}: {e}")))?;
    Ok(())
}

fn validate_hook(
    key: &str,
    kind: FlowKind,
    stage: Stage,
    hook: &HookConfig,
) -> Result<(), HookConfigError> {
    let allowed = match (stage, hook) {
        (_, HookConfig::WebHook(_)) => true,
        (Stage::Before, _) => false,
        (Stage::After, HookConfig::Session) => kind == FlowKind::Registration,
        (Stage::After, HookConfig::RequireVerifiedAddress) => kind == FlowKind::Login,
        (Stage::After, HookConfig::RevokeActiveSessions) => {
            matches!(
                kind,
                FlowKind::Login | FlowKind::Settings | FlowKind::Recovery
            )
        }
        (Stage::After, HookConfig::ShowVerificationUi) => kind == FlowKind::Registration,
    };
    if !allowed {
        let stage = match stage {
            Stage::Before => "before",
            Stage::After => "after",
        };
        return Err(config_error(
            &format!("{key}.hook"),
            format!(
                "hook {:?} cannot run {stage} a {} flow",
                hook.name(),
                kind.as_str()
            ),
        ));
    }
    if let HookConfig::WebHook(config) = hook {
        validate_web_hook(&format!("{key}.config"), config)?;
        if let Some(body) = &config.body {
            let source = super::body::BodySource::parse(body)
                .map_err(|reason| config_error(&format!("{key}.config.body"), reason))?;
            if let Some(text) = source
                .read_local()
                .map_err(|reason| config_error(&format!("{key}.config.body"), reason))?
            {
                super::jsonnet::check(&text).map_err(|reason| {
                    config_error(
                        &format!("{key}.config.body"),
                        format!("not a valid Jsonnet program: {reason}"),
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// Checks a web hook's own fields (not its body); `key` names its `config`.
pub(crate) fn validate_web_hook(key: &str, config: &WebHookConfig) -> Result<(), HookConfigError> {
    let url = url::Url::parse(&config.url)
        .map_err(|e| config_error(&format!("{key}.url"), format!("{e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(config_error(
            &format!("{key}.url"),
            "must be an http:// or https:// URL",
        ));
    }
    if let Some(method) = &config.method {
        reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            config_error(
                &format!("{key}.method"),
                format!("{method:?} is not an HTTP method"),
            )
        })?;
    }
    for (name, value) in &config.headers {
        reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            config_error(
                &format!("{key}.headers"),
                format!("{name:?} is not a valid header name"),
            )
        })?;
        reqwest::header::HeaderValue::from_str(value).map_err(|_| {
            config_error(
                &format!("{key}.headers.{name}"),
                "is not a valid header value",
            )
        })?;
    }
    if config.response.ignore && config.parses_response() {
        return Err(config_error(
            &format!("{key}.response"),
            "ignore and parse (or can_interrupt) cannot both be true: an ignored response cannot be parsed",
        ));
    }
    match &config.auth {
        Some(WebHookAuth::ApiKey(api_key)) => {
            let name_key = format!("{key}.auth.config.name");
            if api_key.name.is_empty() {
                return Err(config_error(&name_key, "must not be empty"));
            }
            if api_key.location == ApiKeyLocation::Header {
                reqwest::header::HeaderName::from_bytes(api_key.name.as_bytes()).map_err(|_| {
                    config_error(
                        &name_key,
                        format!("{:?} is not a valid header name", api_key.name),
                    )
                })?;
            }
            reqwest::header::HeaderValue::from_str(&api_key.value).map_err(|_| {
                config_error(
                    &format!("{key}.auth.config.value"),
                    "contains characters a header cannot carry",
                )
            })?;
        }
        Some(WebHookAuth::BasicAuth(_)) | None => {}
    }
    Ok(())
}
