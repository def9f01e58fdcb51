//! Security keys as a second factor (`webauthn`): added and removed in
//! settings, asked for in login flows that step a session up to `aal2`.
//!
//! The flow's form carries the ceremony's options and the flow keeps its
//! state, so a challenge belongs to one flow and one form; a login flow
//! passes once, a settings form gets a new challenge after every change.
//! A use is accepted only when the signature counter grew past the stored
//! one (or both are 0) and by a compare-and-swap on the stored config, so an
//! assertion is accepted once even by two replicas at the same time.

use async_trait::async_trait;
use serde_json::{Map, Value};
use uuid::Uuid;
use webauthn_rs::prelude::{SecurityKey, SecurityKeyAuthentication};

use super::assertion;
use super::ceremony::{self, Registration, carries, refused_login};
use super::keys::StoredKeys;
use super::nodes::{self, WEBAUTHN};
use super::{KeySettings, RelyingParty, script};
use crate::flow::ui::Ui;
use crate::flow::{
    Flow, FlowKind, LoginSubmission, Method, MethodError, PrePersist, Problem, SettingsSubmission,
};
use crate::identity::{CredentialType, Identity, IdentityService};
use crate::method::second_factor;
use crate::session::Device;

/// The internal context key of a settings flow's registration.
const REGISTRATION: &str = "webauthn_registration";
/// The internal context key of a step-up flow's authentication.
const AUTHENTICATION: &str = "webauthn_authentication";

/// The security key method.
pub struct WebauthnMethod {
    identities: IdentityService,
    settings: KeySettings,
}

/// The identity's security keys (none when it has no readable credential).
fn stored(identity: &Identity) -> StoredKeys {
    StoredKeys::of(identity, CredentialType::Webauthn)
}

impl WebauthnMethod {
    /// The method over the identity service.
    pub fn new(identities: IdentityService, settings: KeySettings) -> Self {
        Self {
            identities,
            settings,
        }
    }

    fn rp(&self) -> &RelyingParty {
        &self.settings.relying_party
    }

    /// Starts a registration for `identity`: the options, the state kept.
    fn start_registration(
        &self,
        identity: &Identity,
        internal: &mut Map<String, Value>,
    ) -> Option<String> {
        let name = crate::method::account_name(identity);
        let exclude = Some(stored(identity).ids());
        let started = self.rp().webauthn.start_securitykey_registration(
            identity.id,
            &name,
            &name,
            exclude,
            None,
            None,
        );
        let (options, state) = started
            .map_err(|error| tracing::error!(%error, "a security key registration could not start"))
            .ok()?;
        ceremony::keep(internal, REGISTRATION, &state, Value::Null);
        let mut options = serde_json::to_value(options).ok()?;
        // A key that is not discoverable and need not verify its user cannot
        // be asked to protect itself with user verification: browsers refuse
        // the whole request (the policy was never enforced).
        if let Some(extensions) = options["publicKey"]["extensions"].as_object_mut() {
            extensions.remove("credentialProtectionPolicy");
            extensions.remove("enforceCredentialProtectionPolicy");
        }
        Some(options.to_string())
    }

    /// Starts an authentication with the identity's keys.
    fn start_authentication(
        &self,
        keys: &[SecurityKey],
        internal: &mut Map<String, Value>,
    ) -> Option<String> {
        let started = self.rp().webauthn.start_securitykey_authentication(keys);
        let (options, state) = started
            .map_err(
                |error| tracing::error!(%error, "a security key authentication could not start"),
            )
            .ok()?;
        ceremony::keep(internal, AUTHENTICATION, &state, Value::Null);
        serde_json::to_string(&options).ok()
    }

    fn admit(&self, identity_id: Uuid, device: Option<&Device>) -> Result<String, MethodError> {
        second_factor::admit_guess(&self.settings.throttle, WEBAUTHN, identity_id, device)
    }

    /// Checks a step-up assertion and records the key's use.
    async fn authenticate(
        &self,
        flow: &Flow,
        identity_id: Uuid,
        body: &Value,
    ) -> Result<Identity, MethodError> {
        let field = "webauthn_login";
        let (credential, state): (_, SecurityKeyAuthentication) =
            ceremony::login_answer(flow, body, field, AUTHENTICATION)?;
        let identity = self.identities.get(identity_id).await?;
        let (current, keys) = assertion::stored_keys(&identity, CredentialType::Webauthn, field)?;
        let result = self
            .rp()
            .webauthn
            .finish_securitykey_authentication(&credential, &state)
            .map_err(|error| {
                tracing::info!(%error, "a security key assertion was refused");
                refused_login(field)
            })?;
        let index = keys
            .position(result.cred_id())
            .ok_or_else(|| refused_login(field))?;
        let spent = (&identity, current);
        assertion::record::<SecurityKey>(&self.identities, spent, keys, (index, &result), field)
            .await?;
        Ok(identity)
    }

    /// Adds the key a settings submission registered.
    async fn add_key(
        &self,
        flow: &Flow,
        identity: &Identity,
        body: &Value,
        pre_persist: &dyn PrePersist,
    ) -> Result<Identity, MethodError> {
        let registration = Registration {
            field: "webauthn_register",
            state_key: REGISTRATION,
            noun: "security key",
        };
        let webauthn = &self.rp().webauthn;
        let (key, _): (SecurityKey, _) = registration.finish(flow, body, |answer, state| {
            webauthn.finish_securitykey_registration(answer, state)
        })?;
        let name = body
            .get("webauthn_register_displayname")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        let mut keys = stored(identity);
        let now = self.settings.clock.now();
        registration.add(&mut keys, (key.cred_id(), &key), (name, false), now)?;
        self.store(identity, keys, pre_persist).await
    }

    /// Removes the key a settings submission names by its hex id.
    async fn remove_key(&self, sub: &SettingsSubmission<'_>) -> Result<Identity, MethodError> {
        let (identity, body, pre_persist) = (sub.identity, sub.body, sub.pre_persist);
        let mut keys = stored(identity);
        ceremony::remove_named(&mut keys, body, "webauthn_remove", "security key")?;
        self.store(identity, keys, pre_persist).await
    }

    /// Stores `keys` as the identity's credential (none left: no credential).
    async fn store(
        &self,
        identity: &Identity,
        keys: StoredKeys,
        pre_persist: &dyn PrePersist,
    ) -> Result<Identity, MethodError> {
        let now = self.settings.clock.now();
        let changed = if keys.credentials.is_empty() {
            let mut changed = identity.clone();
            changed.credentials.remove(&CredentialType::Webauthn);
            changed.updated_at = now;
            changed
        } else {
            let mut changed = second_factor::with_credential(
                identity,
                CredentialType::Webauthn,
                keys.to_config(),
                now,
            );
            // A credential the schema's identifier marks made keeps its
            // identifiers (the schema drives them).
            if let (Some(old), Some(new)) = (
                identity.credentials.get(&CredentialType::Webauthn),
                changed.credentials.get_mut(&CredentialType::Webauthn),
            ) {
                new.id = old.id;
                new.created_at = old.created_at;
                if !old.identifiers.is_empty() {
                    new.identifiers = old.identifiers.clone();
                }
            }
            changed
        };
        second_factor::save(&self.identities, changed, pre_persist).await
    }
}

#[async_trait]
impl Method for WebauthnMethod {
    fn id(&self) -> &'static str {
        WEBAUTHN
    }

    fn is_second_factor(&self) -> bool {
        true
    }

    fn claims(&self, body: &Value) -> bool {
        ["webauthn_login", "webauthn_register", "webauthn_remove"]
            .iter()
            .any(|field| carries(body, field))
    }

    fn populate_challenge(&self, flow: &Flow, ui: &mut Ui, internal: &mut Map<String, Value>) {
        let Some(identity) = &flow.identity else {
            return;
        };
        let nodes = match flow.kind {
            FlowKind::Settings => self.start_registration(identity, internal).map(|options| {
                nodes::security_key_settings(&stored(identity).credentials, &options)
            }),
            FlowKind::Login if flow.requested_aal() == crate::aal::Aal::Aal2 => {
                let keys: Vec<SecurityKey> = stored(identity).open();
                if keys.is_empty() {
                    return;
                }
                self.start_authentication(&keys, internal)
                    .map(|options| nodes::security_key_login(&options))
            }
            _ => None,
        };
        if let Some(nodes) = nodes {
            ui.nodes.extend(nodes);
            script::add_once(&mut ui.nodes, &self.rp().public_base_url);
        }
    }

    async fn login(&self, login: &LoginSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, body, device) = (login.flow, login.body, login.device);
        let identity_id = second_factor::step_up_identity(flow)?;
        let key = self.admit(identity_id, Some(device))?;
        let identity = self.authenticate(flow, identity_id, body).await?;
        self.settings.throttle.succeeded(&key);
        Ok(identity)
    }

    async fn update_settings(&self, sub: &SettingsSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, identity, body, pre_persist) =
            (sub.flow, sub.identity, sub.body, sub.pre_persist);
        if carries(body, "webauthn_remove") {
            return self.remove_key(sub).await;
        }
        if carries(body, "webauthn_register") {
            return self.add_key(flow, identity, body, pre_persist).await;
        }
        Err(MethodError::Invalid(vec![Problem::field(
            "webauthn_register",
            crate::flow::ui::Message::missing("webauthn_register"),
        )]))
    }
}
