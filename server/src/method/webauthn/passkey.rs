//! Passkeys (`passkey`): discoverable WebAuthn credentials that sign up and
//! sign in alone (a first factor, `aal1`), added and removed in settings.
//!
//! Every identity with passkeys has one user handle (a random UUID, the
//! credential's identifier), which authenticators return with an
//! assertion: a sign-in finds the identity by it, then the key by its id.
//! Ceremonies, counters and one-time use work as for security keys
//! ([`super::WebauthnMethod`]).

use async_trait::async_trait;
use base64::Engine as _;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use webauthn_rs::prelude::{DiscoverableAuthentication, Passkey};

use super::assertion;
use super::ceremony::{self, Registration, carries, refused_login, refused_registration};
use super::keys::StoredKeys;
use super::nodes::{self, PASSKEY};
use super::{KeySettings, RelyingParty, script};
use crate::flow::ui::{Message, Ui};
use crate::flow::{
    Flow, FlowKind, LoginSubmission, Method, MethodError, Problem, RegistrationSubmission,
    SettingsSubmission,
};
use crate::identity::{Credential, CredentialType, Identity, IdentityDraft, IdentityService};
use crate::schema::SchemaHandle;
use crate::session::Device;

/// The internal context key of a registration (sign-up or settings).
const REGISTRATION: &str = "passkey_registration";
/// The internal context key of a sign-in.
const AUTHENTICATION: &str = "passkey_authentication";

/// A passkey registration whose answer comes in `field`.
fn registration(field: &str) -> Registration<'_> {
    Registration {
        field,
        state_key: REGISTRATION,
        noun: "passkey",
    }
}

/// The passkey method.
pub struct PasskeyMethod {
    identities: IdentityService,
    schemas: SchemaHandle,
    settings: KeySettings,
}

/// The identity's passkeys (none when it has no readable credential).
fn stored(identity: &Identity) -> StoredKeys {
    StoredKeys::of(identity, CredentialType::Passkey)
}

/// The user handle of an identity's passkeys, if it has one.
fn user_handle(identity: &Identity) -> Option<Uuid> {
    let credential = identity.credentials.get(&CredentialType::Passkey)?;
    credential
        .identifiers
        .first()
        .and_then(|id| Uuid::parse_str(id).ok())
}

/// Whether `identity` keeps a way to sign in without its passkeys: a
/// password (a hash, not only the identifiers the schema marks) or a
/// provider link. (Codes are not counted: whether they sign in depends on
/// the code method's config; refusing is the safe side.)
fn signs_in_otherwise(identity: &Identity) -> bool {
    let password = identity
        .credentials
        .get(&CredentialType::Password)
        .and_then(|c| c.config.get("hashed_password"))
        .and_then(Value::as_str)
        .is_some_and(|hash| !hash.is_empty());
    let provider = identity
        .credentials
        .get(&CredentialType::Oidc)
        .is_some_and(|c| !c.identifiers.is_empty());
    password || provider
}

impl PasskeyMethod {
    /// The method over the identity service and schemas.
    pub fn new(identities: IdentityService, schemas: SchemaHandle, settings: KeySettings) -> Self {
        Self {
            identities,
            schemas,
            settings,
        }
    }

    fn rp(&self) -> &RelyingParty {
        &self.settings.relying_party
    }

    /// The form field whose value names a new passkey: the schema's
    /// identifying trait, else the form's first trait.
    fn display_name_field(&self, ui: &Ui) -> String {
        let registry = self.schemas.current();
        let label = registry
            .get(registry.default_id())
            .and_then(|schema| schema.identifier_label().cloned());
        label.map(|l| l.name).unwrap_or_else(|| {
            ui.nodes
                .iter()
                .find(|n| n.attributes.name.starts_with("traits."))
                .map_or_else(|| "traits.email".into(), |n| n.attributes.name.clone())
        })
    }

    /// Starts a registration under `handle`: the creation data the form
    /// carries (options asking for a discoverable key), the state kept.
    fn start_registration(
        &self,
        handle: Uuid,
        name: &str,
        exclude: Vec<webauthn_rs::prelude::CredentialID>,
        display_name_field: &str,
        internal: &mut Map<String, Value>,
    ) -> Option<String> {
        let started =
            self.rp()
                .webauthn
                .start_passkey_registration(handle, name, name, Some(exclude));
        let (options, state) = started
            .map_err(|error| tracing::error!(%error, "a passkey registration could not start"))
            .ok()?;
        let mut options = serde_json::to_value(options).ok()?;
        // Signing in without an identifier needs a key the authenticator keeps.
        options["publicKey"]["authenticatorSelection"]["residentKey"] = json!("required");
        options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(true);
        ceremony::keep(internal, REGISTRATION, &state, json!(handle.to_string()));
        let data =
            json!({"credentialOptions": options, "displayNameFieldName": display_name_field});
        Some(data.to_string())
    }

    /// Starts a sign-in with any of the browser's passkeys.
    fn start_authentication(&self, internal: &mut Map<String, Value>) -> Option<String> {
        let started = self.rp().webauthn.start_discoverable_authentication();
        let (options, state) = started
            .map_err(|error| tracing::error!(%error, "a passkey sign-in could not start"))
            .ok()?;
        ceremony::keep(internal, AUTHENTICATION, &state, Value::Null);
        serde_json::to_string(&options).ok()
    }

    fn populate_login(&self, ui: &mut Ui, internal: &mut Map<String, Value>) {
        let Some(challenge) = self.start_authentication(internal) else {
            return;
        };
        if let Some(identifier) = ui
            .nodes
            .iter_mut()
            .find(|n| n.attributes.name == "identifier")
        {
            identifier.attributes.autocomplete = Some("username webauthn".into());
        }
        ui.nodes.extend(nodes::passkey_login(&challenge));
        script::add_once(&mut ui.nodes, &self.rp().public_base_url);
    }

    fn populate_registration(&self, flow: &Flow, ui: &mut Ui, internal: &mut Map<String, Value>) {
        if !ui
            .nodes
            .iter()
            .any(|n| n.attributes.name.starts_with("traits."))
        {
            ui.nodes.extend(crate::flow::trait_nodes::trait_nodes(
                &self.schemas,
                flow.identity_schema(),
                "default",
                None,
            ));
        }
        let field = self.display_name_field(ui);
        let data = self.start_registration(Uuid::new_v4(), "passkey", Vec::new(), &field, internal);
        if let Some(data) = data {
            ui.nodes.extend(nodes::passkey_registration(&data));
            script::add_once(&mut ui.nodes, &self.rp().public_base_url);
        }
    }

    fn populate_settings(
        &self,
        identity: &Identity,
        ui: &mut Ui,
        internal: &mut Map<String, Value>,
    ) {
        let keys = stored(identity);
        let handle = user_handle(identity).unwrap_or_else(Uuid::new_v4);
        let name = identity
            .credentials
            .values()
            .find_map(|c| c.identifiers.first().filter(|i| i.contains('@')).cloned())
            .unwrap_or_else(|| identity.id.to_string());
        let data = self.start_registration(handle, &name, keys.ids(), "", internal);
        if let Some(data) = data {
            ui.nodes
                .extend(nodes::passkey_settings(&keys.credentials, &data));
            script::add_once(&mut ui.nodes, &self.rp().public_base_url);
        }
    }

    /// Finishes a registration: the new key and the user handle it is for.
    fn finish_registration(
        &self,
        flow: &Flow,
        body: &Value,
        field: &str,
    ) -> Result<(Passkey, Uuid), MethodError> {
        let registration = registration(field);
        let webauthn = &self.rp().webauthn;
        let (key, extra) = registration.finish(flow, body, |answer, state| {
            webauthn.finish_passkey_registration(answer, state)
        })?;
        let handle = extra
            .as_str()
            .and_then(|h| Uuid::parse_str(h).ok())
            .ok_or_else(|| registration.expired())?;
        Ok((key, handle))
    }

    /// `identity` with `key` added to its passkeys under `handle`.
    fn with_key(
        &self,
        identity: &Identity,
        handle: Uuid,
        key: &Passkey,
        field: &str,
    ) -> Result<Identity, MethodError> {
        let mut keys = stored(identity);
        let now = self.settings.clock.now();
        registration(field).add(&mut keys, (key.cred_id(), key), ("passkey", true), now)?;
        keys.user_handle =
            Some(base64::engine::general_purpose::STANDARD.encode(handle.as_bytes()));
        Ok(with_keys(identity, handle, keys, now))
    }

    /// Checks a sign-in assertion and records the key's use.
    async fn authenticate(
        &self,
        flow: &Flow,
        body: &Value,
        device: &Device,
    ) -> Result<Identity, MethodError> {
        let field = "passkey_login";
        let (credential, state): (_, DiscoverableAuthentication) =
            ceremony::login_answer(flow, body, field, AUTHENTICATION)?;
        let webauthn = &self.rp().webauthn;
        let (handle, key_id) = webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(|_| refused_login(field))?;
        let throttle_key = self.admit(handle, device)?;
        let identity = self
            .identities
            .find_by_identifier(CredentialType::Passkey, &handle.to_string())
            .await?
            .ok_or_else(|| refused_login(field))?;
        let (current, keys) = assertion::stored_keys(&identity, CredentialType::Passkey, field)?;
        let index = keys.position(key_id).ok_or_else(|| refused_login(field))?;
        let key: Passkey = keys
            .credentials
            .get(index)
            .and_then(|k| serde_json::from_value(k.key.clone()).ok())
            .ok_or_else(|| refused_login(field))?;
        let result = webauthn
            .finish_discoverable_authentication_v2(&credential, state, &key)
            .map_err(|error| {
                tracing::info!(%error, "a passkey assertion was refused");
                refused_login(field)
            })?;
        let spent = (&identity, current);
        assertion::record::<Passkey>(&self.identities, spent, keys, (index, &result), field)
            .await?;
        self.settings.throttle.succeeded(&throttle_key);
        Ok(identity)
    }

    /// Counts a sign-in attempt for the user handle (and the client
    /// address); returns the key a success gives back.
    fn admit(&self, handle: Uuid, device: &Device) -> Result<String, MethodError> {
        let key = format!("{PASSKEY}:{handle}");
        let ip = device.ip_address.as_deref();
        self.settings.throttle.admit(&key, ip)?;
        Ok(key)
    }

    /// Removes the passkey a settings submission names, unless it is the
    /// identity's last way to sign in.
    async fn remove_key(&self, sub: &SettingsSubmission<'_>) -> Result<Identity, MethodError> {
        let (identity, body, pre_persist) = (sub.identity, sub.body, sub.pre_persist);
        let field = "passkey_remove";
        let mut keys = stored(identity);
        ceremony::remove_named(&mut keys, body, field, "passkey")?;
        if keys.credentials.is_empty() && !signs_in_otherwise(identity) {
            return Err(refused_registration(
                field,
                "unable to remove this passkey because it would lock you out of your account",
            ));
        }
        let now = self.settings.clock.now();
        let changed = match user_handle(identity) {
            Some(handle) if !keys.credentials.is_empty() => with_keys(identity, handle, keys, now),
            _ => {
                let mut changed = identity.clone();
                changed.credentials.remove(&CredentialType::Passkey);
                changed.updated_at = now;
                changed
            }
        };
        crate::method::second_factor::save(&self.identities, changed, pre_persist).await
    }
}

/// `identity` with its passkey credential holding `keys` under `handle`.
fn with_keys(
    identity: &Identity,
    handle: Uuid,
    keys: StoredKeys,
    now: chrono::DateTime<chrono::Utc>,
) -> Identity {
    let mut changed = identity.clone();
    let previous = identity.credentials.get(&CredentialType::Passkey);
    changed.credentials.insert(
        CredentialType::Passkey,
        Credential {
            id: previous.map_or_else(Uuid::new_v4, |c| c.id),
            kind: CredentialType::Passkey,
            identifiers: vec![handle.to_string()],
            config: keys.to_config(),
            version: 1,
            created_at: previous.map_or(now, |c| c.created_at),
            updated_at: now,
        },
    );
    changed.updated_at = now;
    changed
}

#[async_trait]
impl Method for PasskeyMethod {
    fn id(&self) -> &'static str {
        PASSKEY
    }

    fn claims(&self, body: &Value) -> bool {
        [
            "passkey_login",
            "passkey_register",
            "passkey_settings_register",
            "passkey_remove",
        ]
        .iter()
        .any(|field| carries(body, field))
    }

    fn populate_challenge(&self, flow: &Flow, ui: &mut Ui, internal: &mut Map<String, Value>) {
        match (flow.kind, &flow.identity) {
            (FlowKind::Login, _) if flow.requested_aal() == crate::aal::Aal::Aal1 => {
                self.populate_login(ui, internal);
            }
            (FlowKind::Registration, _) => self.populate_registration(flow, ui, internal),
            (FlowKind::Settings, Some(identity)) => self.populate_settings(identity, ui, internal),
            _ => {}
        }
    }

    async fn login(&self, login: &LoginSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, body, device) = (login.flow, login.body, login.device);
        if flow.requested_aal() != crate::aal::Aal::Aal1 {
            return Err(MethodError::Unsupported);
        }
        self.authenticate(flow, body, device).await
    }

    async fn register(&self, sub: &RegistrationSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, body, pre_persist) = (sub.flow, sub.body, sub.pre_persist);
        let field = "passkey_register";
        let traits = body.get("traits").cloned().unwrap_or_else(|| json!({}));
        let (key, handle) = self.finish_registration(flow, body, field)?;
        let draft = IdentityDraft {
            traits,
            ..IdentityDraft::default()
        };
        let identity = crate::method::prepare(&self.identities, flow, draft).await?;
        let identity = self.with_key(&identity, handle, &key, field)?;
        crate::method::insert_new(&self.identities, identity, pre_persist).await
    }

    async fn update_settings(&self, sub: &SettingsSubmission<'_>) -> Result<Identity, MethodError> {
        let (flow, identity, body, pre_persist) =
            (sub.flow, sub.identity, sub.body, sub.pre_persist);
        if carries(body, "passkey_remove") {
            return self.remove_key(sub).await;
        }
        let field = "passkey_settings_register";
        if !carries(body, field) {
            return Err(MethodError::Invalid(vec![Problem::field(
                field,
                Message::missing(field),
            )]));
        }
        let (key, handle) = self.finish_registration(flow, body, field)?;
        if user_handle(identity).is_some_and(|h| h != handle) {
            return Err(refused_registration(
                field,
                "The registration has expired; try again.",
            ));
        }
        let changed = self.with_key(identity, handle, &key, field)?;
        crate::method::second_factor::save(&self.identities, changed, pre_persist).await
    }
}
