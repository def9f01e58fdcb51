//! Kratos's JSON shapes for identities, and their conversion to and from the domain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::ApiError;
use crate::identity::{
    AddressImport, Credential, CredentialType, CredentialsImport, Identity, IdentityDraft,
    PasswordImport, ProviderLink, State,
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
    let credentials = view.credentials.then(|| {
        identity
            .credentials
            .values()
            .map(|c| {
                (
                    c.kind.as_str().to_owned(),
                    credential_json(c, view.include_config.contains(&c.kind)),
                )
            })
            .collect()
    });
    IdentityJson {
        id: identity.id,
        credentials,
        schema_id: identity.schema_id.clone(),
        schema_url: format!("{public_base_url}schemas/{}", path_id(&identity.schema_id)),
        state: identity.state.as_str().to_owned(),
        state_changed_at: identity.state_changed_at.map(time::format),
        traits: identity.traits.clone(),
        verifiable_addresses: identity
            .verifiable_addresses
            .iter()
            .map(|a| VerifiableAddressJson {
                id: Some(a.id),
                value: a.value.clone(),
                verified: a.verified,
                via: a.via.clone(),
                status: Some(a.status.clone()),
                verified_at: a.verified_at.map(time::format),
                created_at: Some(time::format(a.created_at)),
                updated_at: Some(time::format(a.updated_at)),
            })
            .collect(),
        recovery_addresses: identity
            .recovery_addresses
            .iter()
            .map(|a| RecoveryAddressJson {
                id: Some(a.id),
                value: a.value.clone(),
                via: a.via.clone(),
                created_at: Some(time::format(a.created_at)),
                updated_at: Some(time::format(a.updated_at)),
            })
            .collect(),
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
    /// Public metadata.
    #[serde(default)]
    pub metadata_public: Option<Value>,
    /// Admin metadata.
    #[serde(default)]
    pub metadata_admin: Option<Value>,
    /// External id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Organization.
    #[serde(default)]
    pub organization_id: Option<Uuid>,
    /// Credentials to import.
    #[serde(default)]
    pub credentials: Option<Map<String, Value>>,
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

/// Parses `state`.
pub fn parse_state(state: Option<&str>) -> Result<Option<State>, ApiError> {
    state
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<State>()
                .map_err(|e| ApiError::bad_request(format!("state: {e}")))
        })
        .transpose()
}

impl CreateIdentityBody {
    /// Converts to a domain draft, checking credential types and shapes.
    pub fn into_draft(self) -> Result<IdentityDraft, ApiError> {
        Ok(IdentityDraft {
            schema_id: self.schema_id,
            traits: self.traits,
            state: parse_state(self.state.as_deref())?,
            metadata_public: self.metadata_public,
            metadata_admin: self.metadata_admin,
            external_id: self.external_id,
            organization_id: self.organization_id,
            credentials: credentials_import(self.credentials)?,
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
        })
    }
}

impl UpdateIdentityBody {
    /// Converts to a domain draft; `state` and `traits` are required as in Kratos.
    pub fn into_draft(self) -> Result<IdentityDraft, ApiError> {
        let state = parse_state(self.state.as_deref())?
            .ok_or_else(|| ApiError::bad_request("state: this field is required"))?;
        let traits = self
            .traits
            .ok_or_else(|| ApiError::bad_request("traits: this field is required"))?;
        Ok(IdentityDraft {
            schema_id: self.schema_id,
            traits,
            state: Some(state),
            metadata_public: self.metadata_public,
            metadata_admin: self.metadata_admin,
            external_id: self.external_id,
            organization_id: None,
            credentials: credentials_import(self.credentials)?,
            verifiable_addresses: Vec::new(),
            recovery_addresses: Vec::new(),
        })
    }
}

fn credentials_import(body: Option<Map<String, Value>>) -> Result<CredentialsImport, ApiError> {
    let mut import = CredentialsImport::default();
    for (name, value) in body.unwrap_or_default() {
        let kind: CredentialType = name.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "credentials.{name}: unknown credential type; expected one of password, oidc, \
                 saml, totp, lookup_secret, webauthn, passkey"
            ))
        })?;
        if value.is_null() {
            continue;
        }
        let config = value.get("config").cloned().unwrap_or(Value::Null);
        match kind {
            CredentialType::Password => {
                let field = |key: &str| -> Result<Option<String>, ApiError> {
                    match config.get(key) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s.clone())),
                        Some(_) => Err(ApiError::bad_request(format!(
                            "credentials.password.config.{key}: must be a string"
                        ))),
                    }
                };
                import.password = Some(PasswordImport {
                    password: field("password")?,
                    hashed_password: field("hashed_password")?,
                    use_password_migration_hook: config
                        .get("use_password_migration_hook")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                });
            }
            CredentialType::Oidc | CredentialType::Saml => {
                let links = provider_links(&name, &config)?;
                if kind == CredentialType::Oidc {
                    import.oidc = links;
                } else {
                    import.saml = links;
                }
            }
            CredentialType::Code => {
                return Err(ApiError::bad_request(
                    "credentials.code: code credentials are derived from the traits and cannot be imported",
                ));
            }
            other => {
                if !config.is_object() {
                    return Err(ApiError::bad_request(format!(
                        "credentials.{name}.config: must be an object"
                    )));
                }
                import.raw.insert(other, config);
            }
        }
    }
    Ok(import)
}

fn provider_links(name: &str, config: &Value) -> Result<Vec<ProviderLink>, ApiError> {
    let providers = config
        .get("providers")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
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
                _ => Err(ApiError::bad_request(format!(
                    "credentials.{name}.config.providers.{n}: provider and subject are required"
                ))),
            }
        })
        .collect()
}
