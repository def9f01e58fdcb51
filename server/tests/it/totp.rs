//! TOTP as a second factor, on every backend: enrolment in settings, the
//! assurance levels whoami and settings require, stepping a session up with
//! `aal=aal2`, refused wrong, malformed, replayed and expired codes,
//! throttling, secrets sealed at rest, unlinking.

use serde_json::{Value, json};

use crate::native_flows::{login, node, public_get, register};
use crate::on_every_backend;
use crate::support::{Kind, TestServer, split};

const CIPHER: &str = "0123456789abcdef0123456789abcdef";

async fn server(kind: Kind, extra: Value) -> TestServer {
    let mut config = json!({
        "secrets": {"cipher": [CIPHER]},
        "selfservice": {"methods": {"totp": {"enabled": true, "config": {"issuer": "Bia Tests"}}}}
    });
    bia_config::merge(&mut config, extra);
    TestServer::start_with(kind, config).await
}

/// Posts to a public path with the session token.
pub(crate) async fn post_with(
    server: &TestServer,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let response = server
        .http
        .post(format!("{}{path}", server.public))
        .header("X-Session-Token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    split(response).await
}

/// A new native settings flow of the session behind `token`.
pub(crate) async fn settings_flow(server: &TestServer, token: &str) -> (u16, Value) {
    public_get(server, "/self-service/settings/api", Some(token)).await
}

pub(crate) async fn submit_settings(
    server: &TestServer,
    token: &str,
    flow: &Value,
    body: Value,
) -> (u16, Value) {
    let path = format!(
        "/self-service/settings?flow={}",
        flow["id"].as_str().unwrap()
    );
    post_with(server, &path, token, body).await
}

/// A new step-up login flow of the session behind `token`.
pub(crate) async fn step_up_flow(server: &TestServer, token: &str) -> Value {
    let (status, flow) = public_get(server, "/self-service/login/api?aal=aal2", Some(token)).await;
    assert_eq!(status, 200, "{flow}");
    flow
}

pub(crate) async fn submit_login(
    server: &TestServer,
    token: &str,
    flow: &Value,
    body: Value,
) -> (u16, Value) {
    let path = format!("/self-service/login?flow={}", flow["id"].as_str().unwrap());
    post_with(server, &path, token, body).await
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The code of the authenticator whose secret a settings flow shows, at `time`.
fn code_at(secret_base32: &str, time: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .build_noncompliant();
    totp.generate(time).to_string()
}

/// Codes an enrolment refuses, with the message id each gets.
const REFUSED: [(&str, u64); 4] = [
    ("", 4000002),
    ("000000", 4000008),
    ("12a456", 4000008),
    (
        "11111111111111111111111111111111111111111111111111111111111111111111",
        4000008,
    ),
];

pub(crate) fn messages_of(flow: &Value, name: &str) -> Vec<u64> {
    node(flow, name)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect()
}

/// Enrols the identity behind `token` (first trying refused codes when
/// `refusals`); returns the secret.
async fn enrol(server: &TestServer, token: &str, refusals: bool) -> String {
    let (status, flow) = settings_flow(server, token).await;
    assert_eq!(status, 200, "{flow}");
    let nodes = flow["ui"]["nodes"].as_array().unwrap();
    let qr = nodes
        .iter()
        .find(|n| n["attributes"]["id"] == "totp_qr")
        .unwrap();
    assert_eq!(qr["type"], "img");
    assert_eq!(qr["group"], "totp");
    assert_eq!(qr["attributes"]["node_type"], "img");
    assert_eq!(qr["attributes"]["width"], 256);
    assert!(
        qr["attributes"]["src"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml;base64,")
    );
    assert_eq!(qr["meta"]["label"]["id"], 1050005);
    let text = nodes
        .iter()
        .find(|n| n["attributes"]["id"] == "totp_secret_key")
        .unwrap();
    assert_eq!(text["type"], "text");
    assert_eq!(text["attributes"]["text"]["id"], 1050006);
    assert_eq!(text["meta"]["label"]["id"], 1050017);
    let secret = text["attributes"]["text"]["context"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(text["attributes"]["text"]["text"], secret.as_str());
    assert_eq!(node(&flow, "totp_code")["meta"]["label"]["id"], 1070006);
    // The same flow shows the same secret when read again.
    let (_, again) = public_get(
        server,
        &format!(
            "/self-service/settings/flows?id={}",
            flow["id"].as_str().unwrap()
        ),
        Some(token),
    )
    .await;
    assert!(again.to_string().contains(&secret));

    // Missing, wrong, malformed and oversized codes are refused, nothing stored.
    let refused_codes = if refusals { &REFUSED[..] } else { &[][..] };
    for (code, expected) in refused_codes {
        let body = json!({"method": "totp", "totp_code": code});
        let (status, refused) = submit_settings(server, token, &flow, body).await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(
            messages_of(&refused, "totp_code"),
            vec![*expected],
            "{code}"
        );
    }
    let code = code_at(&secret, now());
    let (status, saved) = submit_settings(
        server,
        token,
        &flow,
        json!({"method": "totp", "totp_code": code}),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["state"], "success");
    let unlink = node(&saved, "totp_unlink");
    assert_eq!(unlink["meta"]["label"]["id"], 1050004);
    assert!(
        saved["ui"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["attributes"]["id"] != "totp_qr")
    );
    secret
}

async fn totp_steps_a_session_up_once_per_code(kind: Kind) {
    let server = server(kind, json!({})).await;
    let registered = register(&server, "ada@example.org", "a long enough secret").await;
    let first = registered["session_token"].as_str().unwrap().to_owned();
    let identity_id = registered["identity"]["id"].as_str().unwrap().to_owned();

    // Without a second factor, highest_available is aal1 and nothing steps up.
    let (status, _) = public_get(&server, "/sessions/whoami", Some(&first)).await;
    assert_eq!(status, 200);
    let (status, body) =
        public_get(&server, "/self-service/login/api?aal=aal2", Some(&first)).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = public_get(&server, "/self-service/login/api?aal=aal2", None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["id"], "session_aal1_required");
    let (status, body) =
        public_get(&server, "/self-service/login/api?aal=aal9", Some(&first)).await;
    assert_eq!(status, 400, "{body}");

    // The enrolment spends the code of this time step or a later one.
    let enrolled_at = now();
    let secret = enrol(&server, &first, true).await;

    // Sealed at rest: the stored URL is not the otpauth URL in clear text.
    let (_, admin) = server
        .get(&format!(
            "/admin/identities/{identity_id}?include_credential=totp"
        ))
        .await;
    let stored = admin["credentials"]["totp"]["config"]["totp_url"]
        .as_str()
        .unwrap();
    assert!(
        !stored.contains("otpauth") && !stored.contains(&secret),
        "{stored}"
    );
    assert!(stored.bytes().all(|b| b.is_ascii_hexdigit()), "{stored}");

    // The aal1 session no longer satisfies whoami, nor settings.
    let (status, body) = public_get(&server, "/sessions/whoami", Some(&first)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["id"], "session_aal2_required");
    assert!(
        body["redirect_browser_to"]
            .as_str()
            .unwrap()
            .ends_with("/self-service/login/browser?aal=aal2")
    );
    let (status, body) = settings_flow(&server, &first).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["id"], "session_aal2_required");

    // A password login gives an aal1 session; it steps up with a code.
    let (status, body) = login(&server, "ada@example.org", "a long enough secret").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["authenticator_assurance_level"], "aal1");
    let token = body["session_token"].as_str().unwrap().to_owned();
    let flow = step_up_flow(&server, &token).await;
    assert_eq!(flow["requested_aal"], "aal2");
    assert_eq!(flow["ui"]["messages"][0]["id"], 1010004);
    let names: Vec<&str> = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["attributes"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["csrf_token", "totp_code", "method"]);
    assert_eq!(node(&flow, "totp_code")["meta"]["label"]["id"], 1010006);
    assert_eq!(node(&flow, "method")["meta"]["label"]["id"], 1010009);

    // A first factor does not step up; the enrolment's code is spent.
    let password = json!({"method": "password", "identifier": "ada@example.org", "password": "a long enough secret"});
    let (status, body) = submit_login(&server, &token, &flow, password).await;
    assert_eq!(status, 400, "{body}");
    let spent = json!({"method": "totp", "totp_code": code_at(&secret, enrolled_at)});
    let (status, body) = submit_login(&server, &token, &flow, spent).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(messages_of(&body, "totp_code"), vec![4000008]);
    // Another session cannot use this session's flow.
    let (status, body) = submit_login(
        &server,
        &first,
        &flow,
        json!({"method": "totp", "totp_code": "000000"}),
    )
    .await;
    assert!(status == 400 || status == 403, "{status} {body}");

    let fresh = code_at(&secret, now() + 30);
    let (status, body) = submit_login(
        &server,
        &token,
        &flow,
        json!({"method": "totp", "totp_code": fresh}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["authenticator_assurance_level"], "aal2");
    let methods: Vec<(&str, &str)> = body["session"]["authentication_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["method"].as_str().unwrap(), m["aal"].as_str().unwrap()))
        .collect();
    assert_eq!(methods, [("password", "aal1"), ("totp", "aal2")]);
    let (status, whoami) = public_get(&server, "/sessions/whoami", Some(&token)).await;
    assert_eq!(status, 200, "{whoami}");
    assert_eq!(whoami["authenticator_assurance_level"], "aal2");
    // An aal2 session needs no step-up.
    let (status, _) = public_get(&server, "/self-service/login/api?aal=aal2", Some(&token)).await;
    assert_eq!(status, 400);

    // The same code again, from another session: replayed, refused.
    let (_, body) = login(&server, "ada@example.org", "a long enough secret").await;
    let other = body["session_token"].as_str().unwrap().to_owned();
    let flow = step_up_flow(&server, &other).await;
    let (status, body) = submit_login(
        &server,
        &other,
        &flow,
        json!({"method": "totp", "totp_code": fresh}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(messages_of(&body, "totp_code"), vec![4000008]);
    // An earlier step than the last one accepted is refused too.
    let earlier = json!({"method": "totp", "totp_code": code_at(&secret, now() - 30)});
    let (status, _) = submit_login(&server, &other, &flow, earlier).await;
    assert_eq!(status, 400);

    // Unlinking (from the aal2 session) lowers what is available: the aal1
    // sessions satisfy whoami again.
    let (status, flow) = settings_flow(&server, &token).await;
    assert_eq!(status, 200, "{flow}");
    let (status, body) =
        submit_settings(&server, &token, &flow, json!({"totp_unlink": true})).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["ui"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["attributes"]["id"] == "totp_qr")
    );
    let (status, _) = public_get(&server, "/sessions/whoami", Some(&other)).await;
    assert_eq!(status, 200);
    let (_, admin) = server
        .get(&format!(
            "/admin/identities/{identity_id}?include_credential=totp"
        ))
        .await;
    assert!(admin["credentials"].get("totp").is_none(), "{admin}");
    server.stop().await;
}

async fn wrong_codes_are_throttled_and_aal1_may_be_required(kind: Kind) {
    let server = server(
        kind,
        json!({
            "throttle": {"per_identifier": {"max_attempts": 3, "window": "1h"}},
            "session": {"whoami": {"required_aal": "aal1"}},
            "selfservice": {"flows": {"settings": {"required_aal": "aal1"}}}
        }),
    )
    .await;
    let registered = register(&server, "bo@example.org", "a long enough secret").await;
    let token = registered["session_token"].as_str().unwrap().to_owned();
    let secret = enrol(&server, &token, false).await;
    // aal1 is enough for whoami and settings here.
    let (status, _) = public_get(&server, "/sessions/whoami", Some(&token)).await;
    assert_eq!(status, 200);
    let (status, _) = settings_flow(&server, &token).await;
    assert_eq!(status, 200);

    let flow = step_up_flow(&server, &token).await;
    let wrong = json!({"method": "totp", "totp_code": "000000"});
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, _) = submit_login(&server, &token, &flow, wrong.clone()).await;
        statuses.push(status);
    }
    assert_eq!(statuses, [400, 400, 400, 429]);
    // Even the right code waits now.
    let right = json!({"method": "totp", "totp_code": code_at(&secret, now() + 30)});
    let (status, _) = submit_login(&server, &token, &flow, right).await;
    assert_eq!(status, 429);
    server.stop().await;
}

on_every_backend!(
    totp_steps_a_session_up_once_per_code,
    wrong_codes_are_throttled_and_aal1_may_be_required
);
