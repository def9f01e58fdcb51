//! Passkeys, on every backend, with a software authenticator: signing up
//! with a passkey alone, signing in with it (no identifier), refused
//! answers (unknown user handle or key, another challenge, a replay), and
//! adding and removing passkeys in settings (never the last way in).

use serde_json::{Value, json};

use crate::native_flows::{node, public_get, public_post};
use crate::on_every_backend;
use crate::soft_authenticator::{Bend, SoftKey};
use crate::support::{Kind, TestServer};
use crate::totp::{messages_of, settings_flow, submit_settings};
use crate::webauthn::{ORIGIN, RP_ID, relying_party};

async fn server(kind: Kind) -> TestServer {
    let config = json!({
        "selfservice": {"methods": {"passkey": {"enabled": true, "config": {"rp": relying_party()}}}}
    });
    TestServer::start_with(kind, config).await
}

/// The JSON a hidden node of the flow carries.
fn hidden_json(flow: &Value, name: &str) -> Value {
    serde_json::from_str(node(flow, name)["attributes"]["value"].as_str().unwrap()).unwrap()
}

async fn submit(server: &TestServer, kind: &str, flow: &Value, body: Value) -> (u16, Value) {
    let id = flow["id"].as_str().unwrap();
    public_post(server, &format!("/self-service/{kind}?flow={id}"), body).await
}

/// Signs up with a new passkey; returns the answer body.
async fn sign_up(server: &TestServer, key: &mut SoftKey, email: &str) -> Value {
    let (status, flow) = public_get(server, "/self-service/registration/api", None).await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(
        node(&flow, "passkey_register_trigger")["attributes"]["onclickTrigger"],
        "oryPasskeyRegistration"
    );
    assert_eq!(
        node(&flow, "passkey_register_trigger")["meta"]["label"]["id"],
        1040007
    );
    let data = hidden_json(&flow, "passkey_create_data");
    assert_eq!(data["displayNameFieldName"], "traits.email");
    let options = &data["credentialOptions"];
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    let answer = key.register(options, &Bend::default());
    let body = json!({"method": "passkey", "traits": {"email": email}, "passkey_register": answer.to_string()});
    let (status, body) = submit(server, "registration", &flow, body).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn sign_in(server: &TestServer, key: &mut SoftKey, bend: &Bend) -> (u16, Value) {
    let (status, flow) = public_get(server, "/self-service/login/api", None).await;
    assert_eq!(status, 200, "{flow}");
    let challenge = hidden_json(&flow, "passkey_challenge");
    let answer = key.assert(&challenge, bend);
    submit(
        server,
        "login",
        &flow,
        json!({"passkey_login": answer.to_string()}),
    )
    .await
}

async fn passkeys_sign_up_and_sign_in(kind: Kind) {
    let server = server(kind).await;
    let mut key = SoftKey::new(RP_ID, ORIGIN);
    let signed_up = sign_up(&server, &mut key, "ada@example.org").await;
    assert_eq!(
        signed_up["session"]["authentication_methods"][0]["method"],
        "passkey"
    );
    let identity_id = signed_up["identity"]["id"].as_str().unwrap().to_owned();
    let (_, admin) = server
        .get(&format!(
            "/admin/identities/{identity_id}?include_credential=passkey"
        ))
        .await;
    let stored = &admin["credentials"]["passkey"];
    assert_eq!(
        stored["identifiers"][0],
        uuid::Uuid::from_slice(&key.user_handle)
            .unwrap()
            .to_string()
    );
    assert_eq!(stored["config"]["credentials"][0]["is_passwordless"], true);
    assert!(
        admin["credentials"]["password"]["config"]
            .get("hashed_password")
            .is_none(),
        "{admin}"
    );

    // The login form offers the passkey with conditional UI.
    let (_, flow) = public_get(&server, "/self-service/login/api", None).await;
    let login = node(&flow, "passkey_login");
    assert_eq!(
        login["attributes"]["onloadTrigger"],
        "oryPasskeyLoginAutocompleteInit"
    );
    assert_eq!(
        node(&flow, "passkey_login_trigger")["attributes"]["onclickTrigger"],
        "oryPasskeyLogin"
    );
    assert_eq!(
        hidden_json(&flow, "passkey_challenge")["mediation"],
        "conditional"
    );

    let (status, body) = sign_in(&server, &mut key, &Bend::default()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["identity"]["id"], identity_id.as_str());
    assert_eq!(body["session"]["authenticator_assurance_level"], "aal1");

    // An unknown user handle or key, another origin or challenge: 4000043.
    let mut stranger = SoftKey::new(RP_ID, ORIGIN);
    stranger.user_handle = uuid::Uuid::new_v4().as_bytes().to_vec();
    let mut impostor = SoftKey::new(RP_ID, ORIGIN);
    impostor.user_handle = key.user_handle.clone();
    let other_origin = Bend {
        origin: Some("https://evil.test".into()),
        ..Bend::default()
    };
    let other_challenge = Bend {
        challenge: Some("AAAA".into()),
        ..Bend::default()
    };
    for (mut who, bend) in [(stranger, Bend::default()), (impostor, Bend::default())] {
        let (status, body) = sign_in(&server, &mut who, &bend).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(messages_of(&body, "passkey_login"), vec![4000043], "{body}");
    }
    for bend in [other_origin, other_challenge] {
        let counter = key.counter;
        let (status, body) = sign_in(&server, &mut key, &bend).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(messages_of(&body, "passkey_login"), vec![4000043], "{body}");
        key.counter = counter;
    }
    // A replayed answer fails on a new flow (another challenge).
    let (_, flow) = public_get(&server, "/self-service/login/api", None).await;
    let answer = key.assert(&hidden_json(&flow, "passkey_challenge"), &Bend::default());
    let (status, _) = submit(
        &server,
        "login",
        &flow,
        json!({"passkey_login": answer.to_string()}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, again) = public_get(&server, "/self-service/login/api", None).await;
    let (status, body) = submit(
        &server,
        "login",
        &again,
        json!({"passkey_login": answer.to_string()}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // Malformed answers are refused on the field.
    let (_, flow) = public_get(&server, "/self-service/login/api", None).await;
    for (answer, expected) in [(json!("{]"), 4000001), (json!("x".repeat(40_000)), 4000001)] {
        let (status, body) = submit(
            &server,
            "login",
            &flow,
            json!({"method": "passkey", "passkey_login": answer}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            messages_of(&body, "passkey_login"),
            vec![expected],
            "{body}"
        );
    }

    let token = signed_up["session_token"].as_str().unwrap().to_owned();
    passkeys_in_settings(&server, &token, &mut key).await;
    server.stop().await;
}

/// A second passkey is added; the first removed; the last one stays.
async fn passkeys_in_settings(server: &TestServer, token: &str, first: &mut SoftKey) {
    let (status, flow) = settings_flow(server, token).await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(
        node(&flow, "passkey_remove")["meta"]["label"]["id"],
        1050020
    );
    assert_eq!(
        node(&flow, "passkey_register_trigger")["attributes"]["onclickTrigger"],
        "oryPasskeySettingsRegistration"
    );
    let data = hidden_json(&flow, "passkey_create_data");
    assert_eq!(
        data["credentialOptions"]["publicKey"]["user"]["id"],
        crate::soft_authenticator::b64url(&first.user_handle)
    );
    let mut second = SoftKey::new(RP_ID, ORIGIN);
    let answer = second.register(&data["credentialOptions"], &Bend::default());
    let body = json!({"method": "passkey", "passkey_settings_register": answer.to_string()});
    let (status, saved) = submit_settings(server, token, &flow, body).await;
    assert_eq!(status, 200, "{saved}");
    let removes: Vec<&Value> = saved["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["attributes"]["name"] == "passkey_remove")
        .collect();
    assert_eq!(removes.len(), 2);
    let (status, body) = sign_in(server, &mut second, &Bend::default()).await;
    assert_eq!(status, 200, "the second passkey signs in: {body}");

    let remove =
        |key: &SoftKey| json!({"method": "passkey", "passkey_remove": hex::encode(&key.id)});
    let (status, body) = submit_settings(server, token, &saved, remove(first)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = submit_settings(server, token, &body, remove(&second)).await;
    assert_eq!(status, 400, "the last way in stays: {body}");
    assert_eq!(messages_of(&body, "passkey_remove"), vec![4000001]);
    let (status, body) = sign_in(server, first, &Bend::default()).await;
    assert_eq!(status, 400, "a removed passkey no longer signs in: {body}");
}

on_every_backend!(passkeys_sign_up_and_sign_in);
