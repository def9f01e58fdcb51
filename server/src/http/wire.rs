//! Kratos's JSON shapes for identities, and their conversion to and from the domain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::error::ApiError;
use crate::identity::{
    AddressImport, BatchEntry, BatchResult, Credential, CredentialType, CredentialsImport,
    Identity, IdentityDraft, IdentityError, PasswordImport, ProviderLink, RecoveryAddress, State,
    VerifiableAddress,
};
use crate::schema::path_id;
use crate::time;

/// An identity as the API sends it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(as = Identity)]
pub struct IdentityJson {
    /// Id.
    pub id: Uuid,
    /// Credentials by type (admin views only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<BTreeMap<String, CredentialJson>>,
    /// Schema id.
    pub schema_id: String,
    /// Where the schema can be fetched.
    pub schema_url: String,
    /// `active` or `inactive`.
    pub state: String,
    /// When the state last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_changed_at: Option<String>,
    /// Traits.
    pub traits: Value,
    /// Verifiable addresses.
    #[serde(default)]
    pub verifiable_addresses: Vec<VerifiableAddressJson>,
    /// Recovery addresses.
    #[serde(default)]
    pub recovery_addresses: Vec<RecoveryAddressJson>,
    /// Public metadata.
    #[serde(default)]
    pub metadata_public: Value,
    /// Admin metadata (admin views only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_admin: Option<Value>,
    /// External id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Organization.
    #[serde(default)]
    pub organization_id: Option<Uuid>,
}

/// A credential as the API sends it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(as = IdentityCredential)]
pub struct CredentialJson {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Identifiers.
    pub identifiers: Vec<String>,
    /// Configuration, only when asked for with `include_credential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// Layout version.
    pub version: i64,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// A verifiable address as the API sends and accepts it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(as = VerifiableAddress)]
pub struct VerifiableAddressJson {
    /// Id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The address.
    pub value: String,
    /// Verified or not.
    #[serde(default)]
    pub verified: bool,
    /// `email` or `sms`.
    pub via: String,
    /// Verification status.
    #[serde(default)]
    pub status: Option<String>,
    /// When it was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

impl From<VerifiableAddressJson> for AddressImport {
    fn from(address: VerifiableAddressJson) -> Self {
        AddressImport {
            value: address.value,
            via: address.via,
            verified: address.verified,
            status: address.status,
        }
    }
}

/// A recovery address as the API sends and accepts it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(as = RecoveryAddress)]
pub struct RecoveryAddressJson {
    /// Id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The address.
    pub value: String,
    /// `email` or `sms`.
    pub via: String,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// Which parts of an identity a response shows.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Show credentials (without their configuration).
    pub credentials: bool,
    /// Credential types whose configuration is shown too.
    pub include_config: Vec<CredentialType>,
    /// Show admin metadata.
    pub admin: bool,
}

impl View {
    /// The admin view of one identity: credentials without secrets, admin metadata.
    pub fn admin() -> Self {
        Self {
            credentials: true,
            include_config: Vec::new(),
            admin: true,
        }
    }
}

/// Renders an identity for the API.
pub fn identity_json(identity: &Identity, public_base_url: &str, view: &View) -> IdentityJson {
    IdentityJson {
        id: identity.id,
        credentials: view.credentials.then(|| credentials_json(identity, view)),
        schema_id: identity.schema_id.clone(),
        schema_url: format!("{public_base_url}schemas/{}", path_id(&identity.schema_id)),
        state: identity.state.as_str().to_owned(),
        state_changed_at: identity.state_changed_at.map(time::format),
        traits: identity.traits.clone(),
        verifiable_addresses: identity
            .verifiable_addresses
            .iter()
            .map(Into::into)
            .collect(),
        recovery_addresses: identity.recovery_addresses.iter().map(Into::into).collect(),
        metadata_public: identity.metadata_public.clone().unwrap_or(Value::Null),
        metadata_admin: view
            .admin
            .then(|| identity.metadata_admin.clone().unwrap_or(Value::Null)),
        external_id: identity.external_id.clone(),
        created_at: time::format(identity.created_at),
        updated_at: time::format(identity.updated_at),
        organization_id: identity.organization_id,
    }
}

impl From<&VerifiableAddress> for VerifiableAddressJson {
    fn from(address: &VerifiableAddress) -> Self {
        Self {
            id: Some(address.id),
            value: address.value.clone(),
            verified: address.verified,
            via: address.via.clone(),
            status: Some(address.status.clone()),
            verified_at: address.verified_at.map(time::format),
            created_at: Some(time::format(address.created_at)),
            updated_at: Some(time::format(address.updated_at)),
        }
    }
}

impl From<&RecoveryAddress> for RecoveryAddressJson {
    fn from(address: &RecoveryAddress) -> Self {
        Self {
            id: Some(address.id),
            value: address.value.clone(),
            via: address.via.clone(),
            created_at: Some(time::format(address.created_at)),
            updated_at: Some(time::format(address.updated_at)),
        }
    }
}

fn credentials_json(identity: &Identity, view: &View) -> BTreeMap<String, CredentialJson> {
    identity
        .credentials
        .values()
        .map(|c| {
            let with_config = view.include_config.contains(&c.kind);
            (c.kind.as_str().to_owned(), credential_json(c, with_config))
        })
        .collect()
}

fn credential_json(credential: &Credential, with_config: bool) -> CredentialJson {
    CredentialJson {
        kind: credential.kind.as_str().to_owned(),
        identifiers: credential.identifiers.clone(),
        config: with_config.then(|| credential.config.clone()),
        version: credential.version,
        created_at: time::format(credential.created_at),
        updated_at: time::format(credential.updated_at),
    }
}

/// The body of `POST /admin/identities` (and of each batch create).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CreateIdentityBody {
    /// Schema id.
    #[serde(default)]
    pub schema_id: Option<String>,
    /// Traits.
    #[serde(default)]
    pub traits: Value,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// Organization.
    #[serde(default)]
    pub organization_id: Option<Uuid>,
    /// Metadata, external id and credentials.
    #[serde(flatten)]
    pub extras: IdentityExtras,
    /// Verifiable addresses with their state.
    #[serde(default)]
    pub verifiable_addresses: Option<Vec<VerifiableAddressJson>>,
    /// Recovery addresses.
    #[serde(default)]
    pub recovery_addresses: Option<Vec<RecoveryAddressJson>>,
}

/// The body of `PUT /admin/identities/{id}`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct UpdateIdentityBody {
    /// Schema id (unchanged when absent).
    #[serde(default)]
    pub schema_id: Option<String>,
    /// Traits (required).
    #[serde(default)]
    #[schema(required = true, value_type = Object)]
    pub traits: Option<Value>,
    /// State (required): `active` or `inactive`.
    #[serde(default)]
    #[schema(required = true, value_type = String)]
    pub state: Option<String>,
    /// Metadata, external id and credentials.
    #[serde(flatten)]
    pub extras: IdentityExtras,
}

/// What creating and replacing an identity both carry besides its schema,
/// traits and state.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct IdentityExtras {
    /// Public metadata.
    #[serde(default)]
    pub metadata_public: Option<Value>,
    /// Admin metadata.
    #[serde(default)]
    pub metadata_admin: Option<Value>,
    /// External id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Credentials to import.
    #[serde(default)]
    pub credentials: Option<Map<String, Value>>,
}

impl IdentityExtras {
    /// `draft` with these fields.
    fn fill(self, draft: IdentityDraft) -> Result<IdentityDraft, IdentityError> {
        Ok(IdentityDraft {
            metadata_public: self.metadata_public,
            metadata_admin: self.metadata_admin,
            external_id: self.external_id,
            credentials: credentials_import(self.credentials)?,
            ..draft
        })
    }
}

/// A request the identity service refuses as malformed: conversions from
/// the wire fail the way the service's own checks do.
fn bad_request(reason: impl Into<String>) -> IdentityError {
    IdentityError::BadRequest(reason.into())
}

/// Parses `state`.
pub fn parse_state(state: Option<&str>) -> Result<Option<State>, IdentityError> {
    state
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<State>()
                .map_err(|e| bad_request(format!("state: {e}")))
        })
        .transpose()
}

impl CreateIdentityBody {
    /// Converts to a domain draft, checking credential types and shapes.
    pub fn into_draft(self) -> Result<IdentityDraft, IdentityError> {
        let draft = IdentityDraft {
            schema_id: self.schema_id,
            traits: self.traits,
            state: parse_state(self.state.as_deref())?,
            organization_id: self.organization_id,
            verifiable_addresses: self
                .verifiable_addresses
                .unwrap_or_default()
                .into_iter()
                .map(AddressImport::from)
                .collect(),
            recovery_addresses: self
                .recovery_addresses
                .unwrap_or_default()
                .into_iter()
                .map(|a| AddressImport {
                    value: a.value,
                    via: a.via,
                    verified: false,
                    status: None,
                })
                .collect(),
            ..IdentityDraft::default()
        };
        self.extras.fill(draft)
    }
}

impl UpdateIdentityBody {
    /// Converts to a domain draft; `state` and `traits` are required as in Kratos.
    pub fn into_draft(self) -> Result<IdentityDraft, IdentityError> {
        let state = parse_state(self.state.as_deref())?
            .ok_or_else(|| bad_request("state: this field is required"))?;
        let traits = self
            .traits
            .ok_or_else(|| bad_request("traits: this field is required"))?;
        let draft = IdentityDraft {
            schema_id: self.schema_id,
            traits,
            state: Some(state),
            ..IdentityDraft::default()
        };
        self.extras.fill(draft)
    }
}

fn credentials_import(
    body: Option<Map<String, Value>>,
) -> Result<CredentialsImport, IdentityError> {
    let mut import = CredentialsImport::default();
    for (name, value) in body.unwrap_or_default() {
        let kind: CredentialType = name.parse().map_err(|_| {
            bad_request(format!(
                "credentials.{name}: unknown credential type; expected one of password, oidc, \
                 saml, totp, lookup_secret, webauthn, passkey"
            ))
        })?;
        if !value.is_null() {
            let config = value.get("config").cloned().unwrap_or(Value::Null);
            import_credential(&mut import, kind, &name, config)?;
        }
    }
    Ok(import)
}

/// Adds one credential's configuration to an import.
fn import_credential(
    import: &mut CredentialsImport,
    kind: CredentialType,
    name: &str,
    config: Value,
) -> Result<(), IdentityError> {
    match kind {
        CredentialType::Password => import.password = Some(password_import(&config)?),
        CredentialType::Oidc => import.oidc = provider_links(name, &config)?,
        CredentialType::Saml => import.saml = provider_links(name, &config)?,
        CredentialType::Code => {
            return Err(bad_request(
                "credentials.code: code credentials are derived from the traits and cannot be imported",
            ));
        }
        _ if !config.is_object() => {
            return Err(bad_request(format!(
                "credentials.{name}.config: must be an object"
            )));
        }
        other => {
            import.raw.insert(other, config);
        }
    }
    Ok(())
}

fn password_import(config: &Value) -> Result<PasswordImport, IdentityError> {
    let field = |key: &str| match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad_request(format!(
            "credentials.password.config.{key}: must be a string"
        ))),
    };
    Ok(PasswordImport {
        password: field("password")?,
        hashed_password: field("hashed_password")?,
        use_password_migration_hook: config
            .get("use_password_migration_hook")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn provider_links(name: &str, config: &Value) -> Result<Vec<ProviderLink>, IdentityError> {
    let providers = config
        .get("providers")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad_request(format!(
                "credentials.{name}.config.providers: must be a list"
            ))
        })?;
    providers
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let text = |key: &str| {
                p.get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            match (text("provider"), text("subject")) {
                (Some(provider), Some(subject)) => Ok(ProviderLink {
                    provider,
                    subject,
                    organization: text("organization"),
                }),
                _ => Err(bad_request(format!(
                    "credentials.{name}.config.providers.{n}: provider and subject are required"
                ))),
            }
        })
        .collect()
}

/// The fields of an identity's API document a JSON Patch may change, read
/// back after the patch.
#[derive(Debug, Deserialize)]
pub struct PatchedIdentity {
    schema_id: Option<String>,
    #[serde(default)]
    traits: Value,
    state: Option<String>,
    #[serde(default)]
    metadata_public: Option<Value>,
    #[serde(default)]
    metadata_admin: Option<Value>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    organization_id: Option<Uuid>,
    #[serde(default)]
    verifiable_addresses: Vec<VerifiableAddressJson>,
}

impl PatchedIdentity {
    /// Converts to a domain draft that replaces the identity: what a create
    /// body with these fields would be, without credentials or recovery
    /// addresses (those follow the traits).
    pub fn into_draft(self) -> Result<IdentityDraft, IdentityError> {
        let body = CreateIdentityBody {
            schema_id: self.schema_id,
            traits: self.traits,
            state: self.state,
            organization_id: self.organization_id,
            verifiable_addresses: Some(self.verifiable_addresses),
            extras: IdentityExtras {
                metadata_public: self.metadata_public,
                metadata_admin: self.metadata_admin,
                external_id: self.external_id,
                credentials: None,
            },
            ..CreateIdentityBody::default()
        };
        body.into_draft()
    }
}

/// One entry of `PATCH /admin/identities`.
#[derive(Debug, Deserialize)]
pub struct BatchEntryJson {
    create: Option<CreateIdentityBody>,
    patch_id: Option<Uuid>,
}

/// The body of `PATCH /admin/identities`.
#[derive(Debug, Deserialize)]
pub struct BatchBody {
    identities: Vec<BatchEntryJson>,
}

impl BatchBody {
    /// The entries as the identity service takes them; an entry that cannot
    /// be read fails on its own.
    pub fn into_entries(self) -> Vec<BatchEntry> {
        self.identities
            .into_iter()
            .map(|entry| BatchEntry {
                patch_id: entry.patch_id,
                create: entry.create.map(CreateIdentityBody::into_draft),
            })
            .collect()
    }
}

/// The answer to `PATCH /admin/identities`: for each entry the identity it
/// created or its error, in Kratos's error shape.
pub fn batch_json(results: Vec<BatchResult>) -> Value {
    let results: Vec<Value> = results.into_iter().map(batch_result_json).collect();
    json!({ "identities": results })
}

fn batch_result_json(result: BatchResult) -> Value {
    let mut entry = Map::new();
    if let Some(patch_id) = result.patch_id {
        entry.insert("patch_id".into(), json!(patch_id));
    }
    match result.outcome {
        Ok(id) => {
            entry.insert("action".into(), json!("create"));
            entry.insert("identity".into(), json!(id));
        }
        Err(error) => {
            entry.insert("action".into(), json!("error"));
            entry.insert(
                "error".into(),
                ApiError::from(error).body()["error"].clone(),
            );
        }
    }
    Value::Object(entry)
}
