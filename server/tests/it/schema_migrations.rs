//! Schema migrations (`POST /admin/bia/schema-migrations` and
//! `bia identities migrate-schema`) on SQLite, PostgreSQL and MariaDB.

use std::process::Command;

use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{Kind, TestServer, assert_error, base64_url};

const PATH: &str = "/admin/bia/schema-migrations";

/// Splits `name` ("Ada Lovelace") into first and last; throws when absent.
const SPLIT_NAME: &str = "function(ctx)
  local t = ctx.identity.traits;
  local parts = std.split(t.name, ' ');
  {
    traits: { email: t.email, name: { first: parts[0], last: std.join(' ', parts[1:]) } },
    metadata_public: { migrated_from: ctx.identity.schema_id },
  }
";

fn v1() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"traits": {"type": "object", "properties": {
            "email": {"type": "string", "format": "email",
                "ory.sh/kratos": {"credentials": {"password": {"identifier": true}},
                    "verification": {"via": "email"}, "recovery": {"via": "email"}}},
            "name": {"type": "string"}
        }, "required": ["email"], "additionalProperties": false}}
    })
}

/// v1 with an optional nickname: the same traits stay valid.
fn v1b() -> Value {
    let mut schema = v1();
    schema["properties"]["traits"]["properties"]["nickname"] = json!({"type": "string"});
    schema
}

/// Names become objects with a required first name.
fn v2() -> Value {
    let mut schema = v1();
    schema["properties"]["traits"]["properties"]["name"] = json!({
        "type": "object",
        "properties": {"first": {"type": "string", "minLength": 1}, "last": {"type": "string"}},
        "required": ["first"]
    });
    schema
}

async fn server(kind: Kind) -> TestServer {
    let schema = |id: &str, document: Value| json!({"id": id, "url": base64_url(&document)});
    TestServer::start_with(
        kind,
        json!({"identity": {"default_schema_id": "v1", "schemas": [
            schema("v1", v1()), schema("v1b", v1b()), schema("v2", v2()),
            schema("untyped", json!({"type": "object"})),
        ]}}),
    )
    .await
}

async fn create(server: &TestServer, email: &str, name: Option<&str>) -> Value {
    let mut traits = json!({"email": email});
    if let Some(name) = name {
        traits["name"] = json!(name);
    }
    let (status, identity) = server
        .post(
            "/admin/identities",
            json!({"schema_id": "v1", "traits": traits,
                "credentials": {"password": {"config": {"password": "a-long-password-1"}}},
                "verifiable_addresses": [{"value": email, "via": "email", "verified": true, "status": "completed"}]}),
        )
        .await;
    assert_eq!(status, 201, "{identity}");
    identity
}

async fn migrate(server: &TestServer, body: Value) -> Value {
    let (status, report) = server.post(PATH, body).await;
    assert_eq!(status, 200, "{report}");
    report
}

async fn get(server: &TestServer, id: &Value) -> Value {
    let (status, identity) = server
        .get(&format!("/admin/identities/{}", id.as_str().unwrap()))
        .await;
    assert_eq!(status, 200, "{identity}");
    identity
}

async fn migrates_with_and_without_transform(kind: Kind) {
    let server = server(kind).await;
    let ada = create(&server, "ada@example.org", Some("Ada King Lovelace")).await;
    let alan = create(&server, "alan@example.org", Some("Alan Turing")).await;

    let report = migrate(
        &server,
        json!({"from_schema_id": "v1", "to_schema_id": "v1b"}),
    )
    .await;
    assert_eq!(
        (
            report["examined"].clone(),
            report["migrated"].clone(),
            report["failed_count"].clone()
        ),
        (json!(2), json!(2), json!(0)),
        "{report}"
    );
    assert_eq!(report["next"], Value::Null);
    assert_eq!(report["remaining"], 0);
    let kept = get(&server, &ada["id"]).await;
    assert_eq!(kept["schema_id"], "v1b");
    assert_eq!(kept["traits"], ada["traits"]);
    assert_eq!(kept["verifiable_addresses"][0]["verified"], true);

    let report = migrate(
        &server,
        json!({"from_schema_id": "v1b", "to_schema_id": "v2", "transform": SPLIT_NAME}),
    )
    .await;
    assert_eq!(report["migrated"], 2, "{report}");
    let moved = get(&server, &ada["id"]).await;
    assert_eq!(moved["schema_id"], "v2");
    assert_eq!(
        moved["traits"],
        json!({"email": "ada@example.org", "name": {"first": "Ada", "last": "King Lovelace"}})
    );
    assert_eq!(moved["metadata_public"], json!({"migrated_from": "v1b"}));
    assert_eq!(moved["verifiable_addresses"][0]["status"], "completed");
    assert_eq!(
        get(&server, &alan["id"]).await["traits"]["name"]["last"],
        "Turing"
    );
    // The password still signs in with the derived identifier.
    let (status, body) = server
        .get("/admin/identities?credentials_identifier=ada@example.org")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["id"], ada["id"]);
    // Nothing is left on the source: a second pass examines nothing.
    let again = migrate(
        &server,
        json!({"from_schema_id": "v1b", "to_schema_id": "v2"}),
    )
    .await;
    assert_eq!(again["examined"], 0, "{again}");
    server.stop().await;
}

async fn dry_run_writes_nothing(kind: Kind) {
    let server = server(kind).await;
    let ada = create(&server, "ada@example.org", Some("Ada Lovelace")).await;
    let nameless = create(&server, "anon@example.org", None).await;
    let report = migrate(
        &server,
        json!({"from_schema_id": "v1", "to_schema_id": "v2", "transform": SPLIT_NAME, "dry_run": true}),
    )
    .await;
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["migrated"], 1, "{report}");
    assert_eq!(report["failed_count"], 1, "{report}");
    assert_eq!(report["failed"][0]["identity_id"], nameless["id"]);
    assert_eq!(get(&server, &ada["id"]).await, ada);
    assert_eq!(get(&server, &nameless["id"]).await, nameless);
    server.stop().await;
}

async fn failures_stay_and_are_listed(kind: Kind) {
    let server = server(kind).await;
    let ada = create(&server, "ada@example.org", Some("Ada Lovelace")).await;
    let nameless = create(&server, "anon@example.org", None).await;
    let empty = create(&server, "empty@example.org", Some("")).await;
    let taken = create(&server, "taken@example.org", Some("Taken Name")).await;
    // On another schema, so not written concurrently with `taken`.
    let (status, other) = server
        .post(
            "/admin/identities",
            json!({"schema_id": "v1b", "traits": {"email": "other@example.org"}}),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    // `taken` would move onto `other`'s address; `empty` has no first name.
    let transform = format!(
        "local split = {SPLIT_NAME};\nfunction(ctx) local r = split(ctx); \
         if ctx.identity.traits.email == 'taken@example.org' \
         then r {{ traits+: {{ email: 'other@example.org' }} }} else r"
    );
    let report = migrate(
        &server,
        json!({"from_schema_id": "v1", "to_schema_id": "v2", "transform": transform}),
    )
    .await;
    assert_eq!(report["examined"], 4, "{report}");
    assert_eq!(report["migrated"], 1, "{report}");
    assert_eq!(report["failed_count"], 3, "{report}");
    let reason = |id: &Value| {
        report["failed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| &f["identity_id"] == id)
            .map(|f| f["reason"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{id} not listed: {report}"))
    };
    assert!(
        reason(&nameless["id"]).contains("transform failed"),
        "{report}"
    );
    assert!(
        reason(&empty["id"]).contains("/traits/name/first"),
        "{report}"
    );
    assert!(
        reason(&taken["id"]).contains("another identity"),
        "{report}"
    );
    for failed in [&nameless, &empty, &taken] {
        assert_eq!(&get(&server, &failed["id"]).await, failed);
    }
    assert_eq!(get(&server, &ada["id"]).await["schema_id"], "v2");
    assert_eq!(get(&server, &other["id"]).await, other);
    server.stop().await;
}

async fn concurrent_runs_migrate_each_once(kind: Kind) {
    let server = server(kind).await;
    let mut ids = Vec::new();
    for n in 0..24 {
        ids.push(create(&server, &format!("user{n}@example.org"), Some("A B")).await["id"].clone());
    }
    let run = || async {
        let mut after = Value::Null;
        let (mut migrated, mut skipped) = (0, 0);
        loop {
            let report = migrate(
                &server,
                json!({"from_schema_id": "v1", "to_schema_id": "v2", "transform": SPLIT_NAME,
                    "batch_size": 5, "after": after}),
            )
            .await;
            assert_eq!(report["failed_count"], 0, "{report}");
            migrated += report["migrated"].as_u64().unwrap();
            skipped += report["skipped"].as_u64().unwrap();
            after = report["next"].clone();
            if after.is_null() {
                return (migrated, skipped);
            }
        }
    };
    let (first, second) = tokio::join!(run(), run());
    let mut migrated = first.0 + second.0;
    // What both skipped (changed meanwhile) a later pass takes.
    if first.1 + second.1 > 0 {
        migrated += run().await.0;
    }
    assert_eq!(migrated, 24, "{first:?} {second:?}");
    for id in &ids {
        let identity = get(&server, id).await;
        assert_eq!(identity["schema_id"], "v2");
        assert_eq!(
            identity["traits"]["name"],
            json!({"first": "A", "last": "B"})
        );
    }
    server.stop().await;
}

async fn resumes_with_the_cursor(kind: Kind) {
    let server = server(kind).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(create(&server, &format!("u{n}@example.org"), Some("A B")).await["id"].clone());
    }
    ids.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    let body = |after: Value| json!({"from_schema_id": "v1", "to_schema_id": "v1b", "batch_size": 2, "after": after});
    let first = migrate(&server, body(Value::Null)).await;
    assert_eq!(
        (first["examined"].clone(), first["remaining"].clone()),
        (json!(2), json!(3)),
        "{first}"
    );
    assert_eq!(first["next"], ids[1]);
    // Replaying a batch finds its identities gone from the source.
    let replay = migrate(&server, body(Value::Null)).await;
    assert_eq!(replay["migrated"], 2, "{replay}");
    assert_eq!(replay["next"], ids[3]);
    let last = migrate(&server, body(replay["next"].clone())).await;
    assert_eq!(
        (last["migrated"].clone(), last["next"].clone()),
        (json!(1), Value::Null),
        "{last}"
    );
    for id in &ids {
        assert_eq!(get(&server, id).await["schema_id"], "v1b");
    }
    server.stop().await;
}

async fn bad_input_is_refused(kind: Kind) {
    let server = server(kind).await;
    let ada = create(&server, "ada@example.org", Some("Ada Lovelace")).await;
    let ok = json!({"from_schema_id": "v1", "to_schema_id": "v2"});
    let with = |patch: Value| {
        let mut body = ok.clone();
        for (key, value) in patch.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let cases = [
        (with(json!({"to_schema_id": "nope"})), 404, "nope"),
        (with(json!({"from_schema_id": "gone"})), 404, "gone"),
        (with(json!({"to_schema_id": "v1"})), 400, "same schema"),
        (
            with(json!({"to_schema_id": "untyped"})),
            400,
            "describes no traits",
        ),
        (
            with(json!({"transform": "function(ctx) {\n  traits: ctx.identity.traits +,\n}"})),
            400,
            "line 2",
        ),
        (
            with(json!({"transform": format!("{{traits: {{}}}} // {}", "x".repeat(70_000))})),
            400,
            "bytes",
        ),
        (with(json!({"batch_size": 0})), 400, "batch_size"),
        (with(json!({"batch_size": 1001})), 400, "batch_size"),
        (with(json!({"batch_size": -1})), 400, "batch_size"),
        (with(json!({"batch_size": 1e30})), 400, "batch_size"),
        (with(json!({"after": "not-a-uuid"})), 400, "after"),
        (with(json!({"after": 5})), 400, "after"),
        (with(json!({"unknown": true})), 400, "unknown"),
        (json!({"to_schema_id": "v2"}), 400, "from_schema_id"),
        (json!([1, 2]), 400, ""),
    ];
    for (body, expected, needle) in cases {
        let (status, answer) = server.post(PATH, body.clone()).await;
        assert_error(status, &answer, expected);
        let reason = answer["error"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(needle), "{body}: {answer}");
    }
    let response = server
        .http
        .post(format!("{}{PATH}", server.admin))
        .header("content-type", "application/json")
        .body("{\"from_schema_id\": ")
        .send()
        .await
        .unwrap();
    let (status, answer) = crate::support::split(response).await;
    assert_error(status, &answer, 400);
    // Nested input is stopped before decoding.
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let response = server
        .http
        .post(format!("{}{PATH}", server.admin))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(get(&server, &ada["id"]).await, ada);
    server.stop().await;
}

async fn runaway_transforms_fail_their_batch(kind: Kind) {
    let server = server(kind).await;
    let ada = create(&server, "ada@example.org", Some("Ada Lovelace")).await;
    for transform in [
        // Memory: the evaluator's address-space limit stops it.
        "function(ctx) { traits: { n: std.length(std.range(1, 1000000000)) } }",
        // Time: the batch's deadline kills the evaluator.
        "function(ctx) { traits: { n: std.foldl(function(a, b) a + std.foldl(function(x, y) x + 1, \
         std.range(1, 20000), 0), std.range(1, 20000), 0) } }",
    ] {
        let started = std::time::Instant::now();
        let report = migrate(
            &server,
            json!({"from_schema_id": "v1", "to_schema_id": "v2", "transform": transform}),
        )
        .await;
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        assert_eq!(report["failed_count"], 1, "{report}");
        let reason = report["failed"][0]["reason"].as_str().unwrap();
        assert!(reason.contains("failed for its batch"), "{reason}");
        assert_eq!(get(&server, &ada["id"]).await, ada);
    }
    // The server goes on serving.
    let report = migrate(
        &server,
        json!({"from_schema_id": "v1", "to_schema_id": "v1b"}),
    )
    .await;
    assert_eq!(report["migrated"], 1, "{report}");
    server.stop().await;
}

async fn cli_runs_until_done(kind: Kind) {
    let server = server(kind).await;
    for n in 0..5 {
        create(&server, &format!("u{n}@example.org"), Some("First Last")).await;
    }
    let nameless = create(&server, "anon@example.org", None).await;
    let dir = tempfile::tempdir().unwrap();
    let transform = dir.path().join("split.jsonnet");
    std::fs::write(&transform, SPLIT_NAME).unwrap();
    let bia = |extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bia"));
        command
            .args(["identities", "migrate-schema", "--from", "v1", "--to", "v2"])
            .args(["--endpoint", &server.admin])
            .args(extra);
        command.output().unwrap()
    };
    let path = transform.to_str().unwrap();
    let dry = bia(&["--transform", path, "--dry-run", "--batch-size", "2"]);
    let stderr = String::from_utf8_lossy(&dry.stderr);
    assert!(!dry.status.success(), "{stderr}");
    assert!(stderr.contains("would migrate 5 of 6"), "{stderr}");
    let run = bia(&["--transform", path, "--batch-size", "2"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(!run.status.success(), "{stderr}");
    assert!(
        stderr.contains("pass 1: examined 6, migrated 5"),
        "{stderr}"
    );
    assert!(
        stdout.contains(nameless["id"].as_str().unwrap()),
        "{stdout}"
    );
    // Fix the failing identity, run again: everything moved, exit 0.
    let (status, _) = server
        .put(
            &format!("/admin/identities/{}", nameless["id"].as_str().unwrap()),
            json!({"schema_id": "v1", "traits": {"email": "anon@example.org", "name": "Anne Onym"}, "state": "active"}),
        )
        .await;
    assert_eq!(status, 200);
    let run = bia(&["--transform", path, "--batch-size", "2"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(get(&server, &nameless["id"]).await["schema_id"], "v2");
    // A refused request is an error naming the reason.
    let bad = bia(&["--batch-size", "0"]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("batch_size"), "{stderr}");
    server.stop().await;
}

on_every_backend!(
    migrates_with_and_without_transform,
    dry_run_writes_nothing,
    failures_stay_and_are_listed,
    concurrent_runs_migrate_each_once,
    resumes_with_the_cursor,
    bad_input_is_refused,
    runaway_transforms_fail_their_batch,
    cli_runs_until_done,
);
