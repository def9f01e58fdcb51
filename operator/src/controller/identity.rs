//! Reconciling a declared `Identity`: collect (server, password Secret), converge the
//! server's copy to the spec through the admin API (`identity_sync`), write status.
//! Deletion follows `deletionPolicy` behind the [`IDENTITY_FINALIZER`].
//!
//! Invariants: the password is read from its Secret and sent to the server, never logged
//! nor written to status (status carries only a digest of the Secret's revision); a
//! refused spec leaves the server's identity as it was; an identity is deleted only by
//! the resource whose `status.identityId` names it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bia_crds::common::merge_conditions;
use bia_crds::{
    Condition, ConditionStatus, Identity, IdentityDeletionPolicy, IdentityServer, IdentityStatus,
    ServerRef,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::attached::{Attached, admitted};
use super::identity_sync::{Health, Verdict, converge};
use super::server::patch_attached_status;
use super::util::{object_key, publish, requeue_after_error, set_finalizer};
use super::{Context, Error, IDENTITY_FINALIZER};
use crate::admin_api::{AdminApi, AdminError};
use crate::declared::{self, Password};
use crate::validate::Refusal;

/// How soon a resource waiting on its server or Secret is looked at again.
pub const WAIT_REQUEUE: Duration = Duration::from_secs(30);

impl Attached for Identity {
    fn server_ref(&self) -> &ServerRef {
        &self.spec.server_ref
    }
    fn conditions(&self) -> Vec<Condition> {
        self.status
            .as_ref()
            .map(|s| s.conditions.clone())
            .unwrap_or_default()
    }
    fn selector(server: &IdentityServer) -> Option<&LabelSelector> {
        server
            .spec
            .namespace_selectors
            .as_ref()
            .and_then(|s| s.identities.as_ref())
    }
    fn status_with(&self, conditions: Vec<Condition>) -> serde_json::Value {
        let previous = self.status.clone().unwrap_or_default();
        serde_json::to_value(IdentityStatus {
            observed_generation: self.metadata.generation,
            conditions,
            ..previous
        })
        .unwrap_or_default()
    }
}

/// Reconciles one Identity.
pub async fn reconcile(obj: Arc<Identity>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(&obj, &ctx).await;
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    ctx.metrics.identities.observe(micros, result.is_err());
    if result.is_ok() {
        ctx.backoffs.succeed(&object_key(obj.as_ref()));
    }
    result
}

/// On error: log, and requeue with this object's backoff.
pub fn error_policy(obj: Arc<Identity>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(object = %object_key(obj.as_ref()), %error, "reconcile failed");
    requeue_after_error(obj.as_ref(), &ctx)
}

/// Whether an Identity reads the Secret `namespace/name` (for the Secret watch).
pub fn reads_secret(obj: &Identity, namespace: &str, name: &str) -> bool {
    obj.namespace().as_deref() == Some(namespace)
        && password_ref(obj).is_some_and(|p| p.secret_ref.name == name)
}

fn password_ref(obj: &Identity) -> Option<&bia_crds::PasswordCredential> {
    obj.spec.credentials.as_ref()?.password.as_ref()
}

async fn reconcile_inner(obj: &Identity, ctx: &Context) -> Result<Action, Error> {
    let ns = obj.namespace().ok_or(Error::Unnamed)?;
    let api: Api<Identity> = Api::namespaced(ctx.client.clone(), &ns);
    if obj.metadata.deletion_timestamp.is_some() {
        return finalize(obj, ctx, &api).await;
    }
    set_finalizer(&api, obj, IDENTITY_FINALIZER, true).await?;
    let verdict = collect_and_converge(obj, ctx).await?;
    let action = match &verdict.health {
        Health::Waiting(_) | Health::Unavailable(_) => Action::requeue(WAIT_REQUEUE),
        _ => Action::requeue(ctx.resync),
    };
    write_status(obj, ctx, verdict).await?;
    Ok(action)
}

/// Checks the spec, finds the server and reads the password, then converges.
async fn collect_and_converge(obj: &Identity, ctx: &Context) -> Result<Verdict, Error> {
    let previous = obj.status.clone().unwrap_or_default();
    let keep = |health| Verdict::keeping(&previous, health);
    if let Err(r) = declared::check_spec(&obj.spec) {
        return Ok(keep(Health::Refused(r)));
    }
    let server = match find_server(obj, ctx).await? {
        Ok(server) => server,
        Err(health) => return Ok(keep(health)),
    };
    let password = match read_password(obj, ctx).await? {
        Ok(p) => p,
        Err(health) => return Ok(keep(health)),
    };
    let admin = AdminApi::new(ctx.client.clone(), &server);
    match converge(obj, ctx, &admin, password.as_ref()).await {
        Err(Error::Admin(AdminError::Unavailable(m) | AdminError::Decode(m))) => {
            Ok(keep(Health::Unavailable(m)))
        }
        other => other,
    }
}

/// The server the Identity names, if it exists and admits the Identity's namespace.
async fn find_server(
    obj: &Identity,
    ctx: &Context,
) -> Result<Result<IdentityServer, Health>, Error> {
    let own = obj.namespace().ok_or(Error::Unnamed)?;
    let r = &obj.spec.server_ref;
    let server_ns = r.namespace_or(&own).to_owned();
    let not_allowed = |why: String| Health::Refused(refusal("NamespaceNotAllowed", why));
    if !ctx.cluster_wide && server_ns != own {
        return Ok(Err(not_allowed(format!(
            "the operator watches only its own namespace and cannot reach IdentityServer {server_ns}/{}",
            r.name
        ))));
    }
    let server = Api::<IdentityServer>::namespaced(ctx.client.clone(), &server_ns)
        .get_opt(&r.name)
        .await?;
    let Some(server) = server.filter(|s| s.metadata.deletion_timestamp.is_none()) else {
        return Ok(Err(Health::Waiting(crate::status::server_not_found(
            &server_ns, &r.name,
        ))));
    };
    if !admitted(ctx, obj, &server).await? {
        return Ok(Err(not_allowed(format!(
            "IdentityServer {server_ns}/{} does not admit namespace {own}; add it to spec.namespaceSelectors.identities",
            r.name
        ))));
    }
    Ok(Ok(server))
}

/// The password the spec names, read from its Secret; `None` when the spec has none.
async fn read_password(
    obj: &Identity,
    ctx: &Context,
) -> Result<Result<Option<Password>, Health>, Error> {
    let Some(p) = password_ref(obj) else {
        return Ok(Ok(None));
    };
    let ns = obj.namespace().ok_or(Error::Unnamed)?;
    let (name, key) = (&p.secret_ref.name, &p.secret_ref.key);
    let missing = |m: String| Health::Waiting(refusal("SecretMissing", m));
    let secret = Api::<Secret>::namespaced(ctx.client.clone(), &ns)
        .get_opt(name)
        .await?;
    let Some(secret) = secret else {
        return Ok(Err(missing(format!("Secret {ns}/{name} does not exist"))));
    };
    let Some(bytes) = secret.data.as_ref().and_then(|d| d.get(key)) else {
        return Ok(Err(missing(format!(
            "Secret {ns}/{name} has no key {key:?}"
        ))));
    };
    Ok(password_from(obj, p, &secret, bytes.0.clone()).map(Some))
}

/// Checks a password read from `secret` and dates it with the Secret's revision.
fn password_from(
    obj: &Identity,
    p: &bia_crds::PasswordCredential,
    secret: &Secret,
    bytes: Vec<u8>,
) -> Result<Password, Health> {
    let key = &p.secret_ref.key;
    let source = format!(
        "key {key:?} of Secret {}/{}",
        secret.namespace().unwrap_or_default(),
        p.secret_ref.name
    );
    let Ok(value) = String::from_utf8(bytes) else {
        let message = format!("{source} is not UTF-8 text");
        return Err(Health::Refused(refusal("InvalidPassword", message)));
    };
    declared::check_password(&value, &source).map_err(Health::Refused)?;
    let revision = declared::password_revision(
        obj.uid().as_deref().unwrap_or_default(),
        secret.uid().as_deref().unwrap_or_default(),
        secret.resource_version().as_deref().unwrap_or_default(),
        key,
        p.hashed,
    );
    Ok(Password {
        value,
        hashed: p.hashed,
        revision,
    })
}

/// Deletes or orphans the identity, then releases the finalizer.
async fn finalize(obj: &Identity, ctx: &Context, api: &Api<Identity>) -> Result<Action, Error> {
    if !obj.finalizers().iter().any(|f| f == IDENTITY_FINALIZER) {
        return Ok(Action::await_change());
    }
    let policy = obj.spec.deletion_policy.unwrap_or_default();
    let id = obj.status.as_ref().and_then(|s| s.identity_id.clone());
    if let (IdentityDeletionPolicy::Delete, Some(id)) = (policy, id) {
        // A server that is gone took its identities along (or they stay in its database,
        // which the server's own deletionPolicy decides): nothing to reach.
        if let Ok(server) = find_server(obj, ctx).await? {
            AdminApi::new(ctx.client.clone(), &server)
                .delete(&id)
                .await?;
            publish(ctx, obj, false, "Deleted", format!("identity {id} deleted")).await;
        }
    }
    set_finalizer(api, obj, IDENTITY_FINALIZER, false).await?;
    Ok(Action::await_change())
}

/// Writes the verdict as status (only when it changed) with an event on each transition.
async fn write_status(obj: &Identity, ctx: &Context, verdict: Verdict) -> Result<(), Error> {
    let previous = obj.status.clone().unwrap_or_default();
    let mut fresh = conditions(&verdict.health);
    for c in &mut fresh {
        c.observed_generation = obj.meta().generation;
    }
    let status = IdentityStatus {
        observed_generation: obj.meta().generation,
        identity_id: verdict.identity_id,
        password_revision: verdict.password_revision,
        conditions: merge_conditions(&previous.conditions, fresh, &ctx.now()),
    };
    for (reason, note) in &verdict.actions {
        publish(ctx, obj, false, reason, note.clone()).await;
    }
    let ready = |s: &IdentityStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| (c.status, c.reason.clone()))
    };
    if ready(&status) != ready(&previous) {
        let (warning, reason, message) = verdict.health.summary();
        publish(ctx, obj, warning, reason, message).await;
    }
    if status != previous {
        patch_attached_status(ctx, obj, &status).await?;
    }
    Ok(())
}

/// The four conditions of a verdict.
pub fn conditions(health: &Health) -> Vec<Condition> {
    use ConditionStatus::{False, True, Unknown};
    let c = Condition::new;
    match health {
        Health::InSync(m) => vec![
            c("Accepted", True, "Accepted", m.clone()),
            c("Ready", True, "InSync", m.clone()),
            c("Reconciling", False, "InSync", String::new()),
            c("Stalled", False, "InSync", String::new()),
        ],
        Health::Ignored(m) => vec![
            c("Accepted", False, "ExistingIgnored", m.clone()),
            c("Ready", False, "ExistingIgnored", m.clone()),
            c("Reconciling", False, "ExistingIgnored", String::new()),
            c("Stalled", False, "ExistingIgnored", String::new()),
        ],
        Health::Refused(r) => vec![
            c("Accepted", False, r.reason, r.message.clone()),
            c("Ready", False, r.reason, r.message.clone()),
            c("Reconciling", False, r.reason, String::new()),
            c("Stalled", True, r.reason, r.message.clone()),
        ],
        Health::Waiting(r) => vec![
            c("Accepted", False, r.reason, r.message.clone()),
            c("Ready", False, r.reason, r.message.clone()),
            c("Reconciling", True, r.reason, r.message.clone()),
            c("Stalled", False, r.reason, String::new()),
        ],
        Health::Unavailable(m) => vec![
            c("Accepted", Unknown, "ServerUnavailable", m.clone()),
            c("Ready", False, "ServerUnavailable", m.clone()),
            c("Reconciling", True, "ServerUnavailable", m.clone()),
            c("Stalled", False, "ServerUnavailable", String::new()),
        ],
    }
}

pub(super) fn refusal(reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        reason,
        message: message.into(),
    }
}
