//! Reconcile scenarios for rollout health, exposure objects and selector migration,
//! through the server controller against the fake API server.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use bia_crds::{ConditionStatus, Exposure, IdentityServer, IngressExposure, NetworkPolicySettings};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use serde_json::json;

use crate::fake_api::Fake;
use crate::fixtures::NS;
use crate::health::crash_looping;
use crate::reconcile::{condition, context, reconcile_server, seeded, within};

fn set_deployment_status(fake: &Fake, status: serde_json::Value) {
    let mut d: Deployment = fake.get(NS, "bia").unwrap();
    d.status = Some(serde_json::from_value(status).unwrap());
    fake.put(&d);
}

fn change_server(fake: &Fake, f: impl FnOnce(&mut IdentityServer)) {
    let mut s: IdentityServer = fake.get(NS, "bia").unwrap();
    f(&mut s);
    s.metadata.generation = Some(s.metadata.generation.unwrap_or(1) + 1);
    fake.put(&s);
}

#[tokio::test]
async fn crash_looping_pods_stall_the_server_and_recovery_clears_it() {
    within(async {
        let fake = seeded();
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;
        assert_eq!(condition(&fake, "Reconciling").0, ConditionStatus::True);
        assert_eq!(condition(&fake, "Stalled").0, ConditionStatus::False);

        fake.put(&crash_looping("bia-6d-x1"));
        reconcile_server(&fake, &ctx).await;
        assert_eq!(
            condition(&fake, "Stalled"),
            (ConditionStatus::True, "CrashLoopBackOff".into())
        );
        assert_eq!(
            condition(&fake, "Degraded"),
            (ConditionStatus::True, "CrashLoopBackOff".into())
        );
        assert_eq!(condition(&fake, "Reconciling").0, ConditionStatus::False);
        assert_eq!(condition(&fake, "Ready").0, ConditionStatus::False);
        let s: IdentityServer = fake.get(NS, "bia").unwrap();
        let status = s.status.unwrap();
        assert_eq!(status.observed_generation, s.metadata.generation);
        assert!(
            status
                .conditions
                .iter()
                .all(|c| c.observed_generation == s.metadata.generation)
        );
        let warnings: Vec<_> = fake
            .events()
            .into_iter()
            .filter(|e| e["type"] == "Warning")
            .map(|e| e["reason"].clone())
            .collect();
        assert!(
            warnings.contains(&json!("DegradedCrashLoopBackOff")),
            "{warnings:?}"
        );
        // The pods were listed by the Deployment's selector.
        assert!(fake.calls().iter().any(|c| c.method == "GET"
            && c.path == "/api/v1/namespaces/identity/pods"));

        // The pod is replaced by a healthy one and the Deployment finishes.
        fake.remove::<k8s_openapi::api::core::v1::Pod>(NS, "bia-6d-x1");
        fake.deployments_ready.store(true, Ordering::SeqCst);
        set_deployment_status(
            &fake,
            json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2}),
        );
        reconcile_server(&fake, &ctx).await;
        assert_eq!(condition(&fake, "Ready").0, ConditionStatus::True);
        assert_eq!(condition(&fake, "Stalled").0, ConditionStatus::False);
        assert_eq!(condition(&fake, "Degraded").0, ConditionStatus::False);
    })
    .await;
}

#[tokio::test]
async fn an_exceeded_progress_deadline_stalls_the_server() {
    within(async {
        let fake = seeded();
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;
        set_deployment_status(
            &fake,
            json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 1,
                   "conditions": [{"type": "Progressing", "status": "False",
                                   "reason": "ProgressDeadlineExceeded", "message": "timed out"}]}),
        );
        reconcile_server(&fake, &ctx).await;
        assert_eq!(
            condition(&fake, "Stalled"),
            (ConditionStatus::True, "ProgressDeadlineExceeded".into())
        );
        assert_eq!(condition(&fake, "Progressing").0, ConditionStatus::False);
    })
    .await;
}

#[tokio::test]
async fn a_missing_secret_is_stalled_not_reconciling() {
    within(async {
        let fake = seeded();
        fake.remove::<k8s_openapi::api::core::v1::Secret>(NS, "bia-secrets");
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;
        assert_eq!(
            condition(&fake, "Stalled"),
            (ConditionStatus::True, "SecretMissing".into())
        );
        assert_eq!(condition(&fake, "Reconciling").0, ConditionStatus::False);
    })
    .await;
}

#[tokio::test]
async fn ingress_is_applied_then_removed_and_a_foreign_one_is_left_alone() {
    within(async {
        let fake = seeded();
        let ctx = context(&fake);
        change_server(&fake, |s| {
            s.spec.exposure = Some(Exposure {
                ingress: Some(IngressExposure::default()),
                ..Exposure::default()
            });
        });
        reconcile_server(&fake, &ctx).await;
        let ingress: Ingress = fake.get(NS, "bia").unwrap();
        assert_eq!(
            ingress.spec.unwrap().rules.unwrap()[0].host.as_deref(),
            Some("id.example.com")
        );
        assert!(fake.get::<NetworkPolicy>(NS, "bia").is_some());
        // An HTTPRoute was neither wanted nor present: nothing was written for it.
        assert!(
            !fake.writes().iter().any(|c| c.path.contains("httproutes")),
            "{:?}",
            fake.writes()
        );

        // Exposure and policy turned off: both are deleted.
        change_server(&fake, |s| {
            s.spec.exposure = None;
            s.spec.network_policy = Some(NetworkPolicySettings {
                enabled: Some(false),
                admin_from: None,
            });
        });
        reconcile_server(&fake, &ctx).await;
        assert!(fake.get::<Ingress>(NS, "bia").is_none());
        assert!(fake.get::<NetworkPolicy>(NS, "bia").is_none());

        // Someone else's Ingress of the same name is never deleted.
        let mut foreign = Ingress::default();
        foreign.metadata.name = Some("bia".into());
        foreign.metadata.namespace = Some(NS.into());
        foreign.metadata.labels = Some(BTreeMap::from([("team".into(), "web".into())]));
        fake.put(&foreign);
        fake.clear_log();
        reconcile_server(&fake, &ctx).await;
        assert!(fake.get::<Ingress>(NS, "bia").is_some());
        assert!(!fake.writes().iter().any(|c| c.method == "DELETE"));
    })
    .await;
}

#[tokio::test]
async fn an_existing_deployment_keeps_its_immutable_selector() {
    within(async {
        let fake = seeded();
        let legacy = json!({"app.kubernetes.io/name": "bia", "app.kubernetes.io/instance": "bia"});
        let d: Deployment = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "bia", "namespace": NS, "generation": 4,
                         "labels": {"app.kubernetes.io/instance": "bia", "app.kubernetes.io/managed-by": "bia-operator"}},
            "spec": {"selector": {"matchLabels": legacy}, "template": {"metadata": {"labels": legacy}}},
        }))
        .unwrap();
        fake.put(&d);
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;
        let d: Deployment = fake.get(NS, "bia").unwrap();
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["spec"]["selector"]["matchLabels"], legacy);
        assert_eq!(v["spec"]["template"]["metadata"]["labels"]["bia.dev/server"], "bia");
        assert!(v["metadata"]["labels"]["app.kubernetes.io/instance"].is_null());
        let svc: Service = fake.get(NS, "bia-public").unwrap();
        assert_eq!(serde_json::to_value(svc.spec.unwrap().selector).unwrap(), legacy);
    })
    .await;
}

#[tokio::test]
async fn an_http_route_without_the_gateway_api_stalls_with_the_reason() {
    within(async {
        let fake = seeded();
        fake.missing_kinds.lock().unwrap().push("httproutes");
        let ctx = context(&fake);
        change_server(&fake, |s| {
            s.spec.exposure = Some(Exposure {
                http_route: Some(bia_crds::HttpRouteExposure {
                    parent_refs: vec![bia_crds::GatewayRef {
                        name: "public".into(),
                        ..bia_crds::GatewayRef::default()
                    }],
                }),
                ..Exposure::default()
            });
        });
        reconcile_server(&fake, &ctx).await;
        let (status, reason) = condition(&fake, "Stalled");
        assert_eq!(
            (status, reason.as_str()),
            (ConditionStatus::True, "GatewayAPIMissing")
        );
        // Everything else was applied all the same.
        assert!(fake.get::<Deployment>(NS, "bia").is_some());

        // Without a route wanted, the missing kind is no error at all.
        change_server(&fake, |s| s.spec.exposure = None);
        fake.deployments_ready.store(true, Ordering::SeqCst);
        reconcile_server(&fake, &ctx).await;
        assert_eq!(condition(&fake, "Ready").0, ConditionStatus::True);
    })
    .await;
}
