//! Recording an accepted assertion: the key's counter and state after the
//! authentication, written by a compare-and-swap of the stored credential,
//! so one assertion is accepted once, even by two replicas at once.

use serde::Serialize;
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::AuthenticationResult;

use super::ceremony::refused_login;
use super::keys::{KeyUseError, StoredKeys, Updatable};
use crate::flow::MethodError;
use crate::identity::{Credential, CredentialType, Identity, IdentityService};

/// The identity's credential of `kind` and the keys it holds, or the
/// refusal on `field` when it has none that can be read.
pub(super) fn stored_keys<'a>(
    identity: &'a Identity,
    kind: CredentialType,
    field: &str,
) -> Result<(&'a Credential, StoredKeys), MethodError> {
    let current = identity
        .credentials
        .get(&kind)
        .ok_or_else(|| refused_login(field))?;
    let keys = StoredKeys::read(&current.config).ok_or_else(|| refused_login(field))?;
    Ok((current, keys))
}

/// Records the use of key `index` of `keys` (read from `current`) that
/// `result` proved; refused on `field` when its counter went back or when
/// another submission changed the credential first.
pub(super) async fn record<T>(
    identities: &IdentityService,
    (identity, current): (&Identity, &Credential),
    mut keys: StoredKeys,
    (index, result): (usize, &AuthenticationResult),
    field: &str,
) -> Result<(), MethodError>
where
    T: Serialize + DeserializeOwned + Updatable,
{
    keys.record_use::<T>(index, result).map_err(|error| {
        if error == KeyUseError::CounterWentBack {
            tracing::warn!(identity_id = %identity.id, kind = %current.kind,
                "a key's signature counter went back: it may be cloned");
        }
        refused_login(field)
    })?;
    let won = identities
        .swap_credential_config(
            identity.id,
            current.kind,
            &current.config,
            &keys.to_config(),
        )
        .await?;
    if won {
        Ok(())
    } else {
        Err(refused_login(field))
    }
}
