//! The forms and messages of recovery and verification flows, with Kratos's
//! node names, groups and message ids.

use serde_json::{Value, json};

use super::model::FlowKind;
use super::ui::{Message, Node, Ui};
use crate::onetime::Delivery;

/// The flow states of recovery and verification.
pub mod state {
    /// Asking for an address.
    pub const CHOOSE_METHOD: &str = "choose_method";
    /// A code or link went out; waiting for it.
    pub const SENT_EMAIL: &str = "sent_email";
    /// Done.
    pub const PASSED_CHALLENGE: &str = "passed_challenge";
}

/// Drops every node but the anti-CSRF field, keeping the form's messages out.
fn keep_csrf(ui: &mut Ui) {
    ui.nodes.retain(|n| n.attributes.name == "csrf_token");
    ui.clear_messages();
}

fn email_node(group: &str, value: Option<&str>) -> Node {
    let node = Node::input(group, "email", "email")
        .required()
        .label(Message::info(1070007, "Email"));
    match value {
        Some(value) => node.value(json!(value)),
        None => node,
    }
}

fn continue_button(group: &str) -> Node {
    Node::submit(group, Message::info(1070009, "Continue"))
}

/// The first form: the address to send to.
pub fn ask_address(ui: &mut Ui, delivery: Delivery) {
    keep_csrf(ui);
    let group = delivery.as_str();
    ui.nodes.push(email_node(group, None));
    ui.nodes.push(continue_button(group));
}

/// The form after a code went to `address`: the code field, the method, and
/// a button that sends a new code to the same address.
pub fn ask_code(ui: &mut Ui, kind: FlowKind, address: &str) {
    keep_csrf(ui);
    let code = match kind {
        FlowKind::Recovery => Node::input("code", "code", "text")
            .required()
            .autocomplete("one-time-code")
            .digits(6)
            .label(Message::info(1070010, "Recovery code")),
        _ => Node::input("code", "code", "text")
            .required()
            .autocomplete("one-time-code")
            .label(Message::info(1070011, "Verification code")),
    };
    ui.nodes.push(code);
    ui.nodes
        .push(Node::input("code", "method", "hidden").value(json!("code")));
    ui.nodes.push(continue_button("code"));
    ui.nodes.push(
        Node::input("code", "email", "submit")
            .value(json!(address))
            .label(Message::info(1070008, "Resend code")),
    );
}

/// The form after a link went to `address`: the address again, to send
/// another link.
pub fn link_sent(ui: &mut Ui, address: &str) {
    keep_csrf(ui);
    ui.nodes.push(email_node("link", Some(address)));
    ui.nodes.push(continue_button("link"));
}

/// The form of a completed verification: a link onwards.
pub fn verified(ui: &mut Ui, group: &str, next: &str) {
    keep_csrf(ui);
    ui.nodes.push(Node::anchor(
        group,
        "continue",
        next,
        Message::info(1070009, "Continue"),
    ));
}

fn success(id: u64, text: impl Into<String>, context: Value) -> Message {
    Message {
        id,
        text: text.into(),
        kind: "success".into(),
        context: Some(context),
    }
}

/// 1060002, 1060003, 1080001, 1080003: a code or link was sent (said the
/// same way whether or not the address is known).
pub fn sent(kind: FlowKind, delivery: Delivery) -> Message {
    let (id, what) = match (kind, delivery) {
        (FlowKind::Recovery, Delivery::Link) => (1060002, "recovery link"),
        (FlowKind::Recovery, Delivery::Code) => (1060003, "recovery code"),
        (_, Delivery::Link) => (1080001, "verification link"),
        (_, Delivery::Code) => (1080003, "verification code"),
    };
    Message::info(
        id,
        format!(
            "An email containing a {what} has been sent to the email address you provided. \
             If you have not received an email, check the spelling of the address and make \
             sure to use the address you registered with."
        ),
    )
}

/// 1080002: the address is verified.
pub fn verification_done() -> Message {
    success(
        1080002,
        "You successfully verified your email address.",
        json!({}),
    )
}

/// 1060001: shown on the settings flow a recovery leads to.
pub fn recovery_done(minutes: f64, until: &str) -> Message {
    success(
        1060001,
        format!(
            "You successfully recovered your account. Please change your password or set up \
             an alternative login method (e.g. social sign in) within the next {minutes:.2} minutes."
        ),
        json!({"privileged_session_expires_at": until}),
    )
}

/// 4060006 / 4070006: a wrong, used or expired code.
pub fn invalid_code(kind: FlowKind) -> Message {
    let (id, flow) = match kind {
        FlowKind::Recovery => (4060006, "recovery"),
        _ => (4070006, "verification"),
    };
    Message::error(
        id,
        format!("The {flow} code is invalid or has already been used. Please try again."),
        json!({}),
    )
}

/// 4060004 / 4070001: a wrong, used or expired link.
pub fn invalid_link(kind: FlowKind) -> Message {
    let (id, flow) = match kind {
        FlowKind::Recovery => (4060004, "recovery"),
        _ => (4070001, "verification"),
    };
    Message::error(
        id,
        format!("The {flow} token is invalid or has already been used. Please retry the flow."),
        json!({}),
    )
}

/// 4060001 / 4070002: the flow is complete and cannot be submitted again.
pub fn already_done(kind: FlowKind) -> Message {
    let id = match kind {
        FlowKind::Recovery => 4060001,
        _ => 4070002,
    };
    Message::error(
        id,
        "The request was already completed successfully and can not be retried.",
        json!({}),
    )
}

/// 4000001: the address is not an email address.
pub fn not_an_email(value: &str) -> Message {
    let reason = format!("{value:?} is not valid \"email\"");
    Message::error(4000001, reason.clone(), json!({ "reason": reason }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ui: &Ui) -> Vec<(String, String, String)> {
        ui.nodes
            .iter()
            .map(|n| {
                (
                    n.group.clone(),
                    n.attributes.name.clone(),
                    n.attributes.input_type.clone(),
                )
            })
            .collect()
    }

    fn csrf_only() -> Ui {
        Ui {
            nodes: vec![Node::input("default", "csrf_token", "hidden").required()],
            ..Ui::default()
        }
    }

    #[test]
    fn recovery_code_forms_have_kratos_nodes_in_order() {
        let mut ui = csrf_only();
        ask_address(&mut ui, Delivery::Code);
        let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
        assert_eq!(
            names(&ui),
            [
                s("default", "csrf_token", "hidden"),
                s("code", "email", "email"),
                s("code", "method", "submit")
            ]
        );
        ask_code(&mut ui, FlowKind::Recovery, "a@example.com");
        assert_eq!(
            names(&ui),
            [
                s("default", "csrf_token", "hidden"),
                s("code", "code", "text"),
                s("code", "method", "hidden"),
                s("code", "method", "submit"),
                s("code", "email", "submit")
            ]
        );
        let code = serde_json::to_value(&ui.nodes[1]).unwrap();
        assert_eq!(code["attributes"]["maxlength"], 6);
        assert_eq!(code["attributes"]["pattern"], "[0-9]+");
        assert_eq!(code["meta"]["label"]["id"], 1070010);
    }

    #[test]
    fn a_completed_verification_links_onwards() {
        let mut ui = csrf_only();
        verified(&mut ui, "code", "https://app.example/");
        let anchor = serde_json::to_value(&ui.nodes[1]).unwrap();
        assert_eq!(
            anchor,
            json!({"type": "a", "group": "code", "attributes": {
                "href": "https://app.example/", "id": "continue", "node_type": "a",
                "title": {"id": 1070009, "text": "Continue", "type": "info"}},
                "messages": [], "meta": {}})
        );
    }
}
