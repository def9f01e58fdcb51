//! Browser flows over HTTP on every backend: redirects, cookies, anti-CSRF,
//! settings with privileged sessions, refresh logins, logout, error flows.

use serde_json::{Value, json};

use crate::browser::{Browser, node_value, path_of};
use crate::on_every_backend;
use crate::support::{Kind, TestServer, assert_error};

const PASSWORD: &str = "a long and unusual passphrase";

fn config() -> Value {
    json!({"selfservice": {
        "default_browser_return_url": "https://app.example.test/home",
        "allowed_return_urls": ["https://app.example.test/"],
        "flows": {"settings": {"privileged_session_max_age": "2s"}}
    }})
}

/// Registers through a page-driven browser flow (forms and redirects).
async fn register_with_forms(browser: &mut Browser<'_>, email: &str) {
    let answer = browser
        .get("/self-service/registration/browser", false)
        .await;
    assert_eq!(answer.status, 303);
    let page = answer.location.unwrap();
    assert!(page.contains("/ui/registration?flow="), "{page}");
    assert!(
        answer
            .set_cookies
            .iter()
            .any(|c| c.starts_with("csrf_token_") && c.contains("HttpOnly")),
        "{:?}",
        answer.set_cookies
    );
    let id = page.split("flow=").nth(1).unwrap().to_owned();
    let flow = browser
        .get(&format!("/self-service/registration/flows?id={id}"), true)
        .await;
    assert_eq!(flow.status, 200, "{}", flow.body);
    assert_eq!(flow.body["type"], "browser");
    let csrf = node_value(&flow.body, "csrf_token");
    assert!(!csrf.is_empty());
    let action = path_of(flow.body["ui"]["action"].as_str().unwrap());
    let answer = browser
        .post_form(
            &action,
            &[
                ("csrf_token", &csrf),
                ("method", "password"),
                ("traits.email", email),
                ("traits.name.first", "Ada"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("https://app.example.test/home")
    );
    assert!(browser.cookies.contains_key("ory_kratos_session"));
}

async fn whoami(browser: &mut Browser<'_>) -> (u16, Value) {
    let answer = browser.get("/sessions/whoami", true).await;
    (answer.status, answer.body)
}

async fn browser_lifecycle(kind: Kind) {
    let server = TestServer::start_with(kind, config()).await;
    let mut browser = Browser::new(&server);
    register_with_forms(&mut browser, "ada@example.test").await;
    let (status, session) = whoami(&mut browser).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["identity"]["traits"]["email"], "ada@example.test");
    assert_eq!(session["identity"]["traits"]["name"]["first"], "Ada");

    // Signed in: login and registration send the browser on.
    let answer = browser.get("/self-service/login/browser", false).await;
    assert_eq!(answer.status, 303);
    assert_eq!(
        answer.location.as_deref(),
        Some("https://app.example.test/home")
    );
    let answer = browser
        .get("/self-service/registration/browser", true)
        .await;
    assert_error(answer.status, &answer.body, 400);
    assert_eq!(answer.body["error"]["id"], "session_already_available");

    // Settings: profile by form, password by JSON.
    let flow = browser.start("settings").await;
    assert_eq!(flow["state"], "show_form");
    assert_eq!(flow["identity"]["traits"]["email"], "ada@example.test");
    assert_eq!(node_value(&flow, "traits.email"), "ada@example.test");
    let action = path_of(flow["ui"]["action"].as_str().unwrap());
    let csrf = node_value(&flow, "csrf_token");
    let answer = browser
        .post_form(
            &action,
            &[
                ("csrf_token", &csrf),
                ("method", "profile"),
                ("traits.email", "ada@example.test"),
                ("traits.name.first", "Augusta"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let (_, session) = whoami(&mut browser).await;
    assert_eq!(session["identity"]["traits"]["name"]["first"], "Augusta");

    let flow = browser.start("settings").await;
    let action = path_of(flow["ui"]["action"].as_str().unwrap());
    let csrf = node_value(&flow, "csrf_token");
    let answer = browser
        .post_json(
            &action,
            &json!({"csrf_token": csrf, "method": "password", "password": "short"}),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let answer = browser
        .post_json(
            &action,
            &json!({"csrf_token": csrf, "method": "password", "password": "another long passphrase"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["state"], "success");
    assert_eq!(answer.body["ui"]["messages"][0]["id"], 1050001);

    // The session grows too old for changes: refresh required.
    tokio::time::sleep(std::time::Duration::from_millis(2300)).await;
    let flow = browser.start("settings").await;
    let settings_action = path_of(flow["ui"]["action"].as_str().unwrap());
    let settings_csrf = node_value(&flow, "csrf_token");
    let (action, csrf) = (settings_action.clone(), settings_csrf.clone());
    let answer = browser
        .post_json(&action, &json!({"csrf_token": csrf, "method": "password", "password": "a third long passphrase"}))
        .await;
    assert_error(answer.status, &answer.body, 403);
    assert_eq!(answer.body["error"]["id"], "session_refresh_required");
    let redirect = answer.body["redirect_browser_to"].as_str().unwrap();
    assert!(
        redirect.contains("/self-service/login/browser?refresh=true&return_to="),
        "{redirect}"
    );
    let answer = browser
        .post_form(
            &action,
            &[
                ("csrf_token", &csrf),
                ("method", "password"),
                ("password", "a third long passphrase"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303);
    assert!(answer.location.unwrap().contains("refresh=true"));

    // Refresh login keeps the session and renews its authentication time.
    let (_, before) = whoami(&mut browser).await;
    let flow = browser
        .get("/self-service/login/browser?refresh=true", true)
        .await
        .body;
    assert_eq!(flow["refresh"], true, "{flow}");
    assert_eq!(node_value(&flow, "identifier"), "ada@example.test");
    assert_eq!(flow["ui"]["messages"][0]["id"], 1010003);
    let action = path_of(flow["ui"]["action"].as_str().unwrap());
    let answer = browser
        .post_json(
            &action,
            &json!({"csrf_token": node_value(&flow, "csrf_token"), "method": "password",
                    "identifier": "ada@example.test", "password": "another long passphrase"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.body.get("session_token").is_none(),
        "browsers get no token"
    );
    let (_, after) = whoami(&mut browser).await;
    assert_eq!(before["id"], after["id"]);
    assert!(after["authenticated_at"].as_str() > before["authenticated_at"].as_str());
    assert_eq!(after["authentication_methods"].as_array().unwrap().len(), 2);
    let answer = browser
        .post_json(
            &settings_action,
            &json!({"csrf_token": settings_csrf, "method": "password", "password": "a third long passphrase"}),
        )
        .await;
    assert_eq!(
        answer.status, 200,
        "a refreshed session may change settings: {}",
        answer.body
    );

    // Logout.
    let answer = browser.get("/self-service/logout/browser", true).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let token = answer.body["logout_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ory_lo_"));
    let url = path_of(answer.body["logout_url"].as_str().unwrap());
    let stale = browser.cookies.clone();
    let answer = browser
        .get("/self-service/logout?token=ory_lo_forged", false)
        .await;
    assert_error(answer.status, &answer.body, 403);
    let answer = browser.get(&url, false).await;
    assert_eq!(answer.status, 303);
    assert_eq!(
        answer.location.as_deref(),
        Some("https://app.example.test/home")
    );
    assert!(!browser.cookies.contains_key("ory_kratos_session"));
    let (status, _) = whoami(&mut browser).await;
    assert_eq!(status, 401);
    browser.cookies = stale;
    let (status, body) = whoami(&mut browser).await;
    assert_error(status, &body, 401);

    // Login again by form with the new password.
    let answer = browser.get("/self-service/login/browser", false).await;
    let id = answer
        .location
        .unwrap()
        .split("flow=")
        .nth(1)
        .unwrap()
        .to_owned();
    let flow = browser
        .get(&format!("/self-service/login/flows?id={id}"), true)
        .await
        .body;
    let answer = browser
        .post_form(
            &format!("/self-service/login?flow={id}"),
            &[
                ("csrf_token", &node_value(&flow, "csrf_token")),
                ("method", "password"),
                ("identifier", "ada@example.test"),
                ("password", "wrong password entirely"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303);
    assert!(
        answer
            .location
            .unwrap()
            .contains(&format!("/ui/login?flow={id}"))
    );
    let flow = browser
        .get(&format!("/self-service/login/flows?id={id}"), true)
        .await
        .body;
    assert_eq!(flow["ui"]["messages"][0]["id"], 4000006, "{flow}");
    let answer = browser
        .post_form(
            &format!("/self-service/login?flow={id}"),
            &[
                ("csrf_token", &node_value(&flow, "csrf_token")),
                ("method", "password"),
                ("identifier", "ada@example.test"),
                ("password", "a third long passphrase"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303);
    let (status, _) = whoami(&mut browser).await;
    assert_eq!(status, 200);
    server.stop().await;
}

async fn csrf_and_cookie_refusals(kind: Kind) {
    let server = TestServer::start_with(kind, config()).await;
    let mut browser = Browser::new(&server);
    let flow = browser.start("registration").await;
    let id = flow["id"].as_str().unwrap().to_owned();
    let csrf = node_value(&flow, "csrf_token");
    let submit = format!("/self-service/registration?flow={id}");
    let fields = json!({"method": "password", "password": PASSWORD, "traits": {"email": "eve@example.test"}});

    // Another browser (no anti-CSRF cookie) can neither read nor submit the flow.
    let mut other = Browser::new(&server);
    let answer = other
        .get(&format!("/self-service/registration/flows?id={id}"), true)
        .await;
    assert_error(answer.status, &answer.body, 403);
    assert_eq!(answer.body["error"]["id"], "security_csrf_violation");
    let mut forged = fields.clone();
    forged["csrf_token"] = json!(csrf);
    let answer = other.post_json(&submit, &forged).await;
    assert_error(answer.status, &answer.body, 403);

    // The right browser without the token, or with a wrong one: refused.
    let answer = browser.post_json(&submit, &fields).await;
    assert_error(answer.status, &answer.body, 403);
    let mut wrong = fields.clone();
    wrong["csrf_token"] = json!(node_value(&other.start("registration").await, "csrf_token"));
    let answer = browser.post_json(&submit, &wrong).await;
    assert_error(answer.status, &answer.body, 403);

    // A page-driven browser is sent to the error page; the error is stored.
    let answer = browser
        .post_form(
            &submit,
            &[
                ("method", "password"),
                ("password", PASSWORD),
                ("traits.email", "eve@example.test"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303);
    let error_page = answer.location.unwrap();
    assert!(error_page.contains("/ui/error?id="), "{error_page}");
    let error_id = error_page.split("id=").nth(1).unwrap();
    let answer = browser
        .get(&format!("/self-service/errors?id={error_id}"), true)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["error"]["id"], "security_csrf_violation");
    let answer = browser
        .get(
            "/self-service/errors?id=7d9a6b5e-0000-4000-8000-000000000000",
            true,
        )
        .await;
    assert_error(answer.status, &answer.body, 404);

    // Nothing was written by the refused submissions.
    let (_, identities) = server.get("/admin/identities").await;
    assert_eq!(identities.as_array().unwrap().len(), 0);

    // A tampered session cookie is no session.
    browser
        .cookies
        .insert("ory_kratos_session".into(), "MTIzNDU2Nzg5MA".into());
    let answer = browser.get("/sessions/whoami", true).await;
    assert_error(answer.status, &answer.body, 401);

    // A native flow refuses a browser (cookies or Origin).
    let (_, native) =
        crate::native_flows::public_get(&server, "/self-service/registration/api", None).await;
    let answer = browser
        .post_json(
            &format!(
                "/self-service/registration?flow={}",
                native["id"].as_str().unwrap()
            ),
            &fields,
        )
        .await;
    assert_error(answer.status, &answer.body, 400);

    // return_to only to allowed URLs.
    let answer = browser
        .get(
            "/self-service/login/browser?return_to=https://evil.example/steal",
            true,
        )
        .await;
    assert_error(answer.status, &answer.body, 400);
    assert_eq!(
        answer.body["error"]["id"],
        "self_service_flow_return_to_forbidden"
    );
    let flow = browser
        .get(
            "/self-service/registration/browser?return_to=https://app.example.test/after",
            true,
        )
        .await
        .body;
    assert_eq!(flow["return_to"], "https://app.example.test/after");
    let answer = browser
        .post_form(
            &path_of(flow["ui"]["action"].as_str().unwrap()),
            &[
                ("csrf_token", &node_value(&flow, "csrf_token")),
                ("method", "password"),
                ("password", PASSWORD),
                ("traits.email", "zoe@example.test"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("https://app.example.test/after")
    );

    // Settings need a session.
    let mut stranger = Browser::new(&server);
    let answer = stranger.get("/self-service/settings/browser", true).await;
    assert_error(answer.status, &answer.body, 401);
    let answer = stranger.get("/self-service/settings/browser", false).await;
    assert_eq!(answer.status, 303);
    assert!(
        answer
            .location
            .unwrap()
            .contains("/self-service/login/browser")
    );
    server.stop().await;
}

on_every_backend!(browser_lifecycle, csrf_and_cookie_refusals);
