//! Session token exchanges of native apps, on every backend: the store
//! binds an exchange once and redeems it once; API flows created with
//! `return_session_token_exchange_code=true` carry the init code; and
//! `GET /sessions/token-exchange` answers the session and a fresh token
//! once, refusing replays, mismatched, unknown, expired, oversized and
//! malformed codes. (The callback that binds an exchange to the session a
//! provider sign-in created is driven with a real provider in
//! `tests/sdk/test_oidc_native.py`; here the binding is made in the store.)

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use bia_server::session::hash_token;
use bia_server::store::{
    CleanupStore, Database, Expired, SqlCleanupStore, SqlTokenExchangeStore, StoreError,
    TokenExchange, TokenExchangeStore,
};

use crate::native_flows::{public_get, register};
use crate::on_every_backend;
use crate::support::{Kind, TestServer, assert_error};

const RETURN_TO: &str = "https://app.example/native/done";

fn exchange(flow_id: Uuid, init_code: &str, expires_in: Duration) -> TokenExchange {
    let now = Utc::now();
    TokenExchange {
        id: Uuid::new_v4(),
        flow_id,
        init_code_digest: hash_token(init_code),
        return_to_code_digest: None,
        session_id: None,
        expires_at: now + expires_in,
        created_at: now,
    }
}

async fn server(kind: Kind) -> TestServer {
    let config = json!({"selfservice": {
        "allowed_return_urls": ["https://app.example/native/"],
        "flows": {"registration": {"lifespan": "2s"}},
    }});
    TestServer::start_with(kind, config).await
}

async fn database(server: &TestServer) -> Database {
    server.db.as_ref().unwrap().migrated().await
}

/// A registered identity's session id.
async fn session_of(server: &TestServer, email: &str) -> Uuid {
    let body = register(server, email, "a passphrase for exchanges").await;
    Uuid::parse_str(body["session"]["id"].as_str().unwrap()).unwrap()
}

async fn store_binds_and_redeems_once(kind: Kind) {
    let server = server(kind).await;
    let session = session_of(&server, "store@example.com").await;
    let db = database(&server).await;
    let store = SqlTokenExchangeStore::new(db.clone());
    let (flow, now) = (Uuid::new_v4(), Utc::now());
    store
        .create(&exchange(flow, "init", Duration::hours(1)))
        .await
        .unwrap();
    let twice = store
        .create(&exchange(flow, "again", Duration::hours(1)))
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    assert!(store.pending_for_flow(flow).await.unwrap());
    let (init, back) = (hash_token("init"), hash_token("back"));
    assert_eq!(
        store.redeem(&init, &back, now).await.unwrap(),
        None,
        "not bound yet"
    );
    assert!(store.bind(flow, session, &back).await.unwrap());
    assert!(
        !store
            .bind(flow, session, &hash_token("other"))
            .await
            .unwrap()
    );
    assert!(!store.pending_for_flow(flow).await.unwrap());
    let other = hash_token("other");
    assert_eq!(store.redeem(&init, &other, now).await.unwrap(), None);
    assert_eq!(store.redeem(&other, &back, now).await.unwrap(), None);
    assert_eq!(
        store.redeem(&init, &back, now).await.unwrap(),
        Some(session)
    );
    assert_eq!(store.redeem(&init, &back, now).await.unwrap(), None, "once");

    let stale = Uuid::new_v4();
    store
        .create(&exchange(stale, "stale", -Duration::seconds(1)))
        .await
        .unwrap();
    assert!(store.bind(stale, session, &back).await.unwrap());
    let (stale_init, later) = (hash_token("stale"), now + Duration::seconds(1));
    assert_eq!(store.redeem(&stale_init, &back, later).await.unwrap(), None);
    let cleanup = SqlCleanupStore::new(db.clone());
    let removed = cleanup
        .delete_expired(Expired::TokenExchanges, later, 10)
        .await;
    assert_eq!(removed.unwrap(), 1);
    db.close().await;
    server.stop().await;
}

/// Creates an API flow of `kind` asking for an exchange; returns the flow.
async fn flow_with_exchange(server: &TestServer, kind: &str) -> Value {
    let path = format!(
        "/self-service/{kind}/api?return_session_token_exchange_code=true&return_to={RETURN_TO}"
    );
    let (status, flow) = public_get(server, &path, None).await;
    assert_eq!(status, 200, "{flow}");
    flow
}

fn init_code(flow: &Value) -> String {
    let code = flow["session_token_exchange_code"].as_str().unwrap();
    assert_eq!(code.len(), 64, "{flow}");
    assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()), "{flow}");
    code.to_owned()
}

async fn flows_carry_an_init_code_when_asked(kind: Kind) {
    let server = server(kind).await;
    let login = flow_with_exchange(&server, "login").await;
    let registration = flow_with_exchange(&server, "registration").await;
    assert_ne!(init_code(&login), init_code(&registration));
    assert_eq!(login["return_to"], RETURN_TO);
    let id = login["id"].as_str().unwrap();
    let (_, fetched) =
        public_get(&server, &format!("/self-service/login/flows?id={id}"), None).await;
    assert!(
        fetched.get("session_token_exchange_code").is_none(),
        "{fetched}"
    );
    for path in [
        "/self-service/login/api",
        "/self-service/login/api?return_session_token_exchange_code=false",
        "/self-service/login/browser?return_session_token_exchange_code=true",
    ] {
        let response = server
            .http
            .get(format!("{}{path}", server.public))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let flow: Value = response.json().await.unwrap();
        assert!(
            flow.get("session_token_exchange_code").is_none(),
            "{path}: {flow}"
        );
    }
    server.stop().await;
}

async fn exchange_token(server: &TestServer, init: &str, back: &str) -> (u16, Value) {
    let path = format!("/sessions/token-exchange?init_code={init}&return_to_code={back}");
    public_get(server, &path, None).await
}

/// Binds the exchange of a flow to a session as the provider's callback does.
async fn bind(server: &TestServer, flow: &Value, session: Uuid, back: &str) {
    let db = database(server).await;
    let flow_id = Uuid::parse_str(flow["id"].as_str().unwrap()).unwrap();
    let store = SqlTokenExchangeStore::new(db.clone());
    assert!(
        store
            .bind(flow_id, session, &hash_token(back))
            .await
            .unwrap()
    );
    db.close().await;
}

fn assert_no_session(status: u16, body: &Value) {
    assert_error(status, body, 404);
    assert_eq!(
        body["error"]["reason"], "no session yet for this \"code\"",
        "{body}"
    );
}

async fn codes_redeem_once_for_a_fresh_token(kind: Kind) {
    let server = server(kind).await;
    let registered = register(&server, "app@example.com", "a passphrase for exchanges").await;
    let old_token = registered["session_token"].as_str().unwrap().to_owned();
    let session = Uuid::parse_str(registered["session"]["id"].as_str().unwrap()).unwrap();
    let flow = flow_with_exchange(&server, "login").await;
    let init = init_code(&flow);
    let back = "B".repeat(64);
    let (status, body) = exchange_token(&server, &init, &back).await;
    assert_no_session(status, &body);
    bind(&server, &flow, session, &back).await;

    let (status, body) = exchange_token(&server, &init, &"C".repeat(64)).await;
    assert_no_session(status, &body);
    let (status, body) = exchange_token(&server, &back, &init).await;
    assert_no_session(status, &body);
    let (status, body) = exchange_token(&server, &init, &back).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["id"], session.to_string());
    assert_eq!(
        body["session"]["identity"]["traits"]["email"],
        "app@example.com"
    );
    let token = body["session_token"].as_str().unwrap();
    let (status, whoami) = public_get(&server, "/sessions/whoami", Some(token)).await;
    assert_eq!((status, &whoami["id"]), (200, &json!(session.to_string())));
    let (status, _) = public_get(&server, "/sessions/whoami", Some(&old_token)).await;
    assert_eq!(status, 401, "the token is replaced");
    let (status, body) = exchange_token(&server, &init, &back).await;
    assert_no_session(status, &body);
    server.stop().await;
}

async fn expired_and_hostile_codes_are_refused(kind: Kind) {
    let server = server(kind).await;
    let session = session_of(&server, "late@example.com").await;
    let flow = flow_with_exchange(&server, "registration").await;
    let init = init_code(&flow);
    let back = "D".repeat(64);
    bind(&server, &flow, session, &back).await;
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let (status, body) = exchange_token(&server, &init, &back).await;
    assert_no_session(status, &body);

    let missing = [
        "",
        "?init_code=x",
        "?return_to_code=x",
        "?init_code=&return_to_code=",
    ];
    for query in missing {
        let (status, body) =
            public_get(&server, &format!("/sessions/token-exchange{query}"), None).await;
        assert_error(status, &body, 400);
    }
    let long = "a".repeat(8_000);
    let hostile = [
        long.as_str(),
        "%00%00",
        "' OR 1=1 --",
        "%E2%80%AE%F0%9F%92%A5",
        &init[..63],
    ];
    for code in hostile {
        let (status, body) = exchange_token(&server, code, &back).await;
        assert_no_session(status, &body);
        let (status, body) = exchange_token(&server, &init, code).await;
        assert_no_session(status, &body);
    }
    server.stop().await;
}

on_every_backend!(
    store_binds_and_redeems_once,
    flows_carry_an_init_code_when_asked,
    codes_redeem_once_for_a_fresh_token,
    expired_and_hostile_codes_are_refused,
);
