//! Identity benchmarks, printed as figures with their goals:
//! identity create/s, list-page latency at 100k identities over the same at 1k
//! (keyset paging, goal <= 1.5), and the idle RSS of `bia serve` (goal <= 30 MiB).
//!
//! Runs on an SQLite file database by default; set `BIA_BENCH_DSN` to measure
//! another database (it must be empty and migrated).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use serde_json::json;

use bia_server::identity::{HashFailure, IdentityDraft, IdentityService, PasswordHasher};
use bia_server::schema::{SchemaHandle, SchemaRegistry, SchemaSource};
use bia_server::store::{Database, Dsn, IdentityQuery, IdentityStore, SqlIdentityStore};
use bia_server::time::SystemClock;

struct NoHasher;

#[async_trait]
impl PasswordHasher for NoHasher {
    async fn hash(&self, _: &str) -> Result<String, HashFailure> {
        Err(HashFailure::Failed("not used".into()))
    }
    fn is_supported(&self, _: &str) -> bool {
        true
    }
    async fn verify(&self, _: &str, _: &str) -> Result<bool, HashFailure> {
        Ok(false)
    }
    fn needs_rehash(&self, _: &str) -> bool {
        false
    }
    fn max_password_bytes(&self) -> Option<usize> {
        None
    }
}

fn schema_url() -> String {
    let schema = json!({"type": "object", "properties": {"traits": {"type": "object", "properties": {
        "email": {"type": "string", "format": "email", "ory.sh/kratos": {
            "credentials": {"password": {"identifier": true}},
            "verification": {"via": "email"}, "recovery": {"via": "email"}}}
    }, "required": ["email"]}}});
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(schema.to_string())
    )
}

async fn seed(service: &IdentityService, from: usize, to: usize, concurrency: usize) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let service = service.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = from + worker;
            while n < to {
                let draft = IdentityDraft {
                    traits: json!({"email": format!("user{n}@bench.example")}),
                    ..IdentityDraft::default()
                };
                service.create(draft).await.unwrap();
                n += concurrency;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    start.elapsed()
}

async fn page_latency(store: &SqlIdentityStore, total: usize) -> Duration {
    // Pages from several places in the key space; median of many runs.
    let mut samples = Vec::new();
    let probes = ["0", "4", "8", "c", "f"];
    for round in 0..40 {
        let prefix = probes[round % probes.len()];
        let after =
            uuid::Uuid::parse_str(&format!("{prefix}0000000-0000-4000-8000-000000000000")).unwrap();
        let start = Instant::now();
        let page = store
            .list(&IdentityQuery {
                page_size: 250,
                after: Some(after),
                ..Default::default()
            })
            .await
            .unwrap();
        samples.push(start.elapsed());
        assert!(!page.identities.is_empty() || total < 250 || prefix == "f");
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn idle_rss_kib() -> Option<u64> {
    let dir = tempfile::tempdir().ok()?;
    let config = dir.path().join("bia.yml");
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let public = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    std::fs::write(
        &config,
        format!(
            "dsn: memory\nsecrets: {{cookie: [a-long-enough-cookie-secret]}}\nserve: {{public: {{port: {public}}}, admin: {{port: {admin}}}}}\nidentity: {{schemas: [{{id: default, url: \"{}\"}}]}}\nlog: {{level: warn}}\n",
            schema_url()
        ),
    )
    .ok()?;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bia"))
        .args(["serve", "-c"])
        .arg(&config)
        .spawn()
        .ok()?;
    let mut rss = None;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        if std::net::TcpStream::connect(("127.0.0.1", admin)).is_ok() {
            std::thread::sleep(Duration::from_millis(500));
            let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
            rss = status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok());
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    rss
}

#[tokio::main]
async fn main() {
    let quick =
        std::env::args().any(|a| a == "--quick") || std::env::var_os("BIA_BENCH_QUICK").is_some();
    let large = if quick { 10_000 } else { 100_000 };
    let dir = tempfile::tempdir().unwrap();
    let dsn = std::env::var("BIA_BENCH_DSN")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let db = Database::connect(&Dsn::parse(&dsn).unwrap()).await.unwrap();
    db.migrate_up().await.unwrap();
    let store = SqlIdentityStore::new(db.clone());
    let registry = SchemaRegistry::load(
        &[SchemaSource {
            id: "default".into(),
            url: schema_url(),
            selectable: false,
        }],
        "default",
    )
    .await
    .unwrap();
    let service = IdentityService::new(
        Arc::new(store.clone()),
        SchemaHandle::new(registry),
        Arc::new(NoHasher),
        Arc::new(SystemClock),
    );

    let elapsed = seed(&service, 0, 1_000, 4).await;
    println!(
        "identity create: {:.0}/s (1,000 identities, schema validation + one transaction each)",
        1_000.0 / elapsed.as_secs_f64()
    );
    let small = page_latency(&store, 1_000).await;
    let elapsed = seed(&service, 1_000, large, 4).await;
    println!(
        "identity create: {:.0}/s ({} more identities)",
        (large - 1_000) as f64 / elapsed.as_secs_f64(),
        large - 1_000
    );
    let big = page_latency(&store, large).await;
    println!(
        "list page (250) latency: {:.2} ms at 1k, {:.2} ms at {}k, ratio {:.2} (goal <= 1.5)",
        small.as_secs_f64() * 1e3,
        big.as_secs_f64() * 1e3,
        large / 1000,
        big.as_secs_f64() / small.as_secs_f64()
    );
    match idle_rss_kib() {
        Some(kib) => println!(
            "bia serve idle RSS: {:.1} MiB (goal <= 30 MiB)",
            kib as f64 / 1024.0
        ),
        None => println!("bia serve idle RSS: could not be measured"),
    }
    db.close().await;
}
