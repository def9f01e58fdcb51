//! One configured OpenID Connect provider: discovery of its endpoints, the
//! authorization request, the code exchange and the ID token checks
//! (signature by a key of the provider's JWKS, issuer, audience, expiry,
//! nonce).

use std::time::Duration;

use bia_config::OidcProvider;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::outbound::{self, OutboundError};

/// How long one call to a provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from a provider (discovery, keys, tokens, claims).
const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: u64 = 60;

/// Why talking to a provider failed. The text names the step, never a
/// secret or token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider could not be reached or answered with an error status.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider answered something that is not what the protocol says.
    #[error("the provider's answer is invalid: {0}")]
    Invalid(String),
    /// The ID token was refused (signature, issuer, audience, expiry, nonce).
    #[error("the ID token was refused: {0}")]
    Token(String),
}

impl From<OutboundError> for ProviderError {
    fn from(error: OutboundError) -> Self {
        ProviderError::Unavailable(error.0)
    }
}

/// What discovery says about a provider.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoints {
    /// The issuer the ID tokens must name.
    pub issuer: String,
    /// Where browsers are sent to sign in.
    pub authorization_endpoint: String,
    /// Where codes are exchanged.
    pub token_endpoint: String,
    /// Where claims can be read with an access token.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// The provider's signing keys.
    pub jwks_uri: String,
    /// The PKCE methods it supports.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

/// The tokens a code was exchanged for.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    /// The ID token (a JWT).
    #[serde(default)]
    pub id_token: Option<String>,
    /// The access token.
    #[serde(default)]
    pub access_token: Option<String>,
    /// The refresh token, when the provider gave one.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// A configured provider, ready to talk to.
pub struct Provider {
    /// Its configuration.
    pub config: OidcProvider,
    client: reqwest::Client,
}

/// What the authorization request carries besides the configuration.
pub struct AuthRequest<'a> {
    /// Where the provider sends the browser back.
    pub redirect_uri: &'a str,
    /// The state that binds the answer to the flow.
    pub state: &'a str,
    /// The nonce the ID token must carry.
    pub nonce: &'a str,
    /// The PKCE challenge (S256), when PKCE is used.
    pub code_challenge: Option<&'a str>,
    /// Parameters the submission asked for (`upstream_parameters`), sent
    /// in place of the configured ones of the same name.
    pub upstream: &'a [(String, String)],
}

impl Provider {
    /// The provider of `config`.
    pub fn new(config: OidcProvider) -> Result<Self, ProviderError> {
        Ok(Self {
            config,
            client: outbound::client(CALL_TIMEOUT)?,
        })
    }

    /// The name on its buttons.
    pub fn label(&self) -> &str {
        self.config.label.as_deref().unwrap_or(&self.config.id)
    }

    /// Reads the discovery document of the issuer; configured `auth_url` and
    /// `token_url` replace what it names.
    pub async fn discover(&self) -> Result<Endpoints, ProviderError> {
        let issuer = self
            .config
            .issuer_url
            .as_deref()
            .or_else(|| bia_config::oidc::default_issuer(&self.config.provider))
            .unwrap_or_default();
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let mut endpoints: Endpoints = self.get_json(&url, None).await?;
        if endpoints.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(ProviderError::Invalid(format!(
                "the discovery document names the issuer {:?}, not the configured one",
                endpoints.issuer
            )));
        }
        if let Some(auth_url) = &self.config.auth_url {
            endpoints.authorization_endpoint = auth_url.clone();
        }
        if let Some(token_url) = &self.config.token_url {
            endpoints.token_endpoint = token_url.clone();
        }
        Ok(endpoints)
    }

    /// Whether PKCE is used with these endpoints (`pkce`: `force`, `never`,
    /// or `auto`: when the provider announces S256).
    pub fn uses_pkce(&self, endpoints: &Endpoints) -> bool {
        match self.config.pkce.as_deref() {
            Some("force") => true,
            Some("never") => false,
            _ => endpoints
                .code_challenge_methods_supported
                .iter()
                .any(|m| m == "S256"),
        }
    }

    /// The URL the browser is sent to.
    pub fn authorization_url(
        &self,
        endpoints: &Endpoints,
        request: &AuthRequest<'_>,
    ) -> Result<String, ProviderError> {
        let mut url = url::Url::parse(&endpoints.authorization_endpoint)
            .map_err(|e| ProviderError::Invalid(format!("authorization_endpoint: {e}")))?;
        let mut scopes = vec!["openid".to_owned()];
        for scope in &self.config.scope {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in &self.config.upstream_parameters {
                if !request.upstream.iter().any(|(asked, _)| asked == name) {
                    query.append_pair(name, value);
                }
            }
            for (name, value) in request.upstream {
                query.append_pair(name, value);
            }
            query
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", request.redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("scope", &scopes.join(" "))
                .append_pair("state", request.state)
                .append_pair("nonce", request.nonce);
            if let Some(challenge) = request.code_challenge {
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", "S256");
            }
            if let Some(claims) = &self.config.requested_claims {
                query.append_pair("claims", &claims.to_string());
            }
        }
        Ok(url.into())
    }

    /// Exchanges an authorization code for tokens (client secret by HTTP
    /// Basic authentication, as the token endpoint's default).
    pub async fn exchange(
        &self,
        endpoints: &Endpoints,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<Tokens, ProviderError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", self.config.client_id.as_str()),
        ];
        if let Some(verifier) = code_verifier {
            form.push(("code_verifier", verifier));
        }
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let mut request = self
            .client
            .post(&endpoints.token_endpoint)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(encoded);
        if let Some(secret) = &self.config.client_secret {
            request = request.basic_auth(
                form_encode(&self.config.client_id),
                Some(form_encode(secret)),
            );
        }
        let response = request.send().await.map_err(OutboundError::from)?;
        let status = response.status();
        let body = outbound::read_bounded(response, MAX_ANSWER_BYTES).await?;
        if !status.is_success() {
            let error = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            return Err(ProviderError::Unavailable(format!(
                "the token endpoint answered {status} {error}"
            )));
        }
        serde_json::from_slice(&body)
            .map_err(|e| ProviderError::Invalid(format!("token answer: {e}")))
    }

    /// The claims of a verified ID token: signed by one of the provider's
    /// keys, issued by it for this client, not expired, carrying `nonce`.
    pub async fn verify_id_token(
        &self,
        endpoints: &Endpoints,
        id_token: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        let claims = self
            .verify_signed(endpoints, id_token, &[self.config.client_id.as_str()])
            .await?;
        let sent = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if !crate::hash::ct_eq(sent.as_bytes(), nonce.as_bytes()) {
            return Err(ProviderError::Token("the nonce does not match".into()));
        }
        Ok(claims)
    }

    /// The claims of an ID token signed by one of the provider's keys,
    /// issued by it for one of `audiences`, not expired (the nonce is left
    /// to the caller).
    pub async fn verify_signed(
        &self,
        endpoints: &Endpoints,
        id_token: &str,
        audiences: &[&str],
    ) -> Result<Map<String, Value>, ProviderError> {
        let token_error = |e: jsonwebtoken::errors::Error| ProviderError::Token(e.to_string());
        let header = jsonwebtoken::decode_header(id_token).map_err(token_error)?;
        // Only the provider's public keys may sign: a shared-secret algorithm
        // would let a JWKS key be used as an HMAC secret.
        if matches!(
            header.alg,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ) {
            return Err(ProviderError::Token(format!(
                "{:?} is not accepted; the provider must sign with a public key",
                header.alg
            )));
        }
        let keys: JwkSet = self.get_json(&endpoints.jwks_uri, None).await?;
        let jwk = keys
            .keys
            .iter()
            .find(|k| header.kid.is_none() || k.common.key_id == header.kid)
            .ok_or_else(|| ProviderError::Token("no key of the provider signed it".into()))?;
        let key = DecodingKey::from_jwk(jwk).map_err(token_error)?;
        let mut validation = Validation::new(header.alg);
        validation.set_audience(audiences);
        validation.set_issuer(&[&endpoints.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<Map<String, Value>>(id_token, &key, &validation)
            .map_err(token_error)?;
        Ok(data.claims)
    }

    /// The claims of the userinfo endpoint, read with the access token.
    pub async fn userinfo(
        &self,
        endpoints: &Endpoints,
        access_token: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        let url = endpoints
            .userinfo_endpoint
            .as_deref()
            .ok_or_else(|| ProviderError::Invalid("no userinfo endpoint".into()))?;
        self.get_json(url, Some(access_token)).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<T, ProviderError> {
        let mut request = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(OutboundError::from)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProviderError::Unavailable(format!(
                "{} answered {status}",
                shown(url)
            )));
        }
        let body = outbound::read_bounded(response, MAX_ANSWER_BYTES).await?;
        serde_json::from_slice(&body)
            .map_err(|e| ProviderError::Invalid(format!("{}: {e}", shown(url))))
    }
}

/// A URL as logged: scheme, host and path only.
fn shown(url: &str) -> String {
    url::Url::parse(url).map_or_else(
        |_| "the provider".to_owned(),
        |u| {
            format!(
                "{}://{}{}",
                u.scheme(),
                u.host_str().unwrap_or(""),
                u.path()
            )
        },
    )
}

/// Client credentials are form-encoded before Basic authentication (RFC 6749
/// section 2.3.1).
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
