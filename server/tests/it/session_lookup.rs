//! The token lookup behind `whoami`, run on SQLite, PostgreSQL and MariaDB:
//! one statement must bring back the session and its identity with every
//! address, exactly as the identity store holds them, after every write and
//! after the migration that introduced the addresses copy.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use bia_server::identity::{Identity, RecoveryAddress, State, VerifiableAddress};
use bia_server::session::{AuthMethod, Device, Session};
use bia_server::store::{IdentityStore, SessionStore, SqlIdentityStore, SqlSessionStore};

use crate::on_every_backend;
use crate::support::{Kind, TestDb};

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, second).unwrap()
}

fn verifiable(value: &str, created: u32, verified: bool) -> VerifiableAddress {
    VerifiableAddress {
        id: Uuid::new_v4(),
        value: value.to_owned(),
        verified,
        via: "email".into(),
        status: if verified { "completed" } else { "pending" }.into(),
        verified_at: verified.then(|| at(created + 1)),
        created_at: at(created),
        updated_at: at(created + 1),
    }
}

fn identity(email: &str) -> Identity {
    Identity {
        id: Uuid::new_v4(),
        schema_id: "default".into(),
        traits: json!({"email": email, "backup": format!("b-{email}"), "name": {"first": "Zoë"}}),
        state: State::Active,
        state_changed_at: Some(at(1)),
        metadata_public: Some(json!({"plan": "pro", "quote": "\"a\" ∧ b"})),
        metadata_admin: None,
        external_id: Some(format!("ext-{email}")),
        organization_id: Some(Uuid::new_v4()),
        available_aal: bia_server::aal::Aal::Aal1,
        credentials: BTreeMap::new(),
        // Stored out of order: the lookup sorts by creation time.
        verifiable_addresses: vec![
            verifiable(&format!("b-{email}"), 20, false),
            verifiable(email, 10, true),
        ],
        recovery_addresses: vec![RecoveryAddress {
            id: Uuid::new_v4(),
            value: email.to_owned(),
            via: "email".into(),
            created_at: at(3),
            updated_at: at(4),
        }],
        created_at: at(1),
        updated_at: at(2),
    }
}

fn session(identity: &Identity, token_hash: &str) -> Session {
    Session {
        id: Uuid::new_v4(),
        identity_id: identity.id,
        token_hash: token_hash.to_owned(),
        active: true,
        aal: "aal1".into(),
        methods: vec![AuthMethod {
            method: "password".into(),
            aal: "aal1".into(),
            completed_at: at(30),
        }],
        devices: vec![Device {
            id: Uuid::new_v4(),
            ip_address: Some("203.0.113.9".into()),
            user_agent: Some("lookup-test/1".into()),
            location: None,
        }],
        issued_at: at(30),
        authenticated_at: at(30),
        expires_at: at(40),
        identity: None,
    }
}

async fn lookup_brings_the_whole_identity(kind: Kind) {
    let test_db = TestDb::create(kind).await;
    let db = test_db.migrated().await;
    let identities = SqlIdentityStore::new(db.clone());
    let sessions = SqlSessionStore::new(db.clone());

    let mut full = identity("lookup@example.com");
    identities.create(&full).await.unwrap();
    let stored = session(&full, &"a".repeat(64));
    sessions.create(&stored).await.unwrap();

    let mut bare = identity("bare@example.com");
    bare.verifiable_addresses.clear();
    bare.recovery_addresses.clear();
    bare.metadata_public = None;
    bare.external_id = None;
    bare.organization_id = None;
    bare.state_changed_at = None;
    identities.create(&bare).await.unwrap();
    let mut bare_session = session(&bare, &"b".repeat(64));
    bare_session.active = false;
    sessions.create(&bare_session).await.unwrap();

    let found = sessions
        .find_by_token(&"a".repeat(64))
        .await
        .unwrap()
        .unwrap();
    full.verifiable_addresses.sort_by_key(|a| a.created_at);
    assert_eq!(
        found,
        Session {
            identity: Some(full.clone()),
            ..stored.clone()
        }
    );

    let found = sessions
        .find_by_token(&"b".repeat(64))
        .await
        .unwrap()
        .unwrap();
    assert!(!found.active, "an inactive session is found, and says so");
    assert_eq!(found.identity, Some(bare.clone()));

    assert_eq!(sessions.find_by_token(&"c".repeat(64)).await.unwrap(), None);

    // A change to the identity is seen by the next lookup.
    full.verifiable_addresses.remove(0);
    full.traits = json!({"email": "b-lookup@example.com"});
    full.updated_at = at(50);
    identities.update(&full).await.unwrap();
    let found = sessions
        .find_by_token(&"a".repeat(64))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.identity, Some(full));

    db.close().await;
    test_db.drop_database().await;
}

on_every_backend!(lookup_brings_the_whole_identity);
