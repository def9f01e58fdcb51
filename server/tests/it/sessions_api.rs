//! Session endpoints over HTTP (whoami, the caller's sessions, the admin
//! session API), on every backend.

use bia_server::store::{SessionStore, SqlSessionStore};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::native_flows::{login, public_get, register};
use crate::on_every_backend;
use crate::support::{Kind, TestServer, assert_error, split};

async fn public_delete(server: &TestServer, path: &str, token: &str) -> (u16, Value) {
    let response = server
        .http
        .delete(format!("{}{path}", server.public))
        .header("X-Session-Token", token)
        .send()
        .await
        .unwrap();
    split(response).await
}

async fn whoami_refusals(kind: Kind) {
    let server = TestServer::start(kind).await;
    for token in [None, Some("ory_st_unknown"), Some("")] {
        let (status, body) = public_get(&server, "/sessions/whoami", token).await;
        assert_error(status, &body, 401);
        assert_eq!(body["error"]["id"], "session_inactive");
    }
    let body = register(&server, "who@example.org", "long enough secret").await;
    let token = body["session_token"].as_str().unwrap();
    let identity = body["identity"]["id"].as_str().unwrap();
    // An inactive identity's sessions stop working.
    let (status, _) = server
        .put(
            &format!("/admin/identities/{identity}"),
            json!({"state": "inactive", "traits": {"email": "who@example.org"}}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = public_get(&server, "/sessions/whoami", Some(token)).await;
    assert_error(status, &body, 401);
    server.stop().await;
}

async fn admin_sessions(kind: Kind) {
    let server = TestServer::start(kind).await;
    let first = register(&server, "adm@example.org", "long enough secret").await;
    let identity = first["identity"]["id"].as_str().unwrap().to_owned();
    let session_id = first["session"]["id"].as_str().unwrap().to_owned();
    let (_, second) = login(&server, "adm@example.org", "long enough secret").await;
    let second_token = second["session_token"].as_str().unwrap().to_owned();
    register(&server, "other@example.org", "long enough secret").await;

    // List all, paged.
    let (status, all) = server.get("/admin/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(all.as_array().unwrap().len(), 3);
    assert!(all[0].get("identity").is_none());
    let response = server
        .http
        .get(format!("{}/admin/sessions?page_size=2", server.admin))
        .send()
        .await
        .unwrap();
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains("rel=\"next\""), "{link}");
    let (_, page) = split(response).await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    let token = link
        .split("page_token=")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap();
    let (_, rest) = server
        .get(&format!("/admin/sessions?page_size=2&page_token={token}"))
        .await;
    assert_eq!(rest.as_array().unwrap().len(), 1);
    let (_, expanded) = server
        .get("/admin/sessions?expand=identity&expand=devices")
        .await;
    assert!(expanded[0]["identity"]["id"].is_string());
    assert!(expanded[0]["devices"].is_array());
    let (status, body) = server.get("/admin/sessions?expand=nope").await;
    assert_error(status, &body, 400);

    // Get one.
    let (status, one) = server
        .get(&format!("/admin/sessions/{session_id}?expand=identity"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["identity"]["id"], identity.as_str());
    assert!(one["identity"].get("metadata_admin").is_some());
    let (status, body) = server
        .get("/admin/sessions/7e0d7e43-1f44-4e58-8d4f-1b4a40f0a2b1")
        .await;
    assert_error(status, &body, 404);

    // Per identity.
    let (status, mine) = server
        .get(&format!("/admin/identities/{identity}/sessions"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let (status, body) = server
        .get("/admin/identities/7e0d7e43-1f44-4e58-8d4f-1b4a40f0a2b1/sessions")
        .await;
    assert_error(status, &body, 404);

    // Extend.
    let (status, extended) = server
        .patch(&format!("/admin/sessions/{session_id}/extend"), json!(null))
        .await;
    assert_eq!(status, 200, "{extended}");
    assert!(extended["expires_at"].as_str().unwrap() >= one["expires_at"].as_str().unwrap());
    let (status, body) = server
        .patch(
            "/admin/sessions/7e0d7e43-1f44-4e58-8d4f-1b4a40f0a2b1/extend",
            json!(null),
        )
        .await;
    assert_error(status, &body, 404);

    // Disable one.
    let (status, _) = server
        .delete(&format!("/admin/sessions/{session_id}"))
        .await;
    assert_eq!(status, 204);
    let (_, disabled) = server.get(&format!("/admin/sessions/{session_id}")).await;
    assert_eq!(disabled["active"], false);
    let (_, active) = server
        .get(&format!(
            "/admin/identities/{identity}/sessions?active=true"
        ))
        .await;
    assert_eq!(active.as_array().unwrap().len(), 1);
    let (_, inactive) = server.get("/admin/sessions?active=false").await;
    assert_eq!(inactive.as_array().unwrap().len(), 1);
    let (status, body) = server
        .delete("/admin/sessions/7e0d7e43-1f44-4e58-8d4f-1b4a40f0a2b1")
        .await;
    assert_error(status, &body, 404);

    // Delete all of an identity's sessions.
    let (status, _) = server
        .delete(&format!("/admin/identities/{identity}/sessions"))
        .await;
    assert_eq!(status, 204);
    let (status, _) = public_get(&server, "/sessions/whoami", Some(&second_token)).await;
    assert_eq!(status, 401);
    let (_, left) = server.get("/admin/sessions").await;
    assert_eq!(left.as_array().unwrap().len(), 1);

    // Deleting the identity removes its sessions.
    let other = left[0]["id"].as_str().unwrap().to_owned();
    let (_, with_identity) = server
        .get(&format!("/admin/sessions/{other}?expand=identity"))
        .await;
    let owner = with_identity["identity"]["id"].as_str().unwrap();
    let (status, _) = server.delete(&format!("/admin/identities/{owner}")).await;
    assert_eq!(status, 204);
    let (_, none) = server.get("/admin/sessions").await;
    assert_eq!(none, json!([]));
    server.stop().await;
}

async fn my_sessions(kind: Kind) {
    let server = TestServer::start(kind).await;
    let first = register(&server, "me@example.org", "long enough secret").await;
    let current = first["session_token"].as_str().unwrap().to_owned();
    let current_id = first["session"]["id"].as_str().unwrap().to_owned();
    let mut others = Vec::new();
    for _ in 0..3 {
        let (_, body) = login(&server, "me@example.org", "long enough secret").await;
        others.push(body["session"]["id"].as_str().unwrap().to_owned());
    }
    let (status, list) = public_get(&server, "/sessions", Some(&current)).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(!ids.contains(&current_id.as_str()));
    let (status, body) = public_get(&server, "/sessions", None).await;
    assert_error(status, &body, 401);

    // Revoke one, not the current one, not someone else's.
    let (status, _) = public_delete(&server, &format!("/sessions/{}", others[0]), &current).await;
    assert_eq!(status, 204);
    let (status, body) = public_delete(&server, &format!("/sessions/{current_id}"), &current).await;
    assert_error(status, &body, 400);
    let stranger = register(&server, "stranger@example.org", "long enough secret").await;
    let (status, body) = public_delete(
        &server,
        &format!("/sessions/{}", stranger["session"]["id"].as_str().unwrap()),
        &current,
    )
    .await;
    assert_error(status, &body, 404);

    // Revoke the rest.
    let (status, body) = public_delete(&server, "/sessions", &current).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"count": 2}));
    let (_, list) = public_get(&server, "/sessions", Some(&current)).await;
    assert_eq!(list, json!([]));
    let (status, _) = public_get(&server, "/sessions/whoami", Some(&current)).await;
    assert_eq!(status, 200);
    server.stop().await;
}

async fn lifespan_is_configurable(kind: Kind) {
    let server = TestServer::start_with(kind, json!({"session": {"lifespan": "1s"}})).await;
    let body = register(&server, "short@example.org", "long enough secret").await;
    let token = body["session_token"].as_str().unwrap();
    let issued =
        chrono::DateTime::parse_from_rfc3339(body["session"]["issued_at"].as_str().unwrap())
            .unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["session"]["expires_at"].as_str().unwrap())
            .unwrap();
    assert_eq!((expires - issued).num_milliseconds(), 1000);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = public_get(&server, "/sessions/whoami", Some(token)).await;
    assert_eq!(status, 401);
    server.stop().await;
}

/// `session.inactivity_timeout`: a session used within the timeout lives on,
/// one left alone past it answers 401, on every backend.
async fn idle_sessions_end(kind: Kind) {
    let config = json!({"session": {"lifespan": "1h", "inactivity_timeout": "2s"}});
    let server = TestServer::start_with(kind, config).await;
    let body = register(&server, "idle@example.org", "long enough secret").await;
    let token = body["session_token"].as_str().unwrap();
    let first = expiry(&body["session"]);
    assert!(first <= Utc::now() + Duration::seconds(2), "{first}");
    // Used every second for four seconds: alive past its first expiry.
    let mut last = first;
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        let (status, session) = public_get(&server, "/sessions/whoami", Some(token)).await;
        assert_eq!(status, 200, "{session}");
        last = expiry(&session);
    }
    assert!(last > first + Duration::seconds(3), "{first} -> {last}");
    // Left alone for longer than the timeout: gone.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, _) = public_get(&server, "/sessions/whoami", Some(token)).await;
    assert_eq!(status, 401);
    server.stop().await;
}

/// Moves a session's expiry in the database: time passing, without waiting.
async fn expire_at(server: &TestServer, id: &str, at: DateTime<Utc>) {
    let db = server.db.as_ref().unwrap().migrated().await;
    let stored = SqlSessionStore::new(db.clone())
        .set_expiry(id.parse().unwrap(), at, Utc::now())
        .await
        .unwrap();
    assert!(stored);
    db.close().await;
}

fn expiry(session: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(session["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Asserts that `at` is `lifespan` after an instant between `before` and now.
fn assert_lasts_from(at: DateTime<Utc>, before: DateTime<Utc>, lifespan: Duration) {
    let slack = Duration::seconds(1);
    assert!(at >= before + lifespan - slack, "{at} vs {before}");
    assert!(at <= Utc::now() + lifespan + slack, "{at}");
}

async fn stored(server: &TestServer, id: &str) -> Value {
    let (status, body) = server.get(&format!("/admin/sessions/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn extend(server: &TestServer, id: &str) -> Value {
    let (status, body) = server
        .patch(&format!("/admin/sessions/{id}/extend"), json!(null))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], id, "{body}");
    body
}

async fn extension_waits_for_earliest_possible_extend(kind: Kind) {
    let server = TestServer::start_with(
        kind,
        json!({"session": {"lifespan": "24h", "earliest_possible_extend": "1h"}}),
    )
    .await;
    let body = register(&server, "window@example.org", "long enough secret").await;
    let token = body["session_token"].as_str().unwrap().to_owned();
    let id = body["session"]["id"].as_str().unwrap().to_owned();

    // A fresh session has 24 hours left: too early, nothing changes.
    let same = extend(&server, &id).await;
    assert_eq!(same["expires_at"], body["session"]["expires_at"]);
    assert_eq!(same["identity"]["id"], body["identity"]["id"]);
    assert_eq!(
        stored(&server, &id).await["expires_at"],
        body["session"]["expires_at"]
    );

    // Two hours left: still too early.
    expire_at(&server, &id, Utc::now() + Duration::hours(2)).await;
    let before = stored(&server, &id).await;
    let same = extend(&server, &id).await;
    assert_eq!(same["expires_at"], before["expires_at"]);
    assert_eq!(
        stored(&server, &id).await["expires_at"],
        before["expires_at"]
    );

    // Thirty minutes left: within the last hour, so a full lifespan from now.
    expire_at(&server, &id, Utc::now() + Duration::minutes(30)).await;
    let now = Utc::now();
    let extended = extend(&server, &id).await;
    assert_lasts_from(expiry(&extended), now, Duration::hours(24));
    assert_eq!(
        stored(&server, &id).await["expires_at"],
        extended["expires_at"]
    );
    let (status, whoami) = public_get(&server, "/sessions/whoami", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(whoami["expires_at"], extended["expires_at"]);

    // Right after, it is far from its end again: repeated calls change nothing.
    let same = extend(&server, &id).await;
    assert_eq!(same["expires_at"], extended["expires_at"]);

    // A refresh login renews the expiry even outside the window.
    expire_at(&server, &id, Utc::now() + Duration::hours(2)).await;
    let (status, flow) = public_get(
        &server,
        "/self-service/login/api?refresh=true",
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(flow["refresh"], true, "{flow}");
    let now = Utc::now();
    let response = server
        .http
        .post(format!(
            "{}/self-service/login?flow={}",
            server.public,
            flow["id"].as_str().unwrap()
        ))
        .header("X-Session-Token", &token)
        .json(
            &json!({"method": "password", "identifier": "window@example.org",
                      "password": "long enough secret"}),
        )
        .send()
        .await
        .unwrap();
    let (status, refreshed) = split(response).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["session"]["id"], id.as_str());
    assert_lasts_from(
        expiry(&stored(&server, &id).await),
        now,
        Duration::hours(24),
    );
    server.stop().await;
}

async fn extension_by_default_always_applies(kind: Kind) {
    // No window configured: it is the lifespan, so any session qualifies.
    let server = TestServer::start_with(kind, json!({"session": {"lifespan": "1h"}})).await;
    let body = register(&server, "always@example.org", "long enough secret").await;
    let id = body["session"]["id"].as_str().unwrap();
    let issued = expiry(&body["session"]);
    let now = Utc::now();
    let extended = extend(&server, id).await;
    assert!(expiry(&extended) > issued, "{extended}");
    assert_lasts_from(expiry(&extended), now, Duration::hours(1));
    let again = extend(&server, id).await;
    assert!(expiry(&again) > expiry(&extended), "{again}");
    server.stop().await;
}

async fn bulk_management(kind: Kind) {
    let server = TestServer::start(kind).await;
    let a = register(&server, "bulk-a@example.org", "long enough secret").await;
    let b = register(&server, "bulk-b@example.org", "long enough secret").await;
    let (_, a2) = login(&server, "bulk-a@example.org", "long enough secret").await;
    let token = |v: &Value| v["session_token"].as_str().unwrap().to_owned();
    let alive = |t: String| {
        let server = &server;
        async move { public_get(server, "/sessions/whoami", Some(&t)).await.0 == 200 }
    };

    for bad in [
        json!({"action": "disable"}),
        json!({"action": "explode", "sessions": [a["session"]["id"]]}),
        json!({"action": "disable", "sessions": ["*"]}),
        json!({"action": "disable", "identities": ["*", a["identity"]["id"]]}),
        json!({"action": "disable", "identities": [a["identity"]["id"]], "sessions": [a["session"]["id"]]}),
        json!({"action": "disable", "sessions": ["not-a-uuid"]}),
    ] {
        let (status, body) = server.post("/admin/sessions", bad.clone()).await;
        assert_error(status, &body, 400);
    }
    assert!(alive(token(&a)).await && alive(token(&a2)).await && alive(token(&b)).await);

    // Disable by session id: only that one.
    let (status, body) = server
        .post(
            "/admin/sessions",
            json!({"action": "disable", "sessions": [a["session"]["id"]]}),
        )
        .await;
    assert_eq!(
        (status, body.clone()),
        (200, json!({"processed": 1, "more": false})),
        "{body}"
    );
    assert!(!alive(token(&a)).await && alive(token(&a2)).await);
    // Disabling again counts nothing; by identity catches the other one.
    let (_, body) = server
        .post(
            "/admin/sessions",
            json!({"action": "disable", "identities": [a["identity"]["id"]]}),
        )
        .await;
    assert_eq!(body["processed"], 1);
    assert!(!alive(token(&a2)).await && alive(token(&b)).await);
    // Delete everything.
    let (_, body) = server
        .post(
            "/admin/sessions",
            json!({"action": "delete", "identities": ["*"]}),
        )
        .await;
    assert_eq!(body, json!({"processed": 3, "more": false}));
    assert!(!alive(token(&b)).await);
    let (_, body) = server.get("/admin/sessions").await;
    assert_eq!(body.as_array().unwrap().len(), 0);
    server.stop().await;
}

on_every_backend!(
    bulk_management,
    whoami_refusals,
    admin_sessions,
    my_sessions,
    lifespan_is_configurable,
    idle_sessions_end,
    extension_waits_for_earliest_possible_extend,
    extension_by_default_always_applies
);
