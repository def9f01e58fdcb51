//! The identity store conformance suite, run on SQLite, PostgreSQL and MariaDB.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use bia_server::aal::Aal;
use bia_server::identity::{
    Credential, CredentialType, Identity, RecoveryAddress, State, VerifiableAddress,
};
use bia_server::store::{ConfigSwap, IdentityQuery, IdentityStore, SqlIdentityStore, StoreError};

use crate::on_every_backend;
use crate::support::{Kind, TestDb};

fn at(second: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, second).unwrap()
}

fn identity(email: &str) -> Identity {
    let id = Uuid::new_v4();
    let mut credentials = BTreeMap::new();
    credentials.insert(
        CredentialType::Password,
        Credential {
            id: Uuid::new_v4(),
            kind: CredentialType::Password,
            identifiers: vec![email.to_owned()],
            config: json!({"hashed_password": "$2a$04$abc"}),
            version: 1,
            created_at: at(1),
            updated_at: at(1),
        },
    );
    Identity {
        id,
        schema_id: "default".into(),
        traits: json!({"email": email, "name": {"first": "Zoë"}}),
        state: State::Active,
        state_changed_at: Some(at(1)),
        metadata_public: Some(json!({"plan": "pro"})),
        metadata_admin: None,
        external_id: None,
        organization_id: None,
        available_aal: bia_server::aal::Aal::Aal1,
        credentials,
        verifiable_addresses: vec![VerifiableAddress {
            id: Uuid::new_v4(),
            value: email.to_owned(),
            verified: true,
            via: "email".into(),
            status: "completed".into(),
            verified_at: Some(at(2)),
            created_at: at(1),
            updated_at: at(2),
        }],
        recovery_addresses: vec![RecoveryAddress {
            id: Uuid::new_v4(),
            value: email.to_owned(),
            via: "email".into(),
            created_at: at(1),
            updated_at: at(1),
        }],
        created_at: at(1),
        updated_at: at(1),
    }
}

async fn round_trip_and_conflicts(kind: Kind) {
    let test_db = TestDb::create(kind).await;
    let db = test_db.migrated().await;
    let store = SqlIdentityStore::new(db.clone());

    let mut alice = identity("alice@example.com");
    alice.external_id = Some("ext-1".into());
    alice.metadata_admin = Some(json!({"note": "vip"}));
    store.create(&alice).await.unwrap();
    assert_eq!(store.get(alice.id).await.unwrap().unwrap(), alice);
    assert_eq!(
        store.get_by_external_id("ext-1").await.unwrap().unwrap().id,
        alice.id
    );
    assert_eq!(
        store
            .find_by_identifier(CredentialType::Password, "alice@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        alice.id
    );

    // A taken identifier: conflict, and nothing of the second identity is written.
    let clash = identity("alice@example.com");
    let err = store.create(&clash).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.get(clash.id).await.unwrap().is_none());
    assert_eq!(store.count().await.unwrap(), 1);

    // A taken external id: conflict too.
    let mut other = identity("bob@example.com");
    other.external_id = Some("ext-1".into());
    assert!(matches!(
        store.create(&other).await,
        Err(StoreError::Conflict(_))
    ));

    // Update replaces the children; a failed update leaves the old state.
    let mut changed = alice.clone();
    changed.traits = json!({"email": "alice2@example.com"});
    changed
        .credentials
        .get_mut(&CredentialType::Password)
        .unwrap()
        .identifiers = vec!["alice2@example.com".into()];
    changed.verifiable_addresses.clear();
    changed.state = State::Inactive;
    changed.updated_at = at(9);
    store.update(&changed).await.unwrap();
    assert_eq!(store.get(alice.id).await.unwrap().unwrap(), changed);

    let bob = identity("bob@example.com");
    store.create(&bob).await.unwrap();
    let mut bad = bob.clone();
    bad.credentials
        .get_mut(&CredentialType::Password)
        .unwrap()
        .identifiers = vec!["alice2@example.com".into()];
    bad.traits = json!({"email": "changed"});
    assert!(matches!(
        store.update(&bad).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get(bob.id).await.unwrap().unwrap(), bob);

    // Delete removes everything: the identifier is free again.
    assert!(store.delete(alice.id).await.unwrap());
    assert!(!store.delete(alice.id).await.unwrap());
    assert!(store.get(alice.id).await.unwrap().is_none());
    store.create(&identity("alice2@example.com")).await.unwrap();
    assert!(matches!(
        store.update(&identity("nobody@example.com")).await,
        Err(StoreError::NotFound)
    ));

    db.close().await;
    test_db.drop_database().await;
}

async fn keyset_paging_and_filters(kind: Kind) {
    let test_db = TestDb::create(kind).await;
    let db = test_db.migrated().await;
    let store = SqlIdentityStore::new(db.clone());
    let mut ids = Vec::new();
    for n in 0..25 {
        let identity = identity(&format!("user{n:02}@example.com"));
        ids.push(identity.id);
        store.create(&identity).await.unwrap();
    }
    ids.sort();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list(&IdentityQuery {
                page_size: 10,
                after,
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(page.identities.iter().map(|i| i.id));
        assert!(page.identities.iter().all(|i| i.credentials.len() == 1));
        if !page.has_more {
            break;
        }
        after = page.identities.last().map(|i| i.id);
    }
    assert_eq!(seen, ids);

    let legacy = store
        .list(&IdentityQuery {
            page_size: 10,
            offset: Some(20),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(legacy.identities.len(), 5);
    assert!(!legacy.has_more);

    let picked = store
        .list(&IdentityQuery {
            page_size: 100,
            ids: vec![ids[3], ids[7]],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        picked.identities.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![ids[3], ids[7]]
    );

    let exact = store
        .list(&IdentityQuery {
            page_size: 100,
            credentials_identifiers: vec!["user07@example.com".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(exact.identities.len(), 1);
    assert_eq!(exact.identities[0].traits["email"], "user07@example.com");

    let similar = store
        .list(&IdentityQuery {
            page_size: 100,
            identifier_similar: Some("USER1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(similar.identities.len(), 10);

    let literal = store
        .list(&IdentityQuery {
            page_size: 100,
            identifier_similar: Some("user_".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        literal.identities.is_empty(),
        "LIKE wildcards must be escaped"
    );

    db.close().await;
    test_db.drop_database().await;
}

async fn migrations_go_down_and_up(kind: Kind) {
    let test_db = TestDb::create(kind).await;
    let db = test_db.migrated().await;
    assert!(db.is_migrated().await.unwrap());
    db.migrate_down(true).await.unwrap();
    assert!(!db.is_migrated().await.unwrap());
    db.migrate_up().await.unwrap();
    assert!(db.is_migrated().await.unwrap());
    db.close().await;
    test_db.drop_database().await;
}

/// A second factor's config is swapped only while it is what the caller
/// read: of eight concurrent callers expecting the same config, one wins;
/// the identity's available level is kept as written.
async fn credential_configs_swap_once(kind: Kind) {
    let test_db = TestDb::create(kind).await;
    let db = test_db.migrated().await;
    let store = SqlIdentityStore::new(db.clone());
    let mut ada = identity("ada@example.com");
    let read = json!({"totp_url": "abc", "last_step": 1});
    ada.credentials.insert(
        CredentialType::Totp,
        Credential {
            id: Uuid::new_v4(),
            kind: CredentialType::Totp,
            identifiers: vec![ada.id.to_string()],
            config: read.clone(),
            version: 0,
            created_at: at(1),
            updated_at: at(1),
        },
    );
    // The identity service stamps the available level; the store keeps it.
    ada.available_aal = Aal::Aal2;
    store.create(&ada).await.unwrap();
    let stored = store.get(ada.id).await.unwrap().unwrap();
    assert_eq!(stored.available_aal, Aal::Aal2);
    assert_eq!(stored.credentials[&CredentialType::Totp].config, read);

    let attempts = (2..10).map(|step| {
        let store = store.clone();
        let read = read.clone();
        let id = ada.id;
        tokio::spawn(async move {
            let new = json!({"totp_url": "abc", "last_step": step});
            store
                .swap_credential_config(&ConfigSwap {
                    identity_id: id,
                    kind: CredentialType::Totp,
                    expected: &read,
                    new: &new,
                    now: at(2),
                })
                .await
                .unwrap()
        })
    });
    let mut wins = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        wins += usize::from(attempt.await.unwrap());
    }
    assert_eq!(wins, 1);
    let after = store.get(ada.id).await.unwrap().unwrap();
    assert_ne!(after.credentials[&CredentialType::Totp].config, read);
    // Another type, or another identity, is never touched.
    let other = json!({"hashed_password": "$2a$04$abc"});
    assert!(
        !store
            .swap_credential_config(&ConfigSwap {
                identity_id: ada.id,
                kind: CredentialType::Password,
                expected: &read,
                new: &other,
                now: at(3)
            })
            .await
            .unwrap()
    );
    assert!(
        !store
            .swap_credential_config(&ConfigSwap {
                identity_id: Uuid::new_v4(),
                kind: CredentialType::Totp,
                expected: &read,
                new: &other,
                now: at(3)
            })
            .await
            .unwrap()
    );
    // The level is written as the identity service stamps it.
    let mut without = after.clone();
    without.credentials.remove(&CredentialType::Totp);
    without.available_aal = Aal::Aal1;
    store.update(&without).await.unwrap();
    assert_eq!(
        store.get(ada.id).await.unwrap().unwrap().available_aal,
        Aal::Aal1
    );
    db.close().await;
    test_db.drop_database().await;
}

/// A conditional replace writes only over the identity it read: not after
/// the row, a credential config or a verifiable address changed, and once
/// only of concurrent callers.
async fn conditional_replace_sees_every_change(kind: Kind) {
    let test_db = TestDb::create(kind).await;
    let db = test_db.migrated().await;
    let store = SqlIdentityStore::new(db.clone());
    let ada = identity("ada@example.com");
    store.create(&ada).await.unwrap();
    let read = store.get(ada.id).await.unwrap().unwrap();
    let moved = |from: &Identity| {
        let mut next = from.clone();
        next.schema_id = "v2".into();
        next.traits = json!({"email": "ada@example.com", "name": {"first": "Ada"}});
        next.updated_at = at(30);
        next
    };

    // A credential config spent in between (a TOTP step) is never written back.
    let password = &read.credentials[&CredentialType::Password];
    let spent = json!({"hashed_password": "$2a$04$def"});
    assert!(
        store
            .swap_credential_config(&ConfigSwap {
                identity_id: ada.id,
                kind: CredentialType::Password,
                expected: &password.config,
                new: &spent,
                now: at(9)
            })
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_if_unchanged(&read, &moved(&read))
            .await
            .unwrap()
    );
    let read = store.get(ada.id).await.unwrap().unwrap();
    assert_eq!(read.schema_id, "default");

    // A verification sent in between (same identity row) is kept.
    let mut sent = read.clone();
    sent.verifiable_addresses[0].status = "sent".into();
    sent.verifiable_addresses[0].updated_at = at(10);
    store.update(&sent).await.unwrap();
    assert!(
        !store
            .update_if_unchanged(&read, &moved(&read))
            .await
            .unwrap()
    );
    let read = store.get(ada.id).await.unwrap().unwrap();
    assert_eq!(read.verifiable_addresses[0].status, "sent");

    // Of concurrent callers holding the same read, one wins, once.
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            let (store, read) = (store.clone(), read.clone());
            let next = moved(&read);
            tokio::spawn(async move {
                match store.update_if_unchanged(&read, &next).await {
                    Ok(won) => won,
                    Err(StoreError::Contention(_)) => false,
                    Err(e) => panic!("{e}"),
                }
            })
        })
        .collect();
    let mut wins = 0;
    for attempt in attempts {
        wins += usize::from(attempt.await.unwrap());
    }
    assert_eq!(wins, 1);
    let after = store.get(ada.id).await.unwrap().unwrap();
    assert_eq!(after.schema_id, "v2");
    assert_eq!(after.traits["name"]["first"], "Ada");
    assert_eq!(after.credentials[&CredentialType::Password].config, spent);
    assert_eq!(after.verifiable_addresses[0].status, "sent");
    assert_eq!(
        store
            .find_by_identifier(CredentialType::Password, "ada@example.com")
            .await
            .unwrap()
            .map(|i| i.id),
        Some(ada.id)
    );
    assert!(
        !store
            .update_if_unchanged(&read, &moved(&read))
            .await
            .unwrap()
    );
    assert_eq!(store.count_on_schema("v2", None).await.unwrap(), 1);
    assert_eq!(store.count_on_schema("default", None).await.unwrap(), 0);
    assert_eq!(store.count_on_schema("v2", Some(ada.id)).await.unwrap(), 0);
    db.close().await;
    test_db.drop_database().await;
}

on_every_backend!(
    conditional_replace_sees_every_change,
    round_trip_and_conflicts,
    keyset_paging_and_filters,
    migrations_go_down_and_up,
    credential_configs_swap_once
);
