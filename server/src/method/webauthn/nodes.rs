//! The UI nodes of the WebAuthn and passkey methods, named and labelled as
//! Kratos's, so existing UIs (and their copies of the WebAuthn script's
//! trigger names) work unchanged.

use serde_json::{Value, json};

use super::keys::{StoredKey, hex_id};
use crate::flow::ui::{Message, Node};

/// The security key group.
pub(super) const WEBAUTHN: &str = "webauthn";
/// The passkey group.
pub(super) const PASSKEY: &str = "passkey";

fn hidden(group: &str, name: &str, value: &str) -> Node {
    Node::input(group, name, "hidden").value(Value::String(value.into()))
}

/// A button that runs `trigger` of the script with `options` (the
/// ceremony's options as JSON text, also its value).
fn trigger_with_options(
    group: &str,
    name: &str,
    trigger: &str,
    options: &str,
    label: Message,
) -> Node {
    Node::input(group, name, "button")
        .value(Value::String(options.into()))
        .on_click(format!("window.{trigger}({options})"), trigger)
        .label(label)
}

/// A button that runs `trigger` of the script, which reads its options
/// from the form.
fn trigger(group: &str, name: &str, function: &str, label: Message) -> Node {
    Node::input(group, name, "button")
        .value(Value::String(String::new()))
        .on_click(format!("window.{function}()"), function)
        .label(label)
}

/// A button removing one key: its hex id as the value.
fn remove(group: &str, name: &str, key: &StoredKey, id: u64, what: &str) -> Node {
    let context = json!({
        "added_at": key.added_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "added_at_unix": key.added_at.timestamp(),
        "display_name": key.display_name,
    });
    let label = Message {
        context: Some(context),
        ..Message::info(id, format!("Remove {what} \"{}\"", key.display_name))
    };
    Node::input(group, name, "submit")
        .value(Value::String(hex_id(key)))
        .label(label)
}

/// Settings: remove buttons, the new key's name, its answer field and the
/// button starting the registration.
pub(super) fn security_key_settings(keys: &[StoredKey], options: &str) -> Vec<Node> {
    let mut nodes: Vec<Node> = keys
        .iter()
        .map(|k| remove(WEBAUTHN, "webauthn_remove", k, 1050018, "security key"))
        .collect();
    nodes.push(
        Node::input(WEBAUTHN, "webauthn_register_displayname", "text")
            .value(Value::String(String::new()))
            .label(Message::info(1050013, "Name of the security key")),
    );
    nodes.push(hidden(WEBAUTHN, "webauthn_register", ""));
    nodes.push(trigger_with_options(
        WEBAUTHN,
        "webauthn_register_trigger",
        "oryWebAuthnRegistration",
        options,
        Message::info(1050012, "Add security key"),
    ));
    nodes
}

/// A step-up login: the answer field and the button asking the key.
pub(super) fn security_key_login(options: &str) -> Vec<Node> {
    vec![
        hidden(WEBAUTHN, "webauthn_login", ""),
        trigger_with_options(
            WEBAUTHN,
            "webauthn_login_trigger",
            "oryWebAuthnLogin",
            options,
            Message::info(1010008, "Sign in with a hardware key"),
        ),
    ]
}

/// A first-factor login: the challenge, the answer field (which starts the
/// browser's passkey autofill once shown) and the passkey button.
pub(super) fn passkey_login(challenge: &str) -> Vec<Node> {
    vec![
        hidden(PASSKEY, "passkey_challenge", challenge),
        hidden(PASSKEY, "passkey_login", "").on_load(
            "window.oryPasskeyLoginAutocompleteInit()".into(),
            "oryPasskeyLoginAutocompleteInit",
        ),
        trigger(
            PASSKEY,
            "passkey_login_trigger",
            "oryPasskeyLogin",
            Message::info(1010021, "Sign in with passkey"),
        ),
    ]
}

/// A registration: the button, the answer field and the creation data.
pub(super) fn passkey_registration(create_data: &str) -> Vec<Node> {
    vec![
        trigger(
            PASSKEY,
            "passkey_register_trigger",
            "oryPasskeyRegistration",
            Message::info(1040007, "Sign up with passkey"),
        ),
        hidden(PASSKEY, "passkey_register", ""),
        hidden(PASSKEY, "passkey_create_data", create_data),
    ]
}

/// Settings: remove buttons, the button adding a passkey, its answer field
/// and the creation data.
pub(super) fn passkey_settings(keys: &[StoredKey], create_data: &str) -> Vec<Node> {
    let mut nodes: Vec<Node> = keys
        .iter()
        .map(|k| remove(PASSKEY, "passkey_remove", k, 1050020, "passkey"))
        .collect();
    nodes.push(trigger(
        PASSKEY,
        "passkey_register_trigger",
        "oryPasskeySettingsRegistration",
        Message::info(1050019, "Add passkey"),
    ));
    nodes.push(hidden(PASSKEY, "passkey_settings_register", ""));
    nodes.push(hidden(PASSKEY, "passkey_create_data", create_data));
    nodes
}
