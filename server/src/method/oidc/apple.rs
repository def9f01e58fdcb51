//! What signing in with Apple needs besides OpenID Connect: the client
//! secret is a short-lived ES256 JWT signed with the team's private key
//! (`apple_team_id`, `apple_private_key_id`, `apple_private_key`), and the
//! person's name comes once, on the first sign-in, in the `user` field of
//! the form Apple posts to the callback, never in the ID token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bia_config::OidcProvider;
use chrono::{DateTime, Utc};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Map, Value, json};

/// The audience of Apple's client secrets.
const AUDIENCE: &str = "https://appleid.apple.com";
/// How long a signed client secret is valid (Apple allows six months; each
/// code exchange signs a fresh one).
const SECRET_SECONDS: i64 = 300;
/// The longest `user` field read from Apple's form.
pub const MAX_USER_BYTES: usize = 2048;

/// The key that signs an Apple provider's client secrets.
pub struct AppleKey {
    team_id: String,
    key_id: String,
    key: SigningKey,
}

impl AppleKey {
    /// The key of an `apple` provider configured with its `apple_*` keys;
    /// `None` for other kinds and for one given a `client_secret`.
    pub fn of(config: &OidcProvider) -> Result<Option<Self>, String> {
        if config.provider != "apple" || config.client_secret.is_some() {
            return Ok(None);
        }
        let (Some(team_id), Some(key_id), Some(pem)) = (
            &config.apple_team_id,
            &config.apple_private_key_id,
            &config.apple_private_key,
        ) else {
            return Err("apple providers need a client_secret or the apple_* keys".into());
        };
        let key = bia_config::oidc::apple_signing_key(pem)
            .map_err(|reason| format!("apple_private_key {reason}"))?;
        Ok(Some(Self {
            team_id: team_id.clone(),
            key_id: key_id.clone(),
            key,
        }))
    }

    /// A client secret for `client_id` (the Services ID), valid from `now`
    /// for a few minutes.
    pub fn client_secret(&self, client_id: &str, now: DateTime<Utc>) -> String {
        let header = json!({"alg": "ES256", "kid": self.key_id, "typ": "JWT"});
        let issued = now.timestamp();
        let claims = json!({
            "iss": self.team_id,
            "iat": issued,
            "exp": issued + SECRET_SECONDS,
            "aud": AUDIENCE,
            "sub": client_id,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// Adds the name of Apple's `user` field (`{"name": {"firstName": ...,
/// "lastName": ...}}`) to the claims as `given_name`, `last_name` and
/// `name`, where the claims have none. The field is not signed: only the
/// name is taken from it, never the subject or the email.
pub fn add_user_name(claims: &mut Map<String, Value>, user: Option<&str>) {
    let Some(user) = user.filter(|u| u.len() <= MAX_USER_BYTES) else {
        return;
    };
    let Ok(Value::Object(user)) = serde_json::from_str::<Value>(user) else {
        return;
    };
    let part = |key: &str| {
        user.get("name")
            .and_then(|name| name.get(key))
            .and_then(Value::as_str)
            .map(|v| v.chars().filter(|c| !c.is_control()).take(100).collect::<String>())
            .filter(|v| !v.trim().is_empty())
    };
    let (first, last) = (part("firstName"), part("lastName"));
    let full = [first.as_deref(), last.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    for (claim, value) in [
        ("given_name", first),
        ("last_name", last),
        ("name", Some(full).filter(|f| !f.is_empty())),
    ] {
        if let Some(value) = value
            && !claims.contains_key(claim)
        {
            claims.insert(claim.to_owned(), Value::String(value));
        }
    }
}
