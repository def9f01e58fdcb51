//! The token lookup behind `whoami`: one statement that finds the session by
//! its token digest (one index lookup) and joins its identity, whose addresses
//! come along as the JSON copy on its row (see [`super::address_copy`]). The
//! answer is a single row.

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;

use super::{StoreError, address_copy};
use crate::identity::{Identity, State};
use crate::session::{AuthMethod, Device, Session};
use crate::time;

/// How many text columns the lookup returns before `active`.
pub(super) const TEXT_COLUMNS: usize = 18;

/// The lookup, with `?` for the token digest.
pub(super) const WHOAMI_SQL: &str = "\
SELECT s.id, s.identity_id, s.aal, s.authentication_methods, s.devices, s.issued_at, \
  s.authenticated_at, s.expires_at, i.schema_id, i.traits, i.state, i.state_changed_at, \
  i.metadata_public, i.external_id, i.organization_id, i.created_at, i.updated_at, \
  i.addresses, s.active \
FROM sessions s JOIN identities i ON i.id = s.identity_id WHERE s.token_hash = ?";

/// The lookup's row: [`TEXT_COLUMNS`] text columns in statement order, then
/// the session's `active` flag.
#[derive(Debug)]
pub(super) struct WhoamiRow {
    /// The text columns; `None` for SQL NULL.
    pub text: Vec<Option<String>>,
    /// The session's `active` column.
    pub active: i64,
}

/// Builds the session, with its identity, from the lookup's row.
pub(super) fn session_from_row(row: WhoamiRow, token_hash: &str) -> Result<Session, StoreError> {
    let mut c = Columns(row.text.into_iter());
    let id = uuid(&c.required("id")?, "id")?;
    let identity_id = uuid(&c.required("identity_id")?, "identity_id")?;
    let aal = c.required("aal")?;
    let methods = parse_methods(json(
        Some(c.required("authentication_methods")?),
        "methods",
    )?)?;
    let devices = parse_devices(json(Some(c.required("devices")?), "devices")?)?;
    let issued_at = timestamp(&c.required("issued_at")?, "issued_at")?;
    let authenticated_at = timestamp(&c.required("authenticated_at")?, "authenticated_at")?;
    let expires_at = timestamp(&c.required("expires_at")?, "expires_at")?;
    let schema_id = c.required("schema_id")?;
    let traits = json(Some(c.required("traits")?), "traits")?.unwrap_or(Value::Null);
    let state = c
        .required("state")?
        .parse::<State>()
        .map_err(StoreError::Corrupt)?;
    let state_changed_at = optional_timestamp(c.optional("state_changed_at")?, "state_changed_at")?;
    let metadata_public = json(c.optional("metadata_public")?, "metadata_public")?;
    let external_id = c.optional("external_id")?;
    let organization_id = c
        .optional("organization_id")?
        .map(|o| uuid(&o, "organization_id"))
        .transpose()?;
    let created_at = timestamp(&c.required("created_at")?, "created_at")?;
    let updated_at = timestamp(&c.required("updated_at")?, "updated_at")?;
    let addresses = c.required("addresses")?;
    let mut identity = Identity {
        id: identity_id,
        schema_id,
        traits,
        state,
        state_changed_at,
        metadata_public,
        metadata_admin: None,
        external_id,
        organization_id,
        credentials: BTreeMap::new(),
        verifiable_addresses: Vec::new(),
        recovery_addresses: Vec::new(),
        created_at,
        updated_at,
    };
    address_copy::read_into(&addresses, &mut identity)?;
    Ok(Session {
        id,
        identity_id,
        token_hash: token_hash.to_owned(),
        active: row.active != 0,
        aal,
        methods,
        devices,
        issued_at,
        authenticated_at,
        expires_at,
        identity: Some(identity),
    })
}

/// The row's text columns, taken in order.
struct Columns(std::vec::IntoIter<Option<String>>);

impl Columns {
    fn optional(&mut self, name: &str) -> Result<Option<String>, StoreError> {
        self.0
            .next()
            .ok_or_else(|| StoreError::Corrupt(format!("{name}: missing column")))
    }

    fn required(&mut self, name: &str) -> Result<String, StoreError> {
        self.optional(name)?
            .ok_or_else(|| StoreError::Corrupt(format!("{name}: unexpected NULL")))
    }
}

/// Reads a stored UUID; `name` says which in the error.
pub(super) fn uuid(text: &str, name: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
}

/// Reads a stored timestamp; `name` says which in the error.
pub(super) fn timestamp(
    text: &str,
    name: &str,
) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    time::parse(text).ok_or_else(|| StoreError::Corrupt(format!("{name}: not a timestamp")))
}

fn optional_timestamp(
    text: Option<String>,
    name: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    text.map(|t| timestamp(&t, name)).transpose()
}

fn json(text: Option<String>, name: &str) -> Result<Option<Value>, StoreError> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("{name}: {e}"))))
        .transpose()
}

/// Reads the stored `authentication_methods` JSON.
pub(super) fn parse_methods(value: Option<Value>) -> Result<Vec<AuthMethod>, StoreError> {
    let corrupt = || StoreError::Corrupt("authentication_methods".into());
    let Some(Value::Array(items)) = value else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|m| {
            let text = |k: &str| m.get(k).and_then(Value::as_str).ok_or_else(corrupt);
            Ok(AuthMethod {
                method: text("method")?.to_owned(),
                aal: text("aal")?.to_owned(),
                completed_at: time::parse(text("completed_at")?).ok_or_else(corrupt)?,
            })
        })
        .collect()
}

/// Reads the stored `devices` JSON.
pub(super) fn parse_devices(value: Option<Value>) -> Result<Vec<Device>, StoreError> {
    let Some(Value::Array(items)) = value else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|d| {
            let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
            Ok(Device {
                id: text("id")
                    .and_then(|i| Uuid::parse_str(&i).ok())
                    .ok_or_else(|| StoreError::Corrupt("devices".into()))?,
                ip_address: text("ip_address"),
                user_agent: text("user_agent"),
                location: text("location"),
            })
        })
        .collect()
}
