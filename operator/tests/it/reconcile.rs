//! Reconcile scenarios against the fake API server, each with a short timeout.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bia_crds::{
    ConditionStatus, CourierTemplate, DeletionPolicy, IdentitySchema, IdentityServer, OIDCProvider,
    TemplateType,
};
use bia_operator::controller::{Context, SCHEMA_FINALIZER, SERVER_FINALIZER, attached, server};
use bia_operator::render::HASH_ANNOTATION;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::fake_api::Fake;
use crate::fixtures::*;

pub async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("scenario timed out")
}

pub fn context(fake: &Arc<Fake>) -> Arc<Context> {
    let mut ctx = Context::new(fake.client(), Some("test".into()));
    ctx.clock = Arc::new(|| Timestamp::from_second(1_700_000_000).unwrap());
    Arc::new(ctx)
}

pub fn ready_server() -> IdentityServer {
    let mut s = server();
    s.metadata.finalizers = Some(vec![SERVER_FINALIZER.into()]);
    s
}

/// A store with a server, a good schema and the server's Secrets.
pub fn seeded() -> Arc<Fake> {
    let fake = Fake::new();
    fake.put(&ready_server());
    fake.put(&schema("customer-v1", "customer-v1", GOOD_SCHEMA));
    fake.put(&server_secrets());
    fake.put(&oauth_secret());
    fake
}

pub async fn reconcile_server(fake: &Arc<Fake>, ctx: &Arc<Context>) {
    let current: IdentityServer = fake.get(NS, "bia").unwrap();
    server::reconcile(Arc::new(current), ctx.clone())
        .await
        .unwrap();
}

fn config_of(fake: &Fake) -> String {
    let secret: Secret = fake.get(NS, "bia-config").unwrap();
    String::from_utf8(secret.data.unwrap()["kratos.yml"].0.clone()).unwrap()
}

fn pod_hash(fake: &Fake) -> String {
    let d: Deployment = fake.get(NS, "bia").unwrap();
    d.spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap()[HASH_ANNOTATION]
        .clone()
}

fn accepted<
    K: kube::Resource<DynamicType = ()> + serde::de::DeserializeOwned + serde::Serialize,
>(
    fake: &Fake,
    name: &str,
) -> (String, String) {
    let obj: K = fake.get(NS, name).unwrap();
    let v = serde_json::to_value(obj).unwrap();
    let c = v["status"]["conditions"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["type"] == "Accepted"))
        .cloned()
        .unwrap_or(Value::Null);
    (
        c["status"].as_str().unwrap_or_default().to_owned(),
        c["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

pub fn condition(fake: &Fake, type_: &str) -> (ConditionStatus, String) {
    let s: IdentityServer = fake.get(NS, "bia").unwrap();
    let c = s
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == type_)
        .unwrap();
    (c.status, c.reason)
}

#[tokio::test]
async fn first_pass_only_adds_the_finalizer() {
    within(async {
        let fake = seeded();
        fake.put(&server());
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;
        let writes = fake.writes();
        assert_eq!(writes.len(), 1, "{writes:?}");
        let s: IdentityServer = fake.get(NS, "bia").unwrap();
        assert_eq!(
            s.metadata.finalizers.unwrap(),
            vec![SERVER_FINALIZER.to_owned()]
        );
    })
    .await;
}

#[tokio::test]
async fn create_renders_applies_and_becomes_ready() {
    within(async {
        let fake = seeded();
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;

        let applies: Vec<_> = fake
            .writes()
            .into_iter()
            .filter(|c| c.content_type.contains("apply-patch"))
            .collect();
        assert_eq!(
            applies.len(),
            6,
            "secret, 2 services, pdb, network policy, deployment"
        );
        assert!(
            applies
                .iter()
                .all(|c| c.path.contains("/namespaces/identity/"))
        );
        let config = config_of(&fake);
        assert!(config.contains("default_schema_id: customer-v1"));
        assert!(config.contains("base64://"));
        let d: Deployment = fake.get(NS, "bia").unwrap();
        let owner = d.metadata.owner_references.clone().unwrap();
        assert_eq!(owner[0].kind, "IdentityServer");
        let labels = d.metadata.labels.clone().unwrap();
        assert!(
            !labels.contains_key("argocd.argoproj.io/instance"),
            "server labels must not be copied"
        );
        assert_eq!(
            accepted::<IdentitySchema>(&fake, "customer-v1"),
            ("True".into(), "Accepted".into())
        );
        assert_eq!(
            condition(&fake, "Ready"),
            (ConditionStatus::False, "RollingOut".into())
        );
        assert_eq!(condition(&fake, "Progressing").0, ConditionStatus::True);

        // The Deployment becomes ready: the next pass says Ready.
        fake.deployments_ready.store(true, Ordering::SeqCst);
        reconcile_server(&fake, &ctx).await;
        assert_eq!(
            condition(&fake, "Ready"),
            (ConditionStatus::True, "Available".into())
        );
        let events = fake.events();
        assert!(
            events.iter().any(|e| e["reason"] == "Available"),
            "{events:?}"
        );

        // Idempotent: a pass with nothing new writes no status and publishes no event.
        fake.clear_log();
        reconcile_server(&fake, &ctx).await;
        reconcile_server(&fake, &ctx).await;
        let writes = fake.writes();
        assert!(
            writes
                .iter()
                .all(|c| c.content_type.contains("apply-patch")),
            "{writes:?}"
        );
        assert!(fake.events().is_empty());
    })
    .await;
}

#[tokio::test]
async fn update_changes_the_deployment_without_a_restart_hash_change() {
    within(async {
        let fake = seeded();
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;
        let before = pod_hash(&fake);
        let mut s: IdentityServer = fake.get(NS, "bia").unwrap();
        s.spec.replicas = Some(3);
        s.metadata.generation = Some(2);
        fake.put(&s);
        reconcile_server(&fake, &ctx).await;
        let d: Deployment = fake.get(NS, "bia").unwrap();
        assert_eq!(d.spec.unwrap().replicas, Some(3));
        assert_eq!(pod_hash(&fake), before);
        let s: IdentityServer = fake.get(NS, "bia").unwrap();
        assert_eq!(s.status.unwrap().observed_generation, Some(2));

        // A new schema is reloaded by the server: config changes, the restart hash does not.
        let config_before = config_of(&fake);
        fake.put(&schema("admin-v1", "admin-v1", GOOD_SCHEMA));
        reconcile_server(&fake, &ctx).await;
        assert_ne!(config_of(&fake), config_before);
        assert_eq!(pod_hash(&fake), before);
        assert_eq!(accepted::<IdentitySchema>(&fake, "admin-v1").0, "True");
    })
    .await;
}

#[tokio::test]
async fn providers_and_templates_are_applied_and_providers_the_server_refuses_are_invalid() {
    within(async {
        let fake = seeded();
        fake.put(&provider("google", "google", 100));
        let mut apple = provider("apple", "apple", 101);
        // Apple without a client secret or the key to sign one.
        apple.spec.provider = bia_crds::ProviderKind::Apple;
        apple.spec.client_secret = None;
        fake.put(&apple);
        fake.put(&template(
            "recovery",
            TemplateType::RecoveryCode,
            "Code: {{ .RecoveryCode }}",
        ));
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;

        assert_eq!(
            accepted::<OIDCProvider>(&fake, "google"),
            ("True".into(), "Accepted".into())
        );
        let p: OIDCProvider = fake.get(NS, "apple").unwrap();
        let c = &p.status.unwrap().conditions[0];
        assert_eq!(
            (c.status, c.reason.as_str()),
            (ConditionStatus::False, "Invalid")
        );
        assert!(
            c.message.contains("spec.clientSecret is required"),
            "{}",
            c.message
        );
        assert_eq!(
            accepted::<CourierTemplate>(&fake, "recovery"),
            ("True".into(), "Accepted".into())
        );

        // The generic provider is in the config with its secret; the invalid one is
        // not; the template and spec.courier are in.
        let config = config_of(&fake);
        for key in [
            "id: google",
            "client_id: client-google",
            "issuer_url: https://accounts.example.com",
            "recovery_code:",
            "connection_uri: smtps://",
        ] {
            assert!(config.contains(key), "{key} not in {config}");
        }
        assert!(!config.contains("id: apple"), "{config}");
        let loaded = bia_config::parse(&bia_config::parse_yaml(&config).unwrap()).unwrap();
        let problems = bia_config::check(&loaded.config, bia_config::Mode::default());
        assert!(problems.is_empty(), "{problems:?}");
        let s: IdentityServer = fake.get(NS, "bia").unwrap();
        let counts = s.status.unwrap().attached.unwrap();
        assert_eq!(
            (
                counts.schemas,
                counts.oidc_providers,
                counts.courier_templates
            ),
            (1, 1, 1)
        );
        let warnings: Vec<_> = fake
            .events()
            .into_iter()
            .filter(|e| e["type"] == "Warning")
            .collect();
        assert_eq!(
            warnings.iter().filter(|e| e["reason"] == "Invalid").count(),
            1,
            "{warnings:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn template_that_does_not_parse_is_refused() {
    within(async {
        let fake = seeded();
        fake.put(&template(
            "broken",
            TemplateType::LoginCode,
            "Code: {{ .LoginCode ",
        ));
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;
        assert_eq!(
            accepted::<CourierTemplate>(&fake, "broken"),
            ("False".into(), "TemplateParseError".into())
        );
        let t: CourierTemplate = fake.get(NS, "broken").unwrap();
        let message = &t.status.unwrap().conditions[0].message;
        assert!(
            message.starts_with("spec.body.plaintext line 1:"),
            "{message}"
        );
        assert!(!config_of(&fake).contains("login_code"));
    })
    .await;
}

#[tokio::test]
async fn missing_server_secret_degrades_without_rollout() {
    within(async {
        let fake = seeded();
        fake.remove::<Secret>(NS, "bia-secrets");
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;
        assert!(
            fake.writes()
                .iter()
                .all(|c| !c.content_type.contains("apply-patch"))
        );
        assert_eq!(
            condition(&fake, "Degraded"),
            (ConditionStatus::True, "SecretMissing".into())
        );
        assert_eq!(condition(&fake, "Ready").0, ConditionStatus::False);
        // It appears: the server rolls out.
        fake.put(&server_secrets());
        reconcile_server(&fake, &ctx).await;
        assert!(fake.get::<Deployment>(NS, "bia").is_some());
        assert_eq!(condition(&fake, "Degraded").0, ConditionStatus::False);
    })
    .await;
}

#[tokio::test]
async fn server_ref_to_nothing_waits() {
    within(async {
        let fake = Fake::new();
        let mut p = provider("orphan", "x", 0);
        p.spec.server_ref.name = "nobody".into();
        fake.put(&p);
        let ctx = context(&fake);
        attached::reconcile(Arc::new(p), ctx.clone()).await.unwrap();
        assert_eq!(
            accepted::<OIDCProvider>(&fake, "orphan"),
            ("False".into(), "ServerNotFound".into())
        );
        // Unchanged on the next pass: no new write.
        fake.clear_log();
        let p: OIDCProvider = fake.get(NS, "orphan").unwrap();
        attached::reconcile(Arc::new(p), ctx).await.unwrap();
        assert!(fake.writes().is_empty());
    })
    .await;
}

async fn delete_with(policy: DeletionPolicy) -> Arc<Fake> {
    let fake = seeded();
    let ctx = context(&fake);
    let mut s = ready_server();
    s.spec.deletion_policy = Some(policy);
    fake.put(&s);
    reconcile_server(&fake, &ctx).await;
    let mut s: IdentityServer = fake.get(NS, "bia").unwrap();
    s.metadata.deletion_timestamp = Some(time(500));
    fake.put(&s);
    fake.clear_log();
    reconcile_server(&fake, &ctx).await;
    fake
}

#[tokio::test]
async fn deletion_with_policy_delete_leaves_children_to_garbage_collection() {
    within(async {
        let fake = delete_with(DeletionPolicy::Delete).await;
        let writes = fake.writes();
        assert_eq!(
            writes.len(),
            1,
            "only the finalizer is released: {writes:?}"
        );
        assert!(writes[0].path.ends_with("/identityservers/bia"));
        assert!(fake.get::<IdentityServer>(NS, "bia").is_none());
        let d: Deployment = fake.get(NS, "bia").unwrap();
        assert!(
            d.metadata.owner_references.is_some(),
            "owner references let the GC delete children"
        );
        assert!(
            fake.get::<Secret>(NS, "bia-secrets").is_some(),
            "a user's Secret is never touched"
        );
    })
    .await;
}

#[tokio::test]
async fn deletion_with_policy_orphan_detaches_children() {
    within(async {
        let fake = delete_with(DeletionPolicy::Orphan).await;
        let writes = fake.writes();
        assert_eq!(
            writes.len(),
            9,
            "eight children detached (Ingress and HTTPRoute are absent: 404), then the finalizer: {writes:?}"
        );
        let d: Deployment = fake.get(NS, "bia").unwrap();
        assert!(d.metadata.owner_references.is_none());
        let config: Secret = fake.get(NS, "bia-config").unwrap();
        assert!(config.metadata.owner_references.is_none());
        assert!(fake.get::<IdentityServer>(NS, "bia").is_none());
        assert!(
            writes
                .iter()
                .all(|c| !c.path.ends_with("/secrets/bia-secrets"))
        );
    })
    .await;
}

#[tokio::test]
async fn schema_deletion_waits_for_identities() {
    within(async {
        let fake = seeded();
        let ctx = context(&fake);
        let s: IdentitySchema = fake.get(NS, "customer-v1").unwrap();
        attached::reconcile(Arc::new(s), ctx.clone()).await.unwrap();
        let mut s: IdentitySchema = fake.get(NS, "customer-v1").unwrap();
        assert_eq!(
            s.metadata.finalizers.clone().unwrap(),
            vec![SCHEMA_FINALIZER.to_owned()]
        );

        *fake.identity_pages.lock().unwrap() = vec![
            vec![
                serde_json::json!({"id": "1", "schema_id": "customer-v1"}),
                serde_json::json!({"id": "2", "schema_id": "other"}),
            ],
            vec![serde_json::json!({"id": "3", "schema_id": "customer-v1"})],
        ];
        s.metadata.deletion_timestamp = Some(time(600));
        fake.put(&s);
        attached::reconcile(Arc::new(s), ctx.clone()).await.unwrap();
        let s: IdentitySchema = fake.get(NS, "customer-v1").unwrap();
        let status = s.status.clone().unwrap();
        assert_eq!(status.identities_using, Some(2));
        assert!(
            status.conditions[0]
                .message
                .contains("2 identities still use")
        );
        assert!(s.metadata.finalizers.is_some());
        // While held back, the schema stays in the config.
        reconcile_server(&fake, &ctx).await;
        assert!(config_of(&fake).contains("id: customer-v1"));

        // The identities moved: the finalizer goes and the object with it.
        *fake.identity_pages.lock().unwrap() =
            vec![vec![serde_json::json!({"id": "1", "schema_id": "other"})]];
        attached::reconcile(Arc::new(s), ctx).await.unwrap();
        assert!(fake.get::<IdentitySchema>(NS, "customer-v1").is_none());
    })
    .await;
}

#[tokio::test]
async fn providers_from_selected_namespaces_attach() {
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
    use std::collections::BTreeMap;
    within(async {
        let fake = seeded();
        let mut s = ready_server();
        s.spec.namespace_selectors = Some(bia_crds::NamespaceSelectors {
            oidc_providers: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([("bia.dev/attach".into(), "true".into())])),
                ..LabelSelector::default()
            }),
            ..Default::default()
        });
        fake.put(&s);
        for (ns, attach) in [("team-a", "true"), ("team-b", "false")] {
            fake.put(&Namespace {
                metadata: ObjectMeta {
                    name: Some(ns.into()),
                    labels: Some(BTreeMap::from([("bia.dev/attach".into(), attach.into())])),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            });
            let mut p = provider(&format!("sso-{ns}"), &format!("sso-{ns}"), 0);
            p.metadata.namespace = Some(ns.into());
            p.spec.server_ref.namespace = Some(NS.into());
            fake.put(&p);
            let mut sec = oauth_secret();
            sec.metadata.namespace = Some(ns.into());
            fake.put(&sec);
        }
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;
        // The selected namespace's provider is validated and accepted; the other one
        // never attaches.
        let p: OIDCProvider = fake.get("team-a", "sso-team-a").unwrap();
        assert_eq!(p.status.unwrap().conditions[0].reason, "Accepted");
        let p: OIDCProvider = fake.get("team-b", "sso-team-b").unwrap();
        assert!(p.status.is_none());

        // The provider in the namespace that is not selected is told why.
        let p: OIDCProvider = fake.get("team-b", "sso-team-b").unwrap();
        attached::reconcile(Arc::new(p), ctx).await.unwrap();
        let p: OIDCProvider = fake.get("team-b", "sso-team-b").unwrap();
        assert_eq!(
            p.status.unwrap().conditions[0].reason,
            "NamespaceNotAllowed"
        );
    })
    .await;
}

/// A P-256 private key in PKCS#8 PEM, as Apple's `.p8` files hold one.
const APPLE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg05rovxta3Bp/8ul7
YrLk3voVcgJVSpmTZYsN/Tfi0cahRANCAAQzZg2uaudYUl27R7vpzovrzeCdIenU
0+LVX1tw3ZJtRs4afQGq0r8za91uOoezYiRqWiZ0UrpH93Pohrj6dp+V
-----END PRIVATE KEY-----
";

#[tokio::test]
async fn an_apple_provider_signs_with_a_key_from_a_secret_and_a_missing_key_is_a_condition() {
    within(async {
        let fake = seeded();
        let mut apple = provider("apple", "apple", 100);
        apple.spec.provider = bia_crds::ProviderKind::Apple;
        apple.spec.issuer_url = None;
        apple.spec.client_secret = None;
        apple.spec.scopes = Some(vec!["email".into()]);
        apple.spec.apple = Some(bia_crds::oidc_provider::AppleSigning {
            team_id: "KP76DQS54M".into(),
            private_key_id: "ABC123DEFG".into(),
            private_key: key("apple-signing", "key.p8"),
        });
        fake.put(&apple);
        fake.put(&secret("apple-signing", &[("other.p8", APPLE_KEY)]));
        let ctx = context(&fake);
        reconcile_server(&fake, &ctx).await;
        let p: OIDCProvider = fake.get(NS, "apple").unwrap();
        let c = &p.status.unwrap().conditions[0];
        assert_eq!(
            (c.status, c.reason.as_str()),
            (ConditionStatus::False, "SecretKeyMissing")
        );
        assert!(c.message.contains("spec.apple.privateKey"), "{}", c.message);
        assert!(!config_of(&fake).contains("apple"));

        // A key that is not one is refused naming the field.
        fake.put(&secret("apple-signing", &[("key.p8", "not a key")]));
        reconcile_server(&fake, &ctx).await;
        let p: OIDCProvider = fake.get(NS, "apple").unwrap();
        let c = &p.status.unwrap().conditions[0];
        assert_eq!(c.reason, "Invalid");
        assert!(c.message.contains("spec.apple.privateKey"), "{}", c.message);

        fake.put(&secret("apple-signing", &[("key.p8", APPLE_KEY)]));
        reconcile_server(&fake, &ctx).await;
        assert_eq!(
            accepted::<OIDCProvider>(&fake, "apple"),
            ("True".into(), "Accepted".into())
        );
        // The server's own loader and check take the rendered entry.
        let config = config_of(&fake);
        let loaded = bia_config::parse(&bia_config::parse_yaml(&config).unwrap()).unwrap();
        let problems = bia_config::check(&loaded.config, bia_config::Mode::default());
        assert!(problems.is_empty(), "{problems:?}");
        let providers = &loaded.config.selfservice.methods.oidc.config.providers;
        let entry = providers.iter().find(|p| p.id == "apple").unwrap();
        assert_eq!(entry.provider, "apple");
        assert_eq!(entry.client_secret, None);
        assert_eq!(entry.apple_team_id.as_deref(), Some("KP76DQS54M"));
        assert_eq!(entry.apple_private_key_id.as_deref(), Some("ABC123DEFG"));
        assert_eq!(entry.apple_private_key.as_deref(), Some(APPLE_KEY));
    })
    .await;
}

#[test]
fn every_provider_kind_of_the_resource_is_one_the_server_implements() {
    use kube::CustomResourceExt as _;
    let crd = serde_json::to_value(OIDCProvider::crd()).unwrap();
    let kinds = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["provider"]["enum"];
    let kinds = kinds
        .as_array()
        .expect("the provider field lists its kinds");
    assert!(kinds.len() >= 12, "{kinds:?}");
    for kind in kinds {
        let kind = kind.as_str().unwrap();
        assert!(
            bia_config::oidc::PROVIDER_KINDS.contains(&kind),
            "{kind} is offered by the resource but not implemented by the server"
        );
    }
}
