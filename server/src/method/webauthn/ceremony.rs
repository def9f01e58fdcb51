//! What a WebAuthn ceremony keeps between showing its options and checking
//! the authenticator's answer: its state, in the flow's internal context
//! (stored with the flow, never sent; a new form starts a new ceremony), and
//! reading the answer a submission carries.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

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
