//! Choosing the identity schema of a login or registration flow
//! (`identity_schema`, `selfservice_selectable`) and profile-first
//! registration (`selfservice.flows.registration.style: profile_first`), on
//! every backend: unknown, unselectable, overlong and malformed schema ids;
//! the traits step, the credential step and the way back; skipped and
//! replayed steps; a login flow's schema does not restrict who signs in.

use serde_json::{Value, json};

use crate::code_login::names as shape;
use crate::flow_hooks::identity_count;
use crate::native_flows::{node, public_get, public_post};
use crate::on_every_backend;
use crate::support::{Kind, TestServer, base64_url, email_schema, username_schema};

const PASSWORD: &str = "a long enough password";

/// Three schemas: the default, a selectable one and one that is not.
async fn server(kind: Kind, extra: Value) -> TestServer {
    let mut config = json!({"identity": {"default_schema_id": "default", "schemas": [
        {"id": "default", "url": base64_url(&email_schema())},
        {"id": "username", "url": base64_url(&username_schema()), "selfservice_selectable": true},
        {"id": "staff", "url": base64_url(&email_schema())}
    ]}});
    bia_config::merge(&mut config, extra);
    TestServer::start_with(kind, config).await
}

async fn profile_first(kind: Kind) -> TestServer {
    let style = json!({"selfservice": {"flows": {"registration": {"style": "profile_first"}}}});
    server(kind, style).await
}

async fn new_flow(server: &TestServer, flow: &str, query: &str) -> (u16, Value) {
    public_get(server, &format!("/self-service/{flow}/api{query}"), None).await
}

async fn submit(server: &TestServer, id: &str, body: Value) -> (u16, Value) {
    public_post(
        server,
        &format!("/self-service/registration?flow={id}"),
        body,
    )
    .await
}

fn reason(error: &Value) -> &str {
    error["error"]["reason"].as_str().unwrap_or_default()
}

fn field_message(flow: &Value, name: &str) -> u64 {
    node(flow, name)["messages"][0]["id"]
        .as_u64()
        .unwrap_or_default()
}

async fn schema_choice(kind: Kind) {
    let server = server(kind, json!({})).await;
    for flow in ["registration", "login"] {
        let (status, chosen) = new_flow(&server, flow, "?identity_schema=username").await;
        assert_eq!(status, 200, "{chosen}");
        assert_eq!(chosen["identity_schema"], "username");
        let (status, default) = new_flow(&server, flow, "?identity_schema=default").await;
        assert_eq!(status, 200, "{default}");
        let (status, plain) = new_flow(&server, flow, "").await;
        assert_eq!(status, 200, "{plain}");
        assert!(plain.get("identity_schema").is_none(), "{plain}");

        let (status, unknown) = new_flow(&server, flow, "?identity_schema=nope").await;
        assert_eq!(status, 400, "{unknown}");
        assert_eq!(
            reason(&unknown),
            "Requested identity schema \"nope\" does not exist."
        );
        let (status, closed) = new_flow(&server, flow, "?identity_schema=staff").await;
        assert_eq!(status, 400, "{closed}");
        assert_eq!(
            reason(&closed),
            "Requested identity schema \"staff\" is not enabled for self-service flows."
        );
        let long = format!("?identity_schema={}", "s".repeat(5000));
        for hostile in [
            long.as_str(),
            "?identity_schema=a%00b",
            "?identity_schema=..%2Fdefault",
        ] {
            let (status, refused) = new_flow(&server, flow, hostile).await;
            assert_eq!(status, 400, "{refused}");
            assert!(reason(&refused).ends_with("does not exist."), "{refused}");
            assert!(reason(&refused).len() < 200, "{refused}");
        }
    }

    // Registration builds its form from, and its identity on, the schema.
    let (_, flow) = new_flow(&server, "registration", "?identity_schema=username").await;
    assert!(shape(&flow).contains(&"default:traits.username:text".to_owned()));
    assert!(!shape(&flow).iter().any(|n| n.contains("traits.email")));
    let id = flow["id"].as_str().unwrap();
    let body = json!({"method": "password", "password": PASSWORD, "traits": {"email": "a@b.org"}});
    let (status, refused) = submit(&server, id, body).await;
    assert_eq!(status, 400, "{refused}");
    let body = json!({"method": "password", "password": PASSWORD, "traits": {"username": "ada"}});
    let (status, done) = submit(&server, id, body).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["identity"]["schema_id"], "username");
    server.stop().await;
}

on_every_backend!(schema_choice);

async fn traits_then_credentials(kind: Kind) {
    let server = profile_first(kind).await;
    let (status, flow) = new_flow(&server, "registration", "").await;
    assert_eq!(status, 200, "{flow}");
    let id = flow["id"].as_str().unwrap().to_owned();
    let first = shape(&flow);
    assert!(first.contains(&"default:traits.email:email".to_owned()));
    assert_eq!(first.last().unwrap(), "profile:method:submit");
    assert!(!first.iter().any(|n| n.starts_with("password:")));

    // Invalid traits stay on step one with messages.
    let body = json!({"method": "profile", "traits": {"email": "x"}});
    let (status, refused) = submit(&server, &id, body).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(shape(&refused), first);
    assert_eq!(field_message(&refused, "traits.email"), 4000001);
    let (status, refused) = submit(&server, &id, json!({"method": "profile"})).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(shape(&refused), first);

    // Skipping step one: a credential with invalid traits is refused on
    // step one; with valid ones it is taken as step one, nothing stored.
    let body = json!({"method": "password", "password": PASSWORD, "traits": {"email": "x"}});
    let (status, refused) = submit(&server, &id, body).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(shape(&refused), first);
    assert_eq!(field_message(&refused, "traits.email"), 4000001);
    let body =
        json!({"method": "password", "password": PASSWORD, "traits": {"email": "ada@example.org"}});
    let (status, second) = submit(&server, &id, body).await;
    assert_eq!(status, 400, "{second}");
    assert_eq!(identity_count(&server).await, 0);
    let email = node(&second, "traits.email");
    assert_eq!(email["attributes"]["type"], "hidden");
    assert_eq!(email["attributes"]["value"], "ada@example.org");
    let names = shape(&second);
    assert!(names.contains(&"password:password:password".to_owned()));
    assert!(names.contains(&"password:method:submit".to_owned()));
    assert_eq!(names.last().unwrap(), "profile:screen:submit");
    assert!(!names.contains(&"profile:method:submit".to_owned()));

    // Back to step one, the traits kept as values; then on again.
    let (status, back) = submit(&server, &id, json!({"screen": "previous"})).await;
    assert_eq!(status, 400, "{back}");
    assert_eq!(shape(&back), first);
    assert_eq!(
        node(&back, "traits.email")["attributes"]["value"],
        "ada@example.org"
    );
    let body = json!({"method": "profile", "traits": {"email": "ada@example.org"}});
    let (status, second) = submit(&server, &id, body).await;
    assert_eq!(status, 400, "{second}");
    assert_eq!(shape(&second), names);

    // A weak password stays on step two; changed traits do not count.
    let body =
        json!({"method": "password", "password": "x", "traits": {"email": "ada@example.org"}});
    let (status, weak) = submit(&server, &id, body).await;
    assert_eq!(status, 400, "{weak}");
    assert_eq!(shape(&weak), names);
    let body =
        json!({"method": "password", "password": PASSWORD, "traits": {"email": "eve@example.org"}});
    let (status, done) = submit(&server, &id, body).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["identity"]["traits"]["email"], "ada@example.org");

    // Replaying step one after completion changes nothing.
    let body = json!({"method": "profile", "traits": {"email": "bob@example.org"}});
    let (status, replay) = submit(&server, &id, body).await;
    assert_eq!(status, 400, "{replay}");
    assert_eq!(replay["ui"]["messages"][0]["id"], 4040002);
    assert_eq!(identity_count(&server).await, 1);
    server.stop().await;
}

on_every_backend!(traits_then_credentials);

/// Profile first on a chosen schema: its traits asked, its identity made.
async fn profile_first_on_a_chosen_schema(kind: Kind) {
    let server = profile_first(kind).await;
    let (status, flow) = new_flow(&server, "registration", "?identity_schema=username").await;
    assert_eq!(status, 200, "{flow}");
    let id = flow["id"].as_str().unwrap().to_owned();
    assert!(shape(&flow).contains(&"default:traits.username:text".to_owned()));
    let body = json!({"method": "profile", "traits": {"username": "a"}});
    let (status, refused) = submit(&server, &id, body).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(field_message(&refused, "traits.username"), 4000001);
    let body = json!({"method": "profile", "traits": {"username": "ada"}});
    let (status, second) = submit(&server, &id, body).await;
    assert_eq!(status, 400, "{second}");
    assert_eq!(second["identity_schema"], "username");
    // A native client may leave the kept traits out.
    let (status, done) = submit(
        &server,
        &id,
        json!({"method": "password", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["identity"]["schema_id"], "username");
    assert_eq!(done["identity"]["traits"]["username"], "ada");
    login_schema_shapes_the_form_only(&server).await;
    server.stop().await;
}

/// As in Kratos, a login flow's schema shapes its form only: an identity of
/// another schema signs in through it, and one of its own through the
/// default schema's flow.
async fn login_schema_shapes_the_form_only(server: &TestServer) {
    let body = json!({"schema_id": "default", "traits": {"email": "grace@example.org"},
        "credentials": {"password": {"config": {"password": PASSWORD}}}});
    let (status, created) = server.post("/admin/identities", body).await;
    assert_eq!(status, 201, "{created}");
    for (query, identifier, schema) in [
        ("?identity_schema=username", "grace@example.org", "default"),
        ("", "ada", "username"),
    ] {
        let (status, flow) = new_flow(server, "login", query).await;
        assert_eq!(status, 200, "{flow}");
        let path = format!("/self-service/login?flow={}", flow["id"].as_str().unwrap());
        let body = json!({"method": "password", "identifier": identifier, "password": PASSWORD});
        let (status, done) = public_post(server, &path, body).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["session"]["identity"]["schema_id"], schema);
    }
}

on_every_backend!(profile_first_on_a_chosen_schema);
