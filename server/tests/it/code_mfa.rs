//! Codes as a second factor (`selfservice.methods.code.mfa_enabled`), on
//! every backend: an account with a code address can reach `aal2`; a
//! step-up flow offers its addresses; the chosen one gets a code that steps
//! the session up once; wrong, foreign, replayed and malformed input is
//! refused; without `passwordless_enabled` a code never signs in alone.

use serde_json::{Value, json};

use crate::native_flows::{login, node, public_get, public_post};
use crate::on_every_backend;
use crate::recovery::identity;
use crate::support::{Kind, TestServer};
use crate::totp::{messages_of, step_up_flow, submit_login};
use crate::verification::{code_in, messages};

const PASSWORD: &str = "the old long password";

async fn server(kind: Kind) -> TestServer {
    TestServer::start_with(
        kind,
        json!({
            "session": {"whoami": {"required_aal": "highest_available"}},
            "selfservice": {"methods": {"code": {"mfa_enabled": true}}}
        }),
    )
    .await
}

/// Signs in with the password; returns the session token.
async fn password_session(server: &TestServer, email: &str) -> String {
    let (status, body) = login(server, email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["authenticator_assurance_level"], "aal1");
    body["session_token"].as_str().unwrap().to_owned()
}

/// The `address` buttons of a step-up flow.
fn address_buttons(flow: &Value) -> Vec<Value> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["attributes"]["name"] == "address")
        .cloned()
        .collect()
}

/// The login codes sent to `address` so far, oldest first (waits for `count`).
async fn codes_sent(server: &TestServer, address: &str, count: usize) -> Vec<String> {
    messages(server, address, "login_code_valid", count)
        .await
        .iter()
        .map(code_in)
        .collect()
}

async fn codes_step_a_session_up(kind: Kind) {
    let server = server(kind).await;
    identity(&server, "coder@example.org").await;
    let token = password_session(&server, "coder@example.org").await;

    // A code address is a second factor: whoami asks for aal2.
    let (status, body) = public_get(&server, "/sessions/whoami", Some(&token)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["id"], "session_aal2_required");

    // Without passwordless_enabled, a first-factor flow offers no code.
    let (_, first) = public_get(&server, "/self-service/login/api", None).await;
    assert!(!first.to_string().contains("\"code\""), "{first}");
    let body = json!({"method": "code", "identifier": "coder@example.org"});
    let path = format!("/self-service/login?flow={}", first["id"].as_str().unwrap());
    let (status, refused) = public_post(&server, &path, body).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.get("session").is_none(), "{refused}");

    // The step-up flow offers the account's address.
    let flow = step_up_flow(&server, &token).await;
    assert_eq!(flow["ui"]["messages"][0]["id"], 1010004);
    let buttons = address_buttons(&flow);
    assert_eq!(buttons.len(), 1, "{flow}");
    assert_eq!(buttons[0]["group"], "code");
    assert_eq!(buttons[0]["attributes"]["type"], "submit");
    assert_eq!(buttons[0]["attributes"]["value"], "coder@example.org");
    let label = &buttons[0]["meta"]["label"];
    assert_eq!(label["id"], 1010023);
    assert_eq!(label["text"], "Send code to coder@example.org");
    assert_eq!(
        label["context"],
        json!({"address": "coder@example.org", "channel": "email"})
    );

    // Hostile input: another account's address, oversized, malformed.
    identity(&server, "other@example.org").await;
    let long = format!("{}@example.org", "a".repeat(400));
    for (address, id) in [
        (json!("other@example.org"), 4000035),
        (json!(long), 4000001),
        (json!("coder@example.org\r\nBcc: x@example.org"), 4000001),
        (json!(""), 4000002),
    ] {
        let body = json!({"method": "code", "address": address});
        let (status, refused) = submit_login(&server, &token, &flow, body).await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(messages_of(&refused, "address"), vec![id], "{address}");
    }

    // The button alone (no `method`) sends a code; the address is matched
    // as stored.
    let body = json!({"address": "Coder@Example.org"});
    let (status, sent) = submit_login(&server, &token, &flow, body).await;
    assert_eq!(status, 400, "{sent}");
    assert_eq!(sent["state"], "sent_email");
    assert_eq!(node(&sent, "address")["attributes"]["type"], "hidden");
    assert_eq!(node(&sent, "code")["attributes"]["type"], "text");
    let code = codes_sent(&server, "coder@example.org", 1).await.remove(0);

    // Wrong and malformed codes are refused; the right one steps up.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for (guess, field, id) in [
        (json!(wrong), None, 4010008),
        (json!("12ab56"), Some("code"), 4000001),
        (json!("1".repeat(5_000)), Some("code"), 4000001),
    ] {
        let body = json!({"method": "code", "code": guess});
        let (status, refused) = submit_login(&server, &token, &flow, body).await;
        assert_eq!(status, 400, "{refused}");
        let ids = match field {
            Some(field) => messages_of(&refused, field),
            None => vec![refused["ui"]["messages"][0]["id"].as_u64().unwrap()],
        };
        assert_eq!(ids, vec![id], "{guess}");
    }
    let body = json!({"method": "code", "code": code});
    let (status, done) = submit_login(&server, &token, &flow, body.clone()).await;
    assert_eq!(status, 200, "{done}");
    let session = &done["session"];
    assert_eq!(session["authenticator_assurance_level"], "aal2");
    let steps: Vec<(&str, &str)> = session["authentication_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["method"].as_str().unwrap(), m["aal"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, [("password", "aal1"), ("code", "aal2")]);
    let (status, body_) = public_get(&server, "/sessions/whoami", Some(&token)).await;
    assert_eq!(status, 200, "{body_}");
    assert_eq!(body_["authenticator_assurance_level"], "aal2");

    // Replayed: the flow is done, and the code works for no other flow.
    let (status, again) = submit_login(&server, &token, &flow, body.clone()).await;
    assert_eq!(status, 400, "{again}");
    let other = password_session(&server, "coder@example.org").await;
    let fresh = step_up_flow(&server, &other).await;
    let (status, replay) = submit_login(&server, &other, &fresh, body).await;
    assert_eq!(status, 400, "{replay}");
    let (status, _) = public_get(&server, "/sessions/whoami", Some(&other)).await;
    assert_eq!(status, 403);
    server.stop().await;
}

on_every_backend!(codes_step_a_session_up);

/// A stolen code of one account's step-up does not step up another
/// account's session, and a resend replaces the code.
async fn codes_belong_to_their_flow(kind: Kind) {
    let server = server(kind).await;
    identity(&server, "ada@example.org").await;
    identity(&server, "bob@example.org").await;
    let ada = password_session(&server, "ada@example.org").await;
    let bob = password_session(&server, "bob@example.org").await;
    let ada_flow = step_up_flow(&server, &ada).await;
    let bob_flow = step_up_flow(&server, &bob).await;
    let send = |address: &str| json!({"method": "code", "address": address});
    let (status, _) = submit_login(&server, &ada, &ada_flow, send("ada@example.org")).await;
    assert_eq!(status, 400);
    let (status, _) = submit_login(&server, &bob, &bob_flow, send("bob@example.org")).await;
    assert_eq!(status, 400);
    let ada_code = codes_sent(&server, "ada@example.org", 1).await.remove(0);

    // Ada's code in Bob's flow, and Bob's session on Ada's flow: refused.
    let body = json!({"method": "code", "code": ada_code});
    let (status, refused) = submit_login(&server, &bob, &bob_flow, body.clone()).await;
    assert_eq!(status, 400, "{refused}");
    let (status, refused) = submit_login(&server, &bob, &ada_flow, body).await;
    assert!(status == 400 || status == 403, "{status} {refused}");
    assert!(refused.get("session").is_none(), "{refused}");

    // A resend voids the first code; the second one works.
    let resend = json!({"method": "code", "resend": "code"});
    let (status, _) = submit_login(&server, &ada, &ada_flow, resend).await;
    assert_eq!(status, 400);
    let codes = codes_sent(&server, "ada@example.org", 2).await;
    let old = json!({"method": "code", "code": codes[0]});
    let (status, refused) = submit_login(&server, &ada, &ada_flow, old).await;
    assert_eq!(status, 400, "{refused}");
    let new = json!({"method": "code", "code": codes[1]});
    let (status, done) = submit_login(&server, &ada, &ada_flow, new).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["session"]["authenticator_assurance_level"], "aal2");
    server.stop().await;
}

on_every_backend!(codes_belong_to_their_flow);

/// Without `mfa_enabled`, a code address is no second factor: whoami is
/// satisfied at aal1 and a step-up has nothing to offer.
async fn codes_are_no_second_factor_by_default(kind: Kind) {
    let config = json!({
        "session": {"whoami": {"required_aal": "highest_available"}},
        "selfservice": {"methods": {"code": {"passwordless_enabled": true}}}
    });
    let server = TestServer::start_with(kind, config).await;
    identity(&server, "coder@example.org").await;
    let token = password_session(&server, "coder@example.org").await;
    let (status, body) = public_get(&server, "/sessions/whoami", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        public_get(&server, "/self-service/login/api?aal=aal2", Some(&token)).await;
    assert_eq!(status, 400, "{body}");
    server.stop().await;
}

on_every_backend!(codes_are_no_second_factor_by_default);
