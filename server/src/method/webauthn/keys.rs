//! The stored credential: the config of an identity's `webauthn` or
//! `passkey` credential, in Kratos's shape as far as clients read it (a
//! `credentials` list of keys with their id, display name, time added and
//! authenticator counters; a passkey's `user_handle`), each key also
//! holding the verifying key as `webauthn-rs` writes it.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webauthn_rs::prelude::{AuthenticationResult, CredentialID};

/// The longest display name kept, in characters.
pub(super) const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// What an identity's credential of one WebAuthn type holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct StoredKeys {
    /// The keys, oldest first.
    #[serde(default)]
    pub credentials: Vec<StoredKey>,
    /// Passkeys: the user handle authenticators return (base64 of its bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<String>,
}

/// One key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredKey {
    /// The credential id, base64 (as Kratos writes bytes).
    pub id: String,
    /// The name its owner gave it.
    #[serde(default)]
    pub display_name: String,
    /// When it was added.
    pub added_at: DateTime<Utc>,
    /// Whether it signs in alone (passkeys).
    #[serde(default)]
    pub is_passwordless: bool,
    /// Attestation is not asked for: always `none`.
    #[serde(default)]
    pub attestation_type: String,
    /// The authenticator's counters.
    #[serde(default)]
    pub authenticator: AuthenticatorInfo,
    /// The verifying key and its state, as `webauthn-rs` serializes it.
    pub key: Value,
}

/// What is known about the authenticator of a key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct AuthenticatorInfo {
    /// The highest signature counter seen.
    #[serde(default)]
    pub sign_count: u32,
    /// Successful uses (every use changes the stored config, so two
    /// replicas never both accept one assertion).
    #[serde(default)]
    pub uses: u64,
    /// The authenticator model's AAGUID (base64), when it was imported with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<String>,
    /// Whether Kratos had seen the counter go back (imported keys).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clone_warning: bool,
}

impl StoredKeys {
    /// The keys of `identity`'s credential of `kind` (none when it has no
    /// readable one).
    pub fn of(identity: &crate::identity::Identity, kind: crate::identity::CredentialType) -> Self {
        identity
            .credentials
            .get(&kind)
            .and_then(|c| Self::read(&c.config))
            .unwrap_or_default()
    }

    /// Reads a stored config; `None` when it is not one this server wrote.
    pub fn read(config: &Value) -> Option<Self> {
        serde_json::from_value(config.clone()).ok()
    }

    /// The config to store.
    pub fn to_config(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Every key that can be opened as a `T` (`SecurityKey` or `Passkey`).
    pub fn open<T: DeserializeOwned>(&self) -> Vec<T> {
        self.credentials
            .iter()
            .filter_map(|k| serde_json::from_value(k.key.clone()).ok())
            .collect()
    }

    /// The position of the key with this credential id.
    pub fn position(&self, id: &[u8]) -> Option<usize> {
        let id = encode_id(id);
        self.credentials.iter().position(|k| k.id == id)
    }

    /// The ids of every key, to exclude from a new registration.
    pub fn ids(&self) -> Vec<CredentialID> {
        self.credentials
            .iter()
            .filter_map(|k| base64::engine::general_purpose::STANDARD.decode(&k.id).ok())
            .collect()
    }

    /// Adds a new key.
    pub fn add(
        &mut self,
        id: &[u8],
        display_name: &str,
        passwordless: bool,
        key: Value,
        now: DateTime<Utc>,
    ) {
        self.credentials.push(StoredKey {
            id: encode_id(id),
            display_name: display_name.chars().take(MAX_DISPLAY_NAME_CHARS).collect(),
            added_at: now,
            is_passwordless: passwordless,
            attestation_type: "none".into(),
            authenticator: AuthenticatorInfo::default(),
            key,
        });
    }

    /// Records a successful use of the key at `index`: its counter and
    /// verifying key state after `result`; refuses a counter that did not
    /// grow past the stored one (a cloned authenticator), unless both are 0.
    pub fn record_use<T>(
        &mut self,
        index: usize,
        result: &AuthenticationResult,
    ) -> Result<(), KeyUseError>
    where
        T: Serialize + DeserializeOwned + Updatable,
    {
        let stored = self
            .credentials
            .get_mut(index)
            .ok_or(KeyUseError::Unknown)?;
        let counter = result.counter();
        let previous = stored.authenticator.sign_count;
        if (counter > 0 || previous > 0) && counter <= previous {
            return Err(KeyUseError::CounterWentBack);
        }
        let mut key: T =
            serde_json::from_value(stored.key.clone()).map_err(|_| KeyUseError::Unknown)?;
        key.update(result);
        stored.key = serde_json::to_value(&key).map_err(|_| KeyUseError::Unknown)?;
        stored.authenticator.sign_count = counter;
        stored.authenticator.uses = stored.authenticator.uses.saturating_add(1);
        Ok(())
    }
}

/// Why a key use is refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum KeyUseError {
    /// No such key (removed since), or one that cannot be opened.
    Unknown,
    /// The signature counter did not grow: the authenticator may be cloned.
    CounterWentBack,
}

/// A verifying key whose counter an authentication updates.
pub(super) trait Updatable {
    /// Applies what an authentication learnt.
    fn update(&mut self, result: &AuthenticationResult);
}

impl Updatable for webauthn_rs::prelude::SecurityKey {
    fn update(&mut self, result: &AuthenticationResult) {
        self.update_credential(result);
    }
}

impl Updatable for webauthn_rs::prelude::Passkey {
    fn update(&mut self, result: &AuthenticationResult) {
        self.update_credential(result);
    }
}

/// A credential id as stored: base64.
pub(super) fn encode_id(id: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(id)
}

/// A credential id as the remove buttons carry it: hex.
pub(super) fn hex_id(stored: &StoredKey) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(&stored.id)
        .map(hex::encode)
        .unwrap_or_default()
}
