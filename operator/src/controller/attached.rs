//! Reconciling schemas, providers and templates on their own: the server controller
//! decides `Accepted` for everything attached to an existing server; this one covers a
//! `serverRef` to nothing (or to a server that does not admit the namespace), holds
//! back the deletion of a schema that identities still use, and drives the migration of a
//! schema that supersedes another (`schema_migration`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bia_crds::common::{AttachedStatus, merge_conditions, merge_keeping_others};
use bia_crds::{
    Condition, ConditionStatus, CourierTemplate, IdentitySchema, IdentitySchemaStatus,
    IdentityServer, OIDCProvider, ServerRef,
};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::server::patch_attached_status;
use super::util::{object_key, publish, requeue_after_error, set_finalizer};
use super::{Context, Error, SCHEMA_FINALIZER, selector};

/// A kind that attaches to a server.
pub trait Attached:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + DeserializeOwned
    + Serialize
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// The server it names.
    fn server_ref(&self) -> &ServerRef;
    /// Its current conditions.
    fn conditions(&self) -> Vec<Condition>;
    /// The server's namespace selector for this kind.
    fn selector(server: &IdentityServer) -> Option<&LabelSelector>;
    /// Writes a new Accepted condition, keeping other status fields.
    fn status_with(&self, conditions: Vec<Condition>) -> serde_json::Value;
}

impl Attached for IdentitySchema {
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
            .and_then(|s| s.schemas.as_ref())
    }
    fn status_with(&self, conditions: Vec<Condition>) -> serde_json::Value {
        let previous = self.status.clone().unwrap_or_default();
        serde_json::to_value(IdentitySchemaStatus {
            observed_generation: self.metadata.generation,
            conditions,
            ..previous
        })
        .unwrap_or_default()
    }
}

impl Attached for OIDCProvider {
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
            .and_then(|s| s.oidc_providers.as_ref())
    }
    fn status_with(&self, conditions: Vec<Condition>) -> serde_json::Value {
        serde_json::to_value(AttachedStatus {
            observed_generation: self.metadata.generation,
            conditions,
        })
        .unwrap_or_default()
    }
}

impl Attached for CourierTemplate {
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
            .and_then(|s| s.courier_templates.as_ref())
    }
    fn status_with(&self, conditions: Vec<Condition>) -> serde_json::Value {
        serde_json::to_value(AttachedStatus {
            observed_generation: self.metadata.generation,
            conditions,
        })
        .unwrap_or_default()
    }
}

/// The server an attached resource maps to, for the server controller's watch.
pub fn server_of<K: Attached>(obj: &K) -> Option<ObjectRef<IdentityServer>> {
    let own = obj.meta().namespace.clone()?;
    let r = obj.server_ref();
    Some(ObjectRef::new(&r.name).within(r.namespace_or(&own)))
}

/// Reconciles one attached resource.
pub async fn reconcile<K: Attached>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(obj.as_ref(), &ctx).await;
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    ctx.metrics.attached.observe(micros, result.is_err());
    if result.is_ok() {
        ctx.backoffs.succeed(&object_key(obj.as_ref()));
    }
    result
}

/// On error: log, and requeue with this object's backoff.
pub fn error_policy<K: Attached>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(object = %object_key(obj.as_ref()), %error, "reconcile failed");
    requeue_after_error(obj.as_ref(), &ctx)
}

/// Whether `obj`'s namespace may attach to `server`.
pub(super) async fn admitted<K: Attached>(
    ctx: &Context,
    obj: &K,
    server: &IdentityServer,
) -> Result<bool, Error> {
    let ns = obj.namespace().unwrap_or_default();
    if Some(ns.as_str()) == server.metadata.namespace.as_deref() {
        return Ok(true);
    }
    let Some(sel) = K::selector(server) else {
        return Ok(false);
    };
    let labels = Api::<Namespace>::all(ctx.client.clone())
        .get_opt(&ns)
        .await?
        .and_then(|n| n.metadata.labels)
        .unwrap_or_default();
    Ok(selector::matches(sel, &labels))
}

async fn reconcile_inner<K: Attached>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    let own = obj.namespace().ok_or(Error::Unnamed)?;
    let r = obj.server_ref().clone();
    let server_ns = r.namespace_or(&own).to_owned();
    // A namespaced operator can neither read nor serve a server in another namespace.
    let server = if ctx.cluster_wide || server_ns == own {
        Api::<IdentityServer>::namespaced(ctx.client.clone(), &server_ns)
            .get_opt(&r.name)
            .await?
    } else {
        None
    };

    if let Some(schema) = as_schema(obj) {
        return schema_lifecycle(schema, server.as_ref(), ctx).await;
    }
    missing_server_status(obj, server.as_ref(), &server_ns, ctx).await?;
    Ok(Action::requeue(ctx.resync))
}

fn as_schema<K: Attached>(obj: &K) -> Option<IdentitySchema> {
    if K::kind(&()) == "IdentitySchema" {
        serde_json::to_value(obj)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
    } else {
        None
    }
}

/// Sets Accepted=False when the server does not exist or does not admit the namespace.
async fn missing_server_status<K: Attached>(
    obj: &K,
    server: Option<&IdentityServer>,
    server_ns: &str,
    ctx: &Context,
) -> Result<(), Error> {
    let r = obj.server_ref();
    let own = obj.namespace().unwrap_or_default();
    let refusal = match server {
        None if !ctx.cluster_wide && server_ns != own => Some((
            "NamespaceNotAllowed",
            format!(
                "the operator watches only its own namespace and cannot serve IdentityServer {server_ns}/{}; \
                 install it with clusterWide=true or move this resource to {server_ns}",
                r.name
            ),
        )),
        None => {
            let refusal = crate::status::server_not_found(server_ns, &r.name);
            Some((refusal.reason, refusal.message))
        }
        Some(s) if !admitted(ctx, obj, s).await? => Some((
            "NamespaceNotAllowed",
            format!(
                "IdentityServer {server_ns}/{} does not admit namespace {}; add it to spec.namespaceSelectors",
                r.name,
                obj.namespace().unwrap_or_default()
            ),
        )),
        Some(_) => None,
    };
    let Some((reason, message)) = refusal else {
        return Ok(());
    };
    let previous = obj.conditions();
    let mut fresh = Condition::new("Accepted", ConditionStatus::False, reason, message.clone());
    fresh.observed_generation = obj.meta().generation;
    let conditions = merge_conditions(&previous, vec![fresh], &ctx.now());
    if conditions != previous {
        publish(ctx, obj, true, reason, message).await;
        patch_attached_status(ctx, obj, &obj.status_with(conditions)).await?;
    }
    Ok(())
}

/// Adds the in-use finalizer and, on deletion, releases it once no identity uses the schema.
async fn schema_lifecycle(
    schema: IdentitySchema,
    server: Option<&IdentityServer>,
    ctx: &Context,
) -> Result<Action, Error> {
    let api: Api<IdentitySchema> =
        Api::namespaced(ctx.client.clone(), &schema.namespace().unwrap_or_default());
    let server_ns = schema
        .spec
        .server_ref
        .namespace_or(schema.metadata.namespace.as_deref().unwrap_or_default())
        .to_owned();
    if schema.metadata.deletion_timestamp.is_none() {
        set_finalizer(&api, &schema, SCHEMA_FINALIZER, true).await?;
        missing_server_status(&schema, server, &server_ns, ctx).await?;
        let live = server.filter(|s| s.metadata.deletion_timestamp.is_none());
        if let Some(server) = live
            && let Some(action) = super::schema_migration::drive(&schema, server, ctx).await?
        {
            return Ok(action);
        }
        return Ok(Action::requeue(ctx.resync));
    }
    if !schema.finalizers().iter().any(|f| f == SCHEMA_FINALIZER) {
        return Ok(Action::await_change());
    }
    let in_use = match server {
        Some(s) if s.metadata.deletion_timestamp.is_none() => {
            crate::identities::count_using(&ctx.client, s, &schema.spec.schema_id).await?
        }
        _ => 0,
    };
    if in_use > 0 {
        let message = format!(
            "{in_use} identities still use schema {:?}; move them to another schema or delete them, and deletion completes",
            schema.spec.schema_id
        );
        let previous = schema.status.clone().unwrap_or_default();
        let mut fresh = Condition::new(
            "Accepted",
            ConditionStatus::True,
            "DeletionBlocked",
            message.clone(),
        );
        fresh.observed_generation = schema.metadata.generation;
        let status = IdentitySchemaStatus {
            observed_generation: schema.metadata.generation,
            conditions: merge_keeping_others(&previous.conditions, vec![fresh], &ctx.now()),
            identities_using: Some(in_use),
            ..previous.clone()
        };
        if status != previous {
            publish(ctx, &schema, true, "DeletionBlocked", message).await;
            patch_attached_status(ctx, &schema, &status).await?;
        }
        return Ok(Action::requeue(Duration::from_secs(30)));
    }
    set_finalizer(&api, &schema, SCHEMA_FINALIZER, false).await?;
    Ok(Action::await_change())
}
