//! Recovery flows on every backend: forms and messages as Kratos shows them,
//! the same answer for known and unknown addresses, admin codes and links
//! that sign the person in and lead to settings, wrong, replayed and
//! hostile submissions.

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::native_flows::{node, public_get, public_post};
use crate::on_every_backend;
use crate::support::{Kind, TestServer, assert_error};

/// Recovery and verification on, by code.
pub fn enabled() -> Value {
    json!({"selfservice": {"flows": {
        "recovery": {"enabled": true},
        "verification": {"enabled": true}
    }}})
}

/// An identity with a password, made through the admin API.
pub async fn identity(server: &TestServer, email: &str) -> String {
    let (status, body) = server
        .post(
            "/admin/identities",
            json!({"schema_id": "default", "traits": {"email": email},
                   "credentials": {"password": {"config": {"password": "the old long password"}}}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn names(flow: &Value) -> Vec<(String, String, String)> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let a = &n["attributes"];
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (text(&n["group"]), text(&a["name"]), text(&a["type"]))
        })
        .collect()
}

fn triple(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.to_owned(), b.to_owned(), c.to_owned())
}

async fn native_recovery_forms_and_unknown_addresses(kind: Kind) {
    let server = TestServer::start_with(kind, enabled()).await;
    identity(&server, "known@example.org").await;
    let (status, flow) = public_get(&server, "/self-service/recovery/api", None).await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(flow["state"], "choose_method");
    assert_eq!(flow["active"], "code", "named from the start, as Kratos");
    assert_eq!(
        names(&flow),
        [
            triple("default", "csrf_token", "hidden"),
            triple("code", "email", "email"),
            triple("code", "method", "submit")
        ]
    );
    assert_eq!(node(&flow, "email")["meta"]["label"]["id"], 1070007);
    let mut answers = Vec::new();
    for email in ["known@example.org", "nobody@example.org"] {
        let (_, flow) = public_get(&server, "/self-service/recovery/api", None).await;
        let id = flow["id"].as_str().unwrap();
        let (status, sent) = public_post(
            &server,
            &format!("/self-service/recovery?flow={id}"),
            json!({"method": "code", "email": email}),
        )
        .await;
        assert_eq!(status, 200, "{sent}");
        assert_eq!(sent["state"], "sent_email");
        assert_eq!(sent["active"], "code");
        assert_eq!(sent["ui"]["messages"][0]["id"], 1060003);
        assert_eq!(
            names(&sent),
            [
                triple("default", "csrf_token", "hidden"),
                triple("code", "code", "text"),
                triple("code", "method", "hidden"),
                triple("code", "method", "submit"),
                triple("code", "email", "submit")
            ]
        );
        assert_eq!(node(&sent, "email")["attributes"]["value"], email);
        let mut shape = sent.clone();
        for key in ["id", "issued_at", "expires_at", "request_url"] {
            shape[key] = Value::Null;
        }
        shape["ui"]["action"] = Value::Null;
        shape["ui"]["nodes"][4]["attributes"]["value"] = Value::Null;
        answers.push(shape);
    }
    assert_eq!(
        answers[0], answers[1],
        "known and unknown addresses look alike"
    );
    server.stop().await;
}

on_every_backend!(native_recovery_forms_and_unknown_addresses);

/// `POST /admin/recovery/code` for `identity`: the code and the flow id.
async fn admin_code(server: &TestServer, identity: &str) -> (String, String) {
    let (status, body) = server
        .post(
            "/admin/recovery/code",
            json!({"identity_id": identity, "expires_in": "10m"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let link = body["recovery_link"].as_str().unwrap();
    assert!(link.starts_with(&format!("{}/self-service/recovery?flow=", server.public)));
    let flow = link.split("flow=").nth(1).unwrap().to_owned();
    let code = body["recovery_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    assert!(body["expires_at"].as_str().is_some());
    (flow, code)
}

async fn admin_code_recovers_into_settings(kind: Kind) {
    let server = TestServer::start_with(kind, enabled()).await;
    let id = identity(&server, "lost@example.org").await;
    let (flow, code) = admin_code(&server, &id).await;
    let mut browser = Browser::new(&server);
    // The link opens the flow's page.
    let opened = browser
        .get(&format!("/self-service/recovery?flow={flow}"), false)
        .await;
    assert_eq!(opened.status, 303);
    assert!(
        opened
            .location
            .unwrap()
            .contains(&format!("/ui/recovery?flow={flow}"))
    );
    let shown = browser
        .get(&format!("/self-service/recovery/flows?id={flow}"), true)
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["state"], "sent_email");
    // A wrong code is refused with Kratos's message, on the flow.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = browser
        .post_json(
            &format!("/self-service/recovery?flow={flow}"),
            &json!({"method": "code", "code": wrong}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["ui"]["messages"][0]["id"], 4060006);
    // The right one signs in and leads to a settings flow (422 for a SPA, as Kratos).
    let done = browser
        .post_json(
            &format!("/self-service/recovery?flow={flow}"),
            &json!({"method": "code", "code": code}),
        )
        .await;
    assert_eq!(done.status, 422, "{}", done.body);
    assert_eq!(done.body["error"]["id"], "browser_location_change_required");
    let settings_page = done.body["redirect_browser_to"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        settings_page.contains("/ui/settings?flow="),
        "{settings_page}"
    );
    assert!(browser.cookies.contains_key("ory_kratos_session"));
    let whoami = browser.get("/sessions/whoami", true).await;
    assert_eq!(whoami.status, 200, "{}", whoami.body);
    assert_eq!(whoami.body["identity"]["id"], id.as_str());
    assert_eq!(
        whoami.body["authentication_methods"][0]["method"],
        "code_recovery"
    );
    let settings_id = settings_page.split("flow=").nth(1).unwrap();
    let settings = browser
        .get(
            &format!("/self-service/settings/flows?id={settings_id}"),
            true,
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    assert_eq!(settings.body["ui"]["messages"][0]["id"], 1060001);
    // The new password can be set at once, and it signs in.
    let csrf = crate::browser::node_value(&settings.body, "csrf_token");
    let saved = browser
        .post_json(
            &format!("/self-service/settings?flow={settings_id}"),
            &json!({"method": "password", "password": "a brand new long password", "csrf_token": csrf}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let (status, body) =
        crate::native_flows::login(&server, "lost@example.org", "a brand new long password").await;
    assert_eq!(status, 200, "{body}");
    // The code cannot be used again.
    let replay = browser
        .post_json(
            &format!("/self-service/recovery?flow={flow}"),
            &json!({"method": "code", "code": code}),
        )
        .await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert_eq!(replay.body["ui"]["messages"][0]["id"], 4060001);
    server.stop().await;
}

on_every_backend!(admin_code_recovers_into_settings);

async fn five_wrong_codes_void_the_flow(kind: Kind) {
    let server = TestServer::start_with(kind, enabled()).await;
    let id = identity(&server, "guessed@example.org").await;
    let (flow, code) = admin_code(&server, &id).await;
    let mut browser = Browser::new(&server);
    let mut tried = 0;
    for guess in 0..1000 {
        let guess = format!("{guess:06}");
        if guess == code {
            continue;
        }
        let refused = browser
            .post_json(
                &format!("/self-service/recovery?flow={flow}"),
                &json!({"method": "code", "code": guess}),
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        tried += 1;
        if tried == 5 {
            break;
        }
    }
    let too_late = browser
        .post_json(
            &format!("/self-service/recovery?flow={flow}"),
            &json!({"method": "code", "code": code}),
        )
        .await;
    assert_eq!(too_late.status, 400, "{}", too_late.body);
    assert_eq!(too_late.body["ui"]["messages"][0]["id"], 4060006);
    assert!(!browser.cookies.contains_key("ory_kratos_session"));
    server.stop().await;
}

on_every_backend!(five_wrong_codes_void_the_flow);

async fn admin_link_recovers_with_a_get(kind: Kind) {
    let server = TestServer::start_with(
        kind,
        json!({"selfservice": {
            "flows": {"recovery": {"enabled": true, "use": "link"}},
            "methods": {"link": {"enabled": true}}
        }}),
    )
    .await;
    let id = identity(&server, "linked@example.org").await;
    let (status, body) = server
        .post("/admin/recovery/link", json!({"identity_id": id}))
        .await;
    assert_eq!(status, 200, "{body}");
    let link = body["recovery_link"].as_str().unwrap().to_owned();
    assert!(link.contains("&token="), "{link}");
    let mut browser = Browser::new(&server);
    let followed = browser.get(&link, false).await;
    assert_eq!(followed.status, 303, "{}", followed.body);
    assert!(followed.location.unwrap().contains("/ui/settings?flow="));
    assert!(browser.cookies.contains_key("ory_kratos_session"));
    let whoami = browser.get("/sessions/whoami", true).await;
    assert_eq!(
        whoami.body["authentication_methods"][0]["method"],
        "link_recovery"
    );
    // Followed again, the link no longer works: back to the flow, no new session.
    let mut other = Browser::new(&server);
    let again = other.get(&link, false).await;
    assert_eq!(again.status, 303);
    assert!(!other.cookies.contains_key("ory_kratos_session"));
    server.stop().await;
}

on_every_backend!(admin_link_recovers_with_a_get);

async fn hostile_recovery_input_is_refused(kind: Kind) {
    let server = TestServer::start_with(kind, enabled()).await;
    let (_, flow) = public_get(&server, "/self-service/recovery/api", None).await;
    let id = flow["id"].as_str().unwrap();
    let path = format!("/self-service/recovery?flow={id}");
    for email in [
        "victim@example.org\r\nBcc: all@example.org",
        "no-at-sign",
        &format!("{}@example.org", "a".repeat(400)),
        "two@@example.org",
    ] {
        let (status, body) =
            public_post(&server, &path, json!({"method": "code", "email": email})).await;
        assert_eq!(status, 400, "{email:?}: {body}");
        assert_eq!(node(&body, "email")["messages"][0]["id"], 4000001, "{body}");
    }
    let (status, body) = public_post(&server, &path, json!({"method": "code"})).await;
    assert_eq!(status, 400);
    assert_eq!(node(&body, "email")["messages"][0]["id"], 4000002, "{body}");
    let (status, body) = public_post(
        &server,
        &path,
        json!({"method": "link", "email": "a@example.org"}),
    )
    .await;
    assert_error(status, &body, 400);
    // Codes of any size and shape are just wrong codes.
    public_post(
        &server,
        &path,
        json!({"method": "code", "email": "a@example.org"}),
    )
    .await;
    for code in ["x".repeat(5_000), "💥".into(), "0".into()] {
        let (status, body) =
            public_post(&server, &path, json!({"method": "code", "code": code})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["ui"]["messages"][0]["id"], 4060006);
    }
    let (status, body) = server
        .post("/admin/recovery/code", json!({"identity_id": "not-a-uuid"}))
        .await;
    assert_error(status, &body, 400);
    let (status, body) = server
        .post(
            "/admin/recovery/code",
            json!({"identity_id": uuid::Uuid::new_v4(), "expires_in": "10m"}),
        )
        .await;
    assert_error(status, &body, 404);
    for (n, expires_in) in ["-1h", "forever", "100000h", "0s"].into_iter().enumerate() {
        let id = identity(&server, &format!("x{n}@example.org")).await;
        let (status, body) = server
            .post(
                "/admin/recovery/code",
                json!({"identity_id": id, "expires_in": expires_in}),
            )
            .await;
        assert_error(status, &body, 400);
    }
    server.stop().await;
}

on_every_backend!(hostile_recovery_input_is_refused);
