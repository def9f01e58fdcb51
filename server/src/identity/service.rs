//! The identity service: every admin operation on identities, independent of HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::input::{AddressImport, CredentialsImport, IdentityDraft, PasswordImport, ProviderLink};
use super::{Credential, CredentialType, Identity, RecoveryAddress, VerifiableAddress};
use crate::schema::{SchemaHandle, TraitViolation};
use crate::store::{ConfigSwap, IdentityPage, IdentityQuery, IdentityStore, StoreError};
use crate::time::Clock;

/// Why an identity operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// No identity with that id.
    #[error("identity not found")]
    NotFound,
    /// The schema id names no configured schema.
    #[error("no identity schema with id {0:?} is configured")]
    UnknownSchema(String),
    /// Traits failed schema validation.
    #[error("traits do not match the identity schema")]
    InvalidTraits(Vec<TraitViolation>),
    /// The request asks for something that cannot be done.
    #[error("{0}")]
    BadRequest(String),
    /// An identifier, address or external id is taken by another identity.
    #[error("an identity with the same identifier or external id exists already")]
    Conflict,
    /// The password hasher is saturated; try again later.
    #[error("the password hasher is busy")]
    Busy,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for IdentityError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) => IdentityError::Conflict,
            StoreError::NotFound => IdentityError::NotFound,
            other => IdentityError::Store(other),
        }
    }
}

/// Why hashing failed.
#[derive(Debug, thiserror::Error)]
pub enum HashFailure {
    /// All hash workers are busy and the queue is full.
    #[error("busy")]
    Busy,
    /// The hash could not be computed.
    #[error("{0}")]
    Failed(String),
}

/// Hashes clear-text passwords and recognises imported hashes.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password with the configured algorithm.
    async fn hash(&self, password: &str) -> Result<String, HashFailure>;
    /// True when a stored hash is in a format this server can verify.
    fn is_supported(&self, hashed: &str) -> bool;
    /// Checks a password against a stored hash of any supported format.
    async fn verify(&self, password: &str, hashed: &str) -> Result<bool, HashFailure>;
    /// True when a stored hash should be replaced after a successful login.
    fn needs_rehash(&self, hashed: &str) -> bool;
    /// The longest password the configured algorithm takes, in bytes, if limited.
    fn max_password_bytes(&self) -> Option<usize>;
}

/// Admin operations on identities.
#[derive(Clone)]
pub struct IdentityService {
    store: Arc<dyn IdentityStore>,
    schemas: SchemaHandle,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    /// Whether codes are a second factor (`selfservice.methods.code.mfa_enabled`).
    code_mfa: bool,
    /// Converts imported second-factor credentials into their stored form.
    converter: Option<Arc<dyn super::CredentialConverter>>,
}

/// Version of the password credential layout, as Kratos writes it.
const PASSWORD_VERSION: i64 = 1;
/// Version of the code credential layout.
const CODE_VERSION: i64 = 1;

impl IdentityService {
    /// A service over these parts.
    pub fn new(
        store: Arc<dyn IdentityStore>,
        schemas: SchemaHandle,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            schemas,
            hasher,
            clock,
            code_mfa: false,
            converter: None,
        }
    }

    /// The same service, importing TOTP, lookup code, security key and
    /// passkey credentials through `converter` (without one they are refused).
    pub fn with_converter(mut self, converter: Arc<dyn super::CredentialConverter>) -> Self {
        self.converter = Some(converter);
        self
    }

    /// The same service, counting an address to send a code to as a second
    /// factor when `on` (`selfservice.methods.code.mfa_enabled`).
    pub fn with_code_mfa(mut self, on: bool) -> Self {
        self.code_mfa = on;
        self
    }

    /// The highest assurance level `identity` can reach under this config.
    pub fn available_aal(&self, identity: &Identity) -> crate::aal::Aal {
        crate::aal::available(identity, self.code_mfa)
    }

    /// `identity` as it is written: with its available level brought up to
    /// date (it follows the credentials a write may have changed).
    pub(super) fn stamped(&self, identity: &Identity) -> Identity {
        let mut stamped = identity.clone();
        stamped.available_aal = self.available_aal(identity);
        stamped
    }

    /// The store, for callers that read directly.
    pub fn store(&self) -> &Arc<dyn IdentityStore> {
        &self.store
    }

    /// The live identity schemas.
    pub fn schemas(&self) -> &SchemaHandle {
        &self.schemas
    }

    /// The password hasher.
    pub fn hasher(&self) -> &Arc<dyn PasswordHasher> {
        &self.hasher
    }

    /// Finds the identity owning a credential identifier (normalised first,
    /// unless it is a provider link).
    pub async fn find_by_identifier(
        &self,
        kind: CredentialType,
        identifier: &str,
    ) -> Result<Option<Identity>, IdentityError> {
        // Provider subjects are case-sensitive: only the identifiers of
        // the other credentials are normalised.
        let identifier = match kind {
            CredentialType::Oidc => identifier.to_owned(),
            _ => crate::schema::extension::normalize_identifier(identifier),
        };
        Ok(self.store.find_by_identifier(kind, &identifier).await?)
    }

    /// Finds the identity owning an address (normalised first).
    pub async fn find_by_address(
        &self,
        kind: crate::store::AddressKind,
        via: &str,
        address: &str,
    ) -> Result<Option<Identity>, IdentityError> {
        let normalized = crate::schema::extension::normalize_address(via, address);
        Ok(self.store.find_by_address(kind, via, &normalized).await?)
    }

    /// Marks one of an identity's verifiable addresses verified (status
    /// `completed`, `verified_at` now); false when the identity has no such
    /// address (any more).
    pub async fn mark_verified(
        &self,
        id: Uuid,
        via: &str,
        address: &str,
    ) -> Result<bool, IdentityError> {
        let mut identity = self.get(id).await?;
        let now = self.clock.now();
        let Some(found) = identity
            .verifiable_addresses
            .iter_mut()
            .find(|a| a.via == via && a.value == address)
        else {
            return Ok(false);
        };
        if !found.verified {
            found.verified = true;
            found.verified_at = Some(now);
        }
        found.status = "completed".into();
        found.updated_at = now;
        identity.updated_at = now;
        let identity = self.stamped(&identity);
        self.store.update(&identity).await?;
        Ok(true)
    }

    /// Marks an address's verification message sent (status `sent`), unless
    /// it is verified already.
    pub async fn mark_sent(&self, id: Uuid, via: &str, address: &str) -> Result<(), IdentityError> {
        let mut identity = self.get(id).await?;
        let now = self.clock.now();
        if let Some(found) = identity
            .verifiable_addresses
            .iter_mut()
            .find(|a| a.via == via && a.value == address && !a.verified && a.status != "sent")
        {
            found.status = "sent".into();
            found.updated_at = now;
            let identity = self.stamped(&identity);
            self.store.update(&identity).await?;
        }
        Ok(())
    }

    /// Replaces the stored password hash of an identity (after a login re-hash).
    pub async fn replace_password_hash(
        &self,
        mut identity: Identity,
        hashed: String,
    ) -> Result<Identity, IdentityError> {
        let now = self.clock.now();
        if let Some(credential) = identity.credentials.get_mut(&CredentialType::Password) {
            let mut config = credential.config.as_object().cloned().unwrap_or_default();
            config.insert("hashed_password".into(), Value::String(hashed));
            credential.config = Value::Object(config);
            credential.updated_at = now;
            identity.updated_at = now;
            let identity = self.stamped(&identity);
            self.store.update(&identity).await?;
        }
        Ok(identity)
    }

    /// Creates an identity.
    pub async fn create(&self, draft: IdentityDraft) -> Result<Identity, IdentityError> {
        let identity = self.prepare(draft).await?;
        self.insert(identity).await
    }

    /// Builds a new identity from a draft without storing it: traits
    /// validated, identifiers and addresses derived, password hashed, id
    /// assigned. [`insert`](Self::insert) stores it.
    pub async fn prepare(&self, draft: IdentityDraft) -> Result<Identity, IdentityError> {
        self.assemble(None, draft, self.clock.now()).await
    }

    /// Applies a draft to an identity that [`prepare`](Self::prepare) or
    /// [`revise_own`](Self::revise_own) built and nothing stored yet, as
    /// [`update`](Self::update) would to a stored one. What changes is
    /// stamped with the time the identity was built.
    pub async fn revise_unsaved(
        &self,
        identity: Identity,
        draft: IdentityDraft,
    ) -> Result<Identity, IdentityError> {
        let built_at = identity.updated_at;
        self.assemble(Some(identity), draft, built_at).await
    }

    /// Stores an identity that [`prepare`](Self::prepare) built.
    pub async fn insert(&self, identity: Identity) -> Result<Identity, IdentityError> {
        let identity = self.stamped(&identity);
        self.store.create(&identity).await?;
        Ok(identity)
    }

    /// Reads an identity.
    pub async fn get(&self, id: Uuid) -> Result<Identity, IdentityError> {
        self.store.get(id).await?.ok_or(IdentityError::NotFound)
    }

    /// Reads an identity by external id.
    pub async fn get_by_external_id(&self, external_id: &str) -> Result<Identity, IdentityError> {
        self.store
            .get_by_external_id(external_id)
            .await?
            .ok_or(IdentityError::NotFound)
    }

    /// Lists identities.
    pub async fn list(&self, query: &IdentityQuery) -> Result<IdentityPage, IdentityError> {
        Ok(self.store.list(query).await?)
    }

    /// Replaces an identity's traits, state and metadata, importing any
    /// credentials the draft carries and keeping the others.
    pub async fn update(&self, id: Uuid, draft: IdentityDraft) -> Result<Identity, IdentityError> {
        let current = self.get(id).await?;
        let identity = self
            .assemble(Some(current), draft, self.clock.now())
            .await?;
        let identity = self.stamped(&identity);
        self.store.update(&identity).await?;
        Ok(identity)
    }

    /// A self-service change built on the stored identity without storing
    /// it: new traits and/or a new password, everything else (state,
    /// metadata, other credentials, address states) kept. [`save`](Self::save)
    /// stores it.
    pub async fn revise_own(
        &self,
        id: Uuid,
        traits: Option<Value>,
        password: Option<String>,
    ) -> Result<Identity, IdentityError> {
        let current = self.get(id).await?;
        let draft = IdentityDraft {
            schema_id: Some(current.schema_id.clone()),
            traits: traits.unwrap_or_else(|| current.traits.clone()),
            state: Some(current.state),
            metadata_public: current.metadata_public.clone(),
            metadata_admin: current.metadata_admin.clone(),
            external_id: current.external_id.clone(),
            organization_id: current.organization_id,
            credentials: CredentialsImport {
                password: password.map(|password| PasswordImport {
                    password: Some(password),
                    ..PasswordImport::default()
                }),
                ..CredentialsImport::default()
            },
            ..IdentityDraft::default()
        };
        self.assemble(Some(current), draft, self.clock.now()).await
    }

    /// Replaces one credential's config while it still is `expected` (a
    /// one-time secret consumed): false when another change came first.
    pub async fn swap_credential_config(
        &self,
        id: Uuid,
        kind: CredentialType,
        expected: &Value,
        new: &Value,
    ) -> Result<bool, IdentityError> {
        let swap = ConfigSwap {
            identity_id: id,
            kind,
            expected,
            new,
            now: self.clock.now(),
        };
        Ok(self.store.swap_credential_config(&swap).await?)
    }

    /// Stores a change that [`revise_own`](Self::revise_own) built.
    pub async fn save(&self, identity: Identity) -> Result<Identity, IdentityError> {
        let identity = self.stamped(&identity);
        self.store.update(&identity).await?;
        Ok(identity)
    }

    /// Deletes an identity.
    pub async fn delete(&self, id: Uuid) -> Result<(), IdentityError> {
        if self.store.delete(id).await? {
            Ok(())
        } else {
            Err(IdentityError::NotFound)
        }
    }

    /// `identity` with provider accounts linked (its `kind` credential made
    /// when it has none), not stored: [`save`](Self::save) stores it, and
    /// refuses a link another identity has.
    pub async fn with_links(
        &self,
        mut identity: Identity,
        kind: CredentialType,
        links: Vec<ProviderLink>,
    ) -> Result<Identity, IdentityError> {
        let now = self.clock.now();
        let import = match kind {
            CredentialType::Saml => CredentialsImport {
                saml: links,
                ..CredentialsImport::default()
            },
            _ => CredentialsImport {
                oidc: links,
                ..CredentialsImport::default()
            },
        };
        self.import_credentials(&mut identity, &import, now).await?;
        identity.updated_at = now;
        Ok(identity)
    }

    /// `identity` without the provider link `identifier` (`<provider>:<subject>`)
    /// of its `kind` credential, not stored; `None` when it has no such link.
    pub fn without_link(
        &self,
        mut identity: Identity,
        kind: CredentialType,
        identifier: &str,
    ) -> Option<Identity> {
        let credential = identity.credentials.get_mut(&kind)?;
        if !remove_provider_link(credential, identifier) {
            return None;
        }
        if credential.identifiers.is_empty() {
            identity.credentials.remove(&kind);
        }
        identity.updated_at = self.clock.now();
        Some(identity)
    }

    /// Deletes one credential of an identity; for `oidc` and `saml` only the
    /// provider link named by `identifier`.
    pub async fn delete_credential(
        &self,
        id: Uuid,
        kind: CredentialType,
        identifier: Option<&str>,
    ) -> Result<Identity, IdentityError> {
        if matches!(kind, CredentialType::Code | CredentialType::Passkey) {
            return Err(IdentityError::BadRequest(format!(
                "credentials of type {kind} cannot be deleted through this API"
            )));
        }
        let mut identity = self.get(id).await?;
        let Some(credential) = identity.credentials.get_mut(&kind) else {
            return Err(IdentityError::NotFound);
        };
        if matches!(kind, CredentialType::Oidc | CredentialType::Saml) {
            let identifier = identifier.filter(|i| !i.is_empty()).ok_or_else(|| {
                IdentityError::BadRequest(format!(
                    "the identifier query parameter is required to delete {kind} credentials"
                ))
            })?;
            if !remove_provider_link(credential, identifier) {
                return Err(IdentityError::NotFound);
            }
            if credential.identifiers.is_empty() {
                identity.credentials.remove(&kind);
            }
        } else {
            identity.credentials.remove(&kind);
        }
        identity.updated_at = self.clock.now();
        let identity = self.stamped(&identity);
        self.store.update(&identity).await?;
        Ok(identity)
    }

    /// Rebuilds a stored identity from a draft as [`update`](Self::update)
    /// would (traits validated against the draft's schema, identifiers and
    /// addresses derived), without storing it.
    pub(super) async fn rebuild(
        &self,
        current: Identity,
        draft: IdentityDraft,
    ) -> Result<Identity, IdentityError> {
        self.assemble(Some(current), draft, self.clock.now()).await
    }

    /// Builds the full aggregate from a draft, on top of `base` when
    /// updating; what changes is stamped with `now`.
    async fn assemble(
        &self,
        base: Option<Identity>,
        draft: IdentityDraft,
        now: DateTime<Utc>,
    ) -> Result<Identity, IdentityError> {
        let registry = self.schemas.current();
        let schema_id = draft
            .schema_id
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| base.as_ref().map(|b| b.schema_id.clone()))
            .unwrap_or_else(|| registry.default_id().to_owned());
        let schema = registry
            .get(&schema_id)
            .ok_or_else(|| IdentityError::UnknownSchema(schema_id.clone()))?;
        let traits = match draft.traits {
            Value::Null => json!({}),
            other => other,
        };
        schema
            .validate_traits(&traits)
            .map_err(IdentityError::InvalidTraits)?;
        let marked = schema.mark(&traits);

        let mut identity =
            base.unwrap_or_else(|| Identity::new(schema_id.clone(), Value::Null, now));
        identity.schema_id = schema_id;
        identity.traits = traits;
        if let Some(state) = draft.state
            && state != identity.state
        {
            identity.state = state;
            identity.state_changed_at = Some(now);
        }
        identity.metadata_public = draft.metadata_public.filter(|v| !v.is_null());
        identity.metadata_admin = draft.metadata_admin.filter(|v| !v.is_null());
        if let Some(external_id) = draft.external_id.filter(|e| !e.is_empty()) {
            identity.external_id = Some(external_id);
        }
        if draft.organization_id.is_some() {
            identity.organization_id = draft.organization_id;
        }
        identity.updated_at = now;

        self.import_credentials(&mut identity, &draft.credentials, now)
            .await?;
        apply_marked_identifiers(&mut identity, &marked.identifiers, now);
        identity.verifiable_addresses = merge_verifiable(
            &identity.verifiable_addresses,
            &marked.verifiable,
            &draft.verifiable_addresses,
            now,
        );
        identity.recovery_addresses =
            merge_recovery(&identity.recovery_addresses, &marked.recovery, now);
        Ok(identity)
    }

    async fn import_credentials(
        &self,
        identity: &mut Identity,
        import: &super::input::CredentialsImport,
        now: DateTime<Utc>,
    ) -> Result<(), IdentityError> {
        if let Some(password) = &import.password {
            let mut config = serde_json::Map::new();
            if let Some(hashed) = password
                .hashed_password
                .as_deref()
                .filter(|h| !h.is_empty())
            {
                if !self.hasher.is_supported(hashed) {
                    return Err(IdentityError::BadRequest(
                        "credentials.password.config.hashed_password: the hash format is not supported"
                            .into(),
                    ));
                }
                config.insert("hashed_password".into(), Value::String(hashed.to_owned()));
            } else if let Some(clear) = password.password.as_deref().filter(|p| !p.is_empty()) {
                let hashed = self.hasher.hash(clear).await.map_err(|e| match e {
                    HashFailure::Busy => IdentityError::Busy,
                    HashFailure::Failed(reason) => IdentityError::BadRequest(format!(
                        "credentials.password.config.password: {reason}"
                    )),
                })?;
                config.insert("hashed_password".into(), Value::String(hashed));
            }
            if password.use_password_migration_hook {
                config.insert("use_password_migration_hook".into(), Value::Bool(true));
            }
            let credential = credential_entry(identity, CredentialType::Password, now);
            credential.config = Value::Object(config);
            credential.version = PASSWORD_VERSION;
            credential.updated_at = now;
        }
        for (kind, links) in [
            (CredentialType::Oidc, &import.oidc),
            (CredentialType::Saml, &import.saml),
        ] {
            if links.is_empty() {
                continue;
            }
            let credential = credential_entry(identity, kind, now);
            let mut providers = credential
                .config
                .get("providers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for link in links {
                let identifier = format!("{}:{}", link.provider, link.subject);
                if providers
                    .iter()
                    .any(|p| provider_identifier(p).as_deref() == Some(&identifier))
                {
                    continue;
                }
                providers.push(provider_config(link));
                credential.identifiers.push(identifier);
            }
            credential.config = json!({ "providers": providers });
            credential.updated_at = now;
        }
        for (kind, config) in &import.raw {
            let converter = self.converter.as_ref().ok_or_else(|| {
                IdentityError::BadRequest(format!(
                    "credentials.{kind}: credentials of this type cannot be imported by this server"
                ))
            })?;
            let converted = converter
                .convert(*kind, config, now)
                .map_err(IdentityError::BadRequest)?;
            let id = identity.id.to_string();
            let credential = credential_entry(identity, *kind, now);
            credential.config = converted.config;
            if let Some(identifiers) = converted.identifiers {
                credential.identifiers = identifiers;
            } else if matches!(kind, CredentialType::Totp | CredentialType::LookupSecret) {
                credential.identifiers = vec![id];
            }
            credential.updated_at = now;
        }
        Ok(())
    }
}

fn provider_config(link: &ProviderLink) -> Value {
    let mut entry = json!({
        "subject": link.subject,
        "provider": link.provider,
        "initial_id_token": "",
        "initial_access_token": "",
        "initial_refresh_token": "",
    });
    if let (Some(organization), Some(map)) = (&link.organization, entry.as_object_mut()) {
        map.insert("organization".into(), Value::String(organization.clone()));
    }
    entry
}

/// Removes the provider link `identifier` from a credential's identifiers
/// and config; false when it has no such link.
fn remove_provider_link(credential: &mut Credential, identifier: &str) -> bool {
    if !credential.identifiers.iter().any(|i| i == identifier) {
        return false;
    }
    credential.identifiers.retain(|i| i != identifier);
    if let Some(providers) = credential
        .config
        .get_mut("providers")
        .and_then(Value::as_array_mut)
    {
        providers.retain(|p| provider_identifier(p).as_deref() != Some(identifier));
    }
    true
}

fn provider_identifier(provider: &Value) -> Option<String> {
    Some(format!(
        "{}:{}",
        provider.get("provider")?.as_str()?,
        provider.get("subject")?.as_str()?
    ))
}

fn credential_entry(
    identity: &mut Identity,
    kind: CredentialType,
    now: DateTime<Utc>,
) -> &mut Credential {
    identity
        .credentials
        .entry(kind)
        .or_insert_with(|| Credential {
            id: Uuid::new_v4(),
            kind,
            identifiers: Vec::new(),
            config: json!({}),
            version: 0,
            created_at: now,
            updated_at: now,
        })
}

/// Credential types whose identifiers come from the traits through the schema.
const SCHEMA_DRIVEN: [CredentialType; 3] = [
    CredentialType::Password,
    CredentialType::Webauthn,
    CredentialType::Code,
];

fn apply_marked_identifiers(
    identity: &mut Identity,
    marked: &BTreeMap<CredentialType, Vec<String>>,
    now: DateTime<Utc>,
) {
    for kind in SCHEMA_DRIVEN {
        let identifiers = marked.get(&kind).cloned().unwrap_or_default();
        if identifiers.is_empty() {
            if let Some(credential) = identity.credentials.get_mut(&kind) {
                credential.identifiers.clear();
            }
            continue;
        }
        let created = !identity.credentials.contains_key(&kind);
        let credential = credential_entry(identity, kind, now);
        if created {
            credential.version = match kind {
                CredentialType::Password => PASSWORD_VERSION,
                CredentialType::Code => CODE_VERSION,
                _ => 1,
            };
        }
        if kind == CredentialType::Code {
            let addresses: Vec<Value> = identifiers
                .iter()
                .map(|address| {
                    let channel = if address.contains('@') {
                        "email"
                    } else {
                        "sms"
                    };
                    json!({ "channel": channel, "address": address })
                })
                .collect();
            credential.config = json!({ "addresses": addresses });
        }
        if credential.identifiers != identifiers {
            credential.identifiers = identifiers;
            credential.updated_at = now;
        }
    }
}

fn merge_verifiable(
    existing: &[VerifiableAddress],
    marked: &[(String, String)],
    imported: &[AddressImport],
    now: DateTime<Utc>,
) -> Vec<VerifiableAddress> {
    marked
        .iter()
        .map(|(via, value)| {
            let mut address = existing
                .iter()
                .find(|a| &a.via == via && &a.value == value)
                .cloned()
                .unwrap_or_else(|| VerifiableAddress {
                    id: Uuid::new_v4(),
                    value: value.clone(),
                    verified: false,
                    via: via.clone(),
                    status: "pending".into(),
                    verified_at: None,
                    created_at: now,
                    updated_at: now,
                });
            let normalized =
                |a: &AddressImport| crate::schema::extension::normalize_address(&a.via, &a.value);
            if let Some(import) = imported
                .iter()
                .find(|a| &a.via == via && &normalized(a) == value)
            {
                if import.verified && !address.verified {
                    address.verified_at = Some(now);
                }
                if !import.verified {
                    address.verified_at = None;
                }
                address.verified = import.verified;
                address.status = import.status.clone().unwrap_or_else(|| {
                    if import.verified {
                        "completed"
                    } else {
                        "pending"
                    }
                    .into()
                });
                address.updated_at = now;
            }
            address
        })
        .collect()
}

fn merge_recovery(
    existing: &[RecoveryAddress],
    marked: &[(String, String)],
    now: DateTime<Utc>,
) -> Vec<RecoveryAddress> {
    marked
        .iter()
        .map(|(via, value)| {
            existing
                .iter()
                .find(|a| &a.via == via && &a.value == value)
                .cloned()
                .unwrap_or_else(|| RecoveryAddress {
                    id: Uuid::new_v4(),
                    value: value.clone(),
                    via: via.clone(),
                    created_at: now,
                    updated_at: now,
                })
        })
        .collect()
}
