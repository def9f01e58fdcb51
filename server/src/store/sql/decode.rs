//! The row decoders: each aggregate is built from its rows here and nowhere
//! else, whichever statement or connection produced the row. Next to each
//! decoder stands the list of columns it reads, which the statements select.

use std::collections::BTreeMap;

use serde_json::Value;
use uuid::Uuid;

use super::address_copy;
use super::rows::{Row, corrupt, parse_json};
use crate::aal::Aal;
use crate::courier::Channel;
use crate::courier::message::{Dispatch, DispatchStatus, Message, MessageStatus, NewMessage};
use crate::flow::{ErrorFlow, Flow, FlowKind, FlowType};
use crate::identity::{Credential, Identity, RecoveryAddress, State, VerifiableAddress};
use crate::onetime::{Delivery, OneTimeCode, Purpose};
use crate::session::{AuthMethod, Device, Session};
use crate::store::StoreError;
use crate::time;

/// The columns of `sessions` that [`session`] reads.
pub(super) const SESSION_COLUMNS: [&str; 10] = [
    "id",
    "identity_id",
    "token_hash",
    "active",
    "aal",
    "authentication_methods",
    "devices",
    "issued_at",
    "authenticated_at",
    "expires_at",
];

/// The columns of `identities` that [`identity`] reads from the table itself
/// ([`IdentityColumns::Own`]).
pub(super) const IDENTITY_COLUMNS: [&str; 12] = [
    "id",
    "schema_id",
    "traits",
    "state",
    "state_changed_at",
    "metadata_public",
    "metadata_admin",
    "external_id",
    "organization_id",
    "available_aal",
    "created_at",
    "updated_at",
];

/// The columns of `identities` that [`identity`] reads when the identity is
/// joined to its session ([`IdentityColumns::JoinedToSession`]).
pub(super) const JOINED_IDENTITY_COLUMNS: [&str; 11] = [
    "schema_id",
    "traits",
    "state",
    "state_changed_at",
    "metadata_public",
    "external_id",
    "organization_id",
    "available_aal",
    "created_at",
    "updated_at",
    "addresses",
];

/// The columns of `identity_credentials` that [`credential`] reads.
pub(super) const CREDENTIAL_COLUMNS: [&str; 6] = [
    "id",
    "type",
    "config",
    "version",
    "created_at",
    "updated_at",
];

/// The columns of `identity_verifiable_addresses` that [`verifiable_address`] reads.
pub(super) const VERIFIABLE_ADDRESS_COLUMNS: [&str; 8] = [
    "id",
    "via",
    "value",
    "verified",
    "status",
    "verified_at",
    "created_at",
    "updated_at",
];

/// The columns of `identity_recovery_addresses` that [`recovery_address`] reads.
pub(super) const RECOVERY_ADDRESS_COLUMNS: [&str; 5] =
    ["id", "via", "value", "created_at", "updated_at"];

/// The columns of `selfservice_flows` that [`flow`] reads.
pub(super) const FLOW_COLUMNS: [&str; 14] = [
    "id",
    "kind",
    "flow_type",
    "state",
    "request_url",
    "return_to",
    "refresh",
    "csrf_token",
    "identity_id",
    "ui",
    "issued_at",
    "expires_at",
    "updated_at",
    "internal_context",
];

/// The columns of `selfservice_one_time_codes`, in insertion order, that
/// [`one_time_code`] reads.
pub(super) const ONE_TIME_CODE_COLUMNS: [&str; 12] = [
    "id",
    "flow_id",
    "purpose",
    "method",
    "digest",
    "address_via",
    "address",
    "identity_id",
    "attempts",
    "used_at",
    "expires_at",
    "created_at",
];

/// Which identity columns a row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdentityColumns {
    /// [`IDENTITY_COLUMNS`]: a row of `identities`; credentials and addresses
    /// are read from their own tables afterwards.
    Own,
    /// [`JOINED_IDENTITY_COLUMNS`] next to the session's: the session's
    /// `identity_id` is the identity's id, the admin metadata is not read, and
    /// the addresses come from the copy on the identity row.
    JoinedToSession,
}

/// Reads [`SESSION_COLUMNS`] into a session without its identity.
pub(super) fn session(row: &impl Row) -> Result<Session, StoreError> {
    Ok(Session {
        id: row.uuid("id")?,
        identity_id: row.uuid("identity_id")?,
        token_hash: row.text("token_hash")?,
        active: row.flag("active")?,
        aal: row.text("aal")?,
        methods: methods(row.json("authentication_methods")?)?,
        devices: devices(row.json("devices")?)?,
        issued_at: row.time("issued_at")?,
        authenticated_at: row.time("authenticated_at")?,
        expires_at: row.time("expires_at")?,
        identity: None,
    })
}

/// Reads an identity's own columns; credentials stay empty.
pub(super) fn identity(row: &impl Row, columns: IdentityColumns) -> Result<Identity, StoreError> {
    let (id, metadata_admin) = match columns {
        IdentityColumns::Own => (row.uuid("id")?, row.json("metadata_admin")?),
        IdentityColumns::JoinedToSession => (row.uuid("identity_id")?, None),
    };
    let mut identity = Identity {
        id,
        schema_id: row.text("schema_id")?,
        traits: row.json("traits")?.unwrap_or(Value::Null),
        state: row
            .text("state")?
            .parse::<State>()
            .map_err(StoreError::Corrupt)?,
        state_changed_at: row.opt_time("state_changed_at")?,
        metadata_public: row.json("metadata_public")?,
        metadata_admin,
        external_id: row.opt_text("external_id")?,
        organization_id: row.opt_uuid("organization_id")?,
        available_aal: row
            .opt_text("available_aal")?
            .and_then(|name| Aal::parse(&name))
            .unwrap_or_default(),
        credentials: BTreeMap::new(),
        verifiable_addresses: Vec::new(),
        recovery_addresses: Vec::new(),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    };
    if columns == IdentityColumns::JoinedToSession {
        address_copy::read_into(&row.text("addresses")?, &mut identity)?;
    }
    Ok(identity)
}

/// Reads [`CREDENTIAL_COLUMNS`] of `identity_credentials`; the identifiers
/// stay empty.
pub(super) fn credential(row: &impl Row) -> Result<Credential, StoreError> {
    Ok(Credential {
        id: row.uuid("id")?,
        kind: row.text("type")?.parse().map_err(StoreError::Corrupt)?,
        identifiers: Vec::new(),
        config: row.json("config")?.unwrap_or(Value::Null),
        version: row.int("version")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// Reads [`VERIFIABLE_ADDRESS_COLUMNS`] of `identity_verifiable_addresses`.
pub(super) fn verifiable_address(row: &impl Row) -> Result<VerifiableAddress, StoreError> {
    // The columns both address tables share.
    let RecoveryAddress {
        id,
        value,
        via,
        created_at,
        updated_at,
    } = recovery_address(row)?;
    Ok(VerifiableAddress {
        id,
        value,
        verified: row.flag("verified")?,
        via,
        status: row.text("status")?,
        verified_at: row.opt_time("verified_at")?,
        created_at,
        updated_at,
    })
}

/// Reads [`RECOVERY_ADDRESS_COLUMNS`] of `identity_recovery_addresses`.
pub(super) fn recovery_address(row: &impl Row) -> Result<RecoveryAddress, StoreError> {
    Ok(RecoveryAddress {
        id: row.uuid("id")?,
        value: row.text("value")?,
        via: row.text("via")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// Reads [`FLOW_COLUMNS`] into a flow.
pub(super) fn flow(row: &impl Row) -> Result<Flow, StoreError> {
    let kind = row.text("kind")?;
    let flow_type = row.text("flow_type")?;
    Ok(Flow {
        id: row.uuid("id")?,
        kind: FlowKind::parse(&kind).ok_or_else(|| corrupt("kind", kind))?,
        flow_type: FlowType::parse(&flow_type).ok_or_else(|| corrupt("flow_type", flow_type))?,
        state: row.text("state")?,
        request_url: row.text("request_url")?,
        return_to: row.opt_text("return_to")?,
        refresh: row.flag("refresh")?,
        csrf_token: row.text("csrf_token")?,
        identity_id: row.opt_uuid("identity_id")?,
        identity: None,
        ui: serde_json::from_str(&row.text("ui")?).map_err(|e| corrupt("ui", e))?,
        issued_at: row.time("issued_at")?,
        expires_at: row.time("expires_at")?,
        updated_at: row.time("updated_at")?,
        internal: match row.json("internal_context")? {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        },
    })
}

/// Reads [`ONE_TIME_CODE_COLUMNS`] into a one-time secret.
pub(super) fn one_time_code(row: &impl Row) -> Result<OneTimeCode, StoreError> {
    let purpose = row.text("purpose")?;
    let method = row.text("method")?;
    Ok(OneTimeCode {
        id: row.uuid("id")?,
        flow_id: row.uuid("flow_id")?,
        purpose: Purpose::parse(&purpose).ok_or_else(|| corrupt("purpose", purpose))?,
        delivery: Delivery::parse(&method).ok_or_else(|| corrupt("method", method))?,
        digest: row.text("digest")?,
        address_via: row.text("address_via")?,
        address: row.text("address")?,
        identity_id: row.opt_uuid("identity_id")?,
        attempts: count(row, "attempts")?,
        used_at: row.opt_time("used_at")?,
        expires_at: row.time("expires_at")?,
        created_at: row.time("created_at")?,
    })
}

/// Reads a non-negative count.
pub(super) fn count(row: &impl Row, column: &str) -> Result<u32, StoreError> {
    let n = row.int(column)?;
    u32::try_from(n).map_err(|_| corrupt(column, n))
}

/// Reads a row of `selfservice_errors` (`id`, `error`, `created_at`).
pub(super) fn error_flow(row: &impl Row) -> Result<ErrorFlow, StoreError> {
    Ok(ErrorFlow {
        id: row.uuid("id")?,
        error: parse_json(&row.text("error")?, "error")?,
        created_at: row.time("created_at")?,
    })
}

/// Reads the stored `authentication_methods` JSON.
fn methods(value: Option<Value>) -> Result<Vec<AuthMethod>, StoreError> {
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
fn devices(value: Option<Value>) -> Result<Vec<Device>, StoreError> {
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

/// The columns of `courier_messages` that [`courier_message`] reads.
pub(super) const COURIER_MESSAGE_COLUMNS: [&str; 13] = [
    "id",
    "type",
    "channel",
    "status",
    "recipient",
    "subject",
    "body",
    "html_body",
    "template_type",
    "template_data",
    "send_count",
    "created_at",
    "updated_at",
];

/// The columns of `courier_message_dispatches` that [`courier_dispatch`] reads.
pub(super) const COURIER_DISPATCH_COLUMNS: [&str; 5] =
    ["id", "message_id", "status", "error", "created_at"];

/// A courier message from its row.
pub(super) fn courier_message(row: &impl Row) -> Result<Message, StoreError> {
    let channel = match (row.text("type")?.as_str(), row.text("channel")?.as_str()) {
        ("email", "email") => Channel::Email,
        ("phone", "sms") => Channel::Sms,
        (kind, channel) => return Err(corrupt("channel", format_args!("{kind}/{channel}"))),
    };
    let status = row.text("status")?;
    let status = MessageStatus::parse(&status)
        .ok_or_else(|| corrupt("status", format_args!("{status:?}")))?;
    let send_count = u32::try_from(row.int("send_count")?).map_err(|e| corrupt("send_count", e))?;
    Ok(Message {
        queued: NewMessage {
            id: row.uuid("id")?,
            channel,
            recipient: row.text("recipient")?,
            subject: row.text("subject")?,
            body: row.text("body")?,
            html: row.opt_text("html_body")?,
            template_type: row.text("template_type")?,
            template_data: row.json("template_data")?.unwrap_or(Value::Null),
            created_at: row.time("created_at")?,
        },
        status,
        send_count,
        updated_at: row.time("updated_at")?,
    })
}

/// A delivery attempt from its row.
pub(super) fn courier_dispatch(row: &impl Row) -> Result<Dispatch, StoreError> {
    let status = row.text("status")?;
    Ok(Dispatch {
        id: row.uuid("id")?,
        message_id: row.uuid("message_id")?,
        status: DispatchStatus::parse(&status)
            .ok_or_else(|| corrupt("status", format_args!("{status:?}")))?,
        error: row.json("error")?,
        created_at: row.time("created_at")?,
    })
}
