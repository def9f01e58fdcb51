//! Authentication methods, one module each, plugged into the flow machine.

mod code;
mod lookup;
mod oidc;
mod password;
mod profile;
mod second_factor;
mod totp;
mod traits;
mod webauthn;

pub use code::{CodeMethod, CodeSettings};
pub use lookup::{LookupMethod, LookupSettings};
pub use oidc::{OidcConfigError, OidcMethod};
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

use crate::flow::{MethodError, PrePersist};
use crate::identity::{Identity, IdentityService};

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
    let changed = pre_persist.run(changed).await?;
    identities
        .save(changed)
        .await
        .map_err(MethodError::refused_write)
}
