//! The copy of an identity's addresses kept as JSON text on its `identities`
//! row (`addresses`), so the session lookup reads the identity in one row.
//! The address tables stay the record: every identity write goes through
//! [`super::SqlIdentityStore`], which rewrites the copy in the same
//! transaction. Addresses are arrays of their columns, in this order.

use serde::{Deserialize, Serialize};

use super::rows::{parse_time, parse_uuid};
use crate::identity::{Identity, RecoveryAddress, VerifiableAddress};
use crate::store::StoreError;
use crate::time;

/// A verifiable address: id, via, value, status, verified (0 or 1),
/// verified_at, created_at, updated_at.
type VerifiableColumns = (
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    String,
    String,
);

/// A recovery address: id, via, value, created_at, updated_at.
type RecoveryColumns = (String, String, String, String, String);

#[derive(Debug, Default, Serialize, Deserialize)]
struct AddressCopy {
    verifiable: Vec<VerifiableColumns>,
    recovery: Vec<RecoveryColumns>,
}

/// The copy's text for this identity.
pub(super) fn to_text(identity: &Identity) -> Result<String, StoreError> {
    let copy = AddressCopy {
        verifiable: identity
            .verifiable_addresses
            .iter()
            .map(|a| {
                (
                    a.id.to_string(),
                    a.via.clone(),
                    a.value.clone(),
                    a.status.clone(),
                    i64::from(a.verified),
                    a.verified_at.map(time::format),
                    time::format(a.created_at),
                    time::format(a.updated_at),
                )
            })
            .collect(),
        recovery: identity
            .recovery_addresses
            .iter()
            .map(|a| {
                (
                    a.id.to_string(),
                    a.via.clone(),
                    a.value.clone(),
                    time::format(a.created_at),
                    time::format(a.updated_at),
                )
            })
            .collect(),
    };
    serde_json::to_string(&copy).map_err(|e| StoreError::Corrupt(format!("addresses: {e}")))
}

/// Reads the copy into the identity's address lists, each ordered by
/// creation time, then value (the order of the address tables' reads).
pub(super) fn read_into(text: &str, identity: &mut Identity) -> Result<(), StoreError> {
    let copy: AddressCopy =
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("addresses: {e}")))?;
    identity.verifiable_addresses = copy
        .verifiable
        .into_iter()
        .map(
            |(id, via, value, status, verified, verified_at, created, updated)| {
                Ok(VerifiableAddress {
                    id: parse_uuid(&id, "address id")?,
                    via,
                    value,
                    status,
                    verified: verified != 0,
                    verified_at: verified_at
                        .map(|t| parse_time(&t, "verified_at"))
                        .transpose()?,
                    created_at: parse_time(&created, "address created_at")?,
                    updated_at: parse_time(&updated, "address updated_at")?,
                })
            },
        )
        .collect::<Result<_, StoreError>>()?;
    identity.recovery_addresses = copy
        .recovery
        .into_iter()
        .map(|(id, via, value, created, updated)| {
            Ok(RecoveryAddress {
                id: parse_uuid(&id, "address id")?,
                via,
                value,
                created_at: parse_time(&created, "address created_at")?,
                updated_at: parse_time(&updated, "address updated_at")?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    identity
        .verifiable_addresses
        .sort_by(|a, b| (a.created_at, &a.value).cmp(&(b.created_at, &b.value)));
    identity
        .recovery_addresses
        .sort_by(|a, b| (a.created_at, &a.value).cmp(&(b.created_at, &b.value)));
    Ok(())
}
