//! Authentication methods, one module each, plugged into the flow machine.

mod code;
mod import;
mod lookup;
mod oidc;
mod password;
mod profile;
mod second_factor;
mod totp;
mod webauthn;

pub use code::{CodeMethod, CodeSettings};
pub use import::SecondFactorImport;
pub use lookup::{LookupMethod, LookupSettings};
pub use oidc::{OidcConfigError, OidcMethod, open_tokens};
pub use password::{PasswordMethod, PasswordSettings};
pub use profile::ProfileMethod;
pub use totp::{TotpMethod, TotpSettings};
pub use webauthn::{
    KeySettings, PasskeyMethod, RelyingParty, RelyingPartyError, WebauthnMethod,
    script as webauthn_script,
};

use serde_json::Value;

/// The login or registration flow an OpenID Connect state names, for the
/// provider callback to find it (the secret is checked by the method).
pub fn oidc_state(state: &str) -> Option<(crate::flow::FlowKind, Uuid)> {
    oidc::parse_state(state).map(|(kind, id, _)| (kind, id))
}
use uuid::Uuid;

use crate::flow::{Flow, MethodError, PrePersist};
use crate::identity::{Identity, IdentityDraft, IdentityService};

/// A settings change of the identity's own traits and/or password: built on
/// the stored identity, passed through the flow machine's hooks, stored.
async fn save_own_change(
    identities: &IdentityService,
    id: Uuid,
    traits: Option<Value>,
    password: Option<String>,
    pre_persist: &dyn PrePersist,
) -> Result<Identity, MethodError> {
    let changed = identities
        .revise_own(id, traits, password)
        .await
        .map_err(MethodError::refused_write)?;
    second_factor::save(identities, changed, pre_persist).await
}

/// A new identity from `draft` on the registration flow's identity schema,
/// validated against it, not stored.
async fn prepare(
    identities: &IdentityService,
    flow: &Flow,
    mut draft: IdentityDraft,
) -> Result<Identity, MethodError> {
    draft.schema_id = flow.identity_schema().map(str::to_owned);
    identities
        .prepare(draft)
        .await
        .map_err(MethodError::refused_write)
}

/// Runs the registration flow's pre-persist hooks on a new identity and
/// stores what they return.
async fn insert_new(
    identities: &IdentityService,
    identity: Identity,
    pre_persist: &dyn PrePersist,
) -> Result<Identity, MethodError> {
    let identity = pre_persist.run(identity).await?;
    identities
        .insert(identity)
        .await
        .map_err(MethodError::refused_write)
}

/// The name an authenticator lists the account under: its first password or
/// code identifier, else its id.
fn account_name(identity: &Identity) -> String {
    use crate::identity::CredentialType;
    [CredentialType::Password, CredentialType::Code]
        .iter()
        .filter_map(|kind| identity.credentials.get(kind))
        .find_map(|c| c.identifiers.first().cloned())
        .unwrap_or_else(|| identity.id.to_string())
}
