//! The password method: identifier and password for login, traits and a
//! password for registration.
//!
//! An unknown identifier costs one hash verification against a fixed dummy
//! hash and answers like a wrong password, so neither time nor message tells
//! whether an account exists.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::flow::trait_nodes;
use crate::flow::ui::{Message, Node, Ui};
use crate::flow::{
    Flow, FlowKind, LoginSubmission, Method, MethodError, Problem, RegistrationSubmission,
    SettingsSubmission,
};
use crate::identity::{
    CredentialType, CredentialsImport, HashFailure, Identity, IdentityDraft, IdentityError,
    IdentityService, PasswordImport, State,
};
use crate::policy::PasswordPolicy;
use crate::schema::SchemaHandle;
use crate::throttle::Throttle;

/// What the method enforces besides the hash.
#[derive(Debug, Clone)]
pub struct PasswordSettings {
    /// The policy new passwords must satisfy.
    pub policy: Arc<PasswordPolicy>,
    /// The brute-force throttle of sign-ins.
    pub throttle: Arc<Throttle>,
}

/// The password method.
pub struct PasswordMethod {
    identities: IdentityService,
    schemas: SchemaHandle,
    settings: PasswordSettings,
    dummy_hash: OnceCell<String>,
}

impl PasswordMethod {
    /// The method over the identity service and schemas.
    pub fn new(
        identities: IdentityService,
        schemas: SchemaHandle,
        settings: PasswordSettings,
    ) -> Self {
        Self {
            identities,
            schemas,
            settings,
            dummy_hash: OnceCell::new(),
        }
    }

    async fn verify(&self, password: &str, hashed: &str) -> Result<bool, MethodError> {
        match self.identities.hasher().verify(password, hashed).await {
            Ok(matches) => Ok(matches),
            Err(HashFailure::Busy) => Err(MethodError::Busy),
            Err(HashFailure::Failed(_)) => Ok(false),
        }
    }

    /// Burns one verification on a hash of the configured algorithm and cost.
    async fn verify_dummy(&self, password: &str) -> Result<(), MethodError> {
        let dummy = self
            .dummy_hash
            .get_or_try_init(|| async {
                self.identities
                    .hasher()
                    .hash("a password nobody has chosen")
                    .await
            })
            .await
            .map_err(|e| match e {
                HashFailure::Busy => MethodError::Busy,
                HashFailure::Failed(reason) => {
                    MethodError::Identity(IdentityError::BadRequest(reason))
                }
            })?;
        self.verify(password, dummy).await.map(drop)
    }

    /// Checks a new password of an identity with these password identifiers.
    async fn check_policy(&self, password: &str, identifiers: &[String]) -> Option<Message> {
        let max_bytes = self.identities.hasher().max_password_bytes();
        let checked = self.settings.policy.check(password, identifiers, max_bytes);
        checked.await.err().map(|violation| violation.message())
    }

    /// The login identifier's label: the flow's schema's (else the default
    /// schema's) title for its one identifying trait (1070002), else "ID"
    /// (1070004).
    fn identifier_label(&self, schema_id: Option<&str>) -> Message {
        let registry = self.schemas.current();
        let label = registry
            .get(schema_id.unwrap_or(registry.default_id()))
            .and_then(|schema| schema.identifier_label().cloned());
        match label {
            Some(label) => Message::generated_label(&label.title, &label.name),
            None => Message::info(1070004, "ID"),
        }
    }

    /// The password identifiers the schema `schema_id` (the default schema
    /// when absent) marks in these traits.
    fn password_identifiers(&self, schema_id: Option<&str>, traits: &Value) -> Vec<String> {
        let registry = self.schemas.current();
        let Some(schema) = registry.get(schema_id.unwrap_or(registry.default_id())) else {
            return Vec::new();
        };
        let mut marked = schema.mark(traits);
        marked
            .identifiers
            .remove(&CredentialType::Password)
            .unwrap_or_default()
    }
}

/// The required password input, with the browser's autocomplete hint
/// (`current-password` to sign in, `new-password` to choose one).
fn password_node(autocomplete: &str) -> Node {
    Node::input("password", "password", "password")
        .required()
        .autocomplete(autocomplete)
        .label(Message::info(1070001, "Password"))
}

fn text_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

#[async_trait]
impl Method for PasswordMethod {
    fn id(&self) -> &'static str {
        "password"
    }

    fn populate(&self, flow: &Flow, ui: &mut Ui) {
        match flow.kind {
            FlowKind::Login => {
                ui.nodes.insert(
                    0,
                    Node::input("default", "identifier", "text")
                        .value(Value::String(String::new()))
                        .required()
                        .label(self.identifier_label(flow.identity_schema())),
                );
                ui.nodes.push(password_node("current-password"));
                ui.nodes.push(Node::submit(
                    "password",
                    Message::info(1010022, "Sign in with password"),
                ));
            }
            FlowKind::Registration => {
                if !ui
                    .nodes
                    .iter()
                    .any(|n| n.attributes.name.starts_with("traits."))
                {
                    let schema = flow.identity_schema();
                    let traits = trait_nodes::trait_nodes(&self.schemas, schema, "default", None);
                    ui.nodes.extend(traits);
                }
                ui.nodes.push(password_node("new-password"));
                ui.nodes
                    .push(Node::submit("password", Message::info(1040001, "Sign up")));
            }
            FlowKind::Settings | FlowKind::Recovery | FlowKind::Verification => {}
        }
    }

    async fn login(&self, login: &LoginSubmission<'_>) -> Result<Identity, MethodError> {
        let (body, device) = (login.body, login.device);
        let identifier = text_field(body, "identifier");
        let password = text_field(body, "password");
        let mut problems = Vec::new();
        if identifier.is_none() {
            problems.push(Problem::field("identifier", Message::missing("identifier")));
        }
        if password.is_none() {
            problems.push(Problem::field("password", Message::missing("password")));
        }
        let (Some(identifier), Some(password)) = (identifier, password) else {
            return Err(MethodError::Invalid(problems));
        };
        let throttle = &self.settings.throttle;
        throttle.admit(identifier, device.ip_address.as_deref())?;
        let invalid = || MethodError::Invalid(vec![Problem::form(Message::invalid_credentials())]);
        let found = self
            .identities
            .find_by_identifier(CredentialType::Password, identifier)
            .await?;
        let hashed = found.as_ref().and_then(|identity| {
            identity
                .credentials
                .get(&CredentialType::Password)
                .and_then(|c| c.config.get("hashed_password"))
                .and_then(Value::as_str)
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
        });
        let (Some(identity), Some(hashed)) = (found, hashed) else {
            self.verify_dummy(password).await?;
            return Err(invalid());
        };
        if !self.verify(password, &hashed).await? || identity.state != State::Active {
            return Err(invalid());
        }
        throttle.succeeded(identifier);
        if self.identities.hasher().needs_rehash(&hashed) {
            match self.identities.hasher().hash(password).await {
                Ok(fresh) => {
                    return Ok(self
                        .identities
                        .replace_password_hash(identity, fresh)
                        .await?);
                }
                Err(error) => tracing::warn!(%error, "password re-hash skipped"),
            }
        }
        Ok(identity)
    }

    fn populate_identified(&self, identity: Option<&Identity>, ui: &mut Ui) {
        let has_password =
            identity.is_none_or(|i| i.credentials.contains_key(&CredentialType::Password));
        if has_password {
            ui.nodes.push(password_node("current-password"));
            ui.nodes.push(Node::submit(
                "password",
                Message::info(1010022, "Sign in with password"),
            ));
        }
    }

    fn populate_settings(&self, _identity: &Identity, ui: &mut Ui) {
        ui.nodes.push(password_node("new-password"));
        ui.nodes
            .push(Node::submit("password", Message::info(1070003, "Save")));
    }

    async fn update_settings(&self, sub: &SettingsSubmission<'_>) -> Result<Identity, MethodError> {
        let (identity, body, pre_persist) = (sub.identity, sub.body, sub.pre_persist);
        let Some(password) = text_field(body, "password") else {
            return Err(MethodError::Invalid(vec![Problem::field(
                "password",
                Message::missing("password"),
            )]));
        };
        let identifiers = self.password_identifiers(Some(&identity.schema_id), &identity.traits);
        if let Some(message) = self.check_policy(password, &identifiers).await {
            return Err(MethodError::Invalid(vec![Problem::field(
                "password", message,
            )]));
        }
        super::save_own_change(
            &self.identities,
            identity.id,
            None,
            Some(password.to_owned()),
            pre_persist,
        )
        .await
    }

    async fn register(&self, sub: &RegistrationSubmission<'_>) -> Result<Identity, MethodError> {
        let (body, pre_persist) = (sub.body, sub.pre_persist);
        let traits = body.get("traits").cloned().unwrap_or_else(|| json!({}));
        let Some(password) = text_field(body, "password") else {
            return Err(MethodError::Invalid(vec![Problem::field(
                "password",
                Message::missing("password"),
            )]));
        };
        let identifiers = self.password_identifiers(sub.flow.identity_schema(), &traits);
        if let Some(message) = self.check_policy(password, &identifiers).await {
            return Err(MethodError::Invalid(vec![Problem::field(
                "password", message,
            )]));
        }
        let draft = IdentityDraft {
            traits,
            credentials: CredentialsImport {
                password: Some(PasswordImport {
                    password: Some(password.to_owned()),
                    ..PasswordImport::default()
                }),
                ..CredentialsImport::default()
            },
            ..IdentityDraft::default()
        };
        let identity = super::prepare(&self.identities, sub.flow, draft).await?;
        super::insert_new(&self.identities, identity, pre_persist).await
    }
}
