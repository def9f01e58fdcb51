//! Security keys (WebAuthn) as a second factor, on every backend, with a
//! software authenticator: adding a key in settings, stepping a session up
//! to `aal2`, and every refused answer (malformed, oversized, deeply
//! nested, another origin or challenge, another user's or an unknown key, a
//! counter going back, a replay, two submissions at once), then removing it.

use serde_json::{Value, json};

use crate::native_flows::{login, node, public_get, register};
use crate::on_every_backend;
use crate::soft_authenticator::{Bend, SoftKey};
use crate::support::{Kind, TestServer};
use crate::totp::{messages_of, settings_flow, step_up_flow, submit_login, submit_settings};

pub(crate) const RP_ID: &str = "example.test";
pub(crate) const ORIGIN: &str = "https://auth.example.test";

pub(crate) fn relying_party() -> Value {
    json!({"id": RP_ID, "display_name": "Bia Tests", "origins": [ORIGIN]})
}

async fn server(kind: Kind) -> TestServer {
    let config = json!({
        "selfservice": {"methods": {"webauthn": {"enabled": true, "config": {"rp": relying_party()}}}}
    });
    TestServer::start_with(kind, config).await
}

/// The options a trigger button carries as its value.
pub(crate) fn options_of(flow: &Value, trigger: &str) -> Value {
    let text = node(flow, trigger)["attributes"]["value"].as_str().unwrap();
    serde_json::from_str(text).unwrap()
}

/// Adds `key` to the identity behind `token` under `name`; returns the flow.
async fn add_key(server: &TestServer, token: &str, key: &mut SoftKey, name: &str) -> Value {
    let (status, flow) = settings_flow(server, token).await;
    assert_eq!(status, 200, "{flow}");
    let answer = key.register(
        &options_of(&flow, "webauthn_register_trigger"),
        &Bend::default(),
    );
    let body = json!({"method": "webauthn", "webauthn_register": answer.to_string(),
        "webauthn_register_displayname": name, "csrf_token": ""});
    let (status, saved) = submit_settings(server, token, &flow, body).await;
    assert_eq!(status, 200, "{saved}");
    saved
}

/// Checks the settings nodes and refuses broken registrations.
async fn registrations_are_checked(server: &TestServer, token: &str) {
    let (_, flow) = settings_flow(server, token).await;
    let trigger = node(&flow, "webauthn_register_trigger");
    assert_eq!(trigger["attributes"]["type"], "button");
    assert_eq!(
        trigger["attributes"]["onclickTrigger"],
        "oryWebAuthnRegistration"
    );
    assert!(
        trigger["attributes"]["onclick"]
            .as_str()
            .unwrap()
            .starts_with("window.oryWebAuthnRegistration({")
    );
    assert_eq!(trigger["meta"]["label"]["id"], 1050012);
    assert_eq!(
        node(&flow, "webauthn_register_displayname")["meta"]["label"]["id"],
        1050013
    );
    assert_eq!(
        node(&flow, "webauthn_register")["attributes"]["type"],
        "hidden"
    );
    let script = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "script")
        .unwrap();
    assert_eq!(script["attributes"]["id"], "webauthn_script");
    assert!(
        script["attributes"]["integrity"]
            .as_str()
            .unwrap()
            .starts_with("sha512-")
    );
    assert!(
        script["attributes"]["src"]
            .as_str()
            .unwrap()
            .ends_with("/.well-known/ory/webauthn.js")
    );
    let options = options_of(&flow, "webauthn_register_trigger");
    assert_eq!(options["publicKey"]["rp"]["id"], RP_ID);
    // The challenge stays on the server: the flow shows options only.
    assert!(
        !flow.to_string().contains("webauthn_registration"),
        "{flow}"
    );

    let mut key = SoftKey::new(RP_ID, ORIGIN);
    let other_origin = Bend {
        origin: Some("https://evil.test".into()),
        ..Bend::default()
    };
    let other_challenge = Bend {
        challenge: Some("AAAA".into()),
        ..Bend::default()
    };
    let other_rp = Bend {
        rp_id: Some("evil.test".into()),
        ..Bend::default()
    };
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let refused = [
        (json!(""), 4000002),
        (json!("not json"), 4000001),
        (json!("{\"id\": 1}"), 4000001),
        (json!(nested), 4000001),
        (
            json!(format!("{{\"id\": \"{}\"}}", "x".repeat(40_000))),
            4000001,
        ),
        (
            json!(key.register(&options, &other_origin).to_string()),
            4000001,
        ),
        (
            json!(key.register(&options, &other_challenge).to_string()),
            4000001,
        ),
        (
            json!(key.register(&options, &other_rp).to_string()),
            4000001,
        ),
    ];
    for (answer, expected) in refused {
        let body = json!({"method": "webauthn", "webauthn_register": answer});
        let (status, body) = submit_settings(server, token, &flow, body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            messages_of(&body, "webauthn_register"),
            vec![expected],
            "{body}"
        );
    }
    let (status, body) = public_get(server, "/sessions/whoami", Some(token)).await;
    assert_eq!(status, 200, "nothing was stored: {body}");
}

async fn security_keys_step_a_session_up(kind: Kind) {
    let server = server(kind).await;
    let registered = register(&server, "ada@example.org", "a long enough secret").await;
    let first = registered["session_token"].as_str().unwrap().to_owned();
    let identity_id = registered["identity"]["id"].as_str().unwrap().to_owned();
    registrations_are_checked(&server, &first).await;

    let mut key = SoftKey::new(RP_ID, ORIGIN);
    let saved = add_key(&server, &first, &mut key, "Blue key").await;
    let remove = node(&saved, "webauthn_remove");
    assert_eq!(remove["attributes"]["value"], hex::encode(&key.id));
    assert_eq!(remove["meta"]["label"]["id"], 1050018);
    assert_eq!(
        remove["meta"]["label"]["context"]["display_name"],
        "Blue key"
    );
    let (_, admin) = server
        .get(&format!(
            "/admin/identities/{identity_id}?include_credential=webauthn"
        ))
        .await;
    let stored = &admin["credentials"]["webauthn"];
    assert_eq!(stored["identifiers"][0], identity_id.as_str());
    assert_eq!(
        stored["config"]["credentials"][0]["display_name"],
        "Blue key"
    );
    assert_eq!(stored["config"]["credentials"][0]["is_passwordless"], false);
    // The identity now reaches aal2: an aal1 session no longer satisfies whoami.
    let (status, body) = public_get(&server, "/sessions/whoami", Some(&first)).await;
    assert_eq!(status, 403, "{body}");

    // Another identity with its own key, to play "another user".
    let other = register(&server, "bob@example.org", "a long enough secret").await;
    let other_token = other["session_token"].as_str().unwrap().to_owned();
    let mut other_key = SoftKey::new(RP_ID, ORIGIN);
    add_key(&server, &other_token, &mut other_key, "Bob's").await;

    let (status, body) = login(&server, "ada@example.org", "a long enough secret").await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().unwrap().to_owned();
    let flow = step_up_flow(&server, &token).await;
    let trigger = node(&flow, "webauthn_login_trigger");
    assert_eq!(trigger["attributes"]["onclickTrigger"], "oryWebAuthnLogin");
    assert_eq!(trigger["meta"]["label"]["id"], 1010008);
    assert_eq!(
        node(&flow, "webauthn_login")["attributes"]["type"],
        "hidden"
    );
    let options = options_of(&flow, "webauthn_login_trigger");
    assert_eq!(
        options["publicKey"]["allowCredentials"][0]["id"],
        crate::soft_authenticator::b64url(&key.id)
    );

    // Refused answers: each a 4000043 on the field, the session stays aal1.
    let second_flow = step_up_flow(&server, &token).await;
    let other_options = options_of(&second_flow, "webauthn_login_trigger");
    let mut unknown = SoftKey::new(RP_ID, ORIGIN);
    let before = key.counter;
    let refused = [
        key.assert(&other_options, &Bend::default()),
        key.assert(
            &options,
            &Bend {
                origin: Some("https://evil.test".into()),
                ..Bend::default()
            },
        ),
        key.assert(
            &options,
            &Bend {
                rp_id: Some("evil.test".into()),
                ..Bend::default()
            },
        ),
        other_key.assert(&options, &Bend::default()),
        unknown.assert(&options, &Bend::default()),
    ];
    key.counter = before;
    for answer in refused {
        let body = json!({"method": "webauthn", "webauthn_login": answer.to_string()});
        let (status, body) = submit_login(&server, &token, &flow, body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            messages_of(&body, "webauthn_login"),
            vec![4000043],
            "{body}"
        );
    }
    for (answer, expected) in [
        (json!("{"), 4000001),
        (json!(""), 4000002),
        (json!([1, 2]), 4000002),
    ] {
        let body = json!({"method": "webauthn", "webauthn_login": answer});
        let (status, body) = submit_login(&server, &token, &flow, body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            messages_of(&body, "webauthn_login"),
            vec![expected],
            "{body}"
        );
    }

    // The right answer steps the session up, once.
    let answer = key.assert(&options, &Bend::default()).to_string();
    let (status, body) =
        submit_login(&server, &token, &flow, json!({"webauthn_login": answer})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["authenticator_assurance_level"], "aal2");
    assert_eq!(
        body["session"]["authentication_methods"][1]["method"],
        "webauthn"
    );
    let (status, _) = submit_login(&server, &token, &flow, json!({"webauthn_login": answer})).await;
    assert_eq!(status, 400, "a passed flow is not replayed");
    let third = step_up_flow(&server, &first).await;
    let (status, body) =
        submit_login(&server, &first, &third, json!({"webauthn_login": answer})).await;
    assert_eq!(status, 400, "another flow's challenge: {body}");

    // A counter that goes back (a cloned key) is refused.
    let fourth = step_up_flow(&server, &first).await;
    let stale = Bend {
        counter: Some(key.counter),
        ..Bend::default()
    };
    let cloned = key.assert(&options_of(&fourth, "webauthn_login_trigger"), &stale);
    let (status, body) = submit_login(
        &server,
        &first,
        &fourth,
        json!({"webauthn_login": cloned.to_string()}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(messages_of(&body, "webauthn_login"), vec![4000043]);

    keys_are_removed(&server, &token, &identity_id, &key).await;
    server.stop().await;
}

/// Removing the key brings the identity back to aal1.
async fn keys_are_removed(server: &TestServer, token: &str, identity_id: &str, key: &SoftKey) {
    let (status, flow) = settings_flow(server, token).await;
    assert_eq!(status, 200, "{flow}");
    let (status, body) = submit_settings(
        server,
        token,
        &flow,
        json!({"method": "webauthn", "webauthn_remove": "00ff"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let body = json!({"method": "webauthn", "webauthn_remove": hex::encode(&key.id)});
    let (status, body) = submit_settings(server, token, &flow, body).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["ui"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["attributes"]["name"] != "webauthn_remove")
    );
    let (_, admin) = server
        .get(&format!(
            "/admin/identities/{identity_id}?include_credential=webauthn"
        ))
        .await;
    assert!(admin["credentials"].get("webauthn").is_none(), "{admin}");
}

/// Two submissions of one assertion at once: one steps up, the other is refused.
async fn one_assertion_is_accepted_once(kind: Kind) {
    let server = server(kind).await;
    let registered = register(&server, "ada@example.org", "a long enough secret").await;
    let first = registered["session_token"].as_str().unwrap().to_owned();
    let mut key = SoftKey::new(RP_ID, ORIGIN);
    add_key(&server, &first, &mut key, "Key").await;
    let flow = step_up_flow(&server, &first).await;
    let answer = key
        .assert(
            &options_of(&flow, "webauthn_login_trigger"),
            &Bend::default(),
        )
        .to_string();
    let body = json!({"webauthn_login": answer});
    let attempts = (0..4).map(|_| submit_login(&server, &first, &flow, body.clone()));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    server.stop().await;
}

/// The script is served with its type.
#[tokio::test]
async fn the_script_is_served() {
    let server = server(Kind::Sqlite).await;
    let response = server
        .http
        .get(format!("{}/.well-known/ory/webauthn.js", server.public))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/javascript"), "{kind}");
    let text = response.text().await.unwrap();
    assert!(text.contains("oryWebAuthnRegistration"));
    server.stop().await;
}

on_every_backend!(
    security_keys_step_a_session_up,
    one_assertion_is_accepted_once
);
