//! Passwordless sign-in and sign-up by code
//! (`selfservice.methods.code.passwordless_enabled`): the code is read back
//! from the courier admin API as an operator would.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::{Browser, node_value, path_of};
use crate::native_flows::{login, public_get, public_post};
use crate::on_every_backend;
use crate::recovery::identity;
use crate::support::{Kind, TestServer};
use crate::verification::{code_in, message, messages};

fn passwordless() -> Value {
    json!({"selfservice": {"methods": {"code": {"passwordless_enabled": true}}}})
}

/// `group:name:type` of every node of a flow.
pub(crate) fn names(flow: &Value) -> Vec<String> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let a = &n["attributes"];
            format!(
                "{}:{}:{}",
                n["group"].as_str().unwrap_or_default(),
                a["name"].as_str().unwrap_or_default(),
                a["type"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn message_ids(flow: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = flow["ui"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_u64())
        .collect();
    for node in flow["ui"]["nodes"].as_array().unwrap() {
        ids.extend(
            node["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| m["id"].as_u64()),
        );
    }
    ids
}

async fn new_flow(server: &TestServer, kind: &str) -> (String, Value) {
    let (status, flow) = public_get(server, &format!("/self-service/{kind}/api"), None).await;
    assert_eq!(status, 200, "{flow}");
    (flow["id"].as_str().unwrap().to_owned(), flow)
}

async fn submit(server: &TestServer, kind: &str, id: &str, body: Value) -> (u16, Value) {
    public_post(server, &format!("/self-service/{kind}?flow={id}"), body).await
}

/// Starts a native sign-in by code for `email` and returns the flow id.
async fn send_login_code(server: &TestServer, email: &str) -> (String, Value) {
    let (id, _) = new_flow(server, "login").await;
    let (status, flow) = submit(
        server,
        "login",
        &id,
        json!({"method": "code", "identifier": email}),
    )
    .await;
    assert_eq!(status, 400, "{flow}");
    (id, flow)
}

async fn native_login_by_code(kind: Kind) {
    let server = TestServer::start_with(kind, passwordless()).await;
    let identity_id = identity(&server, "coder@example.org").await;
    let (id, flow) = new_flow(&server, "login").await;
    assert!(
        names(&flow).contains(&"code:method:submit".to_owned()),
        "{flow}"
    );
    let (status, sent) = submit(
        &server,
        "login",
        &id,
        json!({"method": "code", "identifier": "Coder@example.org"}),
    )
    .await;
    assert_eq!(status, 400, "{sent}");
    assert_eq!(sent["state"], "sent_email");
    assert_eq!(sent["active"], "code");
    assert_eq!(message_ids(&sent), vec![1010025]);
    let nodes = names(&sent);
    for expected in [
        "code:identifier:hidden",
        "code:code:text",
        "code:method:submit",
        "code:resend:submit",
    ] {
        assert!(nodes.contains(&expected.to_owned()), "{expected}: {sent}");
    }
    assert!(!nodes.iter().any(|n| n.contains("password")), "{sent}");
    let mail = message(&server, "coder@example.org", "login_code_valid").await;
    let code = code_in(&mail);
    let (status, done) = submit(
        &server,
        "login",
        &id,
        json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["session"]["identity"]["id"], identity_id.as_str());
    assert_eq!(
        done["session"]["authentication_methods"][0]["method"],
        "code"
    );
    assert_eq!(done["session"]["authenticator_assurance_level"], "aal1");
    // The code was used: neither the same flow nor another one takes it.
    let (status, again) = submit(
        &server,
        "login",
        &id,
        json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(status, 400, "{again}");
    let (other, _) = send_login_code(&server, "coder@example.org").await;
    let (status, replay) = submit(
        &server,
        "login",
        &other,
        json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(status, 400, "{replay}");
    assert_eq!(message_ids(&replay), vec![4010008]);
    // Passwords still sign in.
    let (status, body) = login(&server, "coder@example.org", "the old long password").await;
    assert_eq!(status, 200, "{body}");
}

on_every_backend!(native_login_by_code);

async fn unknown_identifiers_get_the_same_answer(kind: Kind) {
    let server = TestServer::start_with(kind, passwordless()).await;
    identity(&server, "known@example.org").await;
    let (_, known) = send_login_code(&server, "known@example.org").await;
    let (id, unknown) = send_login_code(&server, "nobody@example.org").await;
    assert_eq!(names(&known), names(&unknown));
    assert_eq!(message_ids(&known), message_ids(&unknown));
    assert_eq!(known["state"], unknown["state"]);
    message(&server, "known@example.org", "login_code_valid").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, list) = server
        .get("/admin/courier/messages?recipient=nobody%40example.org")
        .await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([]), "no message to an unknown address");
    // No code signs in to an account that does not exist.
    let (status, refused) = submit(
        &server,
        "login",
        &id,
        json!({"method": "code", "code": "123456"}),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(message_ids(&refused), vec![4010008]);
}

on_every_backend!(unknown_identifiers_get_the_same_answer);

async fn five_wrong_codes_void_the_flow(kind: Kind) {
    let server = TestServer::start_with(kind, passwordless()).await;
    identity(&server, "guess@example.org").await;
    let (id, _) = send_login_code(&server, "guess@example.org").await;
    let code = code_in(&message(&server, "guess@example.org", "login_code_valid").await);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        let (status, body) = submit(
            &server,
            "login",
            &id,
            json!({"method": "code", "code": wrong}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(message_ids(&body), vec![4010008]);
    }
    let (status, body) = submit(
        &server,
        "login",
        &id,
        json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(status, 400, "the right code after five wrong ones: {body}");
    // A new code on the same flow works again.
    let (status, _) = submit(
        &server,
        "login",
        &id,
        json!({"method": "code", "resend": "code"}),
    )
    .await;
    assert_eq!(status, 400);
    let sent = messages(&server, "guess@example.org", "login_code_valid", 2).await;
    let fresh = code_in(sent.last().unwrap());
    let (status, body) = submit(
        &server,
        "login",
        &id,
        json!({"method": "code", "code": fresh}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

on_every_backend!(five_wrong_codes_void_the_flow);

async fn hostile_input_is_refused(kind: Kind) {
    let server = TestServer::start_with(kind, passwordless()).await;
    identity(&server, "hostile@example.org").await;
    let huge = format!("{}@example.org", "a".repeat(20_000));
    for identifier in [
        huge.as_str(),
        "hostile@example.org\r\nBcc: evil@example.org",
    ] {
        let (id, _) = new_flow(&server, "login").await;
        let (status, body) = submit(
            &server,
            "login",
            &id,
            json!({"method": "code", "identifier": identifier}),
        )
        .await;
        assert!(status == 400 || status == 413, "{status} {body}");
        if status == 400 {
            assert_ne!(body["state"], "sent_email", "{body}");
        }
    }
    let (id, _) = send_login_code(&server, "hostile@example.org").await;
    for code in ["12a456", "' OR 1=1 --", "１２３４５６", ""] {
        let (status, body) = submit(
            &server,
            "login",
            &id,
            json!({"method": "code", "code": code}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(body["session"].is_null());
    }
    let (status, list) = server
        .get("/admin/courier/messages?recipient=evil%40example.org")
        .await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([]));
}

on_every_backend!(hostile_input_is_refused);

async fn native_registration_by_code(kind: Kind) {
    let server = TestServer::start_with(kind, passwordless()).await;
    let (id, flow) = new_flow(&server, "registration").await;
    assert!(
        names(&flow).contains(&"code:method:submit".to_owned()),
        "{flow}"
    );
    let traits = json!({"email": "fresh@example.org", "name": {"first": "Fresh"}});
    let (status, sent) = submit(
        &server,
        "registration",
        &id,
        json!({"method": "code", "traits": traits}),
    )
    .await;
    assert_eq!(status, 400, "{sent}");
    assert_eq!(sent["state"], "sent_email");
    assert_eq!(message_ids(&sent), vec![1040005]);
    assert_eq!(node_value(&sent, "traits.email"), "fresh@example.org");
    assert!(
        names(&sent).contains(&"code:code:text".to_owned()),
        "{sent}"
    );
    let mail = message(&server, "fresh@example.org", "registration_code_valid").await;
    let code = code_in(&mail);
    // The traits the code was sent for are the ones registered.
    let (status, changed) = submit(
        &server,
        "registration",
        &id,
        json!({"method": "code", "code": code, "traits": {"email": "other@example.org"}}),
    )
    .await;
    assert_eq!(status, 400, "{changed}");
    assert_eq!(message_ids(&changed), vec![4000036]);
    let (status, wrong) = submit(
        &server,
        "registration",
        &id,
        json!({"method": "code", "code": "abc", "traits": traits}),
    )
    .await;
    assert_eq!(status, 400, "{wrong}");
    let (status, done) = submit(
        &server,
        "registration",
        &id,
        json!({"method": "code", "code": code, "traits": traits}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let identity_id = done["identity"]["id"].as_str().unwrap();
    assert_eq!(
        done["session"]["authentication_methods"][0]["method"],
        "code"
    );
    let (status, stored) = server
        .get(&format!(
            "/admin/identities/{identity_id}?include_credential=code"
        ))
        .await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(
        stored["verifiable_addresses"][0]["verified"], true,
        "{stored}"
    );
    assert_eq!(
        stored["credentials"]["code"]["identifiers"],
        json!(["fresh@example.org"]),
        "{stored}"
    );
    // The new account signs in by code.
    let (login_id, _) = send_login_code(&server, "fresh@example.org").await;
    let code = code_in(&message(&server, "fresh@example.org", "login_code_valid").await);
    let (status, body) = submit(
        &server,
        "login",
        &login_id,
        json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["identity"]["id"], identity_id);
}

on_every_backend!(native_registration_by_code);

async fn browser_flows_by_code(kind: Kind) {
    let server = TestServer::start_with(kind, passwordless()).await;
    identity(&server, "browser@example.org").await;
    // A SPA signs in.
    let mut spa = Browser::new(&server);
    let flow = spa.start("login").await;
    let action = format!("/self-service/login?flow={}", flow["id"].as_str().unwrap());
    let csrf = node_value(&flow, "csrf_token");
    let sent = spa
        .post_json(
            &action,
            &json!({"method": "code", "identifier": "browser@example.org", "csrf_token": csrf}),
        )
        .await;
    assert_eq!(sent.status, 400, "{}", sent.body);
    assert_eq!(sent.body["state"], "sent_email");
    let code = code_in(&message(&server, "browser@example.org", "login_code_valid").await);
    let done = spa
        .post_json(
            &action,
            &json!({"method": "code", "code": code, "csrf_token": csrf}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(spa.cookies.contains_key("ory_kratos_session"));
    // A page-loading browser signs up with forms.
    let mut browser = Browser::new(&server);
    let flow = browser.start("registration").await;
    let id = flow["id"].as_str().unwrap().to_owned();
    let action = format!("/self-service/registration?flow={id}");
    let csrf = node_value(&flow, "csrf_token");
    let sent = browser
        .post_form(
            &action,
            &[
                ("csrf_token", &csrf),
                ("method", "code"),
                ("traits.email", "page@example.org"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let shown = browser
        .get(&format!("/self-service/registration/flows?id={id}"), true)
        .await;
    assert_eq!(shown.body["state"], "sent_email", "{}", shown.body);
    let code = code_in(&message(&server, "page@example.org", "registration_code_valid").await);
    let done = browser
        .post_form(
            &action,
            &[
                ("csrf_token", &csrf),
                ("method", "code"),
                ("code", &code),
                ("traits.email", "page@example.org"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(browser.cookies.contains_key("ory_kratos_session"));
    // The built-in account UI shows the code form.
    let mut fresh = Browser::new(&server);
    let start = fresh.get("/self-service/login/browser", false).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let page = fresh.get(&path_of(&start.location.unwrap()), false).await;
    let html = page.body.as_str().unwrap_or_default().to_owned();
    assert!(html.contains("Send sign in code"), "{html}");
    assert!(html.contains("formnovalidate"), "{html}");
}

on_every_backend!(browser_flows_by_code);

async fn code_sign_in_is_off_by_default(kind: Kind) {
    let server = TestServer::start(kind).await;
    identity(&server, "plain@example.org").await;
    for kind in ["login", "registration"] {
        let (id, flow) = new_flow(&server, kind).await;
        assert!(
            !names(&flow).iter().any(|n| n.starts_with("code:")),
            "{flow}"
        );
        let (status, body) = submit(
            &server,
            kind,
            &id,
            json!({"method": "code", "identifier": "plain@example.org",
                   "traits": {"email": "new@example.org"}}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_ne!(body["state"], "sent_email", "{body}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, list) = server
        .get("/admin/courier/messages?recipient=plain%40example.org")
        .await;
    assert_eq!(list, json!([]));
    let (status, body) = login(&server, "plain@example.org", "the old long password").await;
    assert_eq!(status, 200, "{body}");
}

on_every_backend!(code_sign_in_is_off_by_default);
