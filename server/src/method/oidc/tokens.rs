//! The tokens a provider gave when an account was linked, kept in the
//! provider's entry of the `oidc` credential config as Kratos keeps them
//! (`initial_id_token`, `initial_access_token`, `initial_refresh_token`),
//! each sealed with `secrets.cipher` ([`crate::cipher`]). Without a cipher
//! secret nothing is kept (empty strings). Only the admin API opens them,
//! when asked with `include_credential=oidc`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::provider::Tokens;
use crate::cipher::Cipher;
use crate::identity::{CredentialType, Identity};

/// The three token fields of a provider entry.
const FIELDS: [&str; 3] = [
    "initial_id_token",
    "initial_access_token",
    "initial_refresh_token",
];
/// The longest token kept; a longer one is not stored.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A provider's tokens, each sealed (or empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SealedTokens {
    /// The sealed ID token.
    #[serde(default)]
    pub initial_id_token: String,
    /// The sealed access token.
    #[serde(default)]
    pub initial_access_token: String,
    /// The sealed refresh token.
    #[serde(default)]
    pub initial_refresh_token: String,
}

impl SealedTokens {
    /// The tokens of a code exchange, sealed; what cannot be sealed (no
    /// cipher secret, too long) is left empty.
    pub fn seal(cipher: &Cipher, tokens: &Tokens) -> Self {
        let seal = |token: &Option<String>| {
            token
                .as_deref()
                .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_BYTES)
                .and_then(|t| cipher.seal(t.as_bytes()).ok())
                .unwrap_or_default()
        };
        Self {
            initial_id_token: seal(&tokens.id_token),
            initial_access_token: seal(&tokens.access_token),
            initial_refresh_token: seal(&tokens.refresh_token),
        }
    }

    fn values(&self) -> [&str; 3] {
        [
            &self.initial_id_token,
            &self.initial_access_token,
            &self.initial_refresh_token,
        ]
    }
}

/// Puts sealed tokens into the entry of provider link `identifier`
/// (`<provider>:<subject>`) of the identity's `oidc` credential.
pub fn keep(identity: &mut Identity, identifier: &str, sealed: &SealedTokens) {
    let Some(entry) = provider_entry(identity, identifier) else {
        return;
    };
    for (field, value) in FIELDS.iter().zip(sealed.values()) {
        entry.insert((*field).to_owned(), Value::String(value.to_owned()));
    }
}

/// Opens every sealed token of the identity's `oidc` credential in place,
/// for the admin API; a token no configured secret opens becomes empty.
pub fn open_all(cipher: &Cipher, identity: &mut Identity) {
    let Some(providers) = identity
        .credentials
        .get_mut(&CredentialType::Oidc)
        .and_then(|c| c.config.get_mut("providers"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for entry in providers.iter_mut().filter_map(Value::as_object_mut) {
        for field in FIELDS {
            let Some(Value::String(sealed)) = entry.get_mut(field) else {
                continue;
            };
            if sealed.is_empty() {
                continue;
            }
            *sealed = cipher
                .open(sealed)
                .ok()
                .and_then(|plain| String::from_utf8(plain).ok())
                .unwrap_or_default();
        }
    }
}

fn provider_entry<'a>(
    identity: &'a mut Identity,
    identifier: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let (provider, subject) = identifier.split_once(':')?;
    identity
        .credentials
        .get_mut(&CredentialType::Oidc)?
        .config
        .get_mut("providers")?
        .as_array_mut()?
        .iter_mut()
        .filter_map(Value::as_object_mut)
        .find(|entry| {
            entry.get("provider").and_then(Value::as_str) == Some(provider)
                && entry.get("subject").and_then(Value::as_str) == Some(subject)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cipher::Algorithm;
    use serde_json::json;

    fn cipher() -> Cipher {
        Cipher::new(Algorithm::XChaCha20Poly1305, &["a".repeat(32)]).unwrap()
    }

    #[test]
    fn tokens_are_sealed_and_opened_again() {
        let tokens = Tokens {
            id_token: Some("id.token.jwt".into()),
            access_token: Some("access".into()),
            refresh_token: None,
            ..Tokens::default()
        };
        let sealed = SealedTokens::seal(&cipher(), &tokens);
        assert!(!sealed.initial_id_token.contains("id.token"));
        assert_eq!(sealed.initial_refresh_token, "");
        let mut identity = Identity::new("default".into(), json!({}), chrono::Utc::now());
        identity.credentials.insert(
            CredentialType::Oidc,
            crate::identity::Credential {
                id: uuid::Uuid::new_v4(),
                kind: CredentialType::Oidc,
                identifiers: vec!["idp:sub:1".into()],
                config: json!({"providers": [{"provider": "idp", "subject": "sub:1"}]}),
                version: 0,
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
            },
        );
        keep(&mut identity, "idp:sub:1", &sealed);
        open_all(&cipher(), &mut identity);
        let entry = &identity.credentials[&CredentialType::Oidc].config["providers"][0];
        assert_eq!(entry["initial_id_token"], "id.token.jwt");
        assert_eq!(entry["initial_access_token"], "access");
        assert_eq!(entry["initial_refresh_token"], "");
    }

    #[test]
    fn without_a_cipher_secret_nothing_is_kept() {
        let none = Cipher::without_secrets();
        let tokens = Tokens {
            id_token: Some("x".into()),
            access_token: None,
            refresh_token: None,
            ..Tokens::default()
        };
        assert_eq!(SealedTokens::seal(&none, &tokens), SealedTokens::default());
    }
}
