//! Declared identities: the Identity reconciler against the fake API server, whose
//! Service proxy forwards to a real `bia` process (SQLite), so every admin API call and
//! sign-in is the server's own answer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bia_crds::{
    ConditionStatus, ExistingPolicy, Identity, IdentityCredentials, IdentityDeletionPolicy,
    IdentitySpec, IdentityStatus, PasswordCredential,
};
use bia_operator::controller::identity::{self, WAIT_REQUEUE};
use bia_operator::controller::{Context, IDENTITY_FINALIZER};
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use crate::fake_api::Fake;
use crate::fixtures::*;
use crate::real_server::RealServer;
use crate::reconcile::{context, seeded};

const HASH: &str =
    "$pbkdf2-sha256$i=1000,l=32$ZGVjbGFyZWQtc2FsdC0wMQ$Cye2uyKEz6CEKVYFkLlurZqubLO0+MR1mnWXytP6jvU";
const HASHED_PASSWORD: &str = "hashed secret 42";

/// Runs a scenario with a real server, failing it after a minute.
pub async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("scenario timed out")
}

struct World {
    fake: Arc<Fake>,
    ctx: Arc<Context>,
    bia: RealServer,
}

async fn world() -> World {
    let bia = RealServer::start().await;
    let fake = seeded();
    *fake.admin_upstream.lock().unwrap() = Some(bia.admin.clone());
    let ctx = context(&fake);
    World { fake, ctx, bia }
}

fn declared(name: &str, email: &str, created: i64) -> Identity {
    let mut i = Identity::new(
        name,
        IdentitySpec {
            server_ref: server_ref(),
            schema_id: "default".into(),
            traits: json!({"email": email, "name": name}),
            state: None,
            metadata_public: Some(json!({"team": "ops"})),
            metadata_admin: None,
            credentials: Some(IdentityCredentials {
                password: Some(PasswordCredential {
                    secret_ref: key(&format!("pw-{name}"), "password"),
                    hashed: false,
                }),
            }),
            existing_policy: None,
            deletion_policy: None,
        },
    );
    i.metadata = meta(name, created);
    i
}

fn password_secret(name: &str, password: &str, revision: &str) -> Secret {
    let mut s = secret(&format!("pw-{name}"), &[("password", password)]);
    s.metadata.uid = Some(format!("uid-pw-{name}"));
    s.metadata.resource_version = Some(revision.into());
    s
}

impl World {
    fn put(&self, identity: &Identity, password: &str) {
        self.fake.put(identity);
        self.fake.put(&password_secret(
            &identity.metadata.name.clone().unwrap(),
            password,
            "1",
        ));
    }

    fn get(&self, name: &str) -> Identity {
        self.fake.get(NS, name).unwrap()
    }

    async fn reconcile(&self, name: &str) -> Action {
        identity::reconcile(Arc::new(self.get(name)), self.ctx.clone())
            .await
            .unwrap()
    }

    fn status(&self, name: &str) -> IdentityStatus {
        self.get(name).status.unwrap_or_default()
    }

    fn condition(&self, name: &str, type_: &str) -> (ConditionStatus, String, String) {
        let c = self
            .status(name)
            .conditions
            .into_iter()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("no {type_} condition on {name}"));
        (c.status, c.reason, c.message)
    }

    fn id(&self, name: &str) -> String {
        self.status(name).identity_id.expect("identityId in status")
    }

    /// Admin API calls the operator made through the proxy.
    fn proxied(&self) -> Vec<(String, String)> {
        self.fake
            .calls()
            .into_iter()
            .filter(|c| c.path.contains("/proxy/"))
            .map(|c| (c.method, c.path.split_once("/proxy").unwrap().1.to_owned()))
            .collect()
    }
}

#[tokio::test]
async fn declared_identity_is_created_and_its_password_signs_in() {
    within(async {
        let w = world().await;
        w.put(
            &declared("alice", "alice@example.com", 30),
            "alice's first password",
        );
        let action = w.reconcile("alice").await;
        assert_eq!(
            action,
            Action::requeue(w.ctx.resync),
            "requeued to revert drift"
        );

        let id = w.id("alice");
        let (code, server) = w.bia.identity(&id).await;
        assert_eq!(code, 200);
        assert_eq!(server["traits"]["email"], "alice@example.com");
        assert_eq!(server["metadata_public"], json!({"team": "ops"}));
        assert_eq!(server["state"], "active");
        let ready = w.condition("alice", "Ready");
        assert_eq!(
            (ready.0, ready.1.as_str()),
            (ConditionStatus::True, "InSync")
        );
        assert_eq!(w.condition("alice", "Accepted").0, ConditionStatus::True);
        assert_eq!(w.condition("alice", "Stalled").0, ConditionStatus::False);
        let obj = w.get("alice");
        assert_eq!(
            obj.metadata.finalizers.unwrap(),
            vec![IDENTITY_FINALIZER.to_owned()]
        );
        let status = serde_json::to_string(&obj.status).unwrap();
        assert!(!status.contains("first password"), "no password in status");
        assert!(
            w.bia
                .signs_in("alice@example.com", "alice's first password")
                .await
        );
        assert!(w.fake.events().iter().any(|e| e["reason"] == "Created"));

        // A quiet pass: no write to the server, no status write, no event.
        w.fake.clear_log();
        w.reconcile("alice").await;
        assert!(
            w.proxied().iter().all(|(m, _)| m == "GET"),
            "{:?}",
            w.proxied()
        );
        assert!(w.fake.writes().is_empty(), "{:?}", w.fake.writes());
        assert!(w.fake.events().is_empty());
        assert_eq!(
            w.bia.identity(&id).await.1["updated_at"],
            server["updated_at"]
        );
    })
    .await;
}

#[tokio::test]
async fn changes_through_the_admin_api_are_reverted() {
    within(async {
        let w = world().await;
        w.put(&declared("bob", "bob@example.com", 30), "bob's password 1");
        w.reconcile("bob").await;
        let id = w.id("bob");

        let tampered = json!({"schema_id": "default", "state": "inactive",
            "traits": {"email": "bob@example.com", "name": "mallory"},
            "metadata_admin": {"note": "changed by hand"}});
        let (code, _) = w
            .bia
            .admin_call("PUT", &format!("/admin/identities/{id}"), Some(tampered))
            .await;
        assert_eq!(code, 200);
        w.reconcile("bob").await;
        let (_, server) = w.bia.identity(&id).await;
        assert_eq!(server["traits"]["name"], "bob");
        assert_eq!(server["state"], "active");
        assert_eq!(server["metadata_admin"], Value::Null);
        assert!(w.fake.events().iter().any(|e| e["reason"] == "Reverted"));
        assert!(
            w.bia.signs_in("bob@example.com", "bob's password 1").await,
            "password kept"
        );

        // Deleted behind the operator's back: declared again.
        let (code, _) = w
            .bia
            .admin_call("DELETE", &format!("/admin/identities/{id}"), None)
            .await;
        assert_eq!(code, 204);
        w.reconcile("bob").await;
        let again = w.id("bob");
        assert_ne!(again, id);
        assert_eq!(w.bia.identity(&again).await.0, 200);
        assert!(w.bia.signs_in("bob@example.com", "bob's password 1").await);

        // A spec change reaches the server.
        let mut changed = w.get("bob");
        changed.spec.traits["name"] = json!("Robert");
        changed.metadata.generation = Some(2);
        w.fake.put(&changed);
        w.reconcile("bob").await;
        assert_eq!(w.bia.identity(&again).await.1["traits"]["name"], "Robert");
        assert_eq!(w.status("bob").observed_generation, Some(2));
    })
    .await;
}

#[tokio::test]
async fn a_changed_secret_reimports_the_password_and_only_then() {
    within(async {
        let w = world().await;
        w.put(
            &declared("carol", "carol@example.com", 30),
            "carol's old password",
        );
        w.reconcile("carol").await;
        let id = w.id("carol");
        let revision = w.status("carol").password_revision.unwrap();
        let credential_time = |v: Value| v["credentials"]["password"]["updated_at"].clone();
        let before = credential_time(w.bia.identity(&id).await.1);

        w.reconcile("carol").await;
        assert_eq!(
            credential_time(w.bia.identity(&id).await.1),
            before,
            "not re-imported"
        );

        w.fake
            .put(&password_secret("carol", "carol's new password", "2"));
        w.reconcile("carol").await;
        assert!(
            w.bia
                .signs_in("carol@example.com", "carol's new password")
                .await
        );
        assert!(
            !w.bia
                .signs_in("carol@example.com", "carol's old password")
                .await
        );
        assert_ne!(w.status("carol").password_revision.unwrap(), revision);
        assert!(
            w.fake
                .events()
                .iter()
                .any(|e| e["reason"] == "PasswordImported")
        );
        assert_eq!(w.id("carol"), id);
    })
    .await;
}

#[tokio::test]
async fn an_imported_hash_signs_in_with_its_password() {
    within(async {
        let w = world().await;
        let mut d = declared("dave", "dave@example.com", 30);
        d.spec
            .credentials
            .as_mut()
            .unwrap()
            .password
            .as_mut()
            .unwrap()
            .hashed = true;
        w.put(&d, HASH);
        w.reconcile("dave").await;
        assert_eq!(w.condition("dave", "Ready").0, ConditionStatus::True);
        assert!(w.bia.signs_in("dave@example.com", HASHED_PASSWORD).await);
    })
    .await;
}

async fn preexisting(w: &World, email: &str) -> String {
    let (code, body) = w
        .bia
        .admin_call(
            "POST",
            "/admin/identities",
            Some(
                json!({"schema_id": "default", "traits": {"email": email, "name": "legacy"},
                "credentials": {"password": {"config": {"password": "the legacy password"}}}}),
            ),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn existing_identities_follow_the_existing_policy() {
    within(async {
        let w = world().await;
        let legacy = preexisting(&w, "erin@example.com").await;

        // Fail (the default): refused, the identity untouched, nothing created.
        w.put(
            &declared("erin", "erin@example.com", 30),
            "erin's declared password",
        );
        w.reconcile("erin").await;
        let (status, reason, message) = w.condition("erin", "Accepted");
        assert_eq!(
            (status, reason.as_str()),
            (ConditionStatus::False, "IdentityExists")
        );
        assert!(
            message.contains(&legacy) && message.contains("Adopt"),
            "{message}"
        );
        assert_eq!(w.condition("erin", "Stalled").0, ConditionStatus::True);
        assert_eq!(w.status("erin").identity_id, None);
        assert_eq!(w.bia.identities().await.len(), 1);

        // Ignore: reported, left alone.
        let mut erin = w.get("erin");
        erin.spec.existing_policy = Some(ExistingPolicy::Ignore);
        w.fake.put(&erin);
        w.reconcile("erin").await;
        let (status, reason, _) = w.condition("erin", "Ready");
        assert_eq!(
            (status, reason.as_str()),
            (ConditionStatus::False, "ExistingIgnored")
        );
        assert_eq!(w.condition("erin", "Stalled").0, ConditionStatus::False);
        assert_eq!(w.bia.identity(&legacy).await.1["traits"]["name"], "legacy");
        assert!(
            w.bia
                .signs_in("erin@example.com", "the legacy password")
                .await
        );

        // Adopt: taken over, made equal to the spec, the declared password imported.
        erin.spec.existing_policy = Some(ExistingPolicy::Adopt);
        w.fake.put(&erin);
        w.reconcile("erin").await;
        assert_eq!(w.id("erin"), legacy);
        assert_eq!(w.bia.identity(&legacy).await.1["traits"]["name"], "erin");
        assert!(
            w.bia
                .signs_in("erin@example.com", "erin's declared password")
                .await
        );
        assert!(
            !w.bia
                .signs_in("erin@example.com", "the legacy password")
                .await
        );
        assert_eq!(w.bia.identities().await.len(), 1);
        assert!(w.fake.events().iter().any(|e| e["reason"] == "Adopted"));
    })
    .await;
}

async fn delete(w: &World, name: &str) {
    let mut obj = w.get(name);
    obj.metadata.deletion_timestamp = Some(time(500));
    w.fake.put(&obj);
    let action = w.reconcile(name).await;
    assert_eq!(action, Action::await_change());
    assert!(
        w.fake.get::<Identity>(NS, name).is_none(),
        "finalizer released"
    );
}

#[tokio::test]
async fn deletion_follows_the_deletion_policy() {
    within(async {
        let w = world().await;
        w.put(
            &declared("frank", "frank@example.com", 30),
            "frank's password",
        );
        let mut grace = declared("grace", "grace@example.com", 31);
        grace.spec.deletion_policy = Some(IdentityDeletionPolicy::Orphan);
        w.put(&grace, "grace's password");
        w.reconcile("frank").await;
        w.reconcile("grace").await;
        let (frank, grace) = (w.id("frank"), w.id("grace"));

        delete(&w, "frank").await;
        assert_eq!(w.bia.identity(&frank).await.0, 404);
        delete(&w, "grace").await;
        assert_eq!(w.bia.identity(&grace).await.0, 200);
        assert!(
            w.bia
                .signs_in("grace@example.com", "grace's password")
                .await
        );
    })
    .await;
}

#[tokio::test]
async fn two_resources_declaring_one_identifier() {
    within(async {
        let w = world().await;
        w.put(
            &declared("first", "shared@example.com", 30),
            "the first password",
        );
        w.put(
            &declared("second", "shared@example.com", 40),
            "the second password",
        );
        w.reconcile("first").await;
        let id = w.id("first");
        let before = w.bia.identity(&id).await.1;

        let mut second = w.get("second");
        second.spec.existing_policy = Some(ExistingPolicy::Adopt);
        w.fake.put(&second);
        w.reconcile("second").await;
        let (status, reason, message) = w.condition("second", "Accepted");
        assert_eq!(
            (status, reason.as_str()),
            (ConditionStatus::False, "IdentifierConflict")
        );
        assert!(message.contains("identity/first"), "{message}");
        assert_eq!(w.status("second").identity_id, None);
        assert_eq!(
            w.bia.identity(&id).await.1,
            before,
            "the first is untouched"
        );
        assert!(
            w.bia
                .signs_in("shared@example.com", "the first password")
                .await
        );

        // The refused one's deletion leaves the first's identity alone.
        delete(&w, "second").await;
        assert_eq!(w.bia.identity(&id).await.0, 200);
        w.reconcile("first").await;
        assert_eq!(w.condition("first", "Ready").0, ConditionStatus::True);
    })
    .await;
}

#[tokio::test]
async fn concurrent_declarations_of_one_identifier_end_with_one_owner() {
    within(async {
        let w = world().await;
        w.put(
            &declared("one", "race@example.com", 30),
            "password number one",
        );
        w.put(
            &declared("two", "race@example.com", 40),
            "password number two",
        );
        let (a, b) = tokio::join!(w.reconcile("one"), w.reconcile("two"));
        let _ = (a, b);
        // Whatever the first pass did, the next passes settle on one owner.
        w.reconcile("one").await;
        w.reconcile("two").await;
        w.reconcile("one").await;
        let owners: Vec<_> = ["one", "two"]
            .into_iter()
            .filter(|n| w.status(n).identity_id.is_some())
            .collect();
        assert_eq!(owners.len(), 1, "{owners:?}");
        let loser = if owners[0] == "one" { "two" } else { "one" };
        assert_eq!(w.condition(loser, "Accepted").1, "IdentifierConflict");
        assert_eq!(w.bia.identities().await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_lost_status_finds_its_own_identity_again() {
    within(async {
        let w = world().await;
        w.put(
            &declared("henry", "henry@example.com", 30),
            "henry's password",
        );
        let stale = w.get("henry");
        identity::reconcile(Arc::new(stale.clone()), w.ctx.clone())
            .await
            .unwrap();
        let id = w.id("henry");
        // Replayed with the object as it was before the status was written.
        identity::reconcile(Arc::new(stale), w.ctx.clone())
            .await
            .unwrap();
        assert_eq!(w.id("henry"), id);
        assert_eq!(w.condition("henry", "Ready").0, ConditionStatus::True);
        assert_eq!(w.bia.identities().await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_with_the_reason() {
    within(async {
        let w = world().await;
        // Traits the schema refuses: the server's reason, nothing created.
        w.put(&declared("ivy", "not-an-email", 30), "ivy's password");
        w.reconcile("ivy").await;
        let (status, reason, message) = w.condition("ivy", "Accepted");
        assert_eq!(
            (status, reason.as_str()),
            (ConditionStatus::False, "InvalidIdentity")
        );
        assert!(message.contains("/traits/email"), "{message}");
        assert!(w.bia.identities().await.is_empty());

        // A later bad change keeps the last good identity as it was.
        let mut ivy = w.get("ivy");
        ivy.spec.traits["email"] = json!("ivy@example.com");
        w.fake.put(&ivy);
        w.reconcile("ivy").await;
        let id = w.id("ivy");
        ivy = w.get("ivy");
        ivy.spec.traits["unknown"] = json!(true);
        w.fake.put(&ivy);
        w.reconcile("ivy").await;
        assert_eq!(w.condition("ivy", "Accepted").1, "InvalidIdentity");
        assert_eq!(w.id("ivy"), id, "still managed");
        assert!(
            w.bia.identity(&id).await.1["traits"]
                .get("unknown")
                .is_none()
        );

        // Oversized and deeply nested traits never reach the server.
        let mut big = declared("jack", "jack@example.com", 30);
        big.spec.traits["name"] = json!("x".repeat(70 * 1024));
        w.put(&big, "jack's password");
        w.fake.clear_log();
        w.reconcile("jack").await;
        assert_eq!(w.condition("jack", "Accepted").1, "TooLarge");
        assert!(w.proxied().is_empty());
        let mut deep = json!("bottom");
        for _ in 0..60 {
            deep = json!({ "d": deep });
        }
        let mut nested = w.get("jack");
        nested.spec.traits["name"] = deep;
        w.fake.put(&nested);
        w.reconcile("jack").await;
        assert!(w.condition("jack", "Accepted").2.contains("deeper"));

        // An unknown schema.
        let mut kim = declared("kim", "kim@example.com", 30);
        kim.spec.schema_id = "nope".into();
        w.put(&kim, "kim's password");
        w.reconcile("kim").await;
        assert_eq!(w.condition("kim", "Accepted").1, "UnknownSchema");
    })
    .await;
}

#[tokio::test]
async fn missing_secrets_and_servers_are_waited_for() {
    within(async {
        let w = world().await;
        w.fake.put(&declared("liam", "liam@example.com", 30));
        let action = w.reconcile("liam").await;
        assert_eq!(action, Action::requeue(WAIT_REQUEUE));
        let (status, reason, message) = w.condition("liam", "Accepted");
        assert_eq!(
            (status, reason.as_str()),
            (ConditionStatus::False, "SecretMissing")
        );
        assert!(
            message.contains("Secret identity/pw-liam does not exist"),
            "{message}"
        );
        assert_eq!(w.condition("liam", "Reconciling").0, ConditionStatus::True);

        w.fake.put(&secret("pw-liam", &[("other", "x")]));
        w.reconcile("liam").await;
        assert!(
            w.condition("liam", "Accepted")
                .2
                .contains("no key \"password\"")
        );
        let mut binary = password_secret("liam", "x", "3");
        binary
            .data
            .as_mut()
            .unwrap()
            .insert("password".into(), k8s_openapi::ByteString(vec![0xff, 0xfe]));
        w.fake.put(&binary);
        w.reconcile("liam").await;
        assert!(w.condition("liam", "Accepted").2.contains("not UTF-8"));
        w.fake.put(&password_secret("liam", "", "3"));
        w.reconcile("liam").await;
        assert_eq!(w.condition("liam", "Accepted").1, "InvalidPassword");
        w.fake.put(&password_secret("liam", "liam's password", "4"));
        w.reconcile("liam").await;
        assert_eq!(w.condition("liam", "Ready").0, ConditionStatus::True);
        assert!(w.bia.signs_in("liam@example.com", "liam's password").await);

        let mut mia = declared("mia", "mia@example.com", 30);
        mia.spec.server_ref.name = "elsewhere".into();
        w.put(&mia, "mia's password");
        w.reconcile("mia").await;
        assert_eq!(w.condition("mia", "Accepted").1, "ServerNotFound");

        // The admin API unreachable: unknown, retried soon, status keeps the identity.
        *w.fake.admin_upstream.lock().unwrap() = Some("http://127.0.0.1:9".into());
        let action = w.reconcile("liam").await;
        assert_eq!(action, Action::requeue(WAIT_REQUEUE));
        let (status, reason, _) = w.condition("liam", "Accepted");
        assert_eq!(
            (status, reason.as_str()),
            (ConditionStatus::Unknown, "ServerUnavailable")
        );
        assert!(w.status("liam").identity_id.is_some());
    })
    .await;
}

#[test]
fn the_secret_watch_maps_a_password_secret_to_its_identities() {
    let d = declared("nora", "nora@example.com", 30);
    assert!(identity::reads_secret(&d, NS, "pw-nora"));
    assert!(!identity::reads_secret(&d, NS, "pw-other"));
    assert!(!identity::reads_secret(&d, "elsewhere", "pw-nora"));
    let mut none = d.clone();
    none.spec.credentials = None;
    assert!(!identity::reads_secret(&none, NS, "pw-nora"));
}
