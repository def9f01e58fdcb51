//! One configured provider, driven through a sign-in: its endpoints (by
//! discovery, or the fixed ones of a plain OAuth 2.0 kind), the
//! authorization request, the code exchange, and its claims: from the ID
//! token (signature by a key of the provider's JWKS, issuer, audience,
//! expiry, nonce) and userinfo, or from the user API of an OAuth 2.0 kind
//! (`kind/`), which has no ID token and so no nonce to check.

use std::time::Duration;

use bia_config::OidcProvider;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::apple::AppleKey;
use super::fetch::{self, MAX_ANSWER_BYTES};
use super::kind::{Api, Kind};
use crate::outbound::{self, OutboundError};

/// How long one call to a provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: u64 = 60;
/// What Microsoft's multi-tenant discovery documents put in the issuer in
/// place of the tenant of each token.
const TENANT_PLACEHOLDER: &str = "{tenantid}";

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
    /// The person did not grant every configured scope.
    #[error(
        "Unable to finish because one or more permissions were not granted. Please retry and accept all permissions."
    )]
    ScopeMissing,
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
    /// The base of the user API of a plain OAuth 2.0 kind.
    #[serde(skip)]
    pub api_base: Option<String>,
}

/// The tokens a code was exchanged for.
#[derive(Debug, Clone, Default, Deserialize)]
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
    /// The scopes granted (comma or space separated), when named.
    #[serde(default)]
    pub scope: Option<String>,
    /// Slack's success flag: `false` is a refusal, even with status 200.
    #[serde(default)]
    pub ok: Option<bool>,
    /// An OAuth 2.0 error code; GitHub sends one with status 200.
    #[serde(default)]
    pub error: Option<String>,
}

/// A configured provider, ready to talk to.
pub struct Provider {
    /// Its configuration.
    pub config: OidcProvider,
    /// Its kind, when it is a plain OAuth 2.0 one.
    kind: Option<Kind>,
    client: reqwest::Client,
    /// The key that signs an `apple` provider's client secrets.
    apple_key: Option<AppleKey>,
}

/// What the authorization request carries besides the configuration.
pub struct AuthRequest<'a> {
    /// Where the provider sends the browser back.
    pub redirect_uri: &'a str,
    /// The state that binds the answer to the flow.
    pub state: &'a str,
    /// The nonce the ID token must carry (not sent to OAuth 2.0 kinds).
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
        let apple_key = AppleKey::of(&config).map_err(ProviderError::Invalid)?;
        Ok(Self {
            kind: Kind::of(&config.provider),
            config,
            client: outbound::client(CALL_TIMEOUT)?,
            apple_key,
        })
    }

    /// The name on its buttons.
    pub fn label(&self) -> &str {
        self.config.label.as_deref().unwrap_or(&self.config.id)
    }

    /// The provider's endpoints: the fixed ones of an OAuth 2.0 kind, or
    /// those the issuer's discovery document names; configured `auth_url`
    /// and `token_url` replace them either way.
    pub async fn endpoints(&self) -> Result<Endpoints, ProviderError> {
        if let Some(kind) = self.kind {
            let fixed = kind.endpoints(&self.config);
            return Ok(Endpoints {
                issuer: String::new(),
                authorization_endpoint: fixed.authorization,
                token_endpoint: fixed.token,
                userinfo_endpoint: None,
                jwks_uri: String::new(),
                code_challenge_methods_supported: Vec::new(),
                api_base: Some(fixed.api_base),
            });
        }
        let issuer = bia_config::oidc::issuer(&self.config).unwrap_or_default();
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let mut endpoints: Endpoints = self.get_json(&url, None).await?;
        let named = endpoints.issuer.trim_end_matches('/');
        let multi_tenant =
            self.config.provider == "microsoft" && named.contains(TENANT_PLACEHOLDER);
        if named != issuer.trim_end_matches('/') && !multi_tenant {
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
        let mut scopes = match self.kind {
            Some(_) => Vec::new(),
            None => vec!["openid".to_owned()],
        };
        for scope in &self.config.scope {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        let sends_scope = self.kind.is_none_or(Kind::sends_scope);
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
            let defaults = self.kind.map_or(&[][..], Kind::default_parameters);
            for (name, value) in defaults {
                let asked = request.upstream.iter().any(|(asked, _)| asked == name);
                if !asked && !self.config.upstream_parameters.contains_key(*name) {
                    query.append_pair(name, value);
                }
            }
            query
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", request.redirect_uri)
                .append_pair("response_type", "code");
            if sends_scope && !scopes.is_empty() {
                query.append_pair("scope", &scopes.join(" "));
            }
            query.append_pair("state", request.state);
            if self.kind.is_none() {
                query.append_pair("nonce", request.nonce);
            }
            if let Some(challenge) = request.code_challenge {
                query
                    .append_pair("code_challenge", challenge)
                    .append_pair("code_challenge_method", "S256");
            }
            if let Some(claims) = &self.config.requested_claims {
                query.append_pair("claims", &claims.to_string());
            }
            // Apple answers requests for the name or email by posting a
            // form, and refuses them otherwise.
            if self.config.provider == "apple" && !self.config.scope.is_empty() {
                query.append_pair("response_mode", "form_post");
            }
        }
        Ok(url.into())
    }

    /// Exchanges an authorization code for tokens. The client secret goes
    /// by HTTP Basic authentication (the token endpoint's default), or in
    /// the form for OAuth 2.0 kinds, whose providers all read it there. An
    /// answer naming an `error` or `ok: false` is a refusal whatever its
    /// status (GitHub and Slack answer errors with 200).
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
        // OAuth 2.0 kinds and Apple read the client secret from the form;
        // Apple's may be one Bia signs.
        let signed;
        let secret = match (&self.config.client_secret, &self.apple_key) {
            (Some(secret), _) => Some(secret.as_str()),
            (None, Some(key)) => {
                signed = key.client_secret(&self.config.client_id, chrono::Utc::now());
                Some(signed.as_str())
            }
            (None, None) => None,
        };
        let secret_in_form = self.kind.is_some() || self.config.provider == "apple";
        if secret_in_form && let Some(secret) = secret {
            form.push(("client_secret", secret));
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
        if let Some(secret) = secret.filter(|_| !secret_in_form) {
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
        let tokens: Tokens = serde_json::from_slice(&body)
            .map_err(|e| ProviderError::Invalid(format!("token answer: {e}")))?;
        if tokens.error.is_some() || tokens.ok == Some(false) {
            let code: String = tokens
                .error
                .as_deref()
                .unwrap_or("")
                .chars()
                .filter(char::is_ascii_graphic)
                .take(64)
                .collect();
            return Err(ProviderError::Unavailable(format!(
                "the token endpoint refused the code {code}"
            )));
        }
        Ok(tokens)
    }

    /// The claims of the account a code was exchanged for: from the user API
    /// of an OAuth 2.0 kind, or from the verified ID token (carrying
    /// `nonce`) and, when `claims_source` says so (always for `linkedin`),
    /// from userinfo.
    pub async fn claims(
        &self,
        endpoints: &Endpoints,
        tokens: &Tokens,
        nonce: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        let access = || {
            tokens
                .access_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ProviderError::Invalid("the token answer has no access_token".into())
                })
        };
        if let Some(kind) = self.kind {
            let api = Api {
                client: &self.client,
                base: endpoints.api_base.as_deref().unwrap_or(""),
                access_token: access()?,
            };
            return kind.claims(&api, &self.config, tokens).await;
        }
        let id_token = tokens
            .id_token
            .as_deref()
            .ok_or_else(|| ProviderError::Invalid("the token answer has no id_token".into()))?;
        let claims = self.verify_id_token(endpoints, id_token, nonce).await?;
        let from_userinfo = self.config.provider == "linkedin"
            || self.config.claims_source.as_deref() == Some("userinfo");
        if !from_userinfo {
            return Ok(claims);
        }
        let info = self.userinfo(endpoints, access()?).await?;
        if info.get("sub") != claims.get("sub") {
            return Err(ProviderError::Invalid(
                "the userinfo subject differs from the ID token's".into(),
            ));
        }
        Ok(info)
    }

    /// The claims of a verified ID token: signed by one of the provider's
    /// keys, issued by it for this client, not expired, carrying `nonce`.
    async fn verify_id_token(
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
        let issuer = expected_issuer(&endpoints.issuer, id_token)?;
        validation.set_issuer(&[&issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<Map<String, Value>>(id_token, &key, &validation)
            .map_err(token_error)?;
        Ok(data.claims)
    }

    /// The JSON object at `url`, read with the access token.
    pub async fn read_with_token(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        self.get_json(url, Some(access_token)).await
    }

    /// The claims of the userinfo endpoint, read with the access token.
    async fn userinfo(
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
        let mut request = self.client.get(url);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        fetch::json(request, url).await
    }
}

/// Client credentials are form-encoded before Basic authentication (RFC 6749
/// section 2.3.1).
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The issuer an ID token must name: the discovered one, or for a
/// multi-tenant Microsoft issuer (`.../{tenantid}/v2.0`) the one of the
/// tenant the token says it comes from (its `tid`); the signature and the
/// `iss` claim are checked against it afterwards.
fn expected_issuer(discovered: &str, id_token: &str) -> Result<String, ProviderError> {
    if !discovered.contains(TENANT_PLACEHOLDER) {
        return Ok(discovered.to_owned());
    }
    let tid = unverified_claim(id_token, "tid")
        .filter(|tid| {
            !tid.is_empty()
                && tid.len() <= 64
                && tid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .ok_or_else(|| ProviderError::Token("the token names no valid tenant (tid)".into()))?;
    Ok(discovered.replace(TENANT_PLACEHOLDER, &tid))
}

/// One text claim of a token's payload, read before its signature is
/// checked (only to choose what to check it against).
fn unverified_claim(token: &str, name: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get(name)?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn token(claims: Value) -> String {
        let encode = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.c2ln",
            encode(serde_json::json!({"alg": "RS256"})),
            encode(claims)
        )
    }

    #[test]
    fn a_multi_tenant_issuer_is_the_tokens_tenant() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
        let signed = token(serde_json::json!({"tid": tid, "iss": "https://evil.example"}));
        // The expected issuer follows the tid: a token whose `iss` names
        // another issuer then fails the issuer check.
        assert_eq!(
            expected_issuer(template, &signed).unwrap(),
            format!("https://login.microsoftonline.com/{tid}/v2.0")
        );
        assert_eq!(
            expected_issuer("https://idp.example", &signed).unwrap(),
            "https://idp.example"
        );
        for hostile in [
            serde_json::json!({}),
            serde_json::json!({"tid": ""}),
            serde_json::json!({"tid": "a/../b"}),
            serde_json::json!({"tid": "x".repeat(65)}),
            serde_json::json!({"tid": 7}),
        ] {
            let refused = expected_issuer(template, &token(hostile.clone()));
            assert!(matches!(refused, Err(ProviderError::Token(_))), "{hostile}");
        }
        assert!(expected_issuer(template, "no.dots-here").is_err());
    }
}
