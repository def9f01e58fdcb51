//! Schema rollouts: an IdentitySchema that supersedes another moves its identities, driven
//! by the schema controller against the fake API server, whose Service proxy forwards to a
//! real `bia` process (`real_server.rs`), so every batch is the server's own.

use std::sync::Arc;

use bia_crds::{ConditionStatus, IdentitySchema, MigrationPhase, SchemaMigrationStatus};
use bia_operator::controller::Context;
use bia_operator::controller::attached;
use bia_operator::controller::schema_migration::Pacing;
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use crate::fake_api::Fake;
use crate::fixtures::*;
use crate::identity::within;
use crate::real_server::{RealServer, SCHEMA as V1};
use crate::reconcile::{context, reconcile_server, seeded};

/// v2: v1 whose name becomes an object with a required, non-empty `first`.
fn v2_body() -> String {
    let mut v: Value = serde_json::from_str(V1).unwrap();
    let traits = &mut v["properties"]["traits"];
    traits["properties"]["name"] = json!({"type": "object", "required": ["first"],
        "properties": {"first": {"type": "string", "minLength": 1}, "last": {"type": "string"}}});
    traits["required"] = json!(["email", "name"]);
    v["$id"] = json!("https://schemas.example.com/declared.v2.json");
    v.to_string()
}

/// Splits the name; throws for `boom@`; an identity without a name gets an empty first
/// name, which v2 refuses.
const TRANSFORM: &str = r#"function(ctx)
  local t = ctx.identity.traits;
  if std.startsWith(t.email, 'boom@') then error 'cannot split this name'
  else { traits: { email: t.email,
                   name: { first: std.split(std.get(t, 'name', ''), ' ')[0], last: 'Moved' } } }
"#;

struct World {
    fake: Arc<Fake>,
    ctx: Arc<Context>,
    bia: RealServer,
}

fn paced(fake: &Arc<Fake>) -> Arc<Context> {
    let mut ctx = Arc::try_unwrap(context(fake)).ok().unwrap();
    ctx.migration = Pacing {
        batch_size: 2,
        batches_per_pass: 1,
        ..Pacing::default()
    };
    Arc::new(ctx)
}

fn versioned(name: &str, id: &str, body: &str, created: i64) -> IdentitySchema {
    let mut s = schema(name, id, body);
    s.metadata = meta(name, created);
    s
}

fn v2(supersedes: &str, transform: Option<&str>) -> IdentitySchema {
    let mut s = versioned("people-v2", "v2", &v2_body(), 20);
    s.spec.supersedes = Some(supersedes.into());
    s.spec.transform = transform.map(str::to_owned);
    s
}

/// A server on v1 and v2 holding `people` (email, name) on v1, and both schemas in the fake.
async fn world(people: &[(&str, Option<&str>)], new: IdentitySchema) -> (World, Vec<String>) {
    let bia = RealServer::start_with(&[("v1", V1), ("v2", &v2_body())]).await;
    let mut ids = Vec::new();
    for (email, name) in people {
        let mut traits = json!({"email": email});
        if let Some(name) = name {
            traits["name"] = json!(name);
        }
        let (status, body) = bia
            .admin_call(
                "POST",
                "/admin/identities",
                Some(json!({"schema_id": "v1", "traits": traits})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    (serving(bia, new).await, ids)
}

/// The fake API server in front of `bia`, holding v1 and `new`, the server reconciled once.
async fn serving(bia: RealServer, new: IdentitySchema) -> World {
    let fake = seeded();
    *fake.admin_upstream.lock().unwrap() = Some(bia.admin.clone());
    fake.put(&versioned("people-v1", "v1", V1, 15));
    fake.put(&new);
    let ctx = paced(&fake);
    reconcile_server(&fake, &ctx).await;
    World { fake, ctx, bia }
}

impl World {
    fn schema(&self, name: &str) -> IdentitySchema {
        self.fake.get(NS, name).unwrap()
    }

    fn migration(&self) -> SchemaMigrationStatus {
        self.schema("people-v2")
            .status
            .and_then(|s| s.migration)
            .expect("status.migration")
    }

    fn condition(&self, name: &str, type_: &str) -> Option<(ConditionStatus, String)> {
        let status = self.schema(name).status.unwrap_or_default();
        status
            .conditions
            .into_iter()
            .find(|c| c.type_ == type_)
            .map(|c| (c.status, c.reason))
    }

    async fn reconcile(&self) -> Action {
        attached::reconcile(Arc::new(self.schema("people-v2")), self.ctx.clone())
            .await
            .unwrap()
    }

    /// Reconciles until the migration ends; the number of passes it took.
    async fn run_to_end(&self) -> usize {
        for pass in 1..=40 {
            self.reconcile().await;
            if matches!(
                self.migration().phase,
                MigrationPhase::Completed | MigrationPhase::Failed
            ) {
                return pass;
            }
        }
        panic!("the migration did not end: {:?}", self.migration());
    }

    async fn on_schema(&self, id: &str) -> (String, Value) {
        let (status, body) = self.bia.identity(id).await;
        assert_eq!(status, 200);
        (
            body["schema_id"].as_str().unwrap().to_owned(),
            body["traits"].clone(),
        )
    }

    fn migration_calls(&self) -> Vec<Value> {
        self.fake
            .calls()
            .into_iter()
            .filter(|c| c.path.ends_with("/admin/bia/schema-migrations"))
            .filter_map(|c| c.body)
            .collect()
    }

    fn reasons(&self) -> Vec<String> {
        self.fake
            .events()
            .iter()
            .filter_map(|e| e["reason"].as_str().map(str::to_owned))
            .collect()
    }
}

#[tokio::test]
async fn a_superseding_schema_dry_runs_then_moves_identities_and_resumes_after_a_restart() {
    within(async {
        let people = [
            ("ada@example.com", Some("Ada Lovelace")),
            ("boom@example.com", Some("Bo Om")),
            ("alan@example.com", Some("Alan Turing")),
            ("nameless@example.com", None),
            ("grace@example.com", Some("Grace Hopper")),
            ("edsger@example.com", Some("Edsger Dijkstra")),
            ("barbara@example.com", Some("Barbara Liskov")),
        ];
        let (w, ids) = world(&people, v2("v1", Some(TRANSFORM))).await;
        assert_eq!(
            w.condition("people-v2", "Accepted"),
            Some((ConditionStatus::True, "Accepted".into()))
        );

        // The dry run: four batches of two, nothing written.
        while w.reconcile().await == Action::requeue(w.ctx.migration.pause)
            && w.migration().phase == MigrationPhase::DryRun
        {}
        let m = w.migration();
        assert_eq!(m.phase, MigrationPhase::Migrating, "{m:?}");
        let dry = m.dry_run.clone().unwrap();
        assert_eq!((dry.would_migrate, dry.would_fail), (5, 2), "{dry:?}");
        let mut examples: Vec<_> = dry.examples.iter().map(|e| e.id.clone()).collect();
        examples.sort();
        let mut bad = vec![ids[1].clone(), ids[3].clone()];
        bad.sort();
        assert_eq!(examples, bad);
        assert!(
            dry.examples
                .iter()
                .any(|e| e.reason.contains("cannot split this name"))
        );
        assert_eq!(m.remaining, 7);
        assert!(w.migration_calls().iter().all(|b| b["dry_run"] == true));
        assert_eq!(
            w.on_schema(&ids[0]).await.0,
            "v1",
            "a dry run moves nothing"
        );
        assert_eq!(
            w.condition("people-v2", "Reconciling"),
            Some((ConditionStatus::True, "MigrationMigrating".into()))
        );

        // One batch moves; the status it left is what a restarted operator reads.
        w.reconcile().await;
        let after_one = w.migration();
        assert!(after_one.cursor.is_some(), "{after_one:?}");
        // One more batch runs, but its status write is lost (the operator died before it).
        w.reconcile().await;
        let lost = w.migration().migrated - after_one.migrated;
        let mut stored = w.schema("people-v2");
        stored.status.as_mut().unwrap().migration = Some(after_one);
        w.fake.put(&stored);

        // A new operator: a fresh context over the stored status.
        let restarted = World {
            fake: w.fake.clone(),
            ctx: paced(&w.fake),
            bia: w.bia,
        };
        drop(w.ctx);
        restarted.run_to_end().await;
        let m = restarted.migration();
        assert_eq!(m.phase, MigrationPhase::Failed, "{m:?}");
        // The repeated batch moved nothing twice; what the lost one moved is not counted.
        assert_eq!(
            (m.migrated + lost, m.failed, m.remaining),
            (5, 2, 0),
            "{m:?}"
        );
        let mut listed: Vec<_> = m.failed_identities.iter().map(|f| f.id.clone()).collect();
        listed.sort();
        assert_eq!(listed, bad);
        assert_eq!(m.cursor, None);

        for (n, id) in ids.iter().enumerate() {
            let (schema, traits) = restarted.on_schema(id).await;
            if bad.contains(id) {
                assert_eq!(schema, "v1", "a failed identity stays");
                assert_eq!(traits["email"], people[n].0);
            } else {
                assert_eq!(schema, "v2");
                let first = people[n].1.unwrap().split(' ').next().unwrap();
                assert_eq!(traits["name"], json!({"first": first, "last": "Moved"}));
            }
        }
        assert_eq!(
            restarted.condition("people-v1", "Superseded"),
            Some((ConditionStatus::True, "FailedIdentitiesRemain".into()))
        );
        assert_eq!(
            restarted.condition("people-v2", "Reconciling"),
            Some((ConditionStatus::False, "MigrationFailed".into()))
        );
        let reasons = restarted.reasons();
        for reason in [
            "MigrationStarted",
            "MigrationDryRunDone",
            "MigrationFailed",
            "Superseded",
        ] {
            assert!(
                reasons.iter().any(|r| r == reason),
                "no {reason} event in {reasons:?}"
            );
        }

        // Ended: later passes send nothing, and the server controller keeps `Superseded`.
        restarted.fake.clear_log();
        assert_eq!(
            restarted.reconcile().await,
            Action::requeue(restarted.ctx.resync)
        );
        reconcile_server(&restarted.fake, &restarted.ctx).await;
        assert!(restarted.migration_calls().is_empty());
        assert!(restarted.condition("people-v1", "Superseded").is_some());
        assert!(
            restarted
                .fake
                .get::<IdentitySchema>(NS, "people-v1")
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn without_failures_the_migration_completes_and_retires_the_old_schema() {
    within(async {
        let people = [
            ("ada@example.com", Some("Ada Lovelace")),
            ("alan@example.com", Some("Alan Turing")),
            ("grace@example.com", Some("Grace Hopper")),
        ];
        let (w, ids) = world(&people, v2("v1", Some(TRANSFORM))).await;
        let passes = w.run_to_end().await;
        let m = w.migration();
        assert_eq!(m.phase, MigrationPhase::Completed, "{m:?}");
        assert_eq!((m.migrated, m.failed, m.remaining), (3, 0, 0));
        // Two dry-run batches, two batches moving: one batch per pass at this pacing.
        assert_eq!(passes, 4);
        for id in &ids {
            assert_eq!(w.on_schema(id).await.0, "v2");
        }
        assert_eq!(
            w.condition("people-v1", "Superseded"),
            Some((ConditionStatus::True, "AllMigrated".into()))
        );
        assert!(w.reasons().iter().any(|r| r == "MigrationCompleted"));
    })
    .await;
}

#[tokio::test]
async fn bad_succession_is_refused_before_anything_moves() {
    within(async {
        let broken = "function(ctx) { traits: ctx.identity.traits + }";
        let cases = [
            (v2("v0", None), "SupersededSchemaNotFound"),
            (v2("v2", None), "InvalidSupersedes"),
            (v2("v1", Some(broken)), "InvalidTransform"),
        ];
        for (new, reason) in cases {
            let (w, ids) = world(&[("ada@example.com", Some("Ada Lovelace"))], new).await;
            assert_eq!(
                w.condition("people-v2", "Accepted"),
                Some((ConditionStatus::False, reason.into()))
            );
            w.reconcile().await;
            assert!(w.migration_calls().is_empty(), "{reason}: nothing is sent");
            assert!(w.schema("people-v2").status.unwrap().migration.is_none());
            assert_eq!(w.on_schema(&ids[0]).await.0, "v1");
        }
        // A new schema that is itself invalid is refused as any schema is.
        let mut invalid = v2("v1", None);
        invalid.spec.schema = "{\"type\": 12}".into();
        let (w, _) = world(&[], invalid).await;
        assert_eq!(
            w.condition("people-v2", "Accepted").map(|c| c.0),
            Some(ConditionStatus::False)
        );
        w.reconcile().await;
        assert!(w.migration_calls().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_schema_on_another_server_cannot_be_superseded() {
    within(async {
        let (w, _) = world(&[], v2("other-v1", None)).await;
        let mut elsewhere = versioned("other-v1", "other-v1", V1, 5);
        elsewhere.spec.server_ref.name = "other".into();
        w.fake.put(&elsewhere);
        reconcile_server(&w.fake, &w.ctx).await;
        assert_eq!(
            w.condition("people-v2", "Accepted"),
            Some((ConditionStatus::False, "SupersededSchemaNotFound".into()))
        );
    })
    .await;
}

#[tokio::test]
async fn a_server_killed_in_the_middle_of_a_batch_leaves_no_identity_half_moved() {
    within(async {
        let people: Vec<(String, String)> = (0..300)
            .map(|n| (format!("p{n}@example.com"), format!("Person{n} Number{n}")))
            .collect();
        let listed: Vec<(&str, Option<&str>)> = people
            .iter()
            .map(|(email, name)| (email.as_str(), Some(name.as_str())))
            .collect();
        let (mut w, ids) = world(&listed, v2("v1", Some(TRANSFORM))).await;
        // One pass would run the whole dry run and migration, in batches of 100.
        let mut ctx = Arc::try_unwrap(paced(&w.fake)).ok().unwrap();
        ctx.migration.batch_size = 100;
        ctx.migration.batches_per_pass = 100;
        w.ctx = Arc::new(ctx);
        let pass = tokio::spawn(attached::reconcile(
            Arc::new(w.schema("people-v2")),
            w.ctx.clone(),
        ));
        // Once the first writing batch has moved some identities, kill the server at once:
        // it is in the middle of that batch.
        while !w.migration_calls().iter().any(|b| b["dry_run"] == false) {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        while left_on(&w.bia, "v1").await == people.len() as i64 {}
        w.bia.kill();
        assert!(
            pass.await.unwrap().is_err(),
            "the pass ends in an error the controller retries"
        );
        let interrupted = w.migration();
        assert_eq!(interrupted.phase, MigrationPhase::Migrating, "{interrupted:?}");

        w.bia.restart().await;
        let mut moved_before = 0;
        for (n, id) in ids.iter().enumerate() {
            let (schema, traits) = w.on_schema(id).await;
            let email = people[n].0.as_str();
            match schema.as_str() {
                "v1" => assert_eq!(traits, json!({"email": email, "name": people[n].1})),
                "v2" => {
                    moved_before += 1;
                    assert_eq!(traits["name"]["first"], format!("Person{n}"));
                }
                other => panic!("identity on {other}"),
            }
        }
        // Killed mid-batch: some of its identities moved, the rest of it did not.
        eprintln!("{moved_before} of {} had moved when the server was killed", people.len());
        assert!(
            moved_before > 0 && moved_before < 200,
            "{moved_before} identities had moved"
        );

        // The controller's retry: the same stored status, a fresh pass.
        w.run_to_end().await;
        let m = w.migration();
        assert_eq!(m.phase, MigrationPhase::Completed, "{m:?}");
        assert_eq!((m.failed, m.remaining), (0, 0), "{m:?}");
        assert!(m.migrated as usize <= people.len(), "{m:?}");
        for (n, id) in ids.iter().enumerate() {
            let (schema, traits) = w.on_schema(id).await;
            assert_eq!(schema, "v2");
            assert_eq!(
                traits,
                json!({"email": people[n].0, "name": {"first": format!("Person{n}"), "last": "Moved"}})
            );
        }
        assert_eq!(
            w.condition("people-v1", "Superseded"),
            Some((ConditionStatus::True, "AllMigrated".into()))
        );
    })
    .await;
}

/// How many identities are on `schema` (a dry run of one examines none but counts the rest).
async fn left_on(bia: &RealServer, schema: &str) -> i64 {
    let (status, body) = bia
        .admin_call(
            "POST",
            "/admin/bia/schema-migrations",
            Some(
                json!({"from_schema_id": schema, "to_schema_id": "v2", "dry_run": true,
                        "batch_size": 1}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["examined"].as_i64().unwrap() + body["remaining"].as_i64().unwrap()
}

/// The rollout at scale, as the issue measures it: `BIA_ROLLOUT_IDENTITIES` identities
/// (100,000 unless set) moved by the controller at its default pacing, with the progress in
/// status checked after every pass. Slow: run it on its own, with a release server
/// (`BIA_BIN`) and `BIA_OPERATOR_TEST_DB=postgres`; it prints the rate.
#[tokio::test]
#[ignore]
async fn a_rollout_at_scale_reports_progress_after_every_pass() {
    let count: usize = std::env::var("BIA_ROLLOUT_IDENTITIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let bia = RealServer::start_with(&[("v1", V1), ("v2", &v2_body())]).await;
    let seeding = std::time::Instant::now();
    for first in (0..count).step_by(1000) {
        let creates: Vec<Value> = (first..(first + 1000).min(count))
            .map(|n| {
                json!({"create": {"schema_id": "v1", "traits": {
                    "email": format!("p{n}@example.com"), "name": format!("Person{n} Number{n}")}}})
            })
            .collect();
        let (status, body) = bia
            .admin_call(
                "PATCH",
                "/admin/identities",
                Some(json!({"identities": creates})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    eprintln!("seeded {count} identities in {:?}", seeding.elapsed());
    let mut w = serving(bia, v2("v1", Some(TRANSFORM))).await;
    let mut ctx = Arc::try_unwrap(paced(&w.fake)).ok().unwrap();
    ctx.migration = Pacing::default();
    w.ctx = Arc::new(ctx);

    let started = std::time::Instant::now();
    let (mut passes, mut dry_done, mut last) = (0, None, (0, count as i64));
    loop {
        passes += 1;
        w.reconcile().await;
        let m = w.migration();
        match m.phase {
            MigrationPhase::DryRun => continue,
            MigrationPhase::Migrating if dry_done.is_none() => {
                let dry = m.dry_run.clone().unwrap();
                assert_eq!((dry.would_migrate, dry.would_fail), (count as i64, 0));
                dry_done = Some(started.elapsed());
            }
            _ => {}
        }
        // Progress only moves forward, and every identity is counted once.
        assert!(
            m.migrated >= last.0 && m.remaining <= last.1,
            "{m:?} after {last:?}"
        );
        assert_eq!(m.migrated + m.failed + m.remaining, count as i64, "{m:?}");
        last = (m.migrated, m.remaining);
        if m.phase == MigrationPhase::Completed {
            break;
        }
        assert_eq!(m.phase, MigrationPhase::Migrating, "{m:?}");
    }
    let total = started.elapsed();
    let dry = dry_done.unwrap_or_default();
    eprintln!(
        "{count} identities: dry run {dry:?} ({:.0}/s), migration {:?} ({:.0}/s), {passes} passes, \
         {:.0} identities/s end to end",
        count as f64 / dry.as_secs_f64(),
        total - dry,
        count as f64 / (total - dry).as_secs_f64(),
        count as f64 / total.as_secs_f64(),
    );
    assert_eq!(left_on(&w.bia, "v1").await, 0);
    assert_eq!(
        w.condition("people-v1", "Superseded"),
        Some((ConditionStatus::True, "AllMigrated".into()))
    );
}
