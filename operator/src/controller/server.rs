//! Reconciling an IdentityServer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bia_crds::common::{AttachedStatus, merge_conditions, merge_keeping_others};
use bia_crds::identity_server::AttachedCounts;
use bia_crds::{
    Condition, ConditionStatus, CourierTemplate, DeletionPolicy, IdentitySchema,
    IdentitySchemaStatus, IdentityServer, IdentityServerStatus, OIDCProvider, SecretKeyRef,
};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::util::{object_key, publish, requeue_after_error, set_finalizer};
use super::{Context, Error, MANAGER, SERVER_FINALIZER, selector};
use crate::health;
use crate::render::{self, Inputs, SecretValues, exposure, names};
use crate::status;
use crate::validate::{self, Plan, Verdict};

/// Stall reason of a server that asks for an `HTTPRoute` in a cluster without the Gateway API.
pub const GATEWAY_API_MISSING: &str = "GatewayAPIMissing";

/// Reconciles one IdentityServer.
pub async fn reconcile(server: Arc<IdentityServer>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(&server, &ctx).await;
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    ctx.metrics.servers.observe(micros, result.is_err());
    if result.is_ok() {
        ctx.backoffs.succeed(&object_key(server.as_ref()));
    }
    result
}

/// On error: log, and requeue with this server's backoff.
pub fn error_policy(server: Arc<IdentityServer>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(server = %server.name_any(), %error, "reconcile failed");
    requeue_after_error(server.as_ref(), &ctx)
}

async fn reconcile_inner(server: &IdentityServer, ctx: &Context) -> Result<Action, Error> {
    let ns = server.namespace().ok_or(Error::Unnamed)?;
    let api: Api<IdentityServer> = Api::namespaced(ctx.client.clone(), &ns);
    if server.metadata.deletion_timestamp.is_some() {
        if server.finalizers().iter().any(|f| f == SERVER_FINALIZER) {
            if server.deletion_policy() == DeletionPolicy::Orphan {
                orphan_children(server, ctx).await?;
                publish(
                    ctx,
                    server,
                    false,
                    "Orphaned",
                    "children left running (deletionPolicy Orphan)".into(),
                )
                .await;
            }
            set_finalizer(&api, server, SERVER_FINALIZER, false).await?;
        }
        return Ok(Action::await_change());
    }
    if !server.finalizers().iter().any(|f| f == SERVER_FINALIZER) {
        set_finalizer(&api, server, SERVER_FINALIZER, true).await?;
        // The patch triggers a new pass with the finalizer in place.
        return Ok(Action::await_change());
    }
    apply(server, ctx, &api).await
}

/// Removes the owner references from the children so that garbage collection leaves them.
async fn orphan_children(server: &IdentityServer, ctx: &Context) -> Result<(), Error> {
    let ns = server.namespace().ok_or(Error::Unnamed)?;
    let child = names(server).ok_or(Error::Unnamed)?;
    let patch = Patch::Merge(json!({"metadata": {"ownerReferences": null}}));
    let pp = PatchParams::default();
    let client = ctx.client.clone();
    ignore_missing(
        Api::<Secret>::namespaced(client.clone(), &ns)
            .patch(&child.config_secret, &pp, &patch)
            .await,
    )?;
    ignore_missing(
        Api::<Deployment>::namespaced(client.clone(), &ns)
            .patch(&child.deployment, &pp, &patch)
            .await,
    )?;
    ignore_missing(
        Api::<Service>::namespaced(client.clone(), &ns)
            .patch(&child.public_service, &pp, &patch)
            .await,
    )?;
    ignore_missing(
        Api::<Service>::namespaced(client.clone(), &ns)
            .patch(&child.admin_service, &pp, &patch)
            .await,
    )?;
    ignore_missing(
        Api::<PodDisruptionBudget>::namespaced(client.clone(), &ns)
            .patch(&child.deployment, &pp, &patch)
            .await,
    )?;
    ignore_missing(
        Api::<NetworkPolicy>::namespaced(client.clone(), &ns)
            .patch(&child.deployment, &pp, &patch)
            .await,
    )?;
    ignore_missing(
        Api::<Ingress>::namespaced(client.clone(), &ns)
            .patch(&child.deployment, &pp, &patch)
            .await,
    )?;
    ignore_missing(
        Api::<DynamicObject>::namespaced_with(client, &ns, &exposure::http_route_resource())
            .patch(&child.deployment, &pp, &patch)
            .await,
    )?;
    Ok(())
}

fn ignore_missing<T>(r: Result<T, kube::Error>) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Lists the resources of one kind attached to the server, honouring its namespace selector.
async fn list_attached<K>(
    ctx: &Context,
    server: &IdentityServer,
    selector: Option<&LabelSelector>,
    server_ref: impl Fn(&K) -> &bia_crds::ServerRef,
    namespace_labels: &mut BTreeMap<String, BTreeMap<String, String>>,
) -> Result<Vec<K>, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let ns = server.namespace().ok_or(Error::Unnamed)?;
    let selector = selector.filter(|_| ctx.cluster_wide);
    let api: Api<K> = match selector {
        Some(_) => Api::all(ctx.client.clone()),
        None => Api::namespaced(ctx.client.clone(), &ns),
    };
    let mut out = Vec::new();
    for obj in api.list(&ListParams::default()).await?.items {
        if !validate::refers_to(&obj, server_ref(&obj), server) {
            continue;
        }
        let obj_ns = obj.namespace().unwrap_or_default();
        if obj_ns != ns {
            let Some(sel) = selector else { continue };
            if !namespace_labels.contains_key(&obj_ns) {
                let labels = Api::<Namespace>::all(ctx.client.clone())
                    .get_opt(&obj_ns)
                    .await?
                    .and_then(|n| n.metadata.labels)
                    .unwrap_or_default();
                namespace_labels.insert(obj_ns.clone(), labels);
            }
            if !namespace_labels
                .get(&obj_ns)
                .is_some_and(|l| selector::matches(sel, l))
            {
                continue;
            }
        }
        out.push(obj);
    }
    Ok(out)
}

/// The Secret (namespace, name) pairs a server and its providers read.
fn referenced_secrets(
    server: &IdentityServer,
    providers: &[OIDCProvider],
) -> BTreeSet<(String, String)> {
    let ns = server.namespace().unwrap_or_default();
    let spec = &server.spec;
    let mut refs: Vec<&SecretKeyRef> = vec![&spec.dsn];
    refs.extend(spec.secrets.cookie.iter());
    refs.extend(spec.secrets.cipher.iter().flatten());
    refs.extend(spec.courier.iter().map(|c| &c.smtp_connection_uri));
    let mut out: BTreeSet<_> = refs
        .into_iter()
        .map(|r| (ns.clone(), r.name.clone()))
        .collect();
    for p in providers {
        for (_, r) in p.spec.secret_refs() {
            out.insert((p.namespace().unwrap_or_default(), r.name.clone()));
        }
    }
    out
}

async fn apply(
    server: &IdentityServer,
    ctx: &Context,
    api: &Api<IdentityServer>,
) -> Result<Action, Error> {
    let ns = server.namespace().ok_or(Error::Unnamed)?;
    let selectors = server.spec.namespace_selectors.clone().unwrap_or_default();
    let mut ns_labels = BTreeMap::new();
    let schemas: Vec<IdentitySchema> = list_attached(
        ctx,
        server,
        selectors.schemas.as_ref(),
        |s: &IdentitySchema| &s.spec.server_ref,
        &mut ns_labels,
    )
    .await?;
    let providers: Vec<OIDCProvider> = list_attached(
        ctx,
        server,
        selectors.oidc_providers.as_ref(),
        |p: &OIDCProvider| &p.spec.server_ref,
        &mut ns_labels,
    )
    .await?;
    let templates: Vec<CourierTemplate> = list_attached(
        ctx,
        server,
        selectors.courier_templates.as_ref(),
        |t: &CourierTemplate| &t.spec.server_ref,
        &mut ns_labels,
    )
    .await?;

    let wanted = referenced_secrets(server, &providers);
    ctx.secrets.record(&ObjectRef::from_obj(server), &wanted);
    let mut values = SecretValues::new();
    for (secret_ns, name) in &wanted {
        if let Some(secret) = Api::<Secret>::namespaced(ctx.client.clone(), secret_ns)
            .get_opt(name)
            .await?
        {
            values.insert_secret(&secret);
        }
    }

    let plan = validate::plan(
        server,
        &schemas,
        &providers,
        &templates,
        &values,
        ctx.capabilities,
    );
    write_attached_statuses(ctx, server, &plan, &schemas, &providers, &templates).await?;

    let previous = server.status.clone().unwrap_or_default();
    let generation = server.metadata.generation;
    let counts = AttachedCounts {
        schemas: i32::try_from(plan.schemas.len()).unwrap_or(i32::MAX),
        oidc_providers: i32::try_from(plan.providers.len()).unwrap_or(i32::MAX),
        courier_templates: i32::try_from(plan.templates.len()).unwrap_or(i32::MAX),
    };

    if let Some(conditions) = status::problem_conditions(&plan.server_problems) {
        let status = IdentityServerStatus {
            observed_generation: generation,
            conditions: stamp(&previous.conditions, conditions, generation, &ctx.now()),
            config_hash: previous.config_hash.clone(),
            ready_replicas: previous.ready_replicas,
            attached: Some(counts),
        };
        write_server_status(ctx, server, api, &previous, status).await?;
        return Ok(Action::requeue(Duration::from_secs(60)));
    }

    let child = names(server).ok_or(Error::Unnamed)?;
    let deployments = Api::<Deployment>::namespaced(ctx.client.clone(), &ns);
    // A Deployment's selector is immutable: an existing one keeps its own.
    let existing_selector = deployments
        .get_opt(&child.deployment)
        .await?
        .and_then(|d| d.spec)
        .and_then(|s| s.selector.match_labels);
    let rendered = render::render(Inputs {
        server,
        schemas: &plan.schemas,
        providers: &plan.providers,
        templates: &plan.templates,
        secrets: &values,
        capabilities: ctx.capabilities,
        existing_selector: existing_selector.as_ref(),
    })?;
    let pp = PatchParams::apply(MANAGER).force();
    ssa(
        &Api::<Secret>::namespaced(ctx.client.clone(), &ns),
        &child.config_secret,
        &rendered.secret,
        &pp,
    )
    .await?;
    ssa(
        &Api::<Service>::namespaced(ctx.client.clone(), &ns),
        &child.public_service,
        &rendered.public_service,
        &pp,
    )
    .await?;
    ssa(
        &Api::<Service>::namespaced(ctx.client.clone(), &ns),
        &child.admin_service,
        &rendered.admin_service,
        &pp,
    )
    .await?;
    ssa(
        &Api::<PodDisruptionBudget>::namespaced(ctx.client.clone(), &ns),
        &child.deployment,
        &rendered.pdb,
        &pp,
    )
    .await?;
    apply_optional(
        &Api::<NetworkPolicy>::namespaced(ctx.client.clone(), &ns),
        &child.deployment,
        rendered.network_policy.as_ref(),
        &pp,
    )
    .await?;
    apply_optional(
        &Api::<Ingress>::namespaced(ctx.client.clone(), &ns),
        &child.deployment,
        rendered.ingress.as_ref(),
        &pp,
    )
    .await?;
    let deployment: Deployment =
        ssa(&deployments, &child.deployment, &rendered.deployment, &pp).await?;
    // Without the Gateway API the route cannot exist; the rest still rolls out.
    let route = apply_optional(
        &Api::<DynamicObject>::namespaced_with(
            ctx.client.clone(),
            &ns,
            &exposure::http_route_resource(),
        ),
        &child.deployment,
        rendered.http_route.as_ref(),
        &pp,
    )
    .await;
    let route_missing = match route {
        Ok(()) => false,
        Err(Error::Kube(kube::Error::Api(s))) if s.code == 404 && rendered.http_route.is_some() => {
            true
        }
        Err(e) => return Err(e),
    };

    let desired = server.spec.replicas.unwrap_or(1);
    let pods = list_pods(ctx, &ns, &deployment).await?;
    let mut rollout = health::judge(&deployment, &pods, desired);
    if route_missing {
        rollout = health::Rollout::Stuck {
            ready: deployment
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
            reason: GATEWAY_API_MISSING.into(),
            message: format!(
                "spec.exposure.httpRoute needs the Gateway API ({} HTTPRoute) in the cluster; install its CRDs or use spec.exposure.ingress",
                exposure::GATEWAY_GROUP
            ),
        };
    }
    let rolled = rollout.is_done();
    let ready_replicas = match &rollout {
        health::Rollout::Done { ready }
        | health::Rollout::Underway { ready }
        | health::Rollout::Stuck { ready, .. } => *ready,
    };
    // Fields this server version ignores are named where a user looks: the Ready message.
    let ignored: String = plan.server_notes.iter().map(|n| format!("; {n}")).collect();
    let conditions = health::conditions(&rollout, desired, &ignored);
    let status = IdentityServerStatus {
        observed_generation: generation,
        conditions: stamp(&previous.conditions, conditions, generation, &ctx.now()),
        config_hash: Some(rendered.config_hash.clone()),
        ready_replicas: Some(ready_replicas),
        attached: Some(counts),
    };
    if previous.config_hash.as_deref() != Some(rendered.config_hash.as_str()) {
        ctx.metrics
            .rollouts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        publish(
            ctx,
            server,
            false,
            "ConfigApplied",
            format!("config {} applied", short(&rendered.config_hash)),
        )
        .await;
    }
    write_server_status(ctx, server, api, &previous, status).await?;
    Ok(if rolled {
        Action::requeue(ctx.resync)
    } else {
        Action::requeue(Duration::from_secs(30))
    })
}

/// The pods a Deployment selects.
async fn list_pods(ctx: &Context, ns: &str, deployment: &Deployment) -> Result<Vec<Pod>, Error> {
    let Some(labels) = deployment
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .filter(|l| !l.is_empty())
    else {
        return Ok(Vec::new());
    };
    let selector = labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    Ok(Api::<Pod>::namespaced(ctx.client.clone(), ns)
        .list(&ListParams::default().labels(&selector))
        .await?
        .items)
}

/// Applies an optional child, or deletes it when it is no longer wanted and exists.
async fn apply_optional<K>(
    api: &Api<K>,
    name: &str,
    obj: Option<&K>,
    pp: &PatchParams,
) -> Result<(), Error>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    match obj {
        Some(obj) => {
            ssa(api, name, obj, pp).await?;
        }
        None => {
            // A kind the cluster does not serve (no Gateway API) answers 404 as well.
            // Only a child of this operator is deleted, never someone else's object.
            let existing = ignore_missing(api.get_opt(name).await)?.flatten();
            let ours = existing.is_some_and(|o| {
                o.meta().labels.as_ref().is_some_and(|l| {
                    l.get("app.kubernetes.io/managed-by").map(String::as_str)
                        == Some("bia-operator")
                })
            });
            if ours {
                ignore_missing(api.delete(name, &DeleteParams::default()).await)?;
            }
        }
    }
    Ok(())
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Server-side applies one child and returns what the API server stored.
async fn ssa<K>(api: &Api<K>, name: &str, obj: &K, pp: &PatchParams) -> Result<K, Error>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    Ok(api.patch(name, pp, &Patch::Apply(obj)).await?)
}

/// Sets observedGeneration and transition times on fresh conditions.
fn stamp(
    previous: &[Condition],
    fresh: Vec<Condition>,
    generation: Option<i64>,
    now: &str,
) -> Vec<Condition> {
    let fresh = fresh
        .into_iter()
        .map(|mut c| {
            c.observed_generation = generation;
            c
        })
        .collect();
    merge_conditions(previous, fresh, now)
}

async fn write_server_status(
    ctx: &Context,
    server: &IdentityServer,
    api: &Api<IdentityServer>,
    previous: &IdentityServerStatus,
    status: IdentityServerStatus,
) -> Result<(), Error> {
    if *previous == status {
        return Ok(());
    }
    for c in &status.conditions {
        let before = previous.conditions.iter().find(|p| p.type_ == c.type_);
        let changed = before.is_none_or(|p| p.status != c.status || p.reason != c.reason);
        if changed
            && (c.type_ == "Ready" || (c.type_ == "Degraded" && c.status == ConditionStatus::True))
        {
            let warning = c.type_ == "Degraded"
                || (c.type_ == "Ready"
                    && c.status != ConditionStatus::True
                    && c.reason != "RollingOut");
            let reason = if c.type_ == "Degraded" {
                format!("Degraded{}", c.reason)
            } else {
                c.reason.clone()
            };
            publish(ctx, server, warning, &reason, c.message.clone()).await;
        }
    }
    api.patch_status(
        &server.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await?;
    Ok(())
}

async fn write_attached_statuses(
    ctx: &Context,
    server: &IdentityServer,
    plan: &Plan,
    schemas: &[IdentitySchema],
    providers: &[OIDCProvider],
    templates: &[CourierTemplate],
) -> Result<(), Error> {
    let now = ctx.now();
    for s in schemas
        .iter()
        .filter(|s| s.metadata.deletion_timestamp.is_none())
    {
        let Some(verdict) = plan.verdicts.get(&(
            "IdentitySchema",
            s.namespace().unwrap_or_default(),
            s.name_any(),
        )) else {
            continue;
        };
        let previous = s.status.clone().unwrap_or_default();
        let mut accepted = status::accepted_condition(verdict, server);
        accepted.observed_generation = s.metadata.generation;
        let status = IdentitySchemaStatus {
            observed_generation: s.metadata.generation,
            // `Superseded` belongs to the schema controller: kept.
            conditions: merge_keeping_others(&previous.conditions, vec![accepted], &now),
            ..previous.clone()
        };
        if status != previous {
            note_verdict(ctx, s, &previous.conditions, verdict).await;
            patch_attached_status(ctx, s, &status).await?;
        }
    }
    for p in providers {
        write_attached(
            ctx,
            server,
            plan,
            p,
            "OIDCProvider",
            p.status.clone().unwrap_or_default(),
            &now,
        )
        .await?;
    }
    for t in templates {
        write_attached(
            ctx,
            server,
            plan,
            t,
            "CourierTemplate",
            t.status.clone().unwrap_or_default(),
            &now,
        )
        .await?;
    }
    Ok(())
}

async fn write_attached<K>(
    ctx: &Context,
    server: &IdentityServer,
    plan: &Plan,
    obj: &K,
    kind: &'static str,
    previous: AttachedStatus,
    now: &str,
) -> Result<(), Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let Some(verdict) =
        plan.verdicts
            .get(&(kind, obj.namespace().unwrap_or_default(), obj.name_any()))
    else {
        return Ok(());
    };
    let generation = obj.meta().generation;
    let status = AttachedStatus {
        observed_generation: generation,
        conditions: stamp(
            &previous.conditions,
            vec![status::accepted_condition(verdict, server)],
            generation,
            now,
        ),
    };
    if status != previous {
        note_verdict(ctx, obj, &previous.conditions, verdict).await;
        patch_attached_status(ctx, obj, &status).await?;
    }
    Ok(())
}

/// Publishes an event when the Accepted verdict of a resource changes.
async fn note_verdict<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    previous: &[Condition],
    verdict: &Verdict,
) {
    let before = previous.iter().find(|c| c.type_ == "Accepted");
    match verdict {
        Verdict::Accepted => {
            if before.is_none_or(|c| c.status != ConditionStatus::True) {
                publish(
                    ctx,
                    obj,
                    false,
                    "Accepted",
                    "added to the server config".into(),
                )
                .await;
            }
        }
        Verdict::Refused(r) => {
            if before.is_none_or(|c| c.reason != r.reason || c.message != r.message) {
                ctx.metrics
                    .refusals
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                publish(ctx, obj, true, r.reason, r.message.clone()).await;
            }
        }
    }
}

/// Merge-patches the status of an attached resource.
pub(super) async fn patch_attached_status<K, S>(
    ctx: &Context,
    obj: &K,
    status: &S,
) -> Result<(), Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    S: Serialize,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    api.patch_status(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await?;
    Ok(())
}
