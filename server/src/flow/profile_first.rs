//! Profile-first registration (`selfservice.flows.registration.style:
//! profile_first`): the form asks for the traits alone (with the ways to sign
//! up that need no credential here, such as provider buttons); submitting
//! them (`method: profile`) checks them against the flow's identity schema
//! and shows the ways to prove it is you, the traits kept in hidden fields
//! and in the flow, with a "Back" button (`screen: previous`) to change them.
//!
//! The traits checked in the first step are the ones the identity is made
//! of: a credential submission before that step is answered as the first
//! step (the traits checked, nothing stored), and after it the kept traits
//! replace whatever traits the submission carries.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::method::{MethodError, Problem};
use super::service::{FlowError, FlowService};
use super::trait_nodes::trait_nodes;
use super::ui::{Message, Node, Ui};
use super::{Flow, FlowKind};
use crate::identity::IdentityError;

/// The `method` of the first step's submission, and its nodes' group.
pub const PROFILE: &str = "profile";
/// The internal context key of the traits the first step checked.
const KEPT_TRAITS: &str = "profile_traits";
/// The internal context key set while the flow shows the second step.
const CREDENTIALS_SHOWN: &str = "profile_done";

/// Whether a flow is a profile-first registration.
pub(super) fn applies(flow: &Flow, profile_first: bool) -> bool {
    profile_first && flow.kind == FlowKind::Registration
}

/// The traits the first step checked, while the flow shows the second step.
fn kept_traits(flow: &Flow) -> Option<&Value> {
    if flow.internal.get(CREDENTIALS_SHOWN) == Some(&Value::Bool(true)) {
        flow.internal.get(KEPT_TRAITS)
    } else {
        None
    }
}

/// The `screen` a submission navigates to, if any.
fn screen(body: &Value) -> Option<&str> {
    body.get("screen").and_then(Value::as_str)
}

/// Whether the flow machine answers this registration submission as the
/// profile step: `method: profile`, a `screen` navigation without another
/// method, or, before the first step is done, a method the form does not
/// show yet.
pub(super) fn takes(flow: &Flow, body: &Value, profile_first: bool) -> bool {
    if !applies(flow, profile_first) {
        return false;
    }
    let method = body.get("method").and_then(Value::as_str);
    match method {
        Some(PROFILE) => true,
        None => screen(body).is_some(),
        Some(id) => {
            kept_traits(flow).is_none() && !flow.ui.nodes.iter().any(|node| node.group == id)
        }
    }
}

/// The submission with the kept traits in place of its own, once the first
/// step is done (as submitted otherwise).
pub(super) fn with_kept_traits<'a>(flow: &Flow, body: &'a Value) -> Cow<'a, Value> {
    match (kept_traits(flow), body) {
        (Some(traits), Value::Object(fields)) => {
            let mut fields = fields.clone();
            fields.insert("traits".into(), traits.clone());
            Cow::Owned(Value::Object(fields))
        }
        _ => Cow::Borrowed(body),
    }
}

/// The "Back" button of the second step.
fn back_button() -> Node {
    Node::input(PROFILE, "screen", "submit")
        .value(json!("previous"))
        .label(Message::info(1040008, "Back"))
}

impl FlowService {
    /// The form of a profile-first registration at the step it stands.
    pub(super) fn profile_first_form(
        &self,
        flow: &Flow,
        ui: &mut Ui,
        internal: &mut Map<String, Value>,
    ) {
        let schemas = self.identities.schemas();
        let schema = flow.identity_schema();
        if let Some(traits) = kept_traits(flow) {
            for mut node in trait_nodes(schemas, schema, "default", Some(traits)) {
                node.attributes.input_type = "hidden".into();
                ui.nodes.push(node);
            }
            for method in &self.methods {
                method.populate(flow, ui);
                method.populate_challenge(flow, ui, internal);
            }
            ui.nodes.push(back_button());
            return;
        }
        let earlier = flow.internal.get(KEPT_TRAITS);
        ui.nodes
            .extend(trait_nodes(schemas, schema, "default", earlier));
        for method in &self.methods {
            method.populate_profile_step(flow, ui);
        }
        ui.nodes
            .push(Node::submit(PROFILE, Message::info(1040001, "Sign up")));
    }

    /// A profile step submission: traits checked (the second step shown),
    /// or a navigation between the steps; answered like a refused
    /// submission, with the flow.
    pub(super) async fn profile_step(&self, flow: Flow, body: &Value) -> FlowError {
        let kept = flow.internal.get(KEPT_TRAITS).cloned();
        let (back, next) = match (screen(body), kept) {
            (Some("previous"), _) => (self.at_step(&flow, None), None),
            (Some("credential-selection"), Some(traits)) => {
                (self.at_step(&flow, None), Some(traits))
            }
            _ => {
                let first = self.at_step(&flow, None);
                match self.checked_traits(&flow, body) {
                    Ok(traits) => (first, Some(traits)),
                    Err(error) => return self.refuse(first, body, error).await,
                }
            }
        };
        let next = match next {
            Some(traits) => self.at_step(&back, Some(traits)),
            None => back,
        };
        self.refuse(flow, body, MethodError::NextStep(Box::new(next)))
            .await
    }

    /// The flow at its first step (`traits` absent) or its second, the form
    /// rebuilt; the traits of an earlier first step stay as the fields'
    /// values.
    fn at_step(&self, flow: &Flow, traits: Option<Value>) -> Flow {
        let mut next = flow.clone();
        next.state = "choose_method".into();
        next.internal.remove(CREDENTIALS_SHOWN);
        if let Some(traits) = traits {
            next.internal.insert(KEPT_TRAITS.into(), traits);
            next.internal
                .insert(CREDENTIALS_SHOWN.into(), Value::Bool(true));
        }
        self.fill_form(&mut next);
        next
    }

    /// The submitted traits, when the flow's identity schema accepts them.
    fn checked_traits(&self, flow: &Flow, body: &Value) -> Result<Value, MethodError> {
        let Some(traits) = body.get("traits").filter(|t| t.is_object()) else {
            let missing = Problem::field("traits", Message::missing("traits"));
            return Err(MethodError::Invalid(vec![missing]));
        };
        let registry = self.identities.schemas().current();
        let id = flow.identity_schema().unwrap_or(registry.default_id());
        let schema = registry
            .get(id)
            .ok_or_else(|| IdentityError::UnknownSchema(id.to_owned()))?;
        schema.validate_traits(traits).map_err(|violations| {
            MethodError::refused_write(IdentityError::InvalidTraits(violations))
        })?;
        Ok(traits.clone())
    }
}
