//! Wiring: the server controller with its watches, the three attached-kind controllers,
//! the Identity controller, all sharing one [`Context`].

use std::sync::Arc;

use bia_crds::{CourierTemplate, Identity, IdentitySchema, IdentityServer, OIDCProvider};
use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

use crate::controller::attached::{self, Attached};
use crate::controller::{Context, identity, server};

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Servers a Secret matters to: the owner of a config Secret, and every server that reads it.
fn servers_for_secret(ctx: &Context, secret: &Secret) -> Vec<ObjectRef<IdentityServer>> {
    let ns = secret.metadata.namespace.clone().unwrap_or_default();
    let name = secret.metadata.name.clone().unwrap_or_default();
    let mut out = ctx.secrets.servers_reading(&ns, &name);
    for owner in secret.metadata.owner_references.iter().flatten() {
        if owner.kind == "IdentityServer" && owner.api_version == "bia.dev/v1alpha1" {
            out.push(ObjectRef::new(&owner.name).within(&ns));
        }
    }
    out
}

async fn run_attached<K: Attached>(ctx: Arc<Context>, namespace: Option<String>) {
    Controller::new(
        api::<K>(&ctx.client, namespace.as_deref()),
        watcher::Config::default().any_semantic(),
    )
    .shutdown_on_signal()
    .run(
        attached::reconcile::<K>,
        attached::error_policy::<K>,
        ctx.clone(),
    )
    .for_each(|r| async move {
        if let Err(e) = r {
            tracing::debug!(error = %e, "attached controller event");
        }
    })
    .await;
}

/// The Identity controller: each Identity, and the Secrets holding their passwords.
async fn run_identities(ctx: Arc<Context>, namespace: Option<String>) {
    let wc = watcher::Config::default().any_semantic();
    let controller = Controller::new(
        api::<Identity>(&ctx.client, namespace.as_deref()),
        wc.clone(),
    );
    let store = controller.store();
    controller
        .watches(
            api::<Secret>(&ctx.client, namespace.as_deref()),
            wc,
            move |s| {
                let ns = s.metadata.namespace.clone().unwrap_or_default();
                let name = s.metadata.name.clone().unwrap_or_default();
                store
                    .state()
                    .into_iter()
                    .filter(|i| identity::reads_secret(i, &ns, &name))
                    .map(|i| ObjectRef::from_obj(i.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .shutdown_on_signal()
        .run(identity::reconcile, identity::error_policy, ctx.clone())
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "identity controller event");
            }
        })
        .await;
}

/// Runs every controller until a shutdown signal. `namespace` limits them to one namespace
/// (a namespaced Role suffices); `None` watches the whole cluster.
pub async fn run_controllers(ctx: Arc<Context>, namespace: Option<String>) {
    let client = ctx.client.clone();
    let ns = namespace.as_deref();
    let wc = watcher::Config::default().any_semantic();
    let children = wc
        .clone()
        .labels("app.kubernetes.io/managed-by=bia-operator");
    let secret_ctx = ctx.clone();
    let servers = Controller::new(api::<IdentityServer>(&client, ns), wc.clone())
        .owns(api::<Deployment>(&client, ns), children.clone())
        .owns(api::<Service>(&client, ns), children.clone())
        .owns(api::<PodDisruptionBudget>(&client, ns), children.clone())
        .owns(api::<NetworkPolicy>(&client, ns), children.clone())
        .owns(api::<Ingress>(&client, ns), children)
        .watches(api::<IdentitySchema>(&client, ns), wc.clone(), |o| {
            attached::server_of(&o)
        })
        .watches(api::<OIDCProvider>(&client, ns), wc.clone(), |o| {
            attached::server_of(&o)
        })
        .watches(api::<CourierTemplate>(&client, ns), wc.clone(), |o| {
            attached::server_of(&o)
        })
        .watches(api::<Secret>(&client, ns), wc, move |s| {
            servers_for_secret(&secret_ctx, &s)
        })
        .shutdown_on_signal()
        .run(server::reconcile, server::error_policy, ctx.clone())
        .for_each(|r| async move {
            match r {
                Ok((obj, _)) => tracing::debug!(server = %obj, "reconciled"),
                Err(e) => tracing::debug!(error = %e, "server controller event"),
            }
        });
    tokio::join!(
        servers,
        run_attached::<IdentitySchema>(ctx.clone(), namespace.clone()),
        run_attached::<OIDCProvider>(ctx.clone(), namespace.clone()),
        run_attached::<CourierTemplate>(ctx.clone(), namespace.clone()),
        run_identities(ctx.clone(), namespace.clone()),
    );
}
