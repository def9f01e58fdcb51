//! The Argo CD health scripts, run with Lua against sample objects.

use std::path::PathBuf;

use mlua::{Lua, LuaSerdeExt, Table};
use serde_json::{Value, json};

fn health(script: &str, obj: Value) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../charts/bia/argocd")
        .join(script);
    let code = std::fs::read_to_string(path).unwrap();
    let lua = Lua::new();
    lua.globals()
        .set("obj", lua.to_value(&obj).unwrap())
        .unwrap();
    let hs: Table = lua.load(&code).eval().unwrap();
    (
        hs.get::<String>("status").unwrap(),
        hs.get::<String>("message").unwrap_or_default(),
    )
}

fn server(generation: i64, observed: i64, conditions: Value) -> Value {
    json!({"metadata": {"generation": generation}, "status": {"observedGeneration": observed, "conditions": conditions}})
}

#[test]
fn identity_server_health() {
    assert_eq!(
        health("identityserver.lua", json!({"metadata": {}})).0,
        "Progressing"
    );
    let ready = json!([{"type": "Ready", "status": "True", "reason": "Available", "message": "2/2 replicas ready"},
                       {"type": "Degraded", "status": "False", "reason": "AsExpected"}]);
    assert_eq!(
        health("identityserver.lua", server(1, 1, ready.clone())),
        ("Healthy".into(), "2/2 replicas ready".into())
    );
    assert_eq!(
        health("identityserver.lua", server(2, 1, ready)).0,
        "Progressing"
    );
    let degraded = json!([{"type": "Ready", "status": "False", "reason": "SecretMissing"},
                          {"type": "Degraded", "status": "True", "reason": "SecretMissing", "message": "Secret x does not exist"}]);
    assert_eq!(
        health("identityserver.lua", server(1, 1, degraded)),
        ("Degraded".into(), "Secret x does not exist".into())
    );
    let rolling = json!([{"type": "Ready", "status": "False", "reason": "RollingOut", "message": "1/2 replicas ready"}]);
    assert_eq!(
        health("identityserver.lua", server(1, 1, rolling)).0,
        "Progressing"
    );
}

#[test]
fn attached_health() {
    for script in [
        "identityschema.lua",
        "oidcprovider.lua",
        "couriertemplate.lua",
    ] {
        let with = |status: &str, reason: &str| json!({"status": {"conditions": [{"type": "Accepted", "status": status, "reason": reason, "message": reason}]}});
        assert_eq!(health(script, json!({})).0, "Progressing");
        assert_eq!(health(script, with("True", "Accepted")).0, "Healthy");
        assert_eq!(
            health(script, with("False", "ServerNotFound")).0,
            "Progressing"
        );
        assert_eq!(
            health(script, with("False", "InvalidJSONSchema")).0,
            "Degraded"
        );
        assert_eq!(
            health(script, with("True", "DeletionBlocked")).0,
            "Suspended"
        );
        // Valid but unsupported by the server version: not Healthy, and says why.
        assert_eq!(
            health(script, with("False", "Unsupported")),
            ("Degraded".into(), "Unsupported".into())
        );
    }
}

#[test]
fn identity_server_health_reads_kstatus_conditions() {
    // A stalled rollout is Degraded even while the old Ready message is around.
    let stalled = json!([{"type": "Ready", "status": "False", "reason": "CrashLoopBackOff", "message": "1/2 replicas ready"},
                         {"type": "Reconciling", "status": "False", "reason": "CrashLoopBackOff"},
                         {"type": "Stalled", "status": "True", "reason": "CrashLoopBackOff",
                          "message": "pod bia-1: container bia is CrashLoopBackOff after 4 restarts"}]);
    assert_eq!(
        health("identityserver.lua", server(3, 3, stalled)),
        (
            "Degraded".into(),
            "pod bia-1: container bia is CrashLoopBackOff after 4 restarts".into()
        )
    );
    // Reconciling=True is Progressing even if Ready still says True for the old pods.
    let reconciling = json!([{"type": "Ready", "status": "True", "reason": "Available", "message": "2/2 replicas ready"},
                             {"type": "Reconciling", "status": "True", "reason": "RollingOut", "message": "waiting"}]);
    assert_eq!(
        health("identityserver.lua", server(2, 2, reconciling)).0,
        "Progressing"
    );
    // A condition computed for an older generation does not count, whatever status says.
    let old = json!([{"type": "Ready", "status": "True", "reason": "Available", "observedGeneration": 4},
                     {"type": "Stalled", "status": "False", "reason": "AsExpected", "observedGeneration": 4}]);
    assert_eq!(
        health("identityserver.lua", server(5, 5, old.clone())).0,
        "Progressing"
    );
    assert_eq!(health("identityserver.lua", server(4, 4, old)).0, "Healthy");
}

#[test]
fn schema_health_follows_its_migration() {
    let with = |phase: &str| {
        json!({"status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "ok"}],
                          "migration": {"phase": phase, "migrated": 1, "failed": 0, "remaining": 0, "message": phase}}})
    };
    assert_eq!(
        health("identityschema.lua", with("DryRun")).0,
        "Progressing"
    );
    assert_eq!(
        health("identityschema.lua", with("Migrating")).0,
        "Progressing"
    );
    assert_eq!(health("identityschema.lua", with("Completed")).0, "Healthy");
    assert_eq!(health("identityschema.lua", with("Failed")).0, "Degraded");
}

#[test]
fn attached_health_waits_for_the_latest_generation() {
    for script in [
        "identityschema.lua",
        "oidcprovider.lua",
        "couriertemplate.lua",
    ] {
        let obj = |generation: i64, observed: i64| {
            json!({"metadata": {"generation": generation},
                   "status": {"observedGeneration": observed,
                              "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "ok"}]}})
        };
        assert_eq!(health(script, obj(2, 1)).0, "Progressing", "{script}");
        assert_eq!(health(script, obj(2, 2)).0, "Healthy", "{script}");
    }
}

#[test]
fn identity_health_reads_the_conditions_the_reconciler_writes() {
    use bia_operator::controller::identity::conditions;
    use bia_operator::controller::identity_sync::Health;
    use bia_operator::validate::Refusal;
    let refusal = |reason| Refusal {
        reason,
        message: format!("{reason} says why"),
    };
    let obj = |h: &Health| {
        json!({"metadata": {"generation": 2},
               "status": {"observedGeneration": 2, "conditions": conditions(h)}})
    };
    let cases = [
        (
            Health::InSync("identity 1 matches the spec".into()),
            "Healthy",
        ),
        (Health::Refused(refusal("InvalidIdentity")), "Degraded"),
        (Health::Refused(refusal("IdentifierConflict")), "Degraded"),
        (Health::Waiting(refusal("SecretMissing")), "Progressing"),
        (Health::Waiting(refusal("ServerNotFound")), "Progressing"),
        (Health::Unavailable("no endpoints".into()), "Progressing"),
        (Health::Ignored("left alone".into()), "Suspended"),
    ];
    for (h, expected) in cases {
        assert_eq!(health("identity.lua", obj(&h)).0, expected, "{h:?}");
    }
    let (status, message) = health(
        "identity.lua",
        obj(&Health::Refused(refusal("InvalidIdentity"))),
    );
    assert_eq!(
        (status.as_str(), message.as_str()),
        ("Degraded", "InvalidIdentity says why")
    );
    let mut behind = obj(&Health::InSync("ok".into()));
    behind["status"]["observedGeneration"] = json!(1);
    assert_eq!(health("identity.lua", behind).0, "Progressing");
    assert_eq!(health("identity.lua", json!({})).0, "Progressing");
}
