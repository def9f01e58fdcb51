//! The messages and form nodes of the oidc method, with Kratos's ids.

use serde_json::{Value, json};

use crate::flow::FlowKind;
use crate::flow::ui::{Message, Node};

/// The button of one provider: a `provider` submit node in group `oidc`.
pub fn provider_button(kind: FlowKind, id: &str, label: &str) -> Node {
    let (message_id, verb) = match kind {
        FlowKind::Registration => (1040002, "Sign up"),
        _ => (1010002, "Sign in"),
    };
    let text = Message {
        context: Some(json!({"provider": label, "provider_id": id})),
        ..Message::info(message_id, format!("{verb} with {label}"))
    };
    Node::input("oidc", "provider", "submit")
        .value(Value::String(id.into()))
        .label(text)
}

/// 5000001: something went wrong that the user cannot fix in the form (the
/// provider refused, could not be reached, or its answer was refused).
pub fn system(reason: impl Into<String>) -> Message {
    let reason = reason.into();
    Message::error(5000001, reason.clone(), json!({"reason": reason}))
}

/// 4000037: no identity is linked to this provider account.
pub fn account_not_found() -> Message {
    Message::error(
        4000037,
        "This account does not exist or has not setup sign in with this provider.",
        json!({}),
    )
}

/// 4000027: the mapped identity's identifier belongs to another identity.
pub fn duplicate_on_link() -> Message {
    Message::error(
        4000027,
        "An account with the same identifier (email, phone, username, ...) exists already. \
         Please sign in to your existing account to link your social profile.",
        json!({}),
    )
}

/// 4000001: the provider is not one of the configured ones.
pub fn unknown_provider(id: &str) -> Message {
    let reason = format!("The provider {id:?} is not configured.");
    Message::error(4000001, reason.clone(), json!({"reason": reason}))
}

/// A settings button, `link` (1050002) or `unlink` (1050003), for one
/// provider, in group `oidc`.
pub fn settings_button(link: bool, id: &str, label: &str) -> Node {
    let (name, message_id, verb) = if link {
        ("link", 1050002, "Link")
    } else {
        ("unlink", 1050003, "Unlink")
    };
    let text = Message {
        context: Some(json!({"provider": label})),
        ..Message::info(message_id, format!("{verb} {label}"))
    };
    Node::input("oidc", name, "submit")
        .value(Value::String(id.into()))
        .label(text)
}

/// 4000001: a link to a provider that is not configured or is linked already.
pub fn cannot_link() -> Message {
    validation("can not link unknown or already existing OpenID Connect connection")
}

/// 4000001: an unlink of a provider that is not linked.
pub fn cannot_unlink() -> Message {
    validation("can not unlink non-existing OpenID Connect connection")
}

/// 4000001: an unlink that would leave the identity no way to sign in.
pub fn cannot_unlink_last() -> Message {
    validation(
        "can not unlink OpenID Connect connection because it is the last remaining first factor credential",
    )
}

/// 4000001: a submitted value the method does not accept.
pub fn validation(reason: &str) -> Message {
    Message::error(4000001, reason, json!({"reason": reason}))
}
