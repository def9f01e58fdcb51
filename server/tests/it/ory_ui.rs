//! What Ory's own UIs and SDKs rely on: clean request paths, Kratos's
//! post-flow redirects, the login identifier's label, and the disabled answer
//! of flows this version does not offer.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::browser::{Browser, node_value, path_of};
use crate::on_every_backend;
use crate::support::{Kind, TestServer, base64_url};

const PASSWORD: &str = "an unusual passphrase for redirects";
const APP: &str = "https://app.example.test";

/// Status and `Location` of a raw request line: clients (and the URL parser
/// of the test client) would clean dot segments before sending them.
async fn raw(base: &str, method: &str, target: &str) -> (u16, Option<String>) {
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let location = answer
        .lines()
        .find_map(|line| line.strip_prefix("location: "))
        .map(str::to_owned);
    (status, location)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unclean_paths_are_redirected_to_their_clean_form() {
    let server = TestServer::start(Kind::Sqlite).await;
    for (method, target, status, location) in [
        ("GET", "//sessions/whoami", 301, "/sessions/whoami"),
        (
            "GET",
            "//self-service/registration/flows?id=abc",
            301,
            "/self-service/registration/flows?id=abc",
        ),
        (
            "POST",
            "//self-service/login?flow=x",
            308,
            "/self-service/login?flow=x",
        ),
        ("GET", "/ui/./login", 301, "/ui/login"),
        ("GET", "/ui/settings/../login", 301, "/ui/login"),
        ("GET", "/../../sessions/whoami", 301, "/sessions/whoami"),
        ("HEAD", "/health//alive", 301, "/health/alive"),
    ] {
        let answer = raw(&server.public, method, target).await;
        assert_eq!(
            answer,
            (status, Some(location.to_owned())),
            "{method} {target}"
        );
    }
    let answer = raw(&server.admin, "GET", "//admin//identities?per_page=1").await;
    assert_eq!(
        answer,
        (301, Some("/admin/identities?per_page=1".to_owned()))
    );
    let answer = raw(&server.admin, "DELETE", "/admin/./identities/x").await;
    assert_eq!(answer, (308, Some("/admin/identities/x".to_owned())));
    // Encoded slashes are data, not separators: no redirect, no loop.
    let answer = raw(&server.admin, "GET", "/admin/identities/a%2F%2Fb").await;
    assert_eq!(answer.0, 404);
    // Following the redirect gives the real answer.
    let answer = raw(&server.public, "GET", "/sessions/whoami").await;
    assert_eq!(answer.0, 401);
    server.stop().await;
}

fn redirect_config() -> Value {
    json!({"selfservice": {
        "default_browser_return_url": format!("{APP}/home"),
        "allowed_return_urls": [format!("{APP}/")],
        "flows": {
            "registration": {"after": {"default_browser_return_url": format!("{APP}/registered")}},
            "login": {"after": {"password": {"default_browser_return_url": format!("{APP}/signed-in")}}},
            "settings": {"after": {"password": {"default_browser_return_url": format!("{APP}/password-changed")}}}
        }
    }})
}

/// Starts a browser flow as a page load and returns its form action and
/// anti-CSRF token, and the flow id.
async fn page_flow(browser: &mut Browser<'_>, kind: &str, query: &str) -> (String, String, String) {
    let answer = browser
        .get(&format!("/self-service/{kind}/browser{query}"), false)
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = answer.location.unwrap();
    let id = page.split("flow=").nth(1).unwrap().to_owned();
    let flow = browser
        .get(&format!("/self-service/{kind}/flows?id={id}"), true)
        .await;
    assert_eq!(flow.status, 200, "{}", flow.body);
    let action = path_of(flow.body["ui"]["action"].as_str().unwrap());
    (action, node_value(&flow.body, "csrf_token"), id)
}

/// Submits a browser flow as a form and returns where the browser is sent.
async fn submit(
    browser: &mut Browser<'_>,
    kind: &str,
    query: &str,
    fields: &[(&str, &str)],
) -> String {
    let (action, csrf, _) = page_flow(browser, kind, query).await;
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    let answer = browser.post_form(&action, &all).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    answer.location.unwrap()
}

async fn browsers_land_where_kratos_sends_them(kind: Kind) {
    let server = TestServer::start_with(kind, redirect_config()).await;
    let mut browser = Browser::new(&server);
    let email = "lin@example.test";
    let fields = [
        ("method", "password"),
        ("traits.email", email),
        ("password", PASSWORD),
    ];
    let to = submit(&mut browser, "registration", "", &fields).await;
    assert_eq!(to, format!("{APP}/registered"), "registration.after");

    // A settings change without a configured return URL shows the saved flow.
    let (action, csrf, id) = page_flow(&mut browser, "settings", "").await;
    let profile = [
        ("csrf_token", csrf.as_str()),
        ("method", "profile"),
        ("traits.email", email),
    ];
    let answer = browser.post_form(&action, &profile).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = answer.location.unwrap();
    assert!(page.ends_with(&format!("/ui/settings?flow={id}")), "{page}");
    let saved = browser
        .get(&format!("/self-service/settings/flows?id={id}"), true)
        .await;
    assert_eq!(saved.body["state"], "success", "{}", saved.body);
    assert_eq!(saved.body["ui"]["messages"][0]["id"], 1050001);

    // The method's own return URL, then an explicit return_to, win.
    let password = [
        ("method", "password"),
        ("password", "a second unusual passphrase"),
    ];
    let to = submit(&mut browser, "settings", "", &password).await;
    assert_eq!(
        to,
        format!("{APP}/password-changed"),
        "settings.after.password"
    );
    let back = format!("?return_to={APP}/back");
    let profile = [("method", "profile"), ("traits.email", email)];
    let to = submit(&mut browser, "settings", &back, &profile).await;
    assert_eq!(to, format!("{APP}/back"), "return_to");

    // Already signed in: the global default, not the login method's URL.
    let answer = browser.get("/self-service/login/browser", false).await;
    assert_eq!(answer.location, Some(format!("{APP}/home")));
    browser
        .cookies
        .retain(|name, _| name.starts_with("csrf_token"));
    let login = [
        ("method", "password"),
        ("identifier", email),
        ("password", "a second unusual passphrase"),
    ];
    let to = submit(&mut browser, "login", "", &login).await;
    assert_eq!(to, format!("{APP}/signed-in"), "login.after.password");

    // Browser flows answered as JSON say where the browser goes next.
    let flow = browser.start("settings").await;
    let action = path_of(flow["ui"]["action"].as_str().unwrap());
    let body = json!({"csrf_token": node_value(&flow, "csrf_token"), "method": "profile",
                      "traits": {"email": email}});
    let answer = browser.post_json(&action, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let settings_page = format!("/ui/settings?flow={}", flow["id"].as_str().unwrap());
    let next = answer.body["continue_with"][0].clone();
    assert_eq!(next["action"], "redirect_browser_to", "{}", answer.body);
    assert!(
        next["redirect_browser_to"]
            .as_str()
            .unwrap()
            .ends_with(&settings_page),
        "{next}"
    );
    browser
        .cookies
        .retain(|name, _| name.starts_with("csrf_token"));
    let flow = browser.start("login").await;
    let action = path_of(flow["ui"]["action"].as_str().unwrap());
    let body = json!({"csrf_token": node_value(&flow, "csrf_token"), "method": "password",
                      "identifier": email, "password": "a second unusual passphrase"});
    let answer = browser.post_json(&action, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body["continue_with"],
        json!([{"action": "redirect_browser_to", "redirect_browser_to": format!("{APP}/signed-in")}])
    );
    assert!(answer.body.get("session_token").is_none());
    server.stop().await;
}

on_every_backend!(browsers_land_where_kratos_sends_them);

fn identifier_label(flow: &Value) -> Value {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "identifier")
        .map(|n| n["meta"]["label"].clone())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_identifier_is_labelled_from_the_schema() {
    let titled = json!({"type": "object", "properties": {"traits": {"type": "object", "properties": {
        "email": {"type": "string", "format": "email", "title": "E-Mail", "ory.sh/kratos": {
            "credentials": {"password": {"identifier": true}, "code": {"identifier": true}}}}
    }}}});
    let server = TestServer::start_with(
        Kind::Sqlite,
        json!({"identity": {"default_schema_id": "titled",
                            "schemas": [{"id": "titled", "url": base64_url(&titled)}]}}),
    )
    .await;
    let (_, flow) = server
        .get_from(&server.public, "/self-service/login/api")
        .await;
    assert_eq!(
        identifier_label(&flow),
        json!({"id": 1070002, "text": "E-Mail", "type": "info",
               "context": {"title": "E-Mail", "name": "traits.email"}})
    );
    server.stop().await;
    // The default test schema's identifier has no title: "ID".
    let server = TestServer::start(Kind::Sqlite).await;
    let (_, flow) = server
        .get_from(&server.public, "/self-service/login/api")
        .await;
    assert_eq!(
        identifier_label(&flow),
        json!({"id": 1070004, "text": "ID", "type": "info"})
    );
    server.stop().await;
}

async fn flows_not_offered_answer_disabled(kind: Kind) {
    let server = TestServer::start(kind).await;
    let mut browser = Browser::new(&server);
    let recovery = "Recovery is not allowed because it was disabled.";
    let verification = "Verification is not allowed because it was disabled.";
    for (path, page, reason) in [
        ("/self-service/recovery/api", false, recovery),
        ("/self-service/recovery/api", true, recovery),
        ("/self-service/recovery/browser", false, recovery),
        ("/self-service/verification/flows?id=x", true, verification),
        ("/self-service/verification/api", true, verification),
    ] {
        let answer = browser.get(path, !page).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        assert_eq!(answer.body["error"]["reason"], reason, "{path}");
        assert_eq!(answer.body["error"]["code"], 400);
    }
    // Browsers that want pages see the error on the error page.
    for (answer, reason) in [
        (
            browser
                .get("/self-service/verification/browser", false)
                .await,
            verification,
        ),
        (
            browser
                .post_form("/self-service/recovery?flow=x", &[("email", "a@b.c")])
                .await,
            recovery,
        ),
    ] {
        assert_eq!(answer.status, 303, "{}", answer.body);
        let page = answer.location.unwrap();
        assert!(page.contains("/ui/error?id="), "{page}");
        let id = page.split("id=").nth(1).unwrap();
        let stored = browser
            .get(&format!("/self-service/errors?id={id}"), true)
            .await;
        assert_eq!(stored.body["error"]["reason"], reason, "{}", stored.body);
    }
    server.stop().await;
}

on_every_backend!(flows_not_offered_answer_disabled);
