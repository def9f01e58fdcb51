//! The token lookup behind `whoami`: one statement that finds the session by
//! its token digest (one index lookup), joins its identity, and gathers the
//! identity's addresses as two JSON arrays, so the answer is a single row.
//! Only the aggregate expression differs between the backends.

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;

use super::{Backend, StoreError};
use crate::identity::{Identity, RecoveryAddress, State, VerifiableAddress};
use crate::session::{AuthMethod, Device, Session};
use crate::time;

/// How many text columns the lookup returns before `active`.
pub(super) const TEXT_COLUMNS: usize = 19;

/// The lookup's row: [`TEXT_COLUMNS`] text columns in statement order, then
/// the session's `active` flag.
#[derive(Debug, Default)]
pub(super) struct WhoamiRow {
    /// The text columns; `None` for SQL NULL.
    pub text: Vec<Option<String>>,
    /// The session's `active` column.
    pub active: i64,
}

/// The lookup for this backend, with `?` as its one placeholder.
pub(super) fn whoami_sql(backend: Backend) -> String {
    let verifiable = aggregate(
        backend,
        "a.id, a.via, a.value, a.status, a.verified, a.verified_at, a.created_at, a.updated_at",
        "identity_verifiable_addresses",
    );
    let recovery = aggregate(
        backend,
        "a.id, a.via, a.value, a.created_at, a.updated_at",
        "identity_recovery_addresses",
    );
    format!(
        "SELECT s.id, s.identity_id, s.aal, s.authentication_methods, s.devices, s.issued_at, \
         s.authenticated_at, s.expires_at, i.schema_id, i.traits, i.state, i.state_changed_at, \
         i.metadata_public, i.external_id, i.organization_id, i.created_at, i.updated_at, \
         {verifiable}, {recovery}, s.active \
         FROM sessions s JOIN identities i ON i.id = s.identity_id WHERE s.token_hash = ?"
    )
}

/// A scalar subquery turning an identity's rows of `table` into the text of a
/// JSON array of arrays (`columns` in order); NULL or `[]` when there are none.
fn aggregate(backend: Backend, columns: &str, table: &str) -> String {
    let array = match backend {
        Backend::Sqlite => format!("json_group_array(json_array({columns}))"),
        Backend::Postgres => format!("json_agg(json_build_array({columns}))::text"),
        Backend::MySql => format!("CAST(JSON_ARRAYAGG(JSON_ARRAY({columns})) AS CHAR)"),
    };
    format!("(SELECT {array} FROM {table} a WHERE a.identity_id = s.identity_id)")
}

/// A verifiable address as the lookup aggregates it.
type VerifiableTuple = (
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    String,
    String,
);

/// A recovery address as the lookup aggregates it.
type RecoveryTuple = (String, String, String, String, String);

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
    let verifiable: Vec<VerifiableTuple> = tuples(c.optional("verifiable")?, "verifiable")?;
    let recovery: Vec<RecoveryTuple> = tuples(c.optional("recovery")?, "recovery")?;
    let mut verifiable_addresses = verifiable
        .into_iter()
        .map(
            |(id, via, value, status, verified, verified_at, created, updated)| {
                Ok(VerifiableAddress {
                    id: uuid(&id, "verifiable address id")?,
                    via,
                    value,
                    status,
                    verified: verified != 0,
                    verified_at: optional_timestamp(verified_at, "verified_at")?,
                    created_at: timestamp(&created, "created_at")?,
                    updated_at: timestamp(&updated, "updated_at")?,
                })
            },
        )
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut recovery_addresses = recovery
        .into_iter()
        .map(|(id, via, value, created, updated)| {
            Ok(RecoveryAddress {
                id: uuid(&id, "recovery address id")?,
                via,
                value,
                created_at: timestamp(&created, "created_at")?,
                updated_at: timestamp(&updated, "updated_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    verifiable_addresses.sort_by(|a, b| (a.created_at, &a.value).cmp(&(b.created_at, &b.value)));
    recovery_addresses.sort_by(|a, b| (a.created_at, &a.value).cmp(&(b.created_at, &b.value)));
    let identity = Identity {
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
        verifiable_addresses,
        recovery_addresses,
        created_at,
        updated_at,
    };
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

fn uuid(text: &str, name: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
}

fn timestamp(text: &str, name: &str) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
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

fn tuples<T: serde::de::DeserializeOwned>(
    text: Option<String>,
    name: &str,
) -> Result<Vec<T>, StoreError> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
        }
    }
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
