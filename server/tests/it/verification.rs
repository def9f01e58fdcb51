//! Messages that recovery and verification flows queue, read back through
//! the courier admin API as an operator would: registration sends a code
//! that verifies the address, self-service recovery by code signs in, links
//! work with a plain GET, and unknown addresses get the configured answer.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::native_flows::{public_get, public_post, register};
use crate::on_every_backend;
use crate::recovery::{enabled, identity};
use crate::support::{Kind, TestServer};

/// The messages to `recipient` of `template`, oldest first, once there are
/// at least `count` (flows queue messages after they answer).
pub async fn messages(
    server: &TestServer,
    recipient: &str,
    template: &str,
    count: usize,
) -> Vec<Value> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("recipient", recipient)
        .finish();
    for _ in 0..100 {
        let (status, list) = server
            .get(&format!("/admin/courier/messages?{query}"))
            .await;
        assert_eq!(status, 200, "{list}");
        let mut found: Vec<Value> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["template_type"] == template)
            .cloned()
            .collect();
        if found.len() >= count {
            found.sort_by_key(|m| m["created_at"].as_str().unwrap_or_default().to_owned());
            return found;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("fewer than {count} {template} messages to {recipient}");
}

/// The newest message to `recipient` of `template`, waiting for one.
pub async fn message(server: &TestServer, recipient: &str, template: &str) -> Value {
    let mut all = messages(server, recipient, template, 1).await;
    all.pop().unwrap()
}

/// The six-digit code in a message's body.
pub fn code_in(message: &Value) -> String {
    let body = message["body"].as_str().unwrap();
    body.split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 6)
        .unwrap_or_else(|| panic!("no code in {body}"))
        .to_owned()
}

/// The first URL in a message's body that contains `part`.
fn link_in(message: &Value, part: &str) -> String {
    let body = message["body"].as_str().unwrap();
    body.split_whitespace()
        .find(|word| word.starts_with("http") && word.contains(part))
        .unwrap_or_else(|| panic!("no link with {part} in {body}"))
        .to_owned()
}

async fn registration_sends_a_code_that_verifies(kind: Kind) {
    let server = TestServer::start_with(kind, enabled()).await;
    let body = register(&server, "new@example.org", "a long enough secret").await;
    let items = body["continue_with"].as_array().unwrap();
    let show = items
        .iter()
        .find(|i| i["action"] == "show_verification_ui")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(show["flow"]["verifiable_address"], "new@example.org");
    let flow_id = show["flow"]["id"].as_str().unwrap().to_owned();
    assert!(show["flow"]["url"].as_str().unwrap().contains(&flow_id));
    let sent = message(&server, "new@example.org", "verification_code_valid").await;
    assert_eq!(sent["type"], "email");
    let code = code_in(&sent);
    let identity = body["identity"]["id"].as_str().unwrap();
    let (_, before) = server.get(&format!("/admin/identities/{identity}")).await;
    assert_eq!(before["verifiable_addresses"][0]["status"], "sent");
    assert_eq!(before["verifiable_addresses"][0]["verified"], false);
    let (status, flow) = public_get(
        &server,
        &format!("/self-service/verification/flows?id={flow_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(flow["state"], "sent_email");
    let (status, done) = public_post(
        &server,
        &format!("/self-service/verification?flow={flow_id}"),
        json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "passed_challenge");
    assert_eq!(done["ui"]["messages"][0]["id"], 1080002);
    let anchor = done["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "a")
        .unwrap_or_else(|| panic!("{done}"));
    assert_eq!(anchor["attributes"]["id"], "continue");
    let (_, after) = server.get(&format!("/admin/identities/{identity}")).await;
    let address = &after["verifiable_addresses"][0];
    assert_eq!(address["verified"], true, "{after}");
    assert_eq!(address["status"], "completed");
    assert!(address["verified_at"].is_string());
    // The used code does not work twice.
    let (status, again) = public_post(
        &server,
        &format!("/self-service/verification?flow={flow_id}"),
        json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(status, 400, "{again}");
    assert_eq!(again["ui"]["messages"][0]["id"], 4070002);
    server.stop().await;
}

on_every_backend!(registration_sends_a_code_that_verifies);

async fn self_service_recovery_by_code_signs_in(kind: Kind) {
    let server = TestServer::start_with(kind, enabled()).await;
    identity(&server, "forgot@example.org").await;
    let (_, flow) = public_get(&server, "/self-service/recovery/api", None).await;
    let id = flow["id"].as_str().unwrap();
    let path = format!("/self-service/recovery?flow={id}");
    let (status, _) = public_post(
        &server,
        &path,
        json!({"method": "code", "email": "Forgot@Example.org"}),
    )
    .await;
    assert_eq!(status, 200);
    let sent = message(&server, "forgot@example.org", "recovery_code_valid").await;
    let code = code_in(&sent);
    let (status, done) = public_post(&server, &path, json!({"method": "code", "code": code})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "passed_challenge");
    let items = done["continue_with"].as_array().unwrap();
    assert_eq!(items[0]["action"], "set_ory_session_token");
    let token = items[0]["ory_session_token"].as_str().unwrap();
    assert_eq!(items[1]["action"], "show_settings_ui");
    let settings = items[1]["flow"]["id"].as_str().unwrap();
    let (status, whoami) = public_get(&server, "/sessions/whoami", Some(token)).await;
    assert_eq!(status, 200, "{whoami}");
    let (status, settings) = public_get(
        &server,
        &format!("/self-service/settings/flows?id={settings}"),
        Some(token),
    )
    .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["ui"]["messages"][0]["id"], 1060001);
    // A resend voids the old code and sends a new one.
    let (_, flow) = public_get(&server, "/self-service/recovery/api", None).await;
    let id = flow["id"].as_str().unwrap();
    let path = format!("/self-service/recovery?flow={id}");
    // Messages are queued after the answer: wait for each before the next
    // request, so their order is the order the codes were issued in.
    for count in [2, 3] {
        public_post(
            &server,
            &path,
            json!({"method": "code", "email": "forgot@example.org"}),
        )
        .await;
        messages(&server, "forgot@example.org", "recovery_code_valid", count).await;
    }
    let sent = messages(&server, "forgot@example.org", "recovery_code_valid", 3).await;
    let (first, second) = (code_in(&sent[1]), code_in(&sent[2]));
    if first != second {
        let (status, _) =
            public_post(&server, &path, json!({"method": "code", "code": first})).await;
        assert_eq!(status, 400, "the replaced code is void");
    }
    let (status, body) =
        public_post(&server, &path, json!({"method": "code", "code": second})).await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

on_every_backend!(self_service_recovery_by_code_signs_in);

async fn unknown_addresses_are_told_only_when_configured(kind: Kind) {
    let mut config = enabled();
    config["selfservice"]["flows"]["verification"]["notify_unknown_recipients"] = json!(true);
    let server = TestServer::start_with(kind, config).await;
    let (_, flow) = public_get(&server, "/self-service/verification/api", None).await;
    let id = flow["id"].as_str().unwrap();
    public_post(
        &server,
        &format!("/self-service/verification?flow={id}"),
        json!({"method": "code", "email": "stranger@example.org"}),
    )
    .await;
    let told = message(&server, "stranger@example.org", "verification_code_invalid").await;
    assert!(!told["body"].as_str().unwrap().is_empty());
    // Recovery keeps the default: nothing goes to an unknown address.
    let (_, flow) = public_get(&server, "/self-service/recovery/api", None).await;
    let id = flow["id"].as_str().unwrap();
    public_post(
        &server,
        &format!("/self-service/recovery?flow={id}"),
        json!({"method": "code", "email": "ghost@example.org"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, list) = server
        .get("/admin/courier/messages?recipient=ghost%40example.org")
        .await;
    assert_eq!(list, json!([]));
    server.stop().await;
}

on_every_backend!(unknown_addresses_are_told_only_when_configured);

async fn verification_links_work_with_a_plain_get(kind: Kind) {
    let server = TestServer::start_with(
        kind,
        json!({"selfservice": {
            "flows": {"verification": {"enabled": true, "use": "link"}},
            "methods": {"link": {"enabled": true}}
        }}),
    )
    .await;
    let id = identity(&server, "clicker@example.org").await;
    let mut browser = Browser::new(&server);
    let flow = browser.start("verification").await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let csrf = crate::browser::node_value(&flow, "csrf_token");
    let sent = browser
        .post_form(
            &format!("/self-service/verification?flow={flow_id}"),
            &[
                ("method", "link"),
                ("email", "clicker@example.org"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let message = message(&server, "clicker@example.org", "verification_valid").await;
    let link = link_in(&message, "token=");
    // A tampered link is refused and verifies nothing.
    let tampered = format!("{}x", link);
    let refused = Browser::new(&server).get(&tampered, false).await;
    assert_eq!(refused.status, 303);
    let (_, still) = server.get(&format!("/admin/identities/{id}")).await;
    assert_eq!(still["verifiable_addresses"][0]["verified"], false);
    // The real one, opened in another browser (a mail client), verifies.
    let opened = Browser::new(&server).get(&link, false).await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    assert!(
        opened
            .location
            .unwrap()
            .contains(&format!("flow={flow_id}"))
    );
    let (_, verified) = server.get(&format!("/admin/identities/{id}")).await;
    assert_eq!(
        verified["verifiable_addresses"][0]["verified"], true,
        "{verified}"
    );
    server.stop().await;
}

on_every_backend!(verification_links_work_with_a_plain_get);

async fn browsers_are_shown_verification_and_new_addresses_are_verified(kind: Kind) {
    let mut config = enabled();
    config["selfservice"]["flows"]["registration"] = json!({"after": {"password": {"hooks": [{"hook": "session"}, {"hook": "show_verification_ui"}]}}});
    let server = TestServer::start_with(kind, config).await;
    let mut browser = Browser::new(&server);
    let flow = browser.start("registration").await;
    let action = crate::browser::path_of(flow["ui"]["action"].as_str().unwrap());
    let csrf = crate::browser::node_value(&flow, "csrf_token");
    let registered = browser
        .post_form(
            &action,
            &[
                ("csrf_token", csrf.as_str()),
                ("method", "password"),
                ("password", "a long enough secret"),
                ("traits.email", "shown@example.org"),
            ],
        )
        .await;
    assert_eq!(registered.status, 303, "{}", registered.body);
    let page = registered.location.unwrap();
    assert!(page.contains("/ui/verification?flow="), "{page}");
    // The page's flow belongs to this browser and waits for the code.
    let id = page.split("flow=").nth(1).unwrap();
    let flow = browser
        .get(&format!("/self-service/verification/flows?id={id}"), true)
        .await;
    assert_eq!(flow.status, 200, "{}", flow.body);
    let code = code_in(&message(&server, "shown@example.org", "verification_code_valid").await);
    let csrf = crate::browser::node_value(&flow.body, "csrf_token");
    let done = browser
        .post_form(
            &format!("/self-service/verification?flow={id}"),
            &[
                ("csrf_token", csrf.as_str()),
                ("method", "code"),
                ("code", code.as_str()),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    let shown = browser
        .get(&format!("/self-service/verification/flows?id={id}"), true)
        .await;
    assert_eq!(shown.body["state"], "passed_challenge", "{}", shown.body);
    // A settings change that brings a new address starts its verification.
    let settings = browser.start("settings").await;
    let csrf = crate::browser::node_value(&settings, "csrf_token");
    let action = crate::browser::path_of(settings["ui"]["action"].as_str().unwrap());
    let saved = browser
        .post_json(
            &action,
            &json!({"csrf_token": csrf, "method": "profile", "traits": {"email": "moved@example.org"}}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let code = code_in(&message(&server, "moved@example.org", "verification_code_valid").await);
    assert_eq!(code.len(), 6);
    server.stop().await;
}

on_every_backend!(browsers_are_shown_verification_and_new_addresses_are_verified);
