//! Lookup (backup recovery) codes: a second factor of twelve single-use
//! codes, generated in settings and used in login flows that ask for `aal2`.
//!
//! A settings flow moves through its steps on its own internal context: a
//! regenerated set waits there, sealed, until it is confirmed, and is tied to
//! the credential it would replace, so it goes stale once that credential
//! changes. The stored credential keeps the layout Kratos uses
//! (`recovery_codes`: `code` and `used_at`), with every code sealed with
//! `secrets.cipher` (see [`crate::cipher`]); codes imported in clear text are
//! sealed on their first use. A code is spent by a compare-and-swap on the
//! credential's config, so two replicas cannot both accept it.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngExt as _;
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use super::second_factor;
use crate::cipher::Cipher;
use crate::flow::ui::{Message, Node, Ui};
use crate::flow::{
    Flow, LoginSubmission, Method, MethodError, PrePersist, Problem, SettingsSubmission,
};
use crate::identity::{CredentialType, Identity, IdentityService};
use crate::throttle::Throttle;
use crate::time::Clock;

/// The UI group and method id.
const GROUP: &str = "lookup_secret";
/// Codes in a set.
const CODES: usize = 12;
/// Characters of a code.
const CODE_CHARS: usize = 8;
/// What codes are made of.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// The longest code looked at; anything longer is wrong without a check.
const MAX_CODE_CHARS: usize = 64;
/// A stored code this long or shorter is clear text (sealed ones are hex of
/// a nonce and the sealed text, far longer).
const MAX_CLEAR_CHARS: usize = 32;
/// Internal context: the regenerated set waiting for confirmation.
const PENDING: &str = "lookup_secret_pending";
/// Internal context: the credential whose codes the flow shows.
const REVEALED: &str = "lookup_secret_revealed";

/// What the method needs besides the identities.
#[derive(Clone)]
pub struct LookupSettings {
    /// Seals the stored codes (`secrets.cipher`, `ciphers.algorithm`).
    pub cipher: Arc<Cipher>,
    /// The brute-force throttle shared with the other credential checks.
    pub throttle: Arc<Throttle>,
    /// The clock codes are marked used with.
    pub clock: Arc<dyn Clock>,
}

/// The lookup code method.
pub struct LookupMethod {
    identities: IdentityService,
    settings: LookupSettings,
}

/// One code of a set, opened.
struct Code {
    plain: String,
    used_at: Option<DateTime<Utc>>,
}

/// 4000016: a code that is not one of the identity's.
fn invalid_code() -> MethodError {
    MethodError::Invalid(vec![Problem::field(
        GROUP,
        Message::error(4000016, "The backup recovery code is not valid.", json!({})),
    )])
}

/// 4000012: a code already spent.
fn used_code() -> MethodError {
    MethodError::Invalid(vec![Problem::field(
        GROUP,
        Message::error(
            4000012,
            "This backup recovery code has already been used.",
            json!({}),
        ),
    )])
}

/// Whether the submission presses the button `name`.
fn pressed(body: &Value, name: &str) -> bool {
    match body.get(name) {
        Some(Value::Bool(on)) => *on,
        Some(Value::String(text)) => text == "true",
        _ => false,
    }
}

/// The buttons of the settings form, in the order they are looked at.
const BUTTONS: [&str; 4] = [
    "lookup_secret_disable",
    "lookup_secret_confirm",
    "lookup_secret_regenerate",
    "lookup_secret_reveal",
];

/// A fresh set of codes.
fn fresh_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..CODES)
        .map(|_| {
            (0..CODE_CHARS)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect()
        })
        .collect()
}

/// A settings button of the group.
fn button(name: &str, label: Message) -> Node {
    Node::input(GROUP, name, "submit")
        .value(Value::String("true".into()))
        .label(label)
}

/// The text node listing a set, used codes shown as used.
fn codes_node(codes: &[Code]) -> Node {
    let secrets: Vec<Value> = codes
        .iter()
        .map(|code| match code.used_at {
            Some(at) => json!({
                "id": 1050014,
                "text": format!("Secret was used at {}", at.format("%Y-%m-%d %H:%M:%S +0000 UTC")),
                "type": "info",
                "context": {
                    "used_at": at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "used_at_unix": at.timestamp(),
                },
            }),
            None => json!({
                "id": 1050009,
                "text": code.plain,
                "type": "info",
                "context": {"secret": code.plain},
            }),
        })
        .collect();
    let text = codes
        .iter()
        .map(|code| match code.used_at {
            Some(_) => "used",
            None => code.plain.as_str(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let list = Message {
        context: Some(json!({ "secrets": secrets })),
        ..Message::info(1050015, text)
    };
    Node::text(GROUP, "lookup_secret_codes", list).label(Message::info(
        1050010,
        "These are your back up recovery codes. Please keep them in a safe place!",
    ))
}

/// What ties a flow's internal context to the identity's current codes.
fn marker(identity: &Identity) -> String {
    identity
        .credentials
        .get(&CredentialType::LookupSecret)
        .map_or_else(|| "none".to_owned(), |c| c.id.to_string())
}

impl LookupMethod {
    /// The method over the identity service.
    pub fn new(identities: IdentityService, settings: LookupSettings) -> Self {
        Self {
            identities,
            settings,
        }
    }

    /// Opens one stored code: clear text (imported) or sealed.
    fn open(&self, stored: &str) -> Option<String> {
        if stored.len() <= MAX_CLEAR_CHARS {
            return Some(stored.to_owned());
        }
        String::from_utf8(self.settings.cipher.open(stored).ok()?).ok()
    }

    /// The codes of a stored config; `None` when one cannot be opened.
    fn read(&self, config: &Value) -> Option<Vec<Code>> {
        let entries = config.get("recovery_codes")?.as_array()?;
        entries
            .iter()
            .map(|entry| {
                let plain = self.open(entry.get("code")?.as_str()?)?;
                let used_at = entry
                    .get("used_at")
                    .and_then(Value::as_str)
                    .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                    .map(|at| at.with_timezone(&Utc));
                Some(Code { plain, used_at })
            })
            .collect()
    }

    /// The stored config of a set, every code sealed.
    fn write(&self, codes: &[Code]) -> Option<Value> {
        let entries = codes
            .iter()
            .map(|code| {
                let sealed = self.settings.cipher.seal(code.plain.as_bytes()).ok()?;
                let used_at = code
                    .used_at
                    .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true));
                Some(json!({"code": sealed, "used_at": used_at}))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(json!({ "recovery_codes": entries }))
    }

    /// The regenerated set a flow holds for the identity's current codes.
    fn pending(&self, flow: &Flow, identity: &Identity) -> Option<Vec<Code>> {
        let pending = flow.internal.get(PENDING)?;
        if pending.get("for")?.as_str()? != marker(identity) {
            return None;
        }
        self.read(pending)
    }

    /// The flow again with new internal context and the group's nodes redrawn.
    fn next_step(&self, flow: &Flow, identity: &Identity, key: &str, value: Value) -> MethodError {
        let mut next = flow.clone();
        next.internal.remove(PENDING);
        next.internal.remove(REVEALED);
        next.internal.insert(key.to_owned(), value);
        next.ui.clear_messages();
        next.ui.nodes.retain(|n| n.group != GROUP);
        let mut ui = next.ui.clone();
        self.populate_settings_flow(&next, identity, &mut ui);
        next.ui = ui;
        MethodError::NextStep(Box::new(next))
    }

    /// Stores the flow's regenerated set as the identity's codes.
    async fn confirm(
        &self,
        flow: &Flow,
        identity: &Identity,
        pre_persist: &dyn PrePersist,
    ) -> Result<Identity, MethodError> {
        let Some(codes) = self.pending(flow, identity) else {
            return Err(MethodError::Invalid(vec![Problem::form(Message::error(
                4000001,
                "Generate new backup recovery codes before confirming them.",
                json!({}),
            ))]));
        };
        let config = self.write(&codes).ok_or_else(invalid_code)?;
        let now = self.settings.clock.now();
        let changed =
            second_factor::with_credential(identity, CredentialType::LookupSecret, config, now);
        second_factor::save(&self.identities, changed, pre_persist).await
    }
}

#[async_trait]
impl Method for LookupMethod {
    fn id(&self) -> &'static str {
        GROUP
    }

    fn claims(&self, body: &Value) -> bool {
        BUTTONS.iter().any(|name| pressed(body, name))
    }

    fn populate_second_factor(&self, identity: &Identity, ui: &mut Ui) {
        let form = second_factor::CodeForm {
            kind: CredentialType::LookupSecret,
            field: "lookup_secret",
            label: Message::info(1010007, "Backup recovery code"),
            submit: Message::info(1010010, "Use backup recovery code"),
        };
        form.populate(identity, ui);
    }

    fn populate_settings_flow(&self, flow: &Flow, identity: &Identity, ui: &mut Ui) {
        let regenerate = || {
            button(
                "lookup_secret_regenerate",
                Message::info(1050008, "Generate new backup recovery codes"),
            )
        };
        let disable = || {
            button(
                "lookup_secret_disable",
                Message::info(1050016, "Disable this method"),
            )
        };
        if let Some(codes) = self.pending(flow, identity) {
            ui.nodes.push(codes_node(&codes));
            ui.nodes.push(button(
                "lookup_secret_confirm",
                Message::info(1050011, "Confirm backup recovery codes"),
            ));
            return;
        }
        let Some(credential) = identity.credentials.get(&CredentialType::LookupSecret) else {
            ui.nodes.push(regenerate());
            return;
        };
        let revealed = flow.internal.get(REVEALED).and_then(Value::as_str)
            == Some(credential.id.to_string().as_str());
        match self.read(&credential.config).filter(|_| revealed) {
            Some(codes) => {
                ui.nodes.push(codes_node(&codes));
                ui.nodes.push(disable());
                ui.nodes.push(regenerate());
            }
            None => {
                ui.nodes.push(button(
                    "lookup_secret_reveal",
                    Message::info(1050007, "Reveal backup recovery codes"),
                ));
                ui.nodes.push(disable());
            }
        }
    }

    async fn login(&self, login: &LoginSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, body, device) = (login.flow, login.body, login.device);
        let identity_id = second_factor::step_up_identity(flow)?;
        let submitted = match body.get(GROUP).and_then(Value::as_str).map(str::trim) {
            Some(code) if !code.is_empty() => code,
            _ => {
                return Err(MethodError::Invalid(vec![Problem::field(
                    GROUP,
                    Message::missing(GROUP),
                )]));
            }
        };
        let key =
            second_factor::admit_guess(&self.settings.throttle, GROUP, identity_id, Some(device))?;
        if submitted.len() > MAX_CODE_CHARS {
            return Err(invalid_code());
        }
        let identity = self.identities.get(identity_id).await?;
        let Some(credential) = identity.credentials.get(&CredentialType::LookupSecret) else {
            return Err(invalid_code());
        };
        let Some(mut codes) = self.read(&credential.config) else {
            tracing::warn!(%identity_id, "stored lookup codes cannot be opened with the configured cipher secrets");
            return Err(invalid_code());
        };
        let mut found = None;
        for (index, code) in codes.iter().enumerate() {
            if bool::from(code.plain.as_bytes().ct_eq(submitted.as_bytes())) {
                found = Some(index);
            }
        }
        let index = found.ok_or_else(invalid_code)?;
        if codes[index].used_at.is_some() {
            return Err(used_code());
        }
        codes[index].used_at = Some(self.settings.clock.now());
        let spent = self.write(&codes).ok_or_else(invalid_code)?;
        let configs = (&credential.config, &spent);
        second_factor::Spend::of(identity_id, CredentialType::LookupSecret, configs, &key)
            .commit(&self.identities, &self.settings.throttle, used_code())
            .await
            .map(|()| identity)
    }

    async fn update_settings(&self, sub: &SettingsSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, identity, body, pre_persist) =
            (sub.flow, sub.identity, sub.body, sub.pre_persist);
        let has_codes = identity
            .credentials
            .contains_key(&CredentialType::LookupSecret);
        let Some(button) = BUTTONS.iter().find(|name| pressed(body, name)) else {
            return Err(MethodError::Unsupported);
        };
        match *button {
            "lookup_secret_disable" if has_codes => {
                let mut changed = identity.clone();
                changed.credentials.remove(&CredentialType::LookupSecret);
                changed.updated_at = self.settings.clock.now();
                second_factor::save(&self.identities, changed, pre_persist).await
            }
            "lookup_secret_confirm" => self.confirm(flow, identity, pre_persist).await,
            "lookup_secret_regenerate" => {
                let codes: Vec<Code> = fresh_codes()
                    .into_iter()
                    .map(|plain| Code {
                        plain,
                        used_at: None,
                    })
                    .collect();
                let mut pending = self.write(&codes).ok_or_else(invalid_code)?;
                pending["for"] = Value::String(marker(identity));
                Err(self.next_step(flow, identity, PENDING, pending))
            }
            "lookup_secret_reveal" if has_codes => {
                Err(self.next_step(flow, identity, REVEALED, Value::String(marker(identity))))
            }
            _ => Err(MethodError::Unsupported),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_sets_hold_twelve_distinct_codes_of_eight_characters() {
        let codes = fresh_codes();
        assert_eq!(codes.len(), CODES);
        assert!(codes.iter().all(|c| c.len() == CODE_CHARS));
        assert!(
            codes
                .iter()
                .all(|c| c.bytes().all(|b| ALPHABET.contains(&b)))
        );
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), CODES);
    }

    #[test]
    fn used_codes_are_listed_as_used() {
        let at = DateTime::parse_from_rfc3339("2021-08-17T11:32:39Z")
            .unwrap()
            .with_timezone(&Utc);
        let node = codes_node(&[
            Code {
                plain: "key-0".into(),
                used_at: None,
            },
            Code {
                plain: "key-1".into(),
                used_at: Some(at),
            },
        ]);
        let value = serde_json::to_value(&node).unwrap();
        let text = &value["attributes"]["text"];
        assert_eq!(text["id"], 1050015);
        assert_eq!(text["text"], "key-0, used");
        assert_eq!(text["context"]["secrets"][1]["id"], 1050014);
        assert_eq!(
            text["context"]["secrets"][1]["context"]["used_at_unix"],
            1629199959
        );
    }
}
