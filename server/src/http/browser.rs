//! What browsers need beyond JSON: the pages they are sent to, the `return_to`
//! allow list, content negotiation and 303 redirects.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;
use uuid::Uuid;

use super::error::ApiError;
use crate::flow::{Flow, FlowKind};
use bia_config::Config;
use bia_config::hooks::AfterHooks;

/// The pages of the account UI and where browsers go after each flow.
#[derive(Debug, Clone)]
pub struct BrowserUrls {
    public_base: String,
    login_ui: String,
    registration_ui: String,
    settings_ui: String,
    recovery_ui: String,
    verification_ui: String,
    error_ui: String,
    default_return: String,
    login_after: AfterHooks,
    registration_after: AfterHooks,
    settings_after: AfterHooks,
    recovery_after: AfterHooks,
    verification_after: AfterHooks,
    logout_return: Option<String>,
    allowed: Vec<Url>,
}

impl BrowserUrls {
    /// Reads the UI and return URLs; pages not configured are served by this
    /// server's own account UI under `/ui/`.
    pub fn from_config(config: &Config) -> Self {
        let base = config.public_base_url();
        let flows = &config.selfservice.flows;
        let page = |configured: &Option<String>, name: &str| {
            configured
                .clone()
                .unwrap_or_else(|| format!("{base}ui/{name}"))
        };
        let default_return = config
            .selfservice
            .default_browser_return_url
            .clone()
            .unwrap_or_else(|| format!("{base}ui/welcome"));
        let mut allowed: Vec<Url> = config
            .selfservice
            .allowed_return_urls
            .iter()
            .filter_map(|u| Url::parse(u).ok())
            .collect();
        allowed.extend(Url::parse(&base).ok());
        allowed.extend(Url::parse(&default_return).ok());
        Self {
            login_ui: page(&flows.login.ui_url, "login"),
            registration_ui: page(&flows.registration.ui_url, "registration"),
            settings_ui: page(&flows.settings.flow.ui_url, "settings"),
            recovery_ui: page(&flows.recovery.flow.ui_url, "recovery"),
            verification_ui: page(&flows.verification.flow.ui_url, "verification"),
            error_ui: page(&flows.error.ui_url, "error"),
            login_after: flows.login.after.clone(),
            registration_after: flows.registration.after.clone(),
            settings_after: flows.settings.flow.after.clone(),
            recovery_after: flows.recovery.flow.after.clone(),
            verification_after: flows.verification.flow.after.clone(),
            logout_return: flows.logout.after.default_browser_return_url.clone(),
            default_return,
            allowed,
            public_base: base,
        }
    }

    /// The page that renders a flow of this kind.
    pub fn ui_url(&self, kind: FlowKind) -> &str {
        match kind {
            FlowKind::Login => &self.login_ui,
            FlowKind::Registration => &self.registration_ui,
            FlowKind::Settings => &self.settings_ui,
            FlowKind::Recovery => &self.recovery_ui,
            FlowKind::Verification => &self.verification_ui,
        }
    }

    /// The page that renders one flow.
    pub fn flow_page(&self, kind: FlowKind, id: Uuid) -> String {
        with_query(self.ui_url(kind), "flow", &id.to_string())
    }

    /// The page that shows a stored error.
    pub fn error_page(&self, id: Uuid) -> String {
        with_query(&self.error_ui, "id", &id.to_string())
    }

    /// Where a browser goes after `method` completed a flow when the flow
    /// has no `return_to`: `selfservice.flows.<flow>.after.<method>.default_browser_return_url`,
    /// else `selfservice.flows.<flow>.after.default_browser_return_url`, else
    /// the settings page showing the saved flow (settings) or
    /// `selfservice.default_browser_return_url` (login, registration).
    pub fn after(&self, flow: &Flow, method: &str) -> String {
        let section = match flow.kind {
            FlowKind::Login => &self.login_after,
            FlowKind::Registration => &self.registration_after,
            FlowKind::Settings => &self.settings_after,
            FlowKind::Recovery => &self.recovery_after,
            FlowKind::Verification => &self.verification_after,
        };
        match (section.browser_return_url(method), flow.kind) {
            (Some(configured), _) => configured.to_owned(),
            (None, FlowKind::Settings) => self.flow_page(flow.kind, flow.id),
            (None, _) => self.default_return.clone(),
        }
    }

    /// Where the "Continue" link of a completed verification goes when the
    /// flow has no `return_to`: `selfservice.flows.verification.after.default_browser_return_url`,
    /// else `selfservice.default_browser_return_url`.
    pub fn after_verification(&self) -> String {
        self.verification_after
            .default_browser_return_url
            .clone()
            .unwrap_or_else(|| self.default_return.clone())
    }

    /// Where a browser that already has a session goes when it asks for a
    /// new login or registration flow: `selfservice.default_browser_return_url`.
    pub fn already_signed_in(&self) -> &str {
        &self.default_return
    }

    /// Where a browser goes after logging out.
    pub fn after_logout(&self) -> &str {
        self.logout_return
            .as_deref()
            .unwrap_or(&self.default_return)
    }

    /// The browser login that steps a session up with a second factor.
    pub fn step_up_login(&self) -> String {
        format!("{}self-service/login/browser?aal=aal2", self.public_base)
    }

    /// The browser login that re-authenticates, then returns to `return_to`.
    pub fn refresh_login(&self, return_to: &str) -> String {
        let base = format!(
            "{}self-service/login/browser?refresh=true",
            self.public_base
        );
        with_query(&base, "return_to", return_to)
    }

    /// Checks a requested `return_to` against `selfservice.allowed_return_urls`
    /// (plus this server and the default return URL); relative URLs resolve
    /// against the public base URL.
    pub fn check_return_to(&self, requested: &str) -> Result<String, ApiError> {
        let base =
            Url::parse(&self.public_base).map_err(|_| ApiError::return_to_forbidden(requested))?;
        let url = base
            .join(requested)
            .map_err(|_| ApiError::return_to_forbidden(requested))?;
        if self.allowed.iter().any(|allowed| allows(allowed, &url)) {
            Ok(url.to_string())
        } else {
            Err(ApiError::return_to_forbidden(requested))
        }
    }
}

/// Same scheme and port, a host equal to the allowed one (or below it for
/// `*.` hosts), and a path under the allowed path.
fn allows(allowed: &Url, url: &Url) -> bool {
    if allowed.scheme() != url.scheme()
        || allowed.port_or_known_default() != url.port_or_known_default()
    {
        return false;
    }
    let (Some(pattern), Some(host)) = (allowed.host_str(), url.host_str()) else {
        return false;
    };
    let host_ok = match pattern.strip_prefix("*.") {
        Some(parent) => host.ends_with(&format!(".{parent}")),
        None => pattern.eq_ignore_ascii_case(host),
    };
    let prefix = allowed.path().trim_end_matches('/');
    let path = url.path();
    host_ok && (prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/")))
}

fn with_query(url: &str, key: &str, value: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            parsed.query_pairs_mut().append_pair(key, value);
            parsed.to_string()
        }
        Err(_) => format!("{url}?{key}={value}"),
    }
}

/// Whether the client asked for JSON rather than a page: an `Accept` that
/// prefers JSON, or a JSON body.
pub fn wants_json(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let accept = text(header::ACCEPT);
    let json_body = text(header::CONTENT_TYPE).starts_with("application/json");
    let json_accept = accept.contains("application/json") && !accept.starts_with("text/html");
    json_accept || json_body
}

/// A 303 to `location`, setting these cookies.
pub fn see_other(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    add_cookies(response, cookies)
}

/// Adds `Set-Cookie` headers to a response.
pub fn add_cookies(mut response: Response, cookies: Vec<HeaderValue>) -> Response {
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(allowed: &[&str]) -> BrowserUrls {
        let mut config = Config::default();
        config.selfservice.allowed_return_urls = allowed.iter().map(|s| (*s).to_owned()).collect();
        BrowserUrls::from_config(&config)
    }

    #[test]
    fn return_to_must_match_the_allow_list() {
        let urls = urls(&["https://app.example.com/dashboard", "https://*.example.org"]);
        assert!(
            urls.check_return_to("https://app.example.com/dashboard")
                .is_ok()
        );
        assert!(
            urls.check_return_to("https://app.example.com/dashboard/x?y=1")
                .is_ok()
        );
        assert!(urls.check_return_to("https://a.b.example.org/any").is_ok());
        assert!(
            urls.check_return_to("/ui/welcome").is_ok(),
            "this server's own pages"
        );
        for bad in [
            "https://app.example.com/dashboardx",
            "https://app.example.com/other",
            "http://app.example.com/dashboard",
            "https://app.example.com.evil.io/dashboard",
            "https://example.org/",
            "https://evil.io/",
            "//evil.io/",
        ] {
            assert!(urls.check_return_to(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn json_is_negotiated_from_accept_or_body() {
        let mut headers = HeaderMap::new();
        assert!(!wants_json(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(wants_json(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            ),
        );
        assert!(!wants_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(wants_json(&headers));
    }
}
