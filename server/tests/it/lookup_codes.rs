//! Lookup (backup recovery) codes as a second factor, on every backend:
//! regenerating and confirming a set in settings, codes sealed at rest,
//! stepping a session up with `aal=aal2`, each code once (also when two
//! submissions race), refused wrong, oversized and malformed codes,
//! throttling, revealing used codes, disabling.

use serde_json::{Value, json};

use crate::native_flows::{login, node, public_get, register};
use crate::on_every_backend;
use crate::support::{Kind, TestServer};
use crate::totp::{messages_of, settings_flow, step_up_flow, submit_login, submit_settings};

const CIPHER: &str = "0123456789abcdef0123456789abcdef";
const PASSWORD: &str = "a long enough secret";

async fn server(kind: Kind, extra: Value) -> TestServer {
    let mut config = json!({
        "secrets": {"cipher": [CIPHER]},
        "selfservice": {"methods": {"lookup_secret": {"enabled": true}}}
    });
    bia_config::merge(&mut config, extra);
    TestServer::start_with(kind, config).await
}

/// The names (or ids, for text nodes) of a flow's `lookup_secret` nodes.
fn group_nodes(flow: &Value) -> Vec<String> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["group"] == "lookup_secret")
        .map(|n| {
            let attributes = &n["attributes"];
            attributes["name"]
                .as_str()
                .or_else(|| attributes["id"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// The secrets listed by a flow's codes node.
fn listed(flow: &Value) -> Vec<Value> {
    flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["id"] == "lookup_secret_codes")
        .unwrap_or_else(|| panic!("no codes in {flow}"))["attributes"]["text"]["context"]["secrets"]
        .as_array()
        .unwrap()
        .clone()
}

/// Generates and confirms a set for the identity behind `token`; returns
/// the codes.
async fn enable(server: &TestServer, token: &str) -> Vec<String> {
    let (status, flow) = settings_flow(server, token).await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(group_nodes(&flow), ["lookup_secret_regenerate"]);
    assert_eq!(
        node(&flow, "lookup_secret_regenerate")["meta"]["label"]["id"],
        1050008
    );
    // Nothing to confirm before a set was generated.
    let (status, body) =
        submit_settings(server, token, &flow, json!({"lookup_secret_confirm": true})).await;
    assert_eq!(status, 400, "{body}");
    let (status, shown) = submit_settings(
        server,
        token,
        &flow,
        json!({"method": "lookup_secret", "lookup_secret_regenerate": true}),
    )
    .await;
    assert_eq!(status, 400, "{shown}");
    assert_eq!(
        group_nodes(&shown),
        ["lookup_secret_codes", "lookup_secret_confirm"]
    );
    let secrets = listed(&shown);
    assert_eq!(secrets.len(), 12);
    let codes: Vec<String> = secrets
        .iter()
        .map(|s| {
            assert_eq!(s["id"], 1050009);
            s["context"]["secret"].as_str().unwrap().to_owned()
        })
        .collect();
    // Not active before confirmation: settings still offers only a new set.
    let (_, fresh) = settings_flow(server, token).await;
    assert_eq!(group_nodes(&fresh), ["lookup_secret_regenerate"]);
    let (status, saved) = submit_settings(
        server,
        token,
        &shown,
        json!({"lookup_secret_confirm": "true"}),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        group_nodes(&saved),
        ["lookup_secret_reveal", "lookup_secret_disable"]
    );
    // The same confirmation again finds nothing pending.
    let (status, _) = submit_settings(
        server,
        token,
        &shown,
        json!({"lookup_secret_confirm": true}),
    )
    .await;
    assert!(status == 400 || status == 403, "{status}");
    codes
}

async fn lookup_codes_step_a_session_up_once_each(kind: Kind) {
    let server = server(kind, json!({})).await;
    let registered = register(&server, "ada@example.org", PASSWORD).await;
    let first = registered["session_token"].as_str().unwrap().to_owned();
    let identity_id = registered["identity"]["id"].as_str().unwrap().to_owned();
    let codes = enable(&server, &first).await;

    // Sealed at rest, in Kratos's layout.
    let (_, admin) = server
        .get(&format!(
            "/admin/identities/{identity_id}?include_credential=lookup_secret"
        ))
        .await;
    let stored = admin["credentials"]["lookup_secret"]["config"]["recovery_codes"]
        .as_array()
        .unwrap_or_else(|| panic!("{admin}"))
        .clone();
    assert_eq!(stored.len(), 12);
    for (entry, code) in stored.iter().zip(&codes) {
        let sealed = entry["code"].as_str().unwrap();
        assert!(!sealed.contains(code.as_str()), "{sealed}");
        assert!(sealed.bytes().all(|b| b.is_ascii_hexdigit()), "{sealed}");
        assert!(entry["used_at"].is_null());
    }

    // The identity now has aal2 available: the aal1 session must step up.
    let (status, body) = public_get(&server, "/sessions/whoami", Some(&first)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["id"], "session_aal2_required");

    let (status, body) = login(&server, "ada@example.org", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().unwrap().to_owned();
    let flow = step_up_flow(&server, &token).await;
    let names: Vec<&str> = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["attributes"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["csrf_token", "lookup_secret", "method"]);
    assert_eq!(node(&flow, "lookup_secret")["meta"]["label"]["id"], 1010007);
    assert_eq!(
        node(&flow, "method")["attributes"]["value"],
        "lookup_secret"
    );
    assert_eq!(node(&flow, "method")["meta"]["label"]["id"], 1010010);

    // Hostile input: wrong, oversized, malformed.
    let long = "a".repeat(4_000);
    for (code, id) in [
        (json!("zzzzzzzz"), 4000016),
        (json!(long), 4000016),
        (json!(format!("{}x", codes[0])), 4000016),
        (json!(12345678), 4000002),
        (json!(["a"]), 4000002),
        (json!(""), 4000002),
    ] {
        let body = json!({"method": "lookup_secret", "lookup_secret": code});
        let (status, refused) = submit_login(&server, &token, &flow, body).await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(messages_of(&refused, "lookup_secret"), vec![id], "{code}");
    }

    let huge = json!({"method": "lookup_secret", "lookup_secret": "a".repeat(2_000_000)});
    let (status, _) = submit_login(&server, &token, &flow, huge).await;
    assert_eq!(status, 413);
    let right = json!({"method": "lookup_secret", "lookup_secret": format!(" {} ", codes[0])});
    let (status, body) = submit_login(&server, &token, &flow, right.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["authenticator_assurance_level"], "aal2");
    let methods: Vec<(&str, &str)> = body["session"]["authentication_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["method"].as_str().unwrap(), m["aal"].as_str().unwrap()))
        .collect();
    assert_eq!(methods, [("password", "aal1"), ("lookup_secret", "aal2")]);

    // A used code is refused, from any session.
    let (_, body) = login(&server, "ada@example.org", PASSWORD).await;
    let other = body["session_token"].as_str().unwrap().to_owned();
    let flow = step_up_flow(&server, &other).await;
    let (status, body) = submit_login(&server, &other, &flow, right).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(messages_of(&body, "lookup_secret"), vec![4000012]);

    // Two sessions racing with the same unused code: exactly one wins.
    let (_, body) = login(&server, "ada@example.org", PASSWORD).await;
    let third = body["session_token"].as_str().unwrap().to_owned();
    let flow_b = step_up_flow(&server, &third).await;
    let race = json!({"method": "lookup_secret", "lookup_secret": codes[1]});
    let (a, b) = tokio::join!(
        submit_login(&server, &other, &flow, race.clone()),
        submit_login(&server, &third, &flow_b, race.clone()),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "{} {}", a.1, b.1);

    // Revealed from the aal2 session, the used codes show as used.
    let (status, flow) = settings_flow(&server, &token).await;
    assert_eq!(status, 200, "{flow}");
    let (status, shown) = submit_settings(
        &server,
        &token,
        &flow,
        json!({"lookup_secret_reveal": true}),
    )
    .await;
    assert_eq!(status, 400, "{shown}");
    assert_eq!(
        group_nodes(&shown),
        [
            "lookup_secret_codes",
            "lookup_secret_disable",
            "lookup_secret_regenerate"
        ]
    );
    let ids: Vec<u64> = listed(&shown)
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    assert_eq!(&ids[..3], [1050014, 1050014, 1050009]);

    // Disabling lowers what is available: the aal1 sessions suffice again.
    let (status, body) = submit_settings(
        &server,
        &token,
        &shown,
        json!({"lookup_secret_disable": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(group_nodes(&body), ["lookup_secret_regenerate"]);
    let (status, _) = public_get(&server, "/sessions/whoami", Some(&first)).await;
    assert_eq!(status, 200);
    let (_, admin) = server
        .get(&format!(
            "/admin/identities/{identity_id}?include_credential=lookup_secret"
        ))
        .await;
    assert!(
        admin["credentials"].get("lookup_secret").is_none(),
        "{admin}"
    );
    server.stop().await;
}

async fn wrong_lookup_codes_are_throttled(kind: Kind) {
    let server = server(
        kind,
        json!({"throttle": {"per_identifier": {"max_attempts": 3, "window": "1h"}}}),
    )
    .await;
    let registered = register(&server, "bo@example.org", PASSWORD).await;
    let token = registered["session_token"].as_str().unwrap().to_owned();
    let codes = enable(&server, &token).await;
    let (_, body) = login(&server, "bo@example.org", PASSWORD).await;
    let token = body["session_token"].as_str().unwrap().to_owned();
    let flow = step_up_flow(&server, &token).await;
    let wrong = json!({"method": "lookup_secret", "lookup_secret": "00000000"});
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, _) = submit_login(&server, &token, &flow, wrong.clone()).await;
        statuses.push(status);
    }
    assert_eq!(statuses, [400, 400, 400, 429]);
    let right = json!({"method": "lookup_secret", "lookup_secret": codes[0]});
    let (status, _) = submit_login(&server, &token, &flow, right).await;
    assert_eq!(status, 429);
    server.stop().await;
}

on_every_backend!(
    lookup_codes_step_a_session_up_once_each,
    wrong_lookup_codes_are_throttled
);
