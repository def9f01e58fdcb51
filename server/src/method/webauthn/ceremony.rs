//! What a WebAuthn ceremony keeps between showing its options and checking
//! the authenticator's answer: its state, in the flow's internal context
//! (stored with the flow, never sent; a new form starts a new ceremony), and
//! reading the answer a submission carries.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use chrono::{DateTime, Utc};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential, WebauthnError};

use super::keys::StoredKeys;
use crate::flow::ui::Message;
use crate::flow::{Flow, MethodError, Problem};

/// The longest authenticator answer read, in bytes of JSON text (real ones
/// are a few KiB: an attestation with a certificate chain).
pub(super) const MAX_ANSWER_BYTES: usize = 32 * 1024;

/// Keeps a ceremony's state under `key`, with `extra` facts (a new
/// passkey's user handle).
pub(super) fn keep<T: Serialize>(
    internal: &mut Map<String, Value>,
    key: &str,
    state: &T,
    extra: Value,
) {
    match serde_json::to_value(state) {
        Ok(state) => {
            internal.insert(key.into(), json!({"state": state, "extra": extra}));
        }
        Err(error) => {
            tracing::error!(%error, "a WebAuthn ceremony state could not be kept");
            internal.remove(key);
        }
    }
}

/// The state kept under `key`, and its extra facts.
pub(super) fn kept<T: DeserializeOwned>(flow: &Flow, key: &str) -> Option<(T, Value)> {
    let entry = flow.internal.get(key)?;
    let state = serde_json::from_value(entry.get("state")?.clone()).ok()?;
    Some((state, entry.get("extra").cloned().unwrap_or(Value::Null)))
}

/// Whether a submission carries a non-empty text in `field`.
pub(super) fn carries(body: &Value, field: &str) -> bool {
    match body.get(field) {
        Some(Value::String(text)) => !text.trim().is_empty(),
        Some(Value::Object(map)) => !map.is_empty(),
        _ => false,
    }
}

/// The authenticator's answer in `field` (JSON text, as the script sends
/// it, or a JSON object), or the problem shown on the field: missing,
/// too long or not an answer of the expected shape.
pub(super) fn answer<T: DeserializeOwned>(body: &Value, field: &str) -> Result<T, MethodError> {
    let invalid = |reason: &str| {
        MethodError::Invalid(vec![Problem::field(
            field,
            Message::error(4000001, reason.to_owned(), json!({"reason": reason})),
        )])
    };
    let parsed = match body.get(field) {
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) if text.len() > MAX_ANSWER_BYTES => {
            return Err(invalid("The authenticator's answer is too long."));
        }
        Some(Value::String(text)) => Some(serde_json::from_str(text)),
        Some(value @ Value::Object(_)) => Some(serde_json::from_value(value.clone())),
        _ => None,
    };
    match parsed {
        None => Err(MethodError::Invalid(vec![Problem::field(
            field,
            Message::missing(field),
        )])),
        Some(Ok(answer)) => Ok(answer),
        Some(Err(_)) => Err(invalid("The authenticator's answer is malformed.")),
    }
}

/// Removes from `keys` the key whose hex id `body` names in `field`;
/// refuses an id of no key (a `noun`, in the message).
pub(super) fn remove_named(
    keys: &mut StoredKeys,
    body: &Value,
    field: &str,
    noun: &str,
) -> Result<(), MethodError> {
    let id = body.get(field).and_then(Value::as_str).unwrap_or_default();
    let before = keys.credentials.len();
    keys.credentials
        .retain(|k| super::keys::hex_id(k) != id.trim());
    if keys.credentials.len() == before {
        let reason = format!("There is no such {noun}.");
        return Err(refused_registration(field, &reason));
    }
    Ok(())
}

/// A sign-in answer in `field` and the authentication state kept under
/// `state_key`; a missing state refuses the sign-in.
pub(super) fn login_answer<S: DeserializeOwned>(
    flow: &Flow,
    body: &Value,
    field: &str,
    state_key: &str,
) -> Result<(PublicKeyCredential, S), MethodError> {
    let credential = answer(body, field)?;
    let (state, _) = kept::<S>(flow, state_key).ok_or_else(|| refused_login(field))?;
    Ok((credential, state))
}

/// 4000043: an answer that does not prove what it should (another
/// challenge, origin or key, a counter that went back, an unknown key).
pub(super) fn refused_login(field: &str) -> MethodError {
    MethodError::Invalid(vec![Problem::field(
        field,
        Message::error(
            4000043,
            "The provided web authn login is invalid, please try again.",
            json!({}),
        ),
    )])
}

/// 4000001 on `field`: a registration that could not be completed.
pub(super) fn refused_registration(field: &str, reason: &str) -> MethodError {
    MethodError::Invalid(vec![Problem::field(
        field,
        Message::error(4000001, reason.to_owned(), json!({"reason": reason})),
    )])
}

/// The end of a registration ceremony for one kind of key.
pub(super) struct Registration<'a> {
    /// The field the authenticator's answer comes in, where refusals show.
    pub field: &'a str,
    /// The internal context key its state was kept under.
    pub state_key: &'a str,
    /// What the key is called in messages ("passkey", "security key").
    pub noun: &'a str,
}

impl Registration<'_> {
    /// Checks the answer `body` carries against the kept state with
    /// `finish` (the relying party's finishing call for this kind of key):
    /// the new key, and the extra facts kept with the state.
    pub fn finish<S: DeserializeOwned, K>(
        &self,
        flow: &Flow,
        body: &Value,
        finish: impl FnOnce(&RegisterPublicKeyCredential, &S) -> Result<K, WebauthnError>,
    ) -> Result<(K, Value), MethodError> {
        let credential: RegisterPublicKeyCredential = answer(body, self.field)?;
        let (state, extra) = kept::<S>(flow, self.state_key).ok_or_else(|| self.expired())?;
        let key = finish(&credential, &state).map_err(|error| {
            tracing::info!(%error, kind = self.noun, "a key registration was refused");
            self.refused()
        })?;
        Ok((key, extra))
    }

    /// Adds the new `key` with the credential id `id` to `keys`; refuses a
    /// key already there.
    pub fn add<K: Serialize>(
        &self,
        keys: &mut StoredKeys,
        (id, key): (&[u8], &K),
        (name, passwordless): (&str, bool),
        now: DateTime<Utc>,
    ) -> Result<(), MethodError> {
        if keys.position(id).is_some() {
            let reason = format!("This {} is already registered.", self.noun);
            return Err(refused_registration(self.field, &reason));
        }
        let value = serde_json::to_value(key).map_err(|_| self.refused())?;
        keys.add(id, name, passwordless, value, now);
        Ok(())
    }

    /// The kept state is missing or unreadable.
    pub fn expired(&self) -> MethodError {
        refused_registration(self.field, "The registration has expired; try again.")
    }

    fn refused(&self) -> MethodError {
        let reason = format!("The {} could not be registered.", self.noun);
        refused_registration(self.field, &reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Answer {
        #[allow(dead_code)]
        id: String,
    }

    fn problem(error: MethodError) -> u64 {
        match error {
            MethodError::Invalid(problems) => problems[0].message.id,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_are_bounded_and_shaped() {
        let ok: Answer = answer(&json!({"f": "{\"id\": \"x\"}"}), "f").unwrap();
        assert_eq!(ok.id, "x");
        let ok: Answer = answer(&json!({"f": {"id": "x"}}), "f").unwrap();
        assert_eq!(ok.id, "x");
        assert_eq!(
            problem(answer::<Answer>(&json!({}), "f").unwrap_err()),
            4000002
        );
        assert_eq!(
            problem(answer::<Answer>(&json!({"f": " "}), "f").unwrap_err()),
            4000002
        );
        assert_eq!(
            problem(answer::<Answer>(&json!({"f": "{"}), "f").unwrap_err()),
            4000001
        );
        assert_eq!(
            problem(answer::<Answer>(&json!({"f": 7}), "f").unwrap_err()),
            4000002
        );
        let long = format!("{{\"id\": \"{}\"}}", "a".repeat(MAX_ANSWER_BYTES));
        assert_eq!(
            problem(answer::<Answer>(&json!({"f": long}), "f").unwrap_err()),
            4000001
        );
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            problem(answer::<Answer>(&json!({"f": deep}), "f").unwrap_err()),
            4000001
        );
    }
}
