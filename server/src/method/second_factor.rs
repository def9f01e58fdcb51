//! What the second-factor methods (TOTP, lookup codes) share: which login
//! flows they take part in, the throttle key of an identity's guesses, and
//! storing a credential that is identified by its identity.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::flow::{Flow, FlowKind, MethodError, PrePersist};
use crate::identity::{Credential, CredentialType, Identity, IdentityService};
use crate::session::Device;
use crate::throttle::Throttle;

/// The identity a login flow steps up to `aal2`; any other flow is not one
/// a second factor takes part in.
pub(crate) fn step_up_identity(flow: &Flow) -> Result<Uuid, MethodError> {
    if flow.kind != FlowKind::Login || flow.requested_aal() != crate::aal::Aal::Aal2 {
        return Err(MethodError::Unsupported);
    }
    flow.identity_id.ok_or(MethodError::Unsupported)
}

/// Counts one guess of `method` for `identity_id` (and the client address,
/// when known) against the throttle; returns the key a success gives back.
pub(crate) fn admit_guess(
    throttle: &Throttle,
    method: &str,
    identity_id: Uuid,
    device: Option<&Device>,
) -> Result<String, MethodError> {
    let key = format!("{method}:{identity_id}");
    let ip = device.and_then(|d| d.ip_address.as_deref());
    throttle
        .admit(&key, ip)
        .map_err(|t| MethodError::Throttled {
            retry_after: t.retry_after,
        })?;
    Ok(key)
}

/// `identity` with a new `kind` credential holding `config`, identified by
/// the identity's id (second factors name no identifier of their own).
pub(crate) fn with_credential(
    identity: &Identity,
    kind: CredentialType,
    config: Value,
    now: DateTime<Utc>,
) -> Identity {
    let mut changed = identity.clone();
    changed.credentials.insert(
        kind,
        Credential {
            id: Uuid::new_v4(),
            kind,
            identifiers: vec![identity.id.to_string()],
            config,
            version: 0,
            created_at: now,
            updated_at: now,
        },
    );
    changed.updated_at = now;
    changed
}

/// Runs the settings flow's pre-persist hooks on `changed` and stores it.
pub(crate) async fn save(
    identities: &IdentityService,
    changed: Identity,
    pre_persist: &dyn PrePersist,
) -> Result<Identity, MethodError> {
    let changed = pre_persist.run(changed).await?;
    identities
        .save(changed)
        .await
        .map_err(MethodError::refused_write)
}
