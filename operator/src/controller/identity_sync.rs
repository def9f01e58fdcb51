//! Converging the server's copy of a declared identity to its spec: find it (by the id in
//! status, else by the `external_id` it was created with, else by its identifiers), then create, adopt, leave or refuse per
//! `existingPolicy`, and replace it when it drifted or the password Secret changed.
//!
//! Invariant: an identity another `Identity` resource already manages is never touched;
//! when two resources end up naming the same identity, the older keeps it.

use std::collections::BTreeMap;

use bia_crds::{ExistingPolicy, Identity, IdentityStatus};
use kube::api::{Api, ListParams};
use kube::{Resource, ResourceExt};
use serde_json::Value;

use super::identity::refusal;
use super::{Context, Error};
use crate::admin_api::{AdminApi, AdminError};
use crate::declared::{self, Password};
use crate::validate::Refusal;

/// Where a declared identity stands after a pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Health {
    /// The server's identity equals the spec.
    InSync(String),
    /// Another identity holds the identifiers and `existingPolicy: Ignore` leaves it be.
    Ignored(String),
    /// The spec cannot be applied until it (or a conflicting resource) changes.
    Refused(Refusal),
    /// Waiting for something that may appear by itself (server, Secret).
    Waiting(Refusal),
    /// The server's admin API could not be reached.
    Unavailable(String),
}

impl Health {
    /// (warning, reason, message) of the event announcing this state.
    pub fn summary(&self) -> (bool, &'static str, String) {
        match self {
            Self::InSync(m) => (false, "InSync", m.clone()),
            Self::Ignored(m) => (true, "ExistingIgnored", m.clone()),
            Self::Refused(r) | Self::Waiting(r) => (true, r.reason, r.message.clone()),
            Self::Unavailable(m) => (true, "ServerUnavailable", m.clone()),
        }
    }
}

/// The outcome of a pass: what status records, and the changes made to the server.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The identity this resource manages.
    pub identity_id: Option<String>,
    /// Revision of the password last imported.
    pub password_revision: Option<String>,
    /// Where it stands.
    pub health: Health,
    /// Changes made to the server this pass, as (event reason, note).
    pub actions: Vec<(&'static str, String)>,
}

impl Verdict {
    /// A verdict that keeps what status recorded before.
    pub fn keeping(previous: &IdentityStatus, health: Health) -> Self {
        Self {
            identity_id: previous.identity_id.clone(),
            password_revision: previous.password_revision.clone(),
            health,
            actions: Vec::new(),
        }
    }
}

/// Another Identity resource managing an identity on the same server.
struct Claim {
    owner: String,
    rank: (String, String),
}

/// Converges the server's identity to the spec.
pub async fn converge(
    obj: &Identity,
    ctx: &Context,
    admin: &AdminApi,
    password: Option<&Password>,
) -> Result<Verdict, Error> {
    let previous = obj.status.clone().unwrap_or_default();
    let claims = claims(obj, ctx).await?;
    let current = match &previous.identity_id {
        Some(id) => admin.identity(id).await?,
        None => None,
    };
    let current = match current {
        Some(c) => Some(c),
        None => admin.by_external_id(&owner_tag(obj)).await?,
    };
    let Some(current) = current else {
        return locate_or_create(obj, admin, &claims, password).await;
    };
    let id = id_of(&current);
    if let Some(c) = claims.get(&id).filter(|c| c.rank < rank(obj)) {
        let message = format!(
            "identity {id} is managed by Identity {}, declared earlier; this resource lets go of it",
            c.owner
        );
        return Ok(Verdict {
            identity_id: None,
            password_revision: None,
            health: Health::Refused(refusal("IdentifierConflict", message)),
            actions: Vec::new(),
        });
    }
    keep_in_sync(obj, admin, &current, password, false).await
}

/// No identity yet (or it vanished): find one holding the identifiers, else create it.
async fn locate_or_create(
    obj: &Identity,
    admin: &AdminApi,
    claims: &BTreeMap<String, Claim>,
    password: Option<&Password>,
) -> Result<Verdict, Error> {
    let previous = obj.status.clone().unwrap_or_default();
    let Some(schema) = admin.schema(&obj.spec.schema_id).await? else {
        let message = format!(
            "the server serves no identity schema {:?}",
            obj.spec.schema_id
        );
        return Ok(Verdict::keeping(
            &previous,
            Health::Refused(refusal("UnknownSchema", message)),
        ));
    };
    for identifier in declared::identifiers(&schema, &obj.spec.traits) {
        let Some(found) = admin.by_identifier(&identifier).await?.into_iter().next() else {
            continue;
        };
        return existing(obj, admin, claims, password, &identifier, found).await;
    }
    create(obj, admin, password).await
}

/// An identity already holds one of the identifiers: refuse, leave or adopt it.
async fn existing(
    obj: &Identity,
    admin: &AdminApi,
    claims: &BTreeMap<String, Claim>,
    password: Option<&Password>,
    identifier: &str,
    found: Value,
) -> Result<Verdict, Error> {
    let id = id_of(&found);
    let none = |health| Verdict {
        identity_id: None,
        password_revision: None,
        health,
        actions: Vec::new(),
    };
    if let Some(c) = claims.get(&id) {
        let message = format!(
            "identifier {identifier:?} is already declared by Identity {} (identity {id})",
            c.owner
        );
        return Ok(none(Health::Refused(refusal(
            "IdentifierConflict",
            message,
        ))));
    }
    match obj.spec.existing_policy.unwrap_or_default() {
        ExistingPolicy::Fail => Ok(none(Health::Refused(refusal(
            "IdentityExists",
            format!(
                "identity {id} already holds identifier {identifier:?}; set existingPolicy to Adopt \
                 to take it over or Ignore to leave it alone"
            ),
        )))),
        ExistingPolicy::Ignore => Ok(none(Health::Ignored(format!(
            "identity {id} already holds identifier {identifier:?}; existingPolicy Ignore leaves it alone"
        )))),
        ExistingPolicy::Adopt => keep_in_sync(obj, admin, &found, password, true).await,
    }
}

/// `POST /admin/identities` with the spec and the password.
async fn create(
    obj: &Identity,
    admin: &AdminApi,
    password: Option<&Password>,
) -> Result<Verdict, Error> {
    let previous = obj.status.clone().unwrap_or_default();
    let mut body = declared::body(&declared::desired(&obj.spec), password);
    body["external_id"] = Value::String(owner_tag(obj));
    match admin.create(&body).await {
        Ok(created) => {
            let id = id_of(&created);
            Ok(Verdict {
                health: Health::InSync(in_sync(&id)),
                identity_id: Some(id.clone()),
                password_revision: password.map(|p| p.revision.clone()),
                actions: vec![("Created", format!("identity {id} created"))],
            })
        }
        Err(AdminError::Refused { status, message }) => Ok(Verdict {
            identity_id: None,
            ..Verdict::keeping(&previous, Health::Refused(server_refusal(status, message)))
        }),
        Err(e) => Err(e.into()),
    }
}

/// Replaces the identity when it drifted, or imports the password when its Secret changed
/// (always when adopting).
async fn keep_in_sync(
    obj: &Identity,
    admin: &AdminApi,
    current: &Value,
    password: Option<&Password>,
    adopting: bool,
) -> Result<Verdict, Error> {
    let previous = obj.status.clone().unwrap_or_default();
    let id = id_of(current);
    let desired = declared::desired(&obj.spec);
    let revision = password.map(|p| p.revision.clone());
    let import = password.filter(|_| adopting || revision != previous.password_revision);
    let verdict = |health, actions| Verdict {
        identity_id: Some(id.clone()),
        password_revision: revision.clone(),
        health,
        actions,
    };
    if !adopting && import.is_none() && !declared::drifted(&desired, current) {
        return Ok(verdict(Health::InSync(in_sync(&id)), Vec::new()));
    }
    let body = declared::body(&desired, import);
    match admin.update(&id, &body).await {
        Ok(_) => Ok(verdict(
            Health::InSync(in_sync(&id)),
            vec![action(obj, adopting, import.is_some(), &id)],
        )),
        Err(AdminError::Refused { status, message }) => Ok(Verdict {
            identity_id: (!adopting).then(|| id.clone()),
            ..Verdict::keeping(&previous, Health::Refused(server_refusal(status, message)))
        }),
        Err(e) => Err(e.into()),
    }
}

fn action(obj: &Identity, adopting: bool, imported: bool, id: &str) -> (&'static str, String) {
    let observed = obj.status.as_ref().and_then(|s| s.observed_generation);
    let spec_changed = observed != obj.metadata.generation;
    match (adopting, imported) {
        (true, _) => ("Adopted", format!("identity {id} adopted")),
        (false, false) if spec_changed => {
            ("Updated", format!("identity {id} updated to the new spec"))
        }
        (false, true) => (
            "PasswordImported",
            format!("identity {id} updated; password imported from its changed Secret"),
        ),
        (false, false) => (
            "Reverted",
            format!("identity {id} differed from the spec and was replaced"),
        ),
    }
}

fn owner_tag(obj: &Identity) -> String {
    declared::external_id(obj.uid().as_deref().unwrap_or_default())
}

fn in_sync(id: &str) -> String {
    format!("identity {id} matches the spec")
}

/// The status condition of a server refusal.
fn server_refusal(status: u16, message: String) -> Refusal {
    match status {
        409 => refusal(
            "IdentifierConflict",
            format!("the server refused: {message}"),
        ),
        _ => refusal("InvalidIdentity", format!("the server refused: {message}")),
    }
}

fn id_of(identity: &Value) -> String {
    identity
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Creation order of a resource: older first, then by namespace/name.
fn rank(obj: &Identity) -> (String, String) {
    let created = obj
        .meta()
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_default();
    (created, key(obj))
}

fn key(obj: &Identity) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Identities other resources manage on the same server, by identity id.
async fn claims(obj: &Identity, ctx: &Context) -> Result<BTreeMap<String, Claim>, Error> {
    let own = obj.namespace().unwrap_or_default();
    let server = (
        obj.spec.server_ref.namespace_or(&own).to_owned(),
        obj.spec.server_ref.name.clone(),
    );
    let api: Api<Identity> = if ctx.cluster_wide {
        Api::all(ctx.client.clone())
    } else {
        Api::namespaced(ctx.client.clone(), &own)
    };
    let mut out = BTreeMap::new();
    for other in api.list(&ListParams::default()).await? {
        let other_ns = other.namespace().unwrap_or_default();
        let same_server = other.spec.server_ref.namespace_or(&other_ns) == server.0
            && other.spec.server_ref.name == server.1;
        let id = other.status.as_ref().and_then(|s| s.identity_id.clone());
        if let (true, false, Some(id)) = (same_server, other.uid() == obj.uid(), id) {
            let claim = Claim {
                owner: key(&other),
                rank: rank(&other),
            };
            out.insert(id, claim);
        }
    }
    Ok(out)
}
