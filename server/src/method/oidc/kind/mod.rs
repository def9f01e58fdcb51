//! The plain OAuth 2.0 provider kinds (`github`, `github-app`, `discord`,
//! `slack`, `facebook`): no discovery and no ID token; fixed endpoints, and
//! claims read from the provider's user API with the access token, in the
//! shape Kratos gives its Jsonnet mappers.
//!
//! Each kind is one file holding its endpoints and its claims reader; this
//! module maps a kind's name to them. `api_base_url` (Bia's own key)
//! replaces the origin of every fixed endpoint, keeping its path, so a
//! stand-in provider can answer for the real one.

mod discord;
mod facebook;
mod github;
mod slack;

use bia_config::OidcProvider;
use serde_json::{Map, Value};

use super::fetch;
use super::provider::{ProviderError, Tokens};

/// A plain OAuth 2.0 kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A GitHub OAuth app.
    GitHub,
    /// A GitHub app: same endpoints, permissions instead of scopes.
    GitHubApp,
    /// Discord.
    Discord,
    /// Sign in with Slack.
    Slack,
    /// Facebook Login.
    Facebook,
}

/// The fixed URLs of a kind at the real provider.
#[derive(Debug, Clone, Copy)]
pub struct Fixed {
    /// The authorization endpoint.
    pub auth_url: &'static str,
    /// The token endpoint.
    pub token_url: &'static str,
    /// The base of the user API.
    pub api_base: &'static str,
}

/// The endpoints a configured provider of a kind uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindEndpoints {
    /// Where browsers are sent to sign in.
    pub authorization: String,
    /// Where codes are exchanged.
    pub token: String,
    /// The base of the user API.
    pub api_base: String,
}

impl Kind {
    /// The kind named `name`, when it is a plain OAuth 2.0 kind.
    pub fn of(name: &str) -> Option<Self> {
        Some(match name {
            "github" => Self::GitHub,
            "github-app" => Self::GitHubApp,
            "discord" => Self::Discord,
            "slack" => Self::Slack,
            "facebook" => Self::Facebook,
            _ => return None,
        })
    }

    fn fixed(self) -> Fixed {
        match self {
            Self::GitHub | Self::GitHubApp => github::FIXED,
            Self::Discord => discord::FIXED,
            Self::Slack => slack::FIXED,
            Self::Facebook => facebook::FIXED,
        }
    }

    /// The endpoints of `config`: the kind's fixed ones, under
    /// `api_base_url` when it is set, with `auth_url` and `token_url`
    /// replacing theirs.
    pub fn endpoints(self, config: &OidcProvider) -> KindEndpoints {
        let fixed = self.fixed();
        let base = config.api_base_url.as_deref();
        let at = |url: &str| base.map_or_else(|| url.to_owned(), |base| rebase(url, base));
        KindEndpoints {
            authorization: config
                .auth_url
                .clone()
                .unwrap_or_else(|| at(fixed.auth_url)),
            token: config
                .token_url
                .clone()
                .unwrap_or_else(|| at(fixed.token_url)),
            api_base: at(fixed.api_base),
        }
    }

    /// Whether the authorization request carries the configured scopes
    /// (a GitHub app has permissions instead).
    pub fn sends_scope(self) -> bool {
        self != Self::GitHubApp
    }

    /// Parameters the kind adds to every authorization request unless the
    /// configuration's `upstream_parameters` set them (Discord asks for no
    /// consent screen once the app was authorized).
    pub fn default_parameters(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Discord => &[("prompt", "none")],
            _ => &[],
        }
    }

    /// The claims of the account the access token of `tokens` belongs to.
    /// GitHub OAuth apps, Discord and Slack refuse a token that does not
    /// grant every configured scope, as Kratos does.
    pub async fn claims(
        self,
        api: &Api<'_>,
        config: &OidcProvider,
        tokens: &Tokens,
    ) -> Result<Map<String, Value>, ProviderError> {
        let granted = tokens.scope.as_deref();
        if matches!(self, Self::GitHub | Self::Discord | Self::Slack) {
            require_granted(&config.scope, granted)?;
        }
        match self {
            Self::GitHub => {
                let emails = granted_scopes(granted).contains(&github::EMAIL_SCOPE);
                github::claims(api, emails).await
            }
            Self::GitHubApp => github::claims(api, true).await,
            Self::Discord => discord::claims(api).await,
            Self::Slack => slack::claims(api).await,
            Self::Facebook => {
                let secret = config.client_secret.as_deref().unwrap_or("");
                facebook::claims(api, secret).await
            }
        }
    }
}

/// `url` with its origin replaced by `base` (which may carry a path prefix).
fn rebase(url: &str, base: &str) -> String {
    let path = url::Url::parse(url)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{}{path}", base.trim_end_matches('/'))
}

/// A provider's user API, read with an access token.
pub struct Api<'a> {
    /// The shared outbound client.
    pub client: &'a reqwest::Client,
    /// The API's base URL, without a trailing `/`.
    pub base: &'a str,
    /// The access token the code was exchanged for.
    pub access_token: &'a str,
}

impl Api<'_> {
    /// The JSON answer of `GET <base><path>` (the path may carry a query).
    pub async fn get(&self, path: &str) -> Result<Value, ProviderError> {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let request = self.client.get(&url).bearer_auth(self.access_token);
        fetch::json(request, &url).await
    }
}

/// Refuses a sign-in when the token answer does not grant every configured
/// scope, as Kratos does; `granted` lists the scopes separated by commas or
/// spaces.
fn require_granted(configured: &[String], granted: Option<&str>) -> Result<(), ProviderError> {
    let granted = granted_scopes(granted);
    if configured
        .iter()
        .all(|scope| granted.contains(&scope.as_str()))
    {
        Ok(())
    } else {
        Err(ProviderError::ScopeMissing)
    }
}

/// The scopes of a token answer's `scope` (comma or space separated).
fn granted_scopes(granted: Option<&str>) -> Vec<&str> {
    granted
        .unwrap_or("")
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .collect()
}

/// The claims a kind hands the mapper, built field by field: like Kratos,
/// an empty text is left out.
#[derive(Default)]
struct ClaimSet(Map<String, Value>);

impl ClaimSet {
    /// Sets `name` to a text value, unless it is absent or empty.
    fn text(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.0
                .insert(name.to_owned(), Value::String(value.to_owned()));
        }
        self
    }

    /// Sets `name` to `value`.
    fn value(&mut self, name: &str, value: Value) -> &mut Self {
        self.0.insert(name.to_owned(), value);
        self
    }

    fn done(&mut self) -> Map<String, Value> {
        std::mem::take(&mut self.0)
    }
}

/// The text at `pointer` of an API answer.
fn text<'a>(answer: &'a Value, pointer: &str) -> Option<&'a str> {
    answer.pointer(pointer).and_then(Value::as_str)
}

/// The answer's `id`, when it is a non-empty text.
fn required_id<'a>(answer: &'a Value, pointer: &str) -> Result<&'a str, ProviderError> {
    text(answer, pointer)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ProviderError::Invalid(format!("the user API answer has no {pointer}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: &str) -> OidcProvider {
        OidcProvider {
            id: "p".into(),
            provider: kind.into(),
            ..OidcProvider::default()
        }
    }

    #[test]
    fn fixed_endpoints_move_under_a_stand_in_base_keeping_their_paths() {
        let mut github = config("github");
        let kind = Kind::of("github").unwrap();
        assert_eq!(
            kind.endpoints(&github),
            KindEndpoints {
                authorization: "https://github.com/login/oauth/authorize".into(),
                token: "https://github.com/login/oauth/access_token".into(),
                api_base: "https://api.github.com".into(),
            }
        );
        github.api_base_url = Some("http://127.0.0.1:9/gh/".into());
        github.token_url = Some("http://127.0.0.1:8/token".into());
        assert_eq!(
            kind.endpoints(&github),
            KindEndpoints {
                authorization: "http://127.0.0.1:9/gh/login/oauth/authorize".into(),
                token: "http://127.0.0.1:8/token".into(),
                api_base: "http://127.0.0.1:9/gh".into(),
            }
        );
        let mut discord = config("discord");
        discord.api_base_url = Some("http://127.0.0.1:9".into());
        let endpoints = Kind::Discord.endpoints(&discord);
        assert_eq!(endpoints.api_base, "http://127.0.0.1:9/api");
        assert_eq!(
            endpoints.authorization,
            "http://127.0.0.1:9/api/oauth2/authorize"
        );
    }

    #[test]
    fn only_the_oauth2_kinds_are_kinds() {
        for name in bia_config::oidc::OAUTH2_KINDS {
            assert!(Kind::of(name).is_some(), "{name}");
        }
        for name in ["generic", "google", "linkedin", "GitHub", ""] {
            assert!(Kind::of(name).is_none(), "{name}");
        }
    }

    #[test]
    fn every_configured_scope_must_be_granted() {
        let wanted = vec!["read:user".to_owned(), "user:email".to_owned()];
        assert!(require_granted(&wanted, Some("read:user,user:email")).is_ok());
        assert!(require_granted(&wanted, Some("user:email read:user")).is_ok());
        assert_eq!(
            require_granted(&wanted, Some("read:user")),
            Err(ProviderError::ScopeMissing)
        );
        assert_eq!(
            require_granted(&wanted, None),
            Err(ProviderError::ScopeMissing)
        );
        assert!(require_granted(&[], None).is_ok());
    }
}
