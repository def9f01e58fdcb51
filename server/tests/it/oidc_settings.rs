//! Provider links in the settings flow, on every backend, with identities
//! whose links were imported (no provider is reached: the sign-ins through
//! a real provider are in `tests/sdk/test_oidc.py`): the `link` and
//! `unlink` buttons as Kratos shows them, unlinking, and the refusals
//! (unknown or linked providers, the last way to sign in, oversized values,
//! a session older than the privileged age), which change nothing.

use serde_json::{Value, json};

use crate::native_flows::login;
use crate::on_every_backend;
use crate::support::{Kind, TestServer};
use crate::totp::{settings_flow, submit_settings};

fn provider(id: &str, label: &str) -> Value {
    let mapper = "{ identity: { traits: { email: std.extVar('claims').email } } }";
    json!({
        "id": id,
        "provider": "generic",
        "label": label,
        "client_id": "bia",
        "client_secret": "a-client-secret",
        // Never reached: discovery happens only when a sign-in starts.
        "issuer_url": "http://127.0.0.1:9",
        "mapper_url": format!("base64://{}", base64_of(mapper)),
    })
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

async fn server(kind: Kind) -> TestServer {
    server_with(kind, json!({})).await
}

async fn server_with(kind: Kind, extra: Value) -> TestServer {
    let mut config = json!({"selfservice": {"methods": {"oidc": {"enabled": true, "config": {"providers": [
        provider("idp", "Test Provider"),
        provider("other", "Other"),
    ]}}}}});
    bia_config::merge(&mut config, extra);
    TestServer::start_with(kind, config).await
}

/// Creates an identity with these provider links and a password; returns
/// its id.
async fn identity(server: &TestServer, email: &str, links: &[(&str, &str)]) -> String {
    let providers: Vec<Value> = links
        .iter()
        .map(|(provider, subject)| json!({"provider": provider, "subject": subject}))
        .collect();
    let credentials = json!({
        "oidc": {"config": {"providers": providers}},
        "password": {"config": {"password": "long enough secret"}},
    });
    let (status, body) = server
        .post(
            "/admin/identities",
            json!({"schema_id": "default", "traits": {"email": email}, "credentials": credentials}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// A session token of the identity with `email` (signed in with its password).
async fn token_of(server: &TestServer, email: &str) -> String {
    let (status, body) = login(server, email, "long enough secret").await;
    assert_eq!(status, 200, "{body}");
    body["session_token"].as_str().unwrap().to_owned()
}

fn oidc_buttons(flow: &Value) -> Vec<(String, String, u64)> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["group"] == "oidc")
        .map(|n| {
            (
                n["attributes"]["name"].as_str().unwrap().to_owned(),
                n["attributes"]["value"].as_str().unwrap().to_owned(),
                n["meta"]["label"]["id"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn links(server: &TestServer, id: &str) -> Value {
    let (status, body) = server.get(&format!("/admin/identities/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body["credentials"]["oidc"]["identifiers"].clone()
}

fn messages(body: &Value) -> Vec<(u64, String)> {
    body["ui"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_u64().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn link_and_unlink_buttons(kind: Kind) {
    let server = server(kind).await;
    let id = identity(&server, "both@example.org", &[("idp", "sub-1")]).await;
    let token = token_of(&server, "both@example.org").await;
    let (status, flow) = settings_flow(&server, &token).await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(
        oidc_buttons(&flow),
        vec![
            ("unlink".into(), "idp".into(), 1050003),
            ("link".into(), "other".into(), 1050002),
        ]
    );
    let unlink = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "unlink")
        .unwrap();
    assert_eq!(unlink["attributes"]["type"], "submit");
    assert_eq!(
        unlink["meta"]["label"],
        json!({"id": 1050003, "text": "Unlink Test Provider", "type": "info", "context": {"provider": "Test Provider"}})
    );

    // Unlinking leaves the password.
    let (status, body) = submit_settings(&server, &token, &flow, json!({"unlink": "idp"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "success");
    assert_eq!(links(&server, &id).await, Value::Null);
    assert_eq!(
        oidc_buttons(&body),
        vec![
            ("link".into(), "idp".into(), 1050002),
            ("link".into(), "other".into(), 1050002),
        ]
    );
    server.stop().await;
}

async fn refusals_change_nothing(kind: Kind) {
    let server = server(kind).await;
    let id = identity(&server, "only@example.org", &[("idp", "sub-2")]).await;
    let token = token_of(&server, "only@example.org").await;
    // The password goes: the provider is the last way to sign in.
    let (status, body) = server
        .delete(&format!("/admin/identities/{id}/credentials/password"))
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, flow) = settings_flow(&server, &token).await;
    // The only way to sign in has no unlink button.
    assert_eq!(
        oidc_buttons(&flow),
        vec![("link".into(), "other".into(), 1050002)]
    );
    let long = "x".repeat(5000);
    let cases = [
        (
            json!({"unlink": "idp"}),
            "can not unlink OpenID Connect connection because it is the last remaining first factor credential",
        ),
        (
            json!({"unlink": "other"}),
            "can not unlink non-existing OpenID Connect connection",
        ),
        (
            json!({"unlink": long}),
            "can not unlink non-existing OpenID Connect connection",
        ),
        (
            json!({"unlink": 42}),
            "can not unlink non-existing OpenID Connect connection",
        ),
        (
            json!({"link": "idp"}),
            "can not link unknown or already existing OpenID Connect connection",
        ),
        (
            json!({"link": "nope"}),
            "can not link unknown or already existing OpenID Connect connection",
        ),
        (
            json!({"link": long}),
            "can not link unknown or already existing OpenID Connect connection",
        ),
    ];
    for (body, text) in cases {
        let (status, answer) = submit_settings(&server, &token, &flow, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(
            messages(&answer),
            vec![(4000001, text.to_owned())],
            "{body}"
        );
    }
    // A native flow cannot go to a provider.
    let (status, answer) = submit_settings(&server, &token, &flow, json!({"link": "other"})).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(messages(&answer)[0].0, 5000001);
    // A callback answer without a started request is refused.
    let forged =
        json!({"method": "oidc", "provider": "idp", "oidc_callback": {"state": "x", "code": "y"}});
    let (status, answer) = submit_settings(&server, &token, &flow, forged).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(messages(&answer)[0].0, 5000001);
    assert_eq!(links(&server, &id).await, json!(["idp:sub-2"]));
    server.stop().await;
}

async fn an_old_session_must_sign_in_again(kind: Kind) {
    let server = server_with(
        kind,
        json!({"selfservice": {"flows": {"settings": {"privileged_session_max_age": "1s"}}}}),
    )
    .await;
    let id = identity(&server, "old@example.org", &[("idp", "sub-3")]).await;
    let token = token_of(&server, "old@example.org").await;
    let (_, flow) = settings_flow(&server, &token).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    for body in [json!({"unlink": "idp"}), json!({"link": "other"})] {
        let (status, answer) = submit_settings(&server, &token, &flow, body).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["error"]["id"], "session_refresh_required");
    }
    assert_eq!(links(&server, &id).await, json!(["idp:sub-3"]));
    server.stop().await;
}

on_every_backend!(
    link_and_unlink_buttons,
    refusals_change_nothing,
    an_old_session_must_sign_in_again
);
