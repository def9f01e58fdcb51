//! Identifier-first login (`selfservice.flows.login.style:
//! identifier_first`): the form asks for the identifier alone (with the
//! ways to sign in that need none, such as provider buttons); submitting it
//! (`method: identifier_first`) shows the ways the named account can sign
//! in, the identifier kept in a hidden field. Without
//! `security.account_enumeration.mitigate`, an identifier no account has is
//! told so; with it, every first factor is offered alike.

use serde_json::{Value, json};

use super::method::{MethodError, Problem};
use super::service::{FlowError, FlowService, Requester};
use super::ui::{Message, Node, Ui};
use super::{Flow, FlowKind};
use crate::aal::Aal;
use crate::identity::{CredentialType, Identity};

/// The `method` of the first step's submission, and the nodes' group.
pub const IDENTIFIER_FIRST: &str = "identifier_first";
/// The longest identifier looked up.
const MAX_IDENTIFIER_BYTES: usize = 320;

/// The first step: the identifier field and its button.
pub(super) fn ask_identifier(ui: &mut Ui) {
    ui.nodes.push(
        Node::input(IDENTIFIER_FIRST, "identifier", "text")
            .value(json!(""))
            .required()
            .label(Message::info(1070004, "ID")),
    );
    ui.nodes.push(
        Node::input(IDENTIFIER_FIRST, "method", "submit")
            .value(json!(IDENTIFIER_FIRST))
            .label(Message::info(1070009, "Continue")),
    );
}

/// Whether a login flow asks for the identifier first.
pub(super) fn applies(flow: &Flow, identifier_first: bool) -> bool {
    identifier_first
        && flow.kind == FlowKind::Login
        && !flow.refresh
        && flow.requested_aal() == Aal::Aal1
}

/// Whether a submission is the first step's.
pub(super) fn is_identification(body: &Value) -> bool {
    body.get("method").and_then(Value::as_str) == Some(IDENTIFIER_FIRST)
}

/// The submitted identifier, or why it names no account.
fn submitted_identifier(body: &Value) -> Result<&str, MethodError> {
    let identifier = body
        .get("identifier")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|i| !i.is_empty());
    let Some(identifier) = identifier else {
        let missing = Message::missing("identifier");
        return Err(MethodError::Invalid(vec![Problem::field(
            "identifier",
            missing,
        )]));
    };
    if identifier.len() > MAX_IDENTIFIER_BYTES || identifier.chars().any(char::is_control) {
        let reason = "The identifier is not one an account could have.";
        let message = Message::error(4000001, reason, json!({ "reason": reason }));
        return Err(MethodError::Invalid(vec![Problem::field(
            "identifier",
            message,
        )]));
    }
    Ok(identifier)
}

/// 4000037: no account, or none that can sign in here.
fn account_not_found() -> MethodError {
    MethodError::Invalid(vec![Problem::form(Message::error(
        4000037,
        "This account does not exist or has no login method configured.",
        json!({}),
    ))])
}

impl FlowService {
    /// The first step's submission: the flow moves on to the ways the named
    /// account signs in (answered like a refused submission, with the flow).
    pub(super) async fn identify(
        &self,
        flow: Flow,
        body: &Value,
        requester: &Requester,
    ) -> FlowError {
        if !applies(&flow, self.settings.identifier_first) {
            return FlowError::UnknownMethod;
        }
        let next = match self.identified(&flow, body, requester).await {
            Ok(next) => MethodError::NextStep(Box::new(next)),
            Err(error) => error,
        };
        self.refuse(flow, body, next).await
    }

    async fn identified(
        &self,
        flow: &Flow,
        body: &Value,
        requester: &Requester,
    ) -> Result<Flow, MethodError> {
        let identifier = submitted_identifier(body)?;
        if let Some(throttle) = &self.settings.throttle {
            throttle.admit_address(requester.device.ip_address.as_deref())?;
        }
        let identity = self.account(identifier).await?;
        let mitigate = self.settings.mitigate_enumeration;
        if identity.is_none() && !mitigate {
            return Err(account_not_found());
        }
        let mut next = flow.clone();
        next.ui.nodes.retain(|n| n.attributes.name == "csrf_token");
        next.ui.clear_messages();
        next.ui.nodes.push(
            Node::input(IDENTIFIER_FIRST, "identifier", "hidden")
                .value(json!(identifier))
                .label(Message::info(1070004, "ID")),
        );
        let before = next.ui.nodes.len();
        for method in &self.methods {
            method.populate_identified(identity.as_ref(), &mut next.ui);
        }
        if next.ui.nodes.len() == before && !mitigate {
            return Err(account_not_found());
        }
        Ok(next)
    }

    /// The account an identifier names: by a password identifier, else by
    /// a code identifier.
    async fn account(&self, identifier: &str) -> Result<Option<Identity>, MethodError> {
        for kind in [CredentialType::Password, CredentialType::Code] {
            let found = self.identities.find_by_identifier(kind, identifier).await?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}
