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
            .map(|v| {
                v.chars()
                    .filter(|c| !c.is_control())
                    .take(100)
                    .collect::<String>()
            })
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

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier as _;

    /// A P-256 private key in PKCS#8 PEM, as Apple's `.p8` files hold one.
    const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg05rovxta3Bp/8ul7
YrLk3voVcgJVSpmTZYsN/Tfi0cahRANCAAQzZg2uaudYUl27R7vpzovrzeCdIenU
0+LVX1tw3ZJtRs4afQGq0r8za91uOoezYiRqWiZ0UrpH93Pohrj6dp+V
-----END PRIVATE KEY-----
";

    fn apple(extra: Value) -> OidcProvider {
        let mut config = json!({
            "id": "apple", "provider": "apple", "client_id": "com.example.web",
            "mapper_url": "file:///m.jsonnet", "apple_team_id": "KP76DQS54M",
            "apple_private_key_id": "ABC123DEFG", "apple_private_key": KEY,
        });
        bia_config::merge(&mut config, extra);
        serde_json::from_value(config).unwrap()
    }

    fn part(token: &str, n: usize) -> Value {
        let text = token.split('.').nth(n).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
    }

    #[test]
    fn the_client_secret_is_an_es256_jwt_apple_accepts() {
        let key = AppleKey::of(&apple(json!({}))).unwrap().unwrap();
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let secret = key.client_secret("com.example.web", now);
        let header = part(&secret, 0);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "ABC123DEFG");
        let claims = part(&secret, 1);
        assert_eq!(claims["iss"], "KP76DQS54M");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["aud"], "https://appleid.apple.com");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_000_000 + SECRET_SECONDS);
        // The signature verifies with the key's public half, over the
        // signing input, and not over another one.
        let (input, signature) = secret.rsplit_once('.').unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        let public = VerifyingKey::from(&key.key);
        assert!(public.verify(input.as_bytes(), &signature).is_ok());
        let forged = format!("{input}x");
        assert!(public.verify(forged.as_bytes(), &signature).is_err());
    }

    #[test]
    fn a_given_client_secret_or_another_kind_signs_nothing() {
        assert!(
            AppleKey::of(&apple(json!({"client_secret": "s"})))
                .unwrap()
                .is_none()
        );
        assert!(
            AppleKey::of(&apple(json!({"provider": "generic"})))
                .unwrap()
                .is_none()
        );
        let broken = apple(
            json!({"apple_private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}),
        );
        assert!(
            AppleKey::of(&broken)
                .err()
                .unwrap()
                .contains("apple_private_key")
        );
        let mut missing = apple(json!({}));
        missing.apple_team_id = None;
        assert!(AppleKey::of(&missing).is_err());
    }

    #[test]
    fn apples_user_field_gives_the_name_and_nothing_else() {
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("001.apple"));
        let user = json!({
            "name": {"firstName": "Ada", "lastName": "Lovelace"},
            "email": "forged@example.com",
            "sub": "someone-else"
        });
        add_user_name(&mut claims, Some(&user.to_string()));
        assert_eq!(claims["given_name"], "Ada");
        assert_eq!(claims["last_name"], "Lovelace");
        assert_eq!(claims["name"], "Ada Lovelace");
        assert_eq!(claims["sub"], "001.apple");
        assert!(!claims.contains_key("email"));
        // What the ID token says is kept.
        let mut named = Map::new();
        named.insert("name".into(), json!("From the token"));
        add_user_name(&mut named, Some(&user.to_string()));
        assert_eq!(named["name"], "From the token");
        // Malformed, oversized or control characters only: nothing added.
        for hostile in [
            "not json".to_owned(),
            "[1,2]".to_owned(),
            json!({"name": {"firstName": "A".repeat(MAX_USER_BYTES)}}).to_string(),
            json!({"name": {"firstName": "\u{0}\u{7}", "lastName": 3}}).to_string(),
        ] {
            let mut claims = Map::new();
            add_user_name(&mut claims, Some(&hostile));
            assert!(claims.is_empty(), "{hostile}");
        }
    }
}
