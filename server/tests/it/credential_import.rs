//! Second factors imported in Kratos's shape, on every backend: a TOTP URL,
//! lookup codes, a security key and a passkey given to
//! `POST /admin/identities` (and the batch `PATCH`) sign in and step a
//! session up; `include_credential` shows them; malformed ones (a bad COSE
//! key, wrong lengths, a bad URL, oversized lists, deep nesting) are
//! refused with Kratos's error and write nothing.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::native_flows::{login, node, public_get, public_post};
use crate::on_every_backend;
use crate::soft_authenticator::{Bend, SoftKey};
use crate::support::{Kind, TestServer, assert_error};
use crate::totp::{step_up_flow, submit_login};
use crate::webauthn::{ORIGIN, RP_ID, options_of, relying_party};

const CIPHER: &str = "0123456789abcdef0123456789abcdef";
const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const PASSWORD: &str = "a long enough secret";

async fn server(kind: Kind) -> TestServer {
    let config = json!({
        "secrets": {"cipher": [CIPHER]},
        "selfservice": {"methods": {
            "totp": {"enabled": true, "config": {"issuer": "Bia Tests"}},
            "lookup_secret": {"enabled": true},
            "webauthn": {"enabled": true, "config": {"rp": relying_party()}},
            "passkey": {"enabled": true, "config": {"rp": relying_party()}}
        }}
    });
    TestServer::start_with(kind, config).await
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An identity with a password and `credentials` besides.
fn identity(email: &str, credentials: Value) -> Value {
    let mut all = json!({"password": {"config": {"password": PASSWORD}}});
    bia_config::merge(&mut all, credentials);
    json!({"schema_id": "default", "traits": {"email": email}, "credentials": all})
}

/// A key as Kratos exports it.
fn kratos_key(key: &SoftKey, name: &str) -> Value {
    json!({
        "id": b64(&key.id),
        "public_key": b64(&key.cose_key()),
        "attestation_type": "none",
        "authenticator": {"aaguid": b64(&[0u8; 16]), "sign_count": 0, "clone_warning": false},
        "display_name": name,
        "added_at": "2024-05-06T07:08:09Z",
        "is_passwordless": false
    })
}

fn totp_code() -> String {
    let secret = totp_rs::Secret::try_from_base32(SECRET).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .build_noncompliant();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now).to_string()
}

/// Creates an identity; returns its id.
async fn create(server: &TestServer, body: Value) -> String {
    let (status, created) = server.post("/admin/identities", body).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// Signs in with the password and returns the aal1 session token.
async fn password_session(server: &TestServer, email: &str) -> String {
    let (status, body) = login(server, email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    body["session_token"].as_str().unwrap().to_owned()
}

async fn imported_second_factors_sign_in(kind: Kind) {
    let server = server(kind).await;
    totp_imports(&server).await;
    lookup_imports(&server).await;
    security_key_imports(&server).await;
    passkey_imports(&server).await;
    batch_imports(&server).await;
    malformed_imports_write_nothing(&server).await;
    server.stop().await;
}

async fn totp_imports(server: &TestServer) {
    let url = format!("otpauth://totp/Kratos:totp%40example.org?secret={SECRET}&issuer=Kratos");
    let id = create(
        server,
        identity(
            "totp@example.org",
            json!({"totp": {"config": {"totp_url": url}}}),
        ),
    )
    .await;
    let (_, admin) = server
        .get(&format!("/admin/identities/{id}?include_credential=totp"))
        .await;
    let stored = &admin["credentials"]["totp"];
    assert_eq!(stored["identifiers"][0], id.as_str(), "{admin}");
    let sealed = stored["config"]["totp_url"].as_str().unwrap();
    assert!(
        !sealed.contains(SECRET),
        "the secret is sealed at rest: {sealed}"
    );

    let token = password_session(server, "totp@example.org").await;
    let flow = step_up_flow(server, &token).await;
    let body = json!({"method": "totp", "totp_code": totp_code()});
    let (status, body) = submit_login(server, &token, &flow, body).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["authenticator_assurance_level"], "aal2");
}

async fn lookup_imports(server: &TestServer) {
    let codes = json!({"lookup_secret": {"config": {"codes": [
        {"code": "key1code"},
        {"code": "key2code", "used_at": "2024-01-02T03:04:05Z"}
    ]}}});
    let id = create(server, identity("lookup@example.org", codes)).await;
    let (_, admin) = server
        .get(&format!(
            "/admin/identities/{id}?include_credential=lookup_secret"
        ))
        .await;
    let stored = admin["credentials"]["lookup_secret"]["config"]["recovery_codes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(stored.len(), 2, "{admin}");
    assert_ne!(stored[0]["code"], "key1code", "codes are sealed at rest");
    assert_eq!(stored[1]["used_at"], "2024-01-02T03:04:05Z");

    let token = password_session(server, "lookup@example.org").await;
    let flow = step_up_flow(server, &token).await;
    let used = json!({"method": "lookup_secret", "lookup_secret": "key2code"});
    let (status, body) = submit_login(server, &token, &flow, used).await;
    assert_eq!(status, 400, "a code imported as used is spent: {body}");
    let right = json!({"method": "lookup_secret", "lookup_secret": "key1code"});
    let (status, body) = submit_login(server, &token, &flow, right).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["authenticator_assurance_level"], "aal2");
}

async fn security_key_imports(server: &TestServer) {
    let mut key = SoftKey::new(RP_ID, ORIGIN);
    key.user_handle = uuid::Uuid::new_v4().as_bytes().to_vec();
    let credentials = json!({"webauthn": {"config": {
        "credentials": [kratos_key(&key, "Imported key")],
        "user_handle": b64(&key.user_handle)
    }}});
    let id = create(server, identity("key@example.org", credentials)).await;
    let (_, admin) = server
        .get(&format!(
            "/admin/identities/{id}?include_credential=webauthn"
        ))
        .await;
    let stored = &admin["credentials"]["webauthn"]["config"]["credentials"][0];
    assert_eq!(stored["id"], b64(&key.id), "{admin}");
    assert_eq!(stored["display_name"], "Imported key");
    assert_eq!(stored["added_at"], "2024-05-06T07:08:09Z");
    assert_eq!(stored["authenticator"]["aaguid"], b64(&[0u8; 16]));

    let token = password_session(server, "key@example.org").await;
    let flow = step_up_flow(server, &token).await;
    let answer = key.assert(
        &options_of(&flow, "webauthn_login_trigger"),
        &Bend::default(),
    );
    let body = json!({"method": "webauthn", "webauthn_login": answer.to_string()});
    let (status, body) = submit_login(server, &token, &flow, body).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["authenticator_assurance_level"], "aal2");
}

async fn passkey_imports(server: &TestServer) {
    let mut key = SoftKey::new(RP_ID, ORIGIN);
    let handle = uuid::Uuid::new_v4();
    key.user_handle = handle.as_bytes().to_vec();
    let mut entry = kratos_key(&key, "Imported passkey");
    entry["is_passwordless"] = json!(true);
    // The OpenAPI shape: bytes as lists of numbers.
    entry["id"] = json!(key.id);
    let body = json!({"schema_id": "default", "traits": {"email": "passkey@example.org"},
        "credentials": {"passkey": {"config": {"credentials": [entry], "user_handle": key.user_handle}}}});
    let id = create(server, body).await;
    let (_, admin) = server
        .get(&format!(
            "/admin/identities/{id}?include_credential=passkey"
        ))
        .await;
    let stored = &admin["credentials"]["passkey"];
    assert_eq!(stored["identifiers"][0], handle.to_string(), "{admin}");
    assert_eq!(stored["config"]["user_handle"], b64(handle.as_bytes()));
    assert_eq!(stored["config"]["credentials"][0]["is_passwordless"], true);

    let (status, flow) = public_get(server, "/self-service/login/api", None).await;
    assert_eq!(status, 200, "{flow}");
    let challenge: Value = serde_json::from_str(
        node(&flow, "passkey_challenge")["attributes"]["value"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let answer = key.assert(&challenge, &Bend::default());
    let path = format!("/self-service/login?flow={}", flow["id"].as_str().unwrap());
    let (status, body) =
        public_post(server, &path, json!({"passkey_login": answer.to_string()})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["identity"]["id"], id.as_str());
}

async fn batch_imports(server: &TestServer) {
    let url = format!("otpauth://totp/Kratos:batch?secret={SECRET}");
    let (status, body) = server
        .patch(
            "/admin/identities",
            json!({"identities": [
                {"create": identity("batch@example.org", json!({"totp": {"config": {"totp_url": url}}}))},
                {"create": identity("batch-bad@example.org", json!({"totp": {"config": {"totp_url": "otpauth://totp/x?secret=!!"}}}))}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["identities"].as_array().unwrap();
    assert_eq!(results[0]["action"], "create", "{body}");
    assert_eq!(results[1]["action"], "error", "{body}");
    let token = password_session(server, "batch@example.org").await;
    let flow = step_up_flow(server, &token).await;
    let body = json!({"method": "totp", "totp_code": totp_code()});
    let (status, body) = submit_login(server, &token, &flow, body).await;
    assert_eq!(status, 200, "{body}");
    let (_, found) = server
        .get("/admin/identities?credentials_identifier=batch-bad@example.org")
        .await;
    assert_eq!(found, json!([]), "a refused entry writes nothing");
}

async fn malformed_imports_write_nothing(server: &TestServer) {
    let key = SoftKey::new(RP_ID, ORIGIN);
    let mut off_curve = key.cose_key();
    let last = off_curve.len() - 1;
    off_curve[last] ^= 1;
    let mut short = kratos_key(&key, "k");
    short["public_key"] = json!(b64(&key.cose_key()[..30]));
    let mut bent = kratos_key(&key, "k");
    bent["public_key"] = json!(b64(&off_curve));
    let mut long_id = kratos_key(&key, "k");
    long_id["id"] = json!(b64(&[1u8; 1024]));
    let mut bad_aaguid = kratos_key(&key, "k");
    bad_aaguid["authenticator"]["aaguid"] = json!(b64(&[1u8; 5]));
    let many: Vec<Value> = (0..101).map(|_| json!({"code": "abc"})).collect();
    let mut deep = json!("x");
    for _ in 0..64 {
        deep = json!([deep]);
    }
    let refused = [
        json!({"webauthn": {"config": {"credentials": [short]}}}),
        json!({"webauthn": {"config": {"credentials": [bent]}}}),
        json!({"webauthn": {"config": {"credentials": [long_id]}}}),
        json!({"webauthn": {"config": {"credentials": [bad_aaguid]}}}),
        json!({"webauthn": {"config": {"credentials": "many"}}}),
        json!({"passkey": {"config": {"credentials": [kratos_key(&key, "k")], "user_handle": b64(&[1u8; 5])}}}),
        json!({"totp": {"config": {"totp_url": "https://example.org/?secret=JBSWY3DP"}}}),
        json!({"totp": {"config": {"totp_url": "otpauth://totp/x?secret="}}}),
        json!({"totp": {"config": {"totp_url": 7}}}),
        json!({"lookup_secret": {"config": {"codes": many}}}),
        json!({"lookup_secret": {"config": {"codes": [{"code": "a b"}]}}}),
        json!({"lookup_secret": {"config": {"codes": deep}}}),
    ];
    for credentials in refused {
        let body = identity("refused@example.org", credentials.clone());
        let (status, answer) = server.post("/admin/identities", body).await;
        assert_error(status, &answer, 400);
        let (_, found) = server
            .get("/admin/identities?credentials_identifier=refused@example.org")
            .await;
        assert_eq!(found, json!([]), "{credentials}");
    }
}

on_every_backend!(imported_second_factors_sign_in);
