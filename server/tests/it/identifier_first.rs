//! Identifier-first login (`selfservice.flows.login.style:
//! identifier_first`), on every backend: the identifier alone first, then
//! the account's own ways to sign in; unknown, malformed and oversized
//! identifiers; account enumeration mitigated; the config keys checked.

use serde_json::{Value, json};

use crate::code_login::names as shape;
use crate::native_flows::{public_get, public_post};
use crate::on_every_backend;
use crate::recovery::identity;
use crate::support::{Kind, TestServer};

const PASSWORD: &str = "the old long password";

async fn server(kind: Kind, extra: Value) -> TestServer {
    let mut config = json!({"selfservice": {"flows": {"login": {"style": "identifier_first"}}}});
    bia_config::merge(&mut config, extra);
    TestServer::start_with(kind, config).await
}

fn form_message(flow: &Value) -> u64 {
    flow["ui"]["messages"][0]["id"].as_u64().unwrap_or_default()
}

async fn new_login(server: &TestServer) -> (String, Value) {
    let (status, flow) = public_get(server, "/self-service/login/api", None).await;
    assert_eq!(status, 200, "{flow}");
    (flow["id"].as_str().unwrap().to_owned(), flow)
}

async fn submit(server: &TestServer, id: &str, body: Value) -> (u16, Value) {
    public_post(server, &format!("/self-service/login?flow={id}"), body).await
}

async fn identify(server: &TestServer, id: &str, identifier: Value) -> (u16, Value) {
    let body = json!({"method": "identifier_first", "identifier": identifier});
    submit(server, id, body).await
}

async fn identifier_then_password(kind: Kind) {
    let server = server(kind, json!({})).await;
    identity(&server, "ada@example.org").await;
    let (id, flow) = new_login(&server).await;
    assert_eq!(
        shape(&flow),
        [
            "default:csrf_token:hidden",
            "identifier_first:identifier:text",
            "identifier_first:method:submit"
        ]
    );

    // Hostile and unknown identifiers: refused, the flow still on step one.
    let long = format!("{}@example.org", "a".repeat(400));
    for (identifier, field_id) in [
        (json!(""), 4000002),
        (json!(42), 4000002),
        (json!(long), 4000001),
        (json!("ada@example.org\r\nBcc: x"), 4000001),
    ] {
        let (status, refused) = identify(&server, &id, identifier.clone()).await;
        assert_eq!(status, 400, "{refused}");
        let node = crate::native_flows::node(&refused, "identifier");
        assert_eq!(node["messages"][0]["id"], field_id, "{identifier}");
    }
    let (status, unknown) = identify(&server, &id, json!("nobody@example.org")).await;
    assert_eq!(status, 400, "{unknown}");
    assert_eq!(form_message(&unknown), 4000037);
    assert!(!shape(&unknown).iter().any(|n| n.contains("password")));

    // A known identifier, typed in another case: the password is asked.
    let (status, second) = identify(&server, &id, json!("Ada@Example.org")).await;
    assert_eq!(status, 400, "{second}");
    assert_eq!(
        shape(&second),
        [
            "default:csrf_token:hidden",
            "identifier_first:identifier:hidden",
            "password:password:password",
            "password:method:submit"
        ]
    );
    let body =
        json!({"method": "password", "identifier": "ada@example.org", "password": "wrong one"});
    let (status, wrong) = submit(&server, &id, body).await;
    assert_eq!(status, 400, "{wrong}");
    assert_eq!(form_message(&wrong), 4000006);
    assert!(shape(&wrong).contains(&"password:password:password".to_owned()));
    let body = json!({"method": "password", "identifier": "ada@example.org", "password": PASSWORD});
    let (status, done) = submit(&server, &id, body).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["session"]["authenticator_assurance_level"], "aal1");

    // The completed flow takes no further step.
    let (status, replay) = identify(&server, &id, json!("ada@example.org")).await;
    assert_eq!(status, 400, "{replay}");
    assert_eq!(form_message(&replay), 4010007);
    server.stop().await;
}

on_every_backend!(identifier_then_password);

/// With enumeration mitigated, unknown and known accounts see the same
/// second step; with codes on, a code is offered too and goes out.
async fn mitigated_enumeration_answers_alike(kind: Kind) {
    let extra = json!({
        "security": {"account_enumeration": {"mitigate": true}},
        "selfservice": {"methods": {"code": {"passwordless_enabled": true}}}
    });
    let server = server(kind, extra).await;
    identity(&server, "ada@example.org").await;
    let (known_id, _) = new_login(&server).await;
    let (unknown_id, _) = new_login(&server).await;
    let (status, known) = identify(&server, &known_id, json!("ada@example.org")).await;
    assert_eq!(status, 400, "{known}");
    let (status, unknown) = identify(&server, &unknown_id, json!("nobody@example.org")).await;
    assert_eq!(status, 400, "{unknown}");
    assert_eq!(shape(&known), shape(&unknown));
    assert!(shape(&known).contains(&"code:method:submit".to_owned()));
    let body =
        json!({"method": "password", "identifier": "nobody@example.org", "password": PASSWORD});
    let (status, refused) = submit(&server, &unknown_id, body).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(form_message(&refused), 4000006);

    // The code button sends a code to the identified account.
    let body = json!({"method": "code", "identifier": "ada@example.org"});
    let (status, sent) = submit(&server, &known_id, body).await;
    assert_eq!(status, 400, "{sent}");
    assert_eq!(sent["state"], "sent_email");
    crate::verification::message(&server, "ada@example.org", "login_code_valid").await;
    server.stop().await;
}

on_every_backend!(mitigated_enumeration_answers_alike);

/// The unified style is untouched, `identifier_first` is refused there, and
/// refresh and step-up flows keep their own forms.
async fn other_forms_keep_their_shape(kind: Kind) {
    let server = TestServer::start(kind).await;
    identity(&server, "ada@example.org").await;
    let (id, flow) = new_login(&server).await;
    assert!(shape(&flow).contains(&"password:password:password".to_owned()));
    let (status, body) = identify(&server, &id, json!("ada@example.org")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.get("ui").is_none(),
        "an unknown method is an error: {body}"
    );
    server.stop().await;
}

on_every_backend!(other_forms_keep_their_shape);
