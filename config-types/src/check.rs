//! Structural checks: everything that can be said about a value without the
//! feature that uses it (URLs are URLs, secrets are long enough, the default
//! schema is listed, ...). Every problem names its key; all are reported, not
//! only the first.
//!
//! Sections that a feature interprets (the DSN, trusted proxies, hooks,
//! hasher costs) are checked by that feature when the server loads them.

use crate::Mode;
use crate::error::{ConfigError, Warning, key};
use crate::hooks::HookConfig;
use crate::types::{Config, PasswordConfig, ThrottleConfig};

#[derive(Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    fn push(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.0.push(ConfigError::invalid(key, reason));
    }

    /// An absolute `http://` or `https://` URL.
    fn web_url(&mut self, key: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        match url::Url::parse(value) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {}
            Ok(_) => self.push(key, "must be an http:// or https:// URL"),
            Err(e) => self.push(key, format!("{value:?}: {e}")),
        }
    }
}

/// Every structural problem of `config`, section by section.
pub fn check(config: &Config, mode: Mode) -> Vec<ConfigError> {
    let mut problems = Problems::default();
    listeners(config, &mut problems);
    browser_urls(config, &mut problems);
    cookies(config, &mut problems);
    secrets(config, mode, &mut problems);
    identity(config, &mut problems);
    password(&config.selfservice.methods.password.config, &mut problems);
    throttle(&config.throttle, &mut problems);
    address_flows(config, &mut problems);
    passwordless(config, &mut problems);
    flow_styles(config, &mut problems);
    second_factors(config, &mut problems);
    relying_parties(config, &mut problems);
    log(config, &mut problems);
    tracing(&config.tracing, &mut problems);
    problems
        .0
        .extend(crate::oidc::check(&config.selfservice.methods.oidc));
    problems.0
}

/// Traces go out over OTLP only; a provider this server cannot feed is
/// refused rather than left silent.
fn tracing(config: &crate::tracing::TracingConfig, problems: &mut Problems) {
    match config.provider.as_deref() {
        None | Some("") | Some("otel") => {}
        Some(other) => problems.push(
            "tracing.provider",
            format!("{other:?} is not supported: use otel (OTLP over HTTP, which Jaeger, Zipkin and most back-ends accept)"),
        ),
    }
    if let Some(ratio) = config.providers.otlp.sampling.sampling_ratio
        && !(0.0..=1.0).contains(&ratio)
    {
        problems.push(
            "tracing.providers.otlp.sampling.sampling_ratio",
            "must be between 0 and 1",
        );
    }
    if let Some(url) = &config.providers.otlp.server_url
        && (url.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        problems.push("tracing.providers.otlp.server_url", "expected host:port");
    }
}

/// The cipher must be one this server implements, and TOTP secrets and
/// lookup codes, kept encrypted, need a cipher secret.
fn second_factors(config: &Config, problems: &mut Problems) {
    if let Some(algorithm) = &config.ciphers.algorithm
        && !matches!(algorithm.as_str(), "xchacha20-poly1305" | "aes")
    {
        problems.push(
            "ciphers.algorithm",
            format!(
                "{algorithm:?} is not supported: use \"xchacha20-poly1305\" (the default) or \"aes\" \
                 (secrets are never stored in clear text)"
            ),
        );
    }
    if config.selfservice.methods.totp.is_enabled() && config.secrets.cipher.is_empty() {
        problems.push(
            "secrets.cipher",
            "selfservice.methods.totp keeps its secrets encrypted: set at least one cipher \
             secret of 32 characters",
        );
    }
    if config.selfservice.methods.lookup_secret.is_enabled() && config.secrets.cipher.is_empty() {
        problems.push(
            "secrets.cipher",
            "selfservice.methods.lookup_secret keeps its codes encrypted: set at least one \
             cipher secret of 32 characters",
        );
    }
}

/// The WebAuthn methods need a relying party whose id every origin shares;
/// security keys are a second factor only (passkeys sign in alone).
fn relying_parties(config: &Config, problems: &mut Problems) {
    let methods = &config.selfservice.methods;
    if methods.webauthn.config.passwordless == Some(true) {
        problems.push(
            "selfservice.methods.webauthn.config.passwordless",
            "security keys are a second factor here: enable selfservice.methods.passkey to sign \
             in without a password",
        );
    }
    let sections = [
        (
            "webauthn",
            methods.webauthn.is_enabled(),
            &methods.webauthn.config.rp,
        ),
        (
            "passkey",
            methods.passkey.is_enabled(),
            &methods.passkey.config.rp,
        ),
    ];
    for (name, enabled, rp) in sections {
        if enabled {
            relying_party(
                &format!("selfservice.methods.{name}.config.rp"),
                rp,
                problems,
            );
        }
    }
}

/// One relying party: an id, a display name, origins on the id's domain.
fn relying_party(key: &str, rp: &crate::types::RelyingPartyConfig, problems: &mut Problems) {
    let id = rp.id.as_deref().unwrap_or_default();
    if id.is_empty() || id.contains(['/', ':', ' ']) {
        problems.push(
            format!("{key}.id"),
            "set the domain authenticators bind keys to, e.g. example.org",
        );
    }
    if rp.display_name.as_deref().is_none_or(str::is_empty) {
        problems.push(
            format!("{key}.display_name"),
            "set the name authenticators show",
        );
    }
    let field = if rp.origin.is_some() {
        "origin"
    } else {
        "origins"
    };
    for origin in rp.listed_origins() {
        match url::Url::parse(&origin) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.path() == "/" => {
                let host = url.host_str().unwrap_or_default();
                let shares = host == id || host.ends_with(&format!(".{id}"));
                if !id.is_empty() && !shares {
                    problems.push(
                        format!("{key}.{field}"),
                        format!("{origin:?} is not on the relying party's domain {id:?}"),
                    );
                }
            }
            Ok(_) => problems.push(
                format!("{key}.{field}"),
                format!("{origin:?} must be an http:// or https:// origin without a path"),
            ),
            Err(e) => problems.push(format!("{key}.{field}"), format!("{origin:?}: {e}")),
        }
    }
}

/// Sign-in by code, first or second factor, needs the code method; links
/// never sign in.
fn passwordless(config: &Config, problems: &mut Problems) {
    let methods = &config.selfservice.methods;
    let code_disabled = methods.code.enabled == Some(false);
    for (key, on) in [
        ("passwordless_enabled", methods.code.passwordless_enabled),
        ("mfa_enabled", methods.code.mfa_enabled),
    ] {
        if on == Some(true) && code_disabled {
            problems.push(
                format!("selfservice.methods.code.{key}"),
                "the code method is disabled (selfservice.methods.code.enabled)",
            );
        }
    }
    for (key, set) in [
        (
            "passwordless_enabled",
            methods.link.passwordless_enabled.is_some(),
        ),
        ("mfa_enabled", methods.link.mfa_enabled.is_some()),
    ] {
        if set {
            problems.push(
                format!("selfservice.methods.link.{key}"),
                "only the code method signs in without a password",
            );
        }
    }
}

/// Login asks in one step or identifier first, registration in one step or
/// profile first; other flows have no style.
fn flow_styles(config: &Config, problems: &mut Problems) {
    let flows = &config.selfservice.flows;
    match flows.login.style.as_deref() {
        None | Some("unified" | "identifier_first") => {}
        Some(other) => problems.push(
            "selfservice.flows.login.style",
            format!("{other:?} is no login style: use unified or identifier_first"),
        ),
    }
    match flows.registration.style.as_deref() {
        None | Some("unified" | "profile_first") => {}
        Some(other) => problems.push(
            "selfservice.flows.registration.style",
            format!("{other:?} is no registration style: use unified or profile_first"),
        ),
    }
    for (name, flow) in [
        ("settings", &flows.settings.flow),
        ("recovery", &flows.recovery.flow),
        ("verification", &flows.verification.flow),
    ] {
        if flow.style.is_some() {
            problems.push(
                format!("selfservice.flows.{name}.style"),
                "only login and registration flows have a style",
            );
        }
    }
}

/// Recovery and verification use a method that exists and is enabled.
fn address_flows(config: &Config, problems: &mut Problems) {
    let selfservice = &config.selfservice;
    let methods = &selfservice.methods;
    for (name, flow) in [
        ("recovery", &selfservice.flows.recovery),
        ("verification", &selfservice.flows.verification),
    ] {
        let key = format!("selfservice.flows.{name}.use");
        let enabled = match flow.method() {
            "code" => methods.code.enabled.unwrap_or(true),
            "link" => methods.link.enabled.unwrap_or(false),
            other => {
                problems.push(key, format!("{other:?} is not a method: use code or link"));
                continue;
            }
        };
        if flow.is_enabled() && !enabled {
            problems.push(
                key,
                format!(
                    "the {} method is disabled (selfservice.methods.{}.enabled)",
                    flow.method(),
                    flow.method()
                ),
            );
        }
    }
}

/// Values this version reads but cannot act on: each is a warning (an error
/// with `--strict`), never accepted in silence. Today: the
/// `show_verification_ui` hook while verification is off.
pub fn inert(config: &Config) -> Vec<Warning> {
    let flows = &config.selfservice.flows;
    let mut warnings = Vec::new();
    let verification = flows.verification.is_enabled();
    for (flow, after) in [
        ("login", &flows.login.after),
        ("registration", &flows.registration.after),
        ("settings", &flows.settings.flow.after),
    ] {
        let prefix = format!("selfservice.flows.{flow}.after");
        if verification {
            continue;
        }
        inert_hooks(&key::field(&prefix, "hooks"), &after.hooks, &mut warnings);
        for (method, section) in after.methods() {
            let list = key::field(&key::field(&prefix, method), "hooks");
            inert_hooks(&list, &section.hooks, &mut warnings);
        }
    }
    warnings
}

fn inert_hooks(list: &str, hooks: &[HookConfig], warnings: &mut Vec<Warning>) {
    for (n, hook) in hooks.iter().enumerate() {
        if *hook == HookConfig::ShowVerificationUi {
            warnings.push(Warning {
                key: key::index(list, n),
                reason: "(show_verification_ui) has no effect: verification is off \
                         (selfservice.flows.verification.enabled), so nothing is shown"
                    .into(),
            });
        }
    }
}

fn listeners(config: &Config, problems: &mut Problems) {
    for (name, listener) in [
        ("serve.public", &config.serve.public),
        ("serve.admin", &config.serve.admin),
    ] {
        problems.web_url(&key::field(name, "base_url"), listener.base_url.as_deref());
    }
}

/// Every configured browser URL must be an absolute http(s) URL; return URLs
/// may use an app's own scheme (`exp://`, `myapp://`).
fn browser_urls(config: &Config, problems: &mut Problems) {
    let selfservice = &config.selfservice;
    let flows = &selfservice.flows;
    problems.web_url(
        "selfservice.default_browser_return_url",
        selfservice.default_browser_return_url.as_deref(),
    );
    for (n, url) in selfservice.allowed_return_urls.iter().enumerate() {
        if let Err(e) = url::Url::parse(url) {
            problems.push(
                key::index("selfservice.allowed_return_urls", n),
                format!("{url:?}: {e}"),
            );
        }
    }
    for (name, flow) in [
        ("login", &flows.login),
        ("registration", &flows.registration),
        ("settings", &flows.settings.flow),
        ("recovery", &flows.recovery.flow),
        ("verification", &flows.verification.flow),
    ] {
        let prefix = format!("selfservice.flows.{name}");
        problems.web_url(&key::field(&prefix, "ui_url"), flow.ui_url.as_deref());
        problems.web_url(
            &key::field(&prefix, "after.default_browser_return_url"),
            flow.after.default_browser_return_url.as_deref(),
        );
    }
    problems.web_url(
        "selfservice.flows.error.ui_url",
        flows.error.ui_url.as_deref(),
    );
    problems.web_url(
        "selfservice.flows.logout.after.default_browser_return_url",
        flows.logout.after.default_browser_return_url.as_deref(),
    );
}

fn cookies(config: &Config, problems: &mut Problems) {
    for (key, same_site) in [
        ("cookies.same_site", &config.cookies.same_site),
        ("session.cookie.same_site", &config.session.cookie.same_site),
    ] {
        if let Some(value) = same_site
            && !matches!(value.as_str(), "Lax" | "Strict" | "None")
        {
            problems.push(key, format!("{value:?} is not Lax, Strict or None"));
        }
    }
}

fn secrets(config: &Config, mode: Mode, problems: &mut Problems) {
    let secrets = &config.secrets;
    let cookie = secrets.cookie_secrets();
    if cookie.is_empty() && !mode.dev {
        problems.push(
            "secrets.cookie",
            "no cookie secret is set (secrets.cookie or secrets.default); every replica must \
             share one, so the server refuses to invent one outside --dev",
        );
    }
    let list = if secrets.cookie.is_empty() {
        "secrets.default"
    } else {
        "secrets.cookie"
    };
    for (n, secret) in cookie.iter().enumerate() {
        if secret.len() < 16 {
            problems.push(key::index(list, n), "must be at least 16 characters long");
        }
    }
    for (n, secret) in secrets.cipher.iter().enumerate() {
        if secret.len() != 32 {
            problems.push(
                key::index("secrets.cipher", n),
                "must be exactly 32 characters long",
            );
        }
    }
}

fn identity(config: &Config, problems: &mut Problems) {
    let schemas = &config.identity.schemas;
    if schemas.is_empty() {
        problems.push(
            "identity.schemas",
            "at least one identity schema is required",
        );
        return;
    }
    for (n, schema) in schemas.iter().enumerate() {
        let entry = key::index("identity.schemas", n);
        if schema.id.is_empty() {
            problems.push(key::field(&entry, "id"), "must not be empty");
        } else if schemas[..n].iter().any(|s| s.id == schema.id) {
            problems.push(
                key::field(&entry, "id"),
                format!("{:?} is listed twice", schema.id),
            );
        }
        if schema.url.is_empty() {
            problems.push(key::field(&entry, "url"), "must not be empty");
        }
    }
    let default_id = config.default_schema_id();
    if !schemas.iter().any(|s| s.id == default_id) {
        problems.push(
            "identity.default_schema_id",
            format!("no schema with id {default_id:?} is listed in identity.schemas"),
        );
    }
}

fn password(password: &PasswordConfig, problems: &mut Problems) {
    const KEY: &str = "selfservice.methods.password.config";
    if password.min_password_length() < 6 {
        problems.push(key::field(KEY, "min_password_length"), "must be at least 6");
    }
    if password.max_breaches() > 100 {
        problems.push(key::field(KEY, "max_breaches"), "must be at most 100");
    }
    let base = password.haveibeenpwned_base_url();
    match url::Url::parse(&base) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        _ => problems.push(
            key::field(KEY, "haveibeenpwned_host"),
            format!("{base:?} is neither a host name nor an http(s):// base URL"),
        ),
    }
}

fn throttle(throttle: &ThrottleConfig, problems: &mut Problems) {
    for (key, (_, window)) in [
        ("throttle.per_identifier.window", throttle.per_identifier()),
        ("throttle.per_ip.window", throttle.per_ip()),
    ] {
        if window.is_zero() {
            problems.push(key, "must be longer than zero");
        }
    }
    if throttle.max_tracked_keys() == 0 {
        problems.push("throttle.max_tracked_keys", "must be at least 1");
    }
}

fn log(config: &Config, problems: &mut Problems) {
    if let Some(level) = &config.log.level
        && !matches!(
            level.as_str(),
            "trace" | "debug" | "info" | "warn" | "warning" | "error" | "fatal" | "panic"
        )
    {
        problems.push("log.level", format!("unknown level {level:?}"));
    }
    if let Some(format) = &config.log.format
        && !matches!(format.as_str(), "text" | "json")
    {
        problems.push("log.format", format!("{format:?} is neither text nor json"));
    }
}
