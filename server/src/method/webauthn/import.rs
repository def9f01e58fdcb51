//! Imported keys: a `webauthn` or `passkey` credential in Kratos's shape
//! (`credentials`: `id`, `public_key` as COSE key bytes, `attestation_type`,
//! `authenticator{aaguid, sign_count, clone_warning}`, `flags`,
//! `display_name`, `added_at`, `is_passwordless`; and `user_handle`) turned
//! into the stored form ([`super::keys`]), each key's verifying key built
//! from its COSE public key as `webauthn-rs` would have after a
//! registration, so the key signs in.
//!
//! A passkey's user handle must be 16 bytes (Bia's handles are UUIDs, which
//! `webauthn-rs` reads back from the authenticator); without one a new
//! handle is made, which only keys registered for no particular handle
//! (none in practice) could answer.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;
use webauthn_rs::prelude::{COSEKey, COSEKeyType, ECDSACurve, Passkey, SecurityKey};

use super::keys::{AuthenticatorInfo, MAX_DISPLAY_NAME_CHARS, StoredKey, StoredKeys, encode_id};
use crate::identity::ImportedCredential;
use crate::method::import::bytes;

/// The most keys in one imported credential.
pub const MAX_KEYS: usize = 100;
/// The longest credential id (WebAuthn: at most 1023 bytes).
const MAX_ID_BYTES: usize = 1023;
/// The longest COSE public key taken (an RSA-2048 key is about 270 bytes).
const MAX_PUBLIC_KEY_BYTES: usize = 2048;
/// The longest user handle (WebAuthn: at most 64 bytes).
const MAX_USER_HANDLE_BYTES: usize = 64;
/// An AAGUID's length.
const AAGUID_BYTES: usize = 16;

/// The stored config of an imported `passkey` (`passkey: true`) or
/// `webauthn` credential; the error names the failing field.
pub fn keys(
    passkey: bool,
    config: &Value,
    now: DateTime<Utc>,
) -> Result<ImportedCredential, String> {
    let kind = if passkey { "passkey" } else { "webauthn" };
    let field = format!("credentials.{kind}.config");
    let config = config
        .as_object()
        .ok_or_else(|| format!("{field}: must be an object"))?;
    let list = config
        .get("credentials")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{field}.credentials: must be a list"))?;
    if list.is_empty() || list.len() > MAX_KEYS {
        return Err(format!(
            "{field}.credentials: must hold between 1 and {MAX_KEYS} keys"
        ));
    }
    let mut stored = StoredKeys::default();
    for (n, entry) in list.iter().enumerate() {
        let entry = entry
            .as_object()
            .ok_or_else(|| format!("{field}.credentials.{n}: must be an object"))?;
        let key = key(passkey, entry, now)
            .map_err(|reason| format!("{field}.credentials.{n}.{reason}"))?;
        if stored.credentials.iter().any(|k| k.id == key.id) {
            return Err(format!(
                "{field}.credentials.{n}.id: the same key is listed twice"
            ));
        }
        stored.credentials.push(key);
    }
    let handle = user_handle(config.get("user_handle"))
        .map_err(|reason| format!("{field}.user_handle: {reason}"))?;
    let identifiers = if passkey {
        let handle = match handle {
            Some(bytes) => Uuid::from_slice(&bytes).map_err(|_| {
                format!("{field}.user_handle: a passkey user handle must be 16 bytes")
            })?,
            None => Uuid::new_v4(),
        };
        stored.user_handle =
            Some(base64::engine::general_purpose::STANDARD.encode(handle.as_bytes()));
        Some(vec![handle.to_string()])
    } else {
        stored.user_handle =
            handle.map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes));
        None
    };
    Ok(ImportedCredential {
        config: stored.to_config(),
        identifiers,
    })
}

/// The user handle, if one is given.
fn user_handle(value: Option<&Value>) -> Result<Option<Vec<u8>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            let handle = bytes(value, MAX_USER_HANDLE_BYTES)?;
            if handle.is_empty() {
                return Ok(None);
            }
            Ok(Some(handle))
        }
    }
}

/// One key; the error names the failing field under the entry.
fn key(passkey: bool, entry: &Map<String, Value>, now: DateTime<Utc>) -> Result<StoredKey, String> {
    let id = bytes(entry.get("id").unwrap_or(&Value::Null), MAX_ID_BYTES)
        .map_err(|reason| format!("id: {reason}"))?;
    if id.is_empty() {
        return Err("id: must not be empty".into());
    }
    let public_key = bytes(
        entry.get("public_key").unwrap_or(&Value::Null),
        MAX_PUBLIC_KEY_BYTES,
    )
    .map_err(|reason| format!("public_key: {reason}"))?;
    let cose = cose_key(&public_key).map_err(|reason| format!("public_key: {reason}"))?;
    let authenticator = authenticator(entry.get("authenticator"))?;
    let flag = |name: &str| {
        entry
            .get("flags")
            .and_then(|f| f.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let backup = (flag("backup_eligible"), flag("backup_state"));
    let verifying = verifying_key(passkey, &id, &cose, authenticator.sign_count, backup)?;
    Ok(StoredKey {
        id: encode_id(&id),
        display_name: text(entry, "display_name")?
            .chars()
            .take(MAX_DISPLAY_NAME_CHARS)
            .collect(),
        added_at: added_at(entry.get("added_at"), now)?,
        is_passwordless: passkey
            || entry
                .get("is_passwordless")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        attestation_type: Some(text(entry, "attestation_type")?)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "none".into()),
        authenticator,
        key: verifying,
    })
}

/// A text field; absent is empty.
fn text(entry: &Map<String, Value>, name: &str) -> Result<String, String> {
    match entry.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) if text.len() <= 1024 => Ok(text.clone()),
        Some(Value::String(_)) => Err(format!("{name}: is too long")),
        Some(_) => Err(format!("{name}: must be a string")),
    }
}

/// When the key was added; absent is now.
fn added_at(value: Option<&Value>, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    match value {
        None | Some(Value::Null) => Ok(now),
        Some(Value::String(at)) => DateTime::parse_from_rfc3339(at)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| "added_at: must be an RFC 3339 time".into()),
        Some(_) => Err("added_at: must be an RFC 3339 time".into()),
    }
}

/// The authenticator's counters and identity.
fn authenticator(value: Option<&Value>) -> Result<AuthenticatorInfo, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(AuthenticatorInfo::default());
    };
    let value = value
        .as_object()
        .ok_or("authenticator: must be an object")?;
    let sign_count = match value.get("sign_count") {
        None | Some(Value::Null) => 0,
        Some(count) => count
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("authenticator.sign_count: must be a number from 0 to 4294967295")?,
    };
    let aaguid = match value.get("aaguid") {
        None | Some(Value::Null) => None,
        Some(aaguid) => {
            let aaguid = bytes(aaguid, AAGUID_BYTES)
                .map_err(|reason| format!("authenticator.aaguid: {reason}"))?;
            match aaguid.len() {
                0 => None,
                AAGUID_BYTES => Some(base64::engine::general_purpose::STANDARD.encode(aaguid)),
                _ => return Err("authenticator.aaguid: must be 16 bytes".into()),
            }
        }
    };
    let clone_warning = match value.get("clone_warning") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(on)) => *on,
        Some(_) => return Err("authenticator.clone_warning: must be true or false".into()),
    };
    Ok(AuthenticatorInfo {
        sign_count,
        uses: 0,
        aaguid,
        clone_warning,
    })
}

/// Reads a COSE public key, refusing what `webauthn-rs` cannot verify with
/// (and P-256 points off the curve).
fn cose_key(public_key: &[u8]) -> Result<COSEKey, String> {
    let value: serde_cbor_2::Value =
        serde_cbor_2::from_slice(public_key).map_err(|_| "is not a CBOR-encoded COSE key")?;
    let key = COSEKey::try_from(&value).map_err(|_| "is not a supported COSE public key")?;
    if let COSEKeyType::EC_EC2(ec) = &key.key
        && ec.curve == ECDSACurve::SECP256R1
    {
        let mut point = Vec::with_capacity(65);
        point.push(0x04);
        point.extend_from_slice(&ec.x);
        point.extend_from_slice(&ec.y);
        p256::PublicKey::from_sec1_bytes(&point).map_err(|_| "is not a point on P-256")?;
    }
    Ok(key)
}

/// The verifying key as `webauthn-rs` stores a registered one: a passkey
/// requires user verification; a security key does not ask for it.
fn verifying_key(
    passkey: bool,
    id: &[u8],
    cose: &COSEKey,
    counter: u32,
    (backup_eligible, backup_state): (bool, bool),
) -> Result<Value, String> {
    let credential = json!({
        "cred_id": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id),
        "cred": cose,
        "counter": counter,
        "transports": null,
        "user_verified": passkey,
        "backup_eligible": backup_eligible,
        "backup_state": backup_state && backup_eligible,
        "registration_policy": if passkey { "required" } else { "discouraged" },
        "extensions": {},
        "attestation": {"data": "None", "metadata": "None"},
        "attestation_format": "none",
    });
    let wrapped = json!({ "cred": credential });
    // Opened as the method will open it, so a stored key always opens.
    let opened = if passkey {
        serde_json::from_value::<Passkey>(wrapped).and_then(|k| serde_json::to_value(&k))
    } else {
        serde_json::from_value::<SecurityKey>(wrapped).and_then(|k| serde_json::to_value(&k))
    };
    opened.map_err(|error| {
        tracing::error!(%error, "an imported key could not be built");
        "public_key: the key could not be stored".to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A COSE P-256 key (the point is the curve's generator).
    fn cose() -> Vec<u8> {
        let x = hex::decode("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296")
            .unwrap();
        let y = hex::decode("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
            .unwrap();
        let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
        out.extend(&x);
        out.extend([0x22, 0x58, 0x20]);
        out.extend(&y);
        out
    }

    fn entry(public_key: &[u8]) -> Value {
        json!({
            "id": base64::engine::general_purpose::STANDARD.encode([7u8; 16]),
            "public_key": base64::engine::general_purpose::STANDARD.encode(public_key),
            "attestation_type": "none",
            "authenticator": {"aaguid": base64::engine::general_purpose::STANDARD.encode([0u8; 16]), "sign_count": 3, "clone_warning": false},
            "display_name": "key",
            "added_at": "2024-01-02T03:04:05Z",
            "is_passwordless": false
        })
    }

    #[test]
    fn kratos_keys_become_keys_the_methods_open() {
        let now = Utc::now();
        for passkey in [false, true] {
            let config = json!({"credentials": [entry(&cose())], "user_handle": base64::engine::general_purpose::STANDARD.encode([9u8; 16])});
            let imported = keys(passkey, &config, now).unwrap();
            let stored = StoredKeys::read(&imported.config).unwrap();
            assert_eq!(stored.credentials[0].authenticator.sign_count, 3);
            if passkey {
                assert_eq!(stored.open::<Passkey>().len(), 1);
                assert_eq!(
                    imported.identifiers.unwrap(),
                    vec![Uuid::from_bytes([9; 16]).to_string()]
                );
            } else {
                assert_eq!(stored.open::<SecurityKey>().len(), 1);
                assert!(imported.identifiers.is_none());
            }
        }
    }

    #[test]
    fn malformed_keys_are_refused() {
        let now = Utc::now();
        let mut off_curve = cose();
        let last = off_curve.len() - 1;
        off_curve[last] ^= 1;
        let mut truncated = cose();
        truncated.truncate(40);
        let mut trailing = cose();
        trailing.push(0);
        let many: Vec<Value> = (0..=MAX_KEYS).map(|_| entry(&cose())).collect();
        let bad = [
            json!({}),
            json!({"credentials": []}),
            json!({"credentials": "x"}),
            json!({"credentials": [entry(&off_curve)]}),
            json!({"credentials": [entry(&truncated)]}),
            json!({"credentials": [entry(&trailing)]}),
            json!({"credentials": [entry(b"not cbor")]}),
            json!({"credentials": [entry(&cose()), entry(&cose())]}),
            json!({"credentials": [{"public_key": base64::engine::general_purpose::STANDARD.encode(cose())}]}),
            json!({"credentials": [{"id": "AAAA", "public_key": base64::engine::general_purpose::STANDARD.encode(cose()), "authenticator": {"sign_count": -1}}]}),
            json!({"credentials": [{"id": "AAAA", "public_key": base64::engine::general_purpose::STANDARD.encode(cose()), "authenticator": {"aaguid": "AAAA"}}]}),
            json!({"credentials": [entry(&cose())], "user_handle": "AAAA"}),
            json!({ "credentials": many }),
        ];
        for (n, config) in bad.iter().enumerate() {
            // The short user handle only fails a passkey.
            let passkey = n == 11;
            assert!(keys(passkey, config, now).is_err(), "{n}: {config}");
        }
    }
}
