//! The TOTP method (RFC 6238: six digits, 30-second steps, HMAC-SHA-1, as
//! authenticator apps expect): a second factor, set up in settings and used
//! in login flows that ask for `aal2`.
//!
//! Enrolment needs no state between showing the secret and confirming it:
//! the secret offered in a settings flow is derived from the server's first
//! cipher secret, the flow and the identity, so the same flow shows the same
//! secret until it is confirmed with a code. The stored credential holds the
//! `otpauth://` URL sealed with `secrets.cipher` (see [`crate::cipher`]) and
//! the last time step accepted: a code is accepted once, and only for a
//! later step than the last one, by a compare-and-swap on the credential's
//! config, so two replicas cannot both accept it. A URL imported in clear
//! text (as Kratos stores it) is sealed on its first use.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hmac::{KeyInit as _, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;
use totp_rs::{Builder, Totp};
use uuid::Uuid;

use super::second_factor;
use crate::cipher::Cipher;
use crate::flow::ui::{Message, Node, Ui};
use crate::flow::{
    Flow, LoginSubmission, Method, MethodError, PrePersist, Problem, SettingsSubmission,
};
use crate::identity::{Credential, CredentialType, Identity, IdentityService};
use crate::session::Device;
use crate::throttle::Throttle;
use crate::time::Clock;

/// The UI group and method id.
const GROUP: &str = "totp";
/// Digits of a code.
const DIGITS: u8 = 6;
/// Seconds of one time step.
const STEP: u64 = 30;
/// The longest code looked at; anything longer is wrong without a check.
const MAX_CODE_CHARS: usize = 16;
/// Bytes of a secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;

/// What the method needs besides the identities.
#[derive(Clone)]
pub struct TotpSettings {
    /// The issuer authenticator apps show (`selfservice.methods.totp.config.issuer`).
    pub issuer: String,
    /// Seals the stored secrets (`secrets.cipher`, `ciphers.algorithm`).
    pub cipher: Arc<Cipher>,
    /// The brute-force throttle shared with the other credential checks.
    pub throttle: Arc<Throttle>,
    /// The clock codes are checked against.
    pub clock: Arc<dyn Clock>,
}

/// The TOTP method.
pub struct TotpMethod {
    identities: IdentityService,
    settings: TotpSettings,
}

/// 4000008: a wrong, reused or expired code.
fn invalid_code() -> MethodError {
    MethodError::Invalid(vec![Problem::field(
        "totp_code",
        Message::error(
            4000008,
            "The provided authentication code is invalid, please try again.",
            json!({}),
        ),
    )])
}

/// Whether a submission asks to unlink the authenticator.
fn unlinks(body: &Value) -> bool {
    match body.get("totp_unlink") {
        Some(Value::Bool(on)) => *on,
        Some(Value::String(text)) => text == "true",
        _ => false,
    }
}

/// The submitted code, or why there is none.
fn submitted_code(body: &Value) -> Result<&str, MethodError> {
    match body.get("totp_code").and_then(Value::as_str).map(str::trim) {
        Some(code) if !code.is_empty() => Ok(code),
        _ => Err(MethodError::Invalid(vec![Problem::field(
            "totp_code",
            Message::missing("totp_code"),
        )])),
    }
}

/// The name an authenticator app lists the account under (`:` is not
/// allowed in it).
fn account_name(identity: &Identity) -> String {
    super::account_name(identity).replace(':', "_")
}

/// A TOTP generator for a secret, with the parameters apps expect.
fn generator(secret: Vec<u8>, issuer: &str, account: &str) -> Option<Totp> {
    let issuer = Some(issuer.replace(':', "_")).filter(|i| !i.is_empty());
    Builder::new()
        .with_digits(DIGITS)
        .with_step_duration(STEP)
        .with_skew(1)
        .with_secret(secret)
        .with_issuer(issuer)
        .with_account_name(account.to_owned())
        .build()
        .ok()
}

/// A QR code of `text` as an SVG `data:` URI.
fn qr_data_uri(text: &str) -> Option<String> {
    use base64::Engine as _;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(256, 256)
        .build();
    let encoded = base64::engine::general_purpose::STANDARD.encode(svg);
    Some(format!("data:image/svg+xml;base64,{encoded}"))
}

/// What a stored TOTP credential holds.
struct Stored {
    generator: Totp,
    /// The URL as it should be stored: sealed.
    sealed_url: String,
    /// The last time step accepted (0: none yet).
    last_step: u64,
}

impl TotpMethod {
    /// The method over the identity service.
    pub fn new(identities: IdentityService, settings: TotpSettings) -> Self {
        Self {
            identities,
            settings,
        }
    }

    fn now_unix(&self) -> u64 {
        u64::try_from(self.settings.clock.now().timestamp()).unwrap_or(0)
    }

    /// The secret a settings flow offers its identity.
    fn enrolment_secret(&self, flow: &Flow, identity: &Identity) -> Option<Vec<u8>> {
        let key = self.settings.cipher.sealing_key().ok()?;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).ok()?;
        mac.update(b"bia totp enrolment\0");
        mac.update(flow.id.as_bytes());
        mac.update(identity.id.as_bytes());
        let digest = mac.finalize().into_bytes();
        Some(digest[..SECRET_BYTES].to_vec())
    }

    fn enrolment(&self, flow: &Flow, identity: &Identity) -> Option<Totp> {
        let secret = self.enrolment_secret(flow, identity)?;
        generator(secret, &self.settings.issuer, &account_name(identity))
    }

    /// Reads a stored credential; `None` when it cannot be opened.
    fn read(&self, credential: &Credential) -> Option<Stored> {
        let stored = credential.config.get("totp_url")?.as_str()?;
        let (url, sealed_url) = if stored.starts_with("otpauth://") {
            (
                stored.to_owned(),
                self.settings.cipher.seal(stored.as_bytes()).ok()?,
            )
        } else {
            let url = String::from_utf8(self.settings.cipher.open(stored).ok()?).ok()?;
            (url, stored.to_owned())
        };
        let generator = Totp::from_url_unchecked(&url).ok()?;
        let last_step = credential
            .config
            .get("last_step")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        Some(Stored {
            generator,
            sealed_url,
            last_step,
        })
    }

    /// The time step a code is right for, if it is.
    fn check(&self, generator: &Totp, code: &str) -> Option<u64> {
        if code.len() > MAX_CODE_CHARS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        generator.check(code, self.now_unix())
    }

    fn admit(&self, identity_id: Uuid, device: Option<&Device>) -> Result<String, MethodError> {
        second_factor::admit_guess(&self.settings.throttle, GROUP, identity_id, device)
    }

    /// Enrols the identity with the flow's secret when `code` is right.
    async fn link(
        &self,
        flow: &Flow,
        identity: &Identity,
        code: &str,
        now: DateTime<Utc>,
        pre_persist: &dyn PrePersist,
    ) -> Result<Identity, MethodError> {
        let key = self.admit(identity.id, None)?;
        let generator = self.enrolment(flow, identity).ok_or_else(invalid_code)?;
        let step = self.check(&generator, code).ok_or_else(invalid_code)?;
        self.settings.throttle.succeeded(&key);
        let url = generator.to_url().map_err(|_| invalid_code())?;
        let sealed = self.settings.cipher.seal(url.as_bytes()).map_err(|error| {
            tracing::error!(%error, "a TOTP secret could not be sealed");
            invalid_code()
        })?;
        let config = json!({"totp_url": sealed, "last_step": step});
        let changed = second_factor::with_credential(identity, CredentialType::Totp, config, now);
        second_factor::save(&self.identities, changed, pre_persist).await
    }
}

#[async_trait]
impl Method for TotpMethod {
    fn id(&self) -> &'static str {
        GROUP
    }

    fn claims(&self, body: &Value) -> bool {
        unlinks(body)
    }

    fn populate_second_factor(&self, identity: &Identity, ui: &mut Ui) {
        let form = second_factor::CodeForm {
            kind: CredentialType::Totp,
            field: "totp_code",
            label: Message::info(1010006, "Authentication code"),
            submit: Message::info(1010009, "Use Authenticator"),
        };
        form.populate(identity, ui);
    }

    fn populate_settings_flow(&self, flow: &Flow, identity: &Identity, ui: &mut Ui) {
        if identity.credentials.contains_key(&CredentialType::Totp) {
            ui.nodes.push(
                Node::input(GROUP, "totp_unlink", "submit")
                    .required()
                    .value(Value::String("true".into()))
                    .label(Message::info(1050004, "Unlink TOTP Authenticator App")),
            );
            return;
        }
        let Some(generator) = self.enrolment(flow, identity) else {
            return;
        };
        let Some(qr) = generator.to_url().ok().and_then(|url| qr_data_uri(&url)) else {
            return;
        };
        let secret = generator.secret().to_base32();
        ui.nodes.push(
            Node::image(GROUP, "totp_qr", qr, 256)
                .label(Message::info(1050005, "Authenticator app QR code")),
        );
        let text = Message {
            context: Some(json!({ "secret": secret })),
            ..Message::info(1050006, secret.clone())
        };
        ui.nodes.push(
            Node::text(GROUP, "totp_secret_key", text).label(Message::info(
                1050017,
                "This is your authenticator app secret. Use it if you can not scan the QR code.",
            )),
        );
        ui.nodes.push(
            Node::input(GROUP, "totp_code", "text")
                .required()
                .label(Message::info(1070006, "Verify code")),
        );
        ui.nodes
            .push(Node::submit(GROUP, Message::info(1070003, "Save")));
    }

    async fn login(&self, login: &LoginSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, body, device) = (login.flow, login.body, login.device);
        let identity_id = second_factor::step_up_identity(flow)?;
        let code = submitted_code(body)?;
        let key = self.admit(identity_id, Some(device))?;
        let identity = self.identities.get(identity_id).await?;
        let Some(credential) = identity.credentials.get(&CredentialType::Totp) else {
            return Err(invalid_code());
        };
        let Some(stored) = self.read(credential) else {
            tracing::warn!(%identity_id, "a stored TOTP secret cannot be opened with the configured cipher secrets");
            return Err(invalid_code());
        };
        let step = self
            .check(&stored.generator, code)
            .filter(|step| *step > stored.last_step)
            .ok_or_else(invalid_code)?;
        let used = json!({"totp_url": stored.sealed_url, "last_step": step});
        let configs = (&credential.config, &used);
        second_factor::Spend::of(identity_id, CredentialType::Totp, configs, &key)
            .commit(&self.identities, &self.settings.throttle, invalid_code())
            .await
            .map(|()| identity)
    }

    async fn update_settings(&self, sub: &SettingsSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, identity, body, pre_persist) =
            (sub.flow, sub.identity, sub.body, sub.pre_persist);
        let now = self.settings.clock.now();
        let unlink = unlinks(body);
        let linked = identity.credentials.contains_key(&CredentialType::Totp);
        if unlink {
            if !linked {
                return Err(MethodError::Unsupported);
            }
            let mut changed = identity.clone();
            changed.credentials.remove(&CredentialType::Totp);
            changed.updated_at = now;
            return second_factor::save(&self.identities, changed, pre_persist).await;
        }
        if linked {
            // One authenticator at a time: unlink it first.
            return Err(MethodError::Unsupported);
        }
        let code = submitted_code(body)?;
        self.link(flow, identity, code, now, pre_persist).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_use_six_digits_and_thirty_second_steps() {
        let totp = generator(vec![7; SECRET_BYTES], "Bia", "ada@example.org").unwrap();
        let url = totp.to_url().unwrap();
        assert!(url.starts_with("otpauth://totp/Bia:ada%40example.org?secret="));
        assert!(url.contains("issuer=Bia"));
        let code = totp.generate(1_000_000_020);
        assert_eq!(code.to_string().len(), 6);
        assert_eq!(
            totp.check(&code.to_string(), 1_000_000_020),
            Some(1_000_000_020 / 30)
        );
    }

    #[test]
    fn the_qr_code_is_an_svg_data_uri() {
        let uri = qr_data_uri("otpauth://totp/x?secret=AAAA").unwrap();
        assert!(uri.starts_with("data:image/svg+xml;base64,"));
    }
}
