//! Web hooks against a real HTTP server on loopback: rendered bodies,
//! authentication, background calls, parsed answers, limits, and refused
//! configurations.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::any;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use bia_server::config::{Mode, from_tree};
use bia_server::hook::{
    FieldMessage, FlowKind, HookContext, HookError, HookEvent, HookLimits, HookMessage,
    HookOptions, HookOutcome, Hooks, WebHook, WebHookConfig,
};

/// One request the target received.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// A hook target on 127.0.0.1 that records every request and answers by path.
struct Target {
    base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Target {
    async fn start() -> Target {
        let received = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .fallback(any(answer))
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Target { base, received }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn answer(
    State(received): State<Arc<Mutex<Vec<Received>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let path = uri.path().to_owned();
    received.lock().unwrap().push(Received {
        method,
        path: path.clone(),
        headers,
        body,
    });
    match path.as_str() {
        "/ok" => StatusCode::OK.into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            StatusCode::OK.into_response()
        }
        "/patch" => (
            StatusCode::OK,
            axum::Json(json!({"identity": {
                "traits": {"email": "patched@example.org"},
                "metadata_public": {"plan": "pro"},
                "metadata_admin": {"crm_id": 42}
            }})),
        )
            .into_response(),
        "/refuse" => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"messages": [
                {"instance_ptr": "#/traits/email", "messages": [
                    {"id": 4000123, "text": "this address is blocked", "type": "error",
                     "context": {"value": "a@blocked.example"}}
                ]},
                {"instance_ptr": "#", "messages": [
                    {"id": 4000124, "text": "try again tomorrow", "type": "info"}
                ]}
            ]})),
        )
            .into_response(),
        "/broken" => (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
        "/body.jsonnet" => "function(ctx) { remote: ctx.request_method }".into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn base64(text: &str) -> String {
    format!("base64://{}", STANDARD.encode(text))
}

fn limits() -> HookLimits {
    HookLimits {
        request_timeout: Duration::from_secs(5),
        jsonnet_timeout: Duration::from_secs(1),
    }
}

async fn web_hook(config: Value, limits: HookLimits) -> WebHook {
    crate::support::use_bia_evaluator();
    let config: WebHookConfig = serde_json::from_value(config).unwrap();
    WebHook::load("test.config", &config, reqwest::Client::new(), limits)
        .await
        .unwrap()
}

fn context() -> HookContext {
    let mut ctx = HookContext::new(
        json!({"id": "8f1d6e57-0b2b-4f3e-9d6a-1c2b3d4e5f60", "type": "browser"}),
        "POST",
        "http://127.0.0.1:4433/self-service/registration?flow=8f1d",
    );
    ctx.identity = Some(json!({
        "id": "0c5a4b1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b",
        "traits": {"email": "ada@example.org", "name": {"first": "Ada"}}
    }));
    ctx.request_headers = json!({"User-Agent": ["test-agent/1.0"]});
    ctx.transient_payload = Some(json!({"newsletter": true}));
    ctx
}

#[tokio::test]
async fn the_jsonnet_body_is_rendered_from_ctx() {
    let target = Target::start().await;
    let program = r#"function(ctx) {
        user_id: ctx.identity.id,
        email: ctx.identity.traits.email,
        flow: ctx.flow.id,
        agent: ctx.request_headers["User-Agent"][0],
        newsletter: ctx.transient_payload.newsletter,
        method: ctx.request_method,
        has_session: std.objectHas(ctx, "session"),
    }"#;
    let hook = web_hook(
        json!({"url": target.url("/ok"), "method": "POST", "body": base64(program),
               "headers": {"X-Custom": "yes"}}),
        limits(),
    )
    .await;
    assert_eq!(hook.run(&context()).await.unwrap(), HookOutcome::Continue);
    let received = target.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, Method::POST);
    assert_eq!(received[0].path, "/ok");
    assert_eq!(received[0].header("x-custom"), Some("yes"));
    assert_eq!(received[0].header("content-type"), Some("application/json"));
    assert_eq!(
        received[0].json(),
        json!({
            "user_id": "0c5a4b1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b",
            "email": "ada@example.org",
            "flow": "8f1d6e57-0b2b-4f3e-9d6a-1c2b3d4e5f60",
            "agent": "test-agent/1.0",
            "newsletter": true,
            "method": "POST",
            "has_session": false
        })
    );
}

#[tokio::test]
async fn without_a_body_the_context_is_sent_and_files_and_urls_load() {
    let target = Target::start().await;
    let hook = web_hook(json!({"url": target.url("/ok"), "method": "PUT"}), limits()).await;
    hook.run(&context()).await.unwrap();
    let sent = target.received()[0].json();
    assert_eq!(target.received()[0].method, Method::PUT);
    assert_eq!(sent, serde_json::to_value(context()).unwrap());
    assert_eq!(sent["identity"]["traits"]["email"], "ada@example.org");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.jsonnet");
    std::fs::write(
        &file,
        "function(ctx) { from_file: ctx.identity.traits.name.first }",
    )
    .unwrap();
    let hook = web_hook(
        json!({"url": target.url("/ok"), "method": "POST",
               "body": format!("file://{}", file.display())}),
        limits(),
    )
    .await;
    hook.run(&context()).await.unwrap();
    assert_eq!(target.received()[1].json(), json!({"from_file": "Ada"}));

    let hook = web_hook(
        json!({"url": target.url("/ok"), "method": "POST", "body": target.url("/body.jsonnet")}),
        limits(),
    )
    .await;
    hook.run(&context()).await.unwrap();
    // received()[2] is the GET of the body itself, at load.
    let received = target.received();
    assert_eq!(received[2].path, "/body.jsonnet");
    assert_eq!(received[3].json(), json!({"remote": "POST"}));
}

#[tokio::test]
async fn api_keys_and_basic_auth_arrive() {
    let target = Target::start().await;
    let header = web_hook(
        json!({"url": target.url("/ok"), "method": "POST",
               "auth": {"type": "api_key", "config": {"name": "X-Hook-Key", "value": "k-123", "in": "header"}}}),
        limits(),
    )
    .await;
    let cookie = web_hook(
        json!({"url": target.url("/ok"), "method": "POST",
               "auth": {"type": "api_key", "config": {"name": "hook_key", "value": "c-456", "in": "cookie"}}}),
        limits(),
    )
    .await;
    let basic = web_hook(
        json!({"url": target.url("/ok"), "method": "POST",
               "auth": {"type": "basic_auth", "config": {"user": "kratos", "password": "s3cret"}}}),
        limits(),
    )
    .await;
    for hook in [&header, &cookie, &basic] {
        hook.run(&context()).await.unwrap();
    }
    let received = target.received();
    assert_eq!(received[0].header("x-hook-key"), Some("k-123"));
    assert_eq!(received[1].header("cookie"), Some("hook_key=c-456"));
    assert_eq!(received[1].header("x-hook-key"), None);
    assert_eq!(
        received[2].header("authorization"),
        Some(format!("Basic {}", STANDARD.encode("kratos:s3cret")).as_str())
    );
    assert!(!format!("{basic:?}{header:?}").contains("s3cret"));
}

#[tokio::test]
async fn an_ignored_response_returns_at_once_even_when_the_target_is_slow() {
    let target = Target::start().await;
    let hook = web_hook(
        json!({"url": target.url("/slow"), "method": "POST", "response": {"ignore": true},
               "body": base64("function(ctx) { id: ctx.identity.id }")}),
        limits(),
    )
    .await;
    let started = Instant::now();
    assert_eq!(hook.run(&context()).await.unwrap(), HookOutcome::Continue);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "took {:?}",
        started.elapsed()
    );
    let received = target.wait_for(1, Duration::from_secs(3)).await;
    assert_eq!(received.len(), 1, "the call is still made");
    assert_eq!(
        received[0].json(),
        json!({"id": "0c5a4b1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b"})
    );

    // A broken target does not fail an ignored hook either.
    let hook = web_hook(
        json!({"url": target.url("/broken"), "method": "POST", "response": {"ignore": true}}),
        limits(),
    )
    .await;
    assert_eq!(hook.run(&context()).await.unwrap(), HookOutcome::Continue);
}

#[tokio::test]
async fn a_parsed_answer_patches_the_identity() {
    let target = Target::start().await;
    let hook = web_hook(
        json!({"url": target.url("/patch"), "method": "POST", "response": {"parse": true}}),
        limits(),
    )
    .await;
    assert!(hook.parses_response());
    assert_eq!(
        hook.run(&context()).await.unwrap(),
        HookOutcome::PatchIdentity {
            traits: Some(json!({"email": "patched@example.org"})),
            metadata_public: Some(json!({"plan": "pro"})),
            metadata_admin: Some(json!({"crm_id": 42})),
        }
    );
    // can_interrupt is the old name of parse.
    let legacy = web_hook(
        json!({"url": target.url("/patch"), "method": "POST", "can_interrupt": true}),
        limits(),
    )
    .await;
    assert!(matches!(
        legacy.run(&context()).await.unwrap(),
        HookOutcome::PatchIdentity { .. }
    ));
    // Without parse the same answer only continues.
    let plain = web_hook(
        json!({"url": target.url("/patch"), "method": "POST"}),
        limits(),
    )
    .await;
    assert_eq!(plain.run(&context()).await.unwrap(), HookOutcome::Continue);
}

#[tokio::test]
async fn four_xx_messages_become_field_messages() {
    let target = Target::start().await;
    let hook = web_hook(
        json!({"url": target.url("/refuse"), "method": "POST", "response": {"parse": true}}),
        limits(),
    )
    .await;
    let err = hook.run(&context()).await.unwrap_err();
    assert_eq!(
        err,
        HookError::Interrupted(vec![
            FieldMessage {
                field: Some("traits.email".into()),
                message: HookMessage {
                    id: 4000123,
                    text: "this address is blocked".into(),
                    kind: "error".into(),
                    context: Some(json!({"value": "a@blocked.example"})),
                },
            },
            FieldMessage {
                field: None,
                message: HookMessage {
                    id: 4000124,
                    text: "try again tomorrow".into(),
                    kind: "info".into(),
                    context: None,
                },
            },
        ])
    );
    // Without parse a 4xx is a plain failure.
    let plain = web_hook(
        json!({"url": target.url("/refuse"), "method": "POST"}),
        limits(),
    )
    .await;
    let HookError::Failed { reason, .. } = plain.run(&context()).await.unwrap_err() else {
        panic!("expected a failure");
    };
    assert!(reason.contains("400"), "{reason}");
}

#[tokio::test]
async fn failures_are_clean_and_keep_secrets_out() {
    let target = Target::start().await;
    let hook = web_hook(
        json!({"url": format!("{}?token=hidden-token", target.url("/broken")), "method": "POST",
               "auth": {"type": "basic_auth", "config": {"user": "u", "password": "hidden-password"}}}),
        limits(),
    )
    .await;
    let err = hook.run(&context()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("500"), "{text}");
    assert!(text.contains("/broken"), "{text}");
    assert!(
        !text.contains("hidden-token") && !text.contains("hidden-password"),
        "{text}"
    );

    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let hook = web_hook(
        json!({"url": format!("http://127.0.0.1:{port}/x"), "method": "POST", "id": "crm"}),
        limits(),
    )
    .await;
    let HookError::Failed { hook, reason } = hook.run(&context()).await.unwrap_err() else {
        panic!("expected a failure");
    };
    assert_eq!(hook, "crm");
    assert!(reason.contains("connect"), "{reason}");
}

#[tokio::test]
async fn a_slow_target_times_out() {
    let target = Target::start().await;
    let hook = web_hook(
        json!({"url": target.url("/slow"), "method": "POST"}),
        HookLimits {
            request_timeout: Duration::from_millis(300),
            jsonnet_timeout: Duration::from_secs(1),
        },
    )
    .await;
    let started = Instant::now();
    let err = hook.run(&context()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let HookError::Failed { reason, .. } = err else {
        panic!("expected a failure: {err:?}");
    };
    assert!(reason.contains("time limit"), "{reason}");
}

#[tokio::test]
async fn a_runaway_program_fails_cleanly_and_sends_nothing() {
    let target = Target::start().await;
    let hook = web_hook(
        json!({"url": target.url("/ok"), "method": "POST",
               "body": base64("function(ctx) local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); { n: f(64) }")}),
        HookLimits {
            request_timeout: Duration::from_secs(5),
            jsonnet_timeout: Duration::from_millis(300),
        },
    )
    .await;
    let started = Instant::now();
    let err = hook.run(&context()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let HookError::Failed { reason, .. } = err else {
        panic!("expected a failure: {err:?}");
    };
    assert!(reason.contains("did not finish"), "{reason}");
    assert!(target.received().is_empty());
    // The evaluator process was killed, not left running.
    assert_eq!(
        evaluator_processes(),
        0,
        "a runaway evaluator is still running"
    );

    // A program that takes more memory than an evaluator may have fails,
    // and the server process is untouched.
    let greedy = web_hook(
        json!({"url": target.url("/ok"), "method": "POST",
               "body": base64("function(ctx) local f(s, n) = if n == 0 then s else f(s + s, n - 1); { n: std.length(f('x', 40)) }")}),
        HookLimits {
            request_timeout: Duration::from_secs(5),
            jsonnet_timeout: Duration::from_secs(20),
        },
    )
    .await;
    let HookError::Failed { reason, .. } = greedy.run(&context()).await.unwrap_err() else {
        panic!("expected a failure");
    };
    assert!(reason.contains("stopped"), "{reason}");
    assert!(target.received().is_empty());

    // A program that fails names its error; `error "cancel"` skips the call.
    let failing = web_hook(
        json!({"url": target.url("/ok"), "method": "POST",
               "body": base64("function(ctx) { a: ctx.identity.missing }")}),
        limits(),
    )
    .await;
    let HookError::Failed { reason, .. } = failing.run(&context()).await.unwrap_err() else {
        panic!("expected a failure");
    };
    assert!(reason.contains("missing"), "{reason}");
    let cancelling = web_hook(
        json!({"url": target.url("/ok"), "method": "POST",
               "body": base64("function(ctx) if ctx.transient_payload.newsletter then error 'cancel' else {}")}),
        limits(),
    )
    .await;
    assert_eq!(
        cancelling.run(&context()).await.unwrap(),
        HookOutcome::Continue
    );
    assert!(target.received().is_empty());
}

/// Evaluator processes (`bia jsonnet-eval`) this test process started that
/// are still alive.
fn evaluator_processes() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| {
            let dir = entry.path();
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
            // The parent pid is the second field after the command in brackets.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .unwrap_or_default();
            parent == me && cmdline.split(|b| *b == 0).any(|arg| arg == b"jsonnet-eval")
        })
        .count()
}

fn tree(flows: Value) -> Value {
    json!({
        "dsn": "memory",
        "identity": {"default_schema_id": "default",
                     "schemas": [{"id": "default", "url": "file:///x.json"}]},
        "selfservice": {"flows": flows}
    })
}

fn refused(flows: Value) -> String {
    from_tree(tree(flows), Mode { dev: true })
        .unwrap_err()
        .to_string()
}

#[test]
fn hooks_load_from_the_config_file_shape() {
    let loaded = from_tree(
        tree(json!({
            "login": {"before": {"hooks": [{"hook": "web_hook", "config": {
                "url": "https://hooks.example.org/login", "method": "POST",
                "body": base64("function(ctx) {}"), "emit_analytics_event": false,
                "response": {"ignore": true}}}]},
                "after": {"hooks": [{"hook": "revoke_active_sessions"}],
                          "password": {"default_browser_return_url": "https://app.example.org/",
                                       "hooks": [{"hook": "require_verified_address"}]}}},
            "registration": {"after": {"password": {"hooks": [{"hook": "session"}, {"hook": "show_verification_ui"}]}}}
        })),
        Mode { dev: true },
    )
    .unwrap();
    let hook_warnings: Vec<&str> = loaded
        .warnings
        .iter()
        .filter(|w| w.key.contains("hooks"))
        .map(|w| w.key.as_str())
        .collect();
    assert_eq!(
        hook_warnings,
        ["selfservice.flows.registration.after.password.hooks[1]"],
        "only show_verification_ui, which nothing acts on, is reported"
    );
    let login = &loaded.config.selfservice.flows.login;
    assert_eq!(login.before.hooks.len(), 1);
    assert_eq!(
        login.after.browser_return_url("password"),
        Some("https://app.example.org/")
    );
    assert_eq!(login.after.browser_return_url("code"), None);
}

#[tokio::test]
async fn hooks_are_built_from_a_loaded_config() {
    let target = Target::start().await;
    let loaded = from_tree(
        tree(json!({
            "registration": {"after": {
                "hooks": [{"hook": "web_hook", "config": {"url": target.url("/ok"), "method": "POST"}}],
                "password": {"hooks": [
                    {"hook": "session"},
                    {"hook": "web_hook", "config": {"url": target.url("/patch"), "method": "POST",
                                                    "response": {"parse": true}}}
                ]}}}
        })),
        Mode { dev: true },
    )
    .unwrap();
    let hooks = Hooks::load(&loaded.config, &HookOptions::default())
        .await
        .unwrap();
    let after_password = hooks.for_event(HookEvent::After {
        flow: FlowKind::Registration,
        method: "password",
    });
    let names: Vec<_> = after_password.iter().map(|h| h.name()).collect();
    assert_eq!(names, ["web_hook", "session"]);
    assert!(after_password[0].runs_before_persist());
    assert!(!after_password[1].runs_before_persist());
    let after_code = hooks.for_event(HookEvent::After {
        flow: FlowKind::Registration,
        method: "code",
    });
    assert_eq!(after_code.len(), 1);
    assert!(!after_code[0].runs_before_persist());
}

#[test]
fn bad_hook_configs_are_refused_naming_the_key() {
    let err = refused(json!({"login": {"after": {"hooks": [{"hook": "send_pigeon"}]}}}));
    assert!(
        err.contains("selfservice.flows.login.after.hooks") && err.contains("send_pigeon"),
        "{err}"
    );

    let err = refused(json!({"registration": {"before": {"hooks": [
        {"hook": "web_hook", "config": {"method": "POST"}}]}}}));
    assert!(
        err.contains("selfservice.flows.registration.before.hooks") && err.contains("url"),
        "{err}"
    );

    let err = refused(json!({"login": {"after": {"password": {"hooks": [
        {"hook": "web_hook", "config": {"url": "http://127.0.0.1:1/", "method": "POST",
                                        "body": "file:///nonexistent/body.jsonnet"}}]}}}}));
    assert!(
        err.contains("selfservice.flows.login.after.password.hooks[0].config.body")
            && err.contains("/nonexistent/body.jsonnet"),
        "{err}"
    );

    let err = refused(json!({"registration": {"after": {"hooks": [
        {"hook": "web_hook", "config": {"url": "http://127.0.0.1:1/", "method": "POST",
                                        "body": base64("function(ctx) { a: }")}}]}}}));
    assert!(
        err.contains("selfservice.flows.registration.after.hooks[0].config.body")
            && err.contains("Jsonnet"),
        "{err}"
    );

    let err = refused(json!({"login": {"before": {"hooks": [
        {"hook": "web_hook", "config": {"url": "http://127.0.0.1:1/", "method": "POST",
                                        "response": {"ignore": true, "parse": true}}}]}}}));
    assert!(
        err.contains("selfservice.flows.login.before.hooks[0].config.response"),
        "{err}"
    );

    let err = refused(json!({"login": {"before": {"hooks": [
        {"hook": "web_hook", "config": {"url": "ftp://example.org/", "method": "POST"}}]}}}));
    assert!(
        err.contains("selfservice.flows.login.before.hooks[0].config.url"),
        "{err}"
    );

    let err = refused(json!({"login": {"after": {"hooks": [{"hook": "session"}]}}}));
    assert!(
        err.contains("selfservice.flows.login.after.hooks[0].hook") && err.contains("session"),
        "{err}"
    );

    let err = refused(json!({"login": {"before": {"hooks": [
        {"hook": "web_hook", "config": {"url": "http://127.0.0.1:1/", "method": "POST",
            "auth": {"type": "api_key", "config": {"name": "k", "value": "v", "in": "query"}}}}]}}}));
    assert!(
        err.contains("selfservice.flows.login.before.hooks") && err.contains("query"),
        "{err}"
    );
}

#[tokio::test]
async fn a_remote_body_that_cannot_be_loaded_is_refused_naming_the_key() {
    let target = Target::start().await;
    let loaded = from_tree(
        tree(json!({"login": {"before": {"hooks": [{"hook": "web_hook", "config": {
            "url": target.url("/ok"), "method": "POST", "body": target.url("/missing.jsonnet")}}]}}})),
        Mode { dev: true },
    )
    .unwrap();
    let err = Hooks::load(&loaded.config, &HookOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.key,
        "selfservice.flows.login.before.hooks[0].config.body"
    );
    assert!(err.reason.contains("404"), "{}", err.reason);
}
