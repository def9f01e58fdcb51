//! Imported second factors: TOTP URLs, lookup codes, security keys and
//! passkeys as an admin hands them in (Kratos's import shape, as
//! `POST /admin/identities` takes it), turned into what each method stores
//! and reads, so an imported credential signs in.
//!
//! TOTP URLs and lookup codes are sealed with `secrets.cipher` as their
//! methods seal them (kept in clear text only when no cipher secret is
//! configured; the methods seal them on first use then). Keys are handled
//! in [`super::webauthn::import`]. Every field is checked before anything is
//! written: a malformed credential is refused with a message naming it.

use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use totp_rs::Totp;

use crate::cipher::Cipher;
use crate::identity::{CredentialConverter, CredentialType, ImportedCredential};

/// The longest TOTP URL taken, in bytes.
const MAX_TOTP_URL_BYTES: usize = 2048;
/// The longest TOTP secret taken, in bytes (Kratos writes 20, apps at most 64).
const MAX_TOTP_SECRET_BYTES: usize = 128;
/// The most lookup codes in one imported set (Kratos makes 12).
pub const MAX_LOOKUP_CODES: usize = 100;
/// The longest lookup code taken, in characters (the lookup method reads
/// longer stored codes as sealed ones).
const MAX_LOOKUP_CODE_CHARS: usize = 32;

/// Converts imported second-factor credentials, sealing secrets with the
/// configured cipher.
pub struct SecondFactorImport {
    cipher: Option<Arc<Cipher>>,
}

impl SecondFactorImport {
    /// A converter sealing with `cipher` (`None`: no `secrets.cipher`
    /// configured, secrets are kept as given).
    pub fn new(cipher: Option<Arc<Cipher>>) -> Self {
        Self { cipher }
    }

    fn seal(&self, field: &str, plain: &str) -> Result<String, String> {
        match &self.cipher {
            Some(cipher) => cipher.seal(plain.as_bytes()).map_err(|error| {
                tracing::error!(%error, "an imported secret could not be sealed");
                format!("{field}: the secret could not be stored")
            }),
            None => Ok(plain.to_owned()),
        }
    }

    /// `{"totp_url": "otpauth://totp/..."}` → the sealed URL.
    fn totp(&self, config: &Value) -> Result<ImportedCredential, String> {
        const FIELD: &str = "credentials.totp.config.totp_url";
        let url = config
            .get("totp_url")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{FIELD}: must be a string"))?;
        check_totp_url(url).map_err(|reason| format!("{FIELD}: {reason}"))?;
        let sealed = self.seal(FIELD, url)?;
        Ok(ImportedCredential {
            config: json!({"totp_url": sealed, "last_step": 0}),
            identifiers: None,
        })
    }

    /// `{"codes": [{"code", "used_at"}]}` (also read under Kratos's stored
    /// names, `recovery_codes` and `lookup_secret`) → the sealed set.
    fn lookup(&self, config: &Value) -> Result<ImportedCredential, String> {
        let (name, list) = ["codes", "recovery_codes", "lookup_secret"]
            .into_iter()
            .find_map(|name| config.get(name).map(|list| (name, list)))
            .ok_or("credentials.lookup_secret.config.codes: this field is required")?;
        let field = format!("credentials.lookup_secret.config.{name}");
        let list = list
            .as_array()
            .ok_or_else(|| format!("{field}: must be a list"))?;
        if list.is_empty() || list.len() > MAX_LOOKUP_CODES {
            return Err(format!(
                "{field}: must hold between 1 and {MAX_LOOKUP_CODES} codes"
            ));
        }
        let mut entries = Vec::with_capacity(list.len());
        for (n, entry) in list.iter().enumerate() {
            let (code, used_at) =
                lookup_code(entry).map_err(|reason| format!("{field}.{n}.{reason}"))?;
            let sealed = self.seal(&format!("{field}.{n}.code"), &code)?;
            let used_at = used_at.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true));
            entries.push(json!({"code": sealed, "used_at": used_at}));
        }
        Ok(ImportedCredential {
            config: json!({ "recovery_codes": entries }),
            identifiers: None,
        })
    }
}

impl CredentialConverter for SecondFactorImport {
    fn convert(
        &self,
        kind: CredentialType,
        config: &Value,
        now: DateTime<Utc>,
    ) -> Result<ImportedCredential, String> {
        match kind {
            CredentialType::Totp => self.totp(config),
            CredentialType::LookupSecret => self.lookup(config),
            CredentialType::Webauthn => super::webauthn::import::keys(false, config, now),
            CredentialType::Passkey => super::webauthn::import::keys(true, config, now),
            other => Err(format!(
                "credentials.{other}: credentials of this type cannot be imported this way"
            )),
        }
    }
}

/// Checks an `otpauth://totp/` URL the TOTP method can read.
fn check_totp_url(url: &str) -> Result<(), &'static str> {
    if url.len() > MAX_TOTP_URL_BYTES {
        return Err("is too long");
    }
    if !url.starts_with("otpauth://totp/") {
        return Err("must be an otpauth://totp/ URL");
    }
    let totp = Totp::from_url_unchecked(url).map_err(|_| "is not a valid TOTP URL")?;
    let secret = totp.secret().as_bytes();
    if secret.is_empty() || secret.len() > MAX_TOTP_SECRET_BYTES {
        return Err("the secret must be between 1 and 128 bytes");
    }
    if !(6..=8).contains(&totp.digits()) {
        return Err("digits must be between 6 and 8");
    }
    if !(1..=300).contains(&totp.step()) {
        return Err("period must be between 1 and 300 seconds");
    }
    Ok(())
}

/// One imported lookup code and when it was used; the error names the
/// failing field under the entry.
fn lookup_code(entry: &Value) -> Result<(String, Option<DateTime<Utc>>), String> {
    let code = entry
        .get("code")
        .and_then(Value::as_str)
        .ok_or("code: must be a string")?;
    if code.is_empty()
        || code.chars().count() > MAX_LOOKUP_CODE_CHARS
        || code.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "code: must be 1 to {MAX_LOOKUP_CODE_CHARS} characters without spaces"
        ));
    }
    let used_at = match entry.get("used_at") {
        None | Some(Value::Null) => None,
        Some(Value::String(at)) => {
            let at = DateTime::parse_from_rfc3339(at)
                .map_err(|_| "used_at: must be an RFC 3339 time or null")?
                .with_timezone(&Utc);
            // Go writes an unset time as year 1.
            (at.timestamp() > 0).then_some(at)
        }
        Some(_) => return Err("used_at: must be an RFC 3339 time or null".into()),
    };
    Ok((code.to_owned(), used_at))
}

/// Bytes as Kratos writes them in JSON (base64, padded or not, standard or
/// URL-safe alphabet) or as a list of numbers 0–255 (the OpenAPI shape).
pub(super) fn bytes(value: &Value, max: usize) -> Result<Vec<u8>, String> {
    let decoded = match value {
        Value::String(text) => {
            if text.len() > max.saturating_mul(2).saturating_add(4) {
                return Err(format!("must be at most {max} bytes"));
            }
            let trimmed = text.trim_end_matches('=');
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(trimmed)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
                .map_err(|_| "must be base64".to_owned())?
        }
        Value::Array(items) => {
            if items.len() > max {
                return Err(format!("must be at most {max} bytes"));
            }
            items
                .iter()
                .map(|item| item.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect::<Option<Vec<u8>>>()
                .ok_or("must be base64 or a list of bytes")?
        }
        _ => return Err("must be base64 or a list of bytes".into()),
    };
    if decoded.len() > max {
        return Err(format!("must be at most {max} bytes"));
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import() -> SecondFactorImport {
        let cipher = Cipher::new(
            crate::cipher::Algorithm::parse(None).unwrap(),
            &["a-cipher-secret-of-32-characters".into()],
        )
        .unwrap();
        SecondFactorImport::new(Some(Arc::new(cipher)))
    }

    #[test]
    fn totp_urls_are_checked_and_sealed() {
        let url = "otpauth://totp/Bia:a%40b?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Bia";
        let stored = import()
            .convert(CredentialType::Totp, &json!({"totp_url": url}), Utc::now())
            .unwrap();
        let sealed = stored.config["totp_url"].as_str().unwrap();
        assert!(!sealed.starts_with("otpauth://"));
        for bad in [
            json!({}),
            json!({"totp_url": 5}),
            json!({"totp_url": "https://example.com"}),
            json!({"totp_url": "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP"}),
            json!({"totp_url": "otpauth://totp/x?secret=!!!"}),
            json!({"totp_url": "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=99"}),
            json!({"totp_url": format!("otpauth://totp/x?secret={}", "A".repeat(4096))}),
        ] {
            assert!(
                import()
                    .convert(CredentialType::Totp, &bad, Utc::now())
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn lookup_codes_are_checked_and_sealed() {
        let stored = import()
            .convert(
                CredentialType::LookupSecret,
                &json!({"codes": [{"code": "abcd1234"}, {"code": "efgh5678", "used_at": "2024-01-02T03:04:05Z"}]}),
                Utc::now(),
            )
            .unwrap();
        let codes = stored.config["recovery_codes"].as_array().unwrap();
        assert_eq!(codes.len(), 2);
        assert_ne!(codes[0]["code"], "abcd1234");
        assert_eq!(codes[1]["used_at"], "2024-01-02T03:04:05Z");
        let many: Vec<Value> = (0..=MAX_LOOKUP_CODES)
            .map(|_| json!({"code": "x"}))
            .collect();
        for bad in [
            json!({}),
            json!({"codes": []}),
            json!({"codes": "abc"}),
            json!({"codes": [{"code": ""}]}),
            json!({"codes": [{"code": "a b"}]}),
            json!({"codes": [{"code": "x".repeat(33)}]}),
            json!({"codes": [{"code": "abc", "used_at": "yesterday"}]}),
            json!({ "codes": many }),
        ] {
            assert!(
                import()
                    .convert(CredentialType::LookupSecret, &bad, Utc::now())
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn bytes_read_base64_and_lists() {
        assert_eq!(bytes(&json!("AQID"), 8).unwrap(), vec![1, 2, 3]);
        assert_eq!(bytes(&json!("_-8"), 8).unwrap(), vec![0xff, 0xef]);
        assert_eq!(bytes(&json!([1, 2, 255]), 8).unwrap(), vec![1, 2, 255]);
        assert!(bytes(&json!([256]), 8).is_err());
        assert!(bytes(&json!([-1]), 8).is_err());
        assert!(bytes(&json!("AQIDBAUGBwgJ"), 8).is_err());
        assert!(bytes(&json!("not base64!"), 8).is_err());
        assert!(bytes(&json!({}), 8).is_err());
    }
}
