//! The courier: the message store (claims under concurrency, leases,
//! retries, paging), the outbox's recipient checks, the worker, and the
//! admin message endpoints, on SQLite, PostgreSQL and MariaDB.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use bia_server::courier::message::{Attempt, Lease, MessageStatus, NewMessage};
use bia_server::courier::{
    Channel, CourierError, Deliver, DeliveryError, Outbox, Outgoing, Render, Rendered, SqlOutbox,
    TemplateType, Worker, WorkerSettings,
};
use bia_server::store::{AttemptRecord, CourierStore, Database, MessageQuery, SqlCourierStore};
use bia_server::time::Clock;

use crate::on_every_backend;
use crate::support::{Kind, TestDb, TestServer};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
}

fn secs(n: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(n)
}

/// A clock that stands still until moved.
struct StepClock(Mutex<DateTime<Utc>>);

impl StepClock {
    fn new() -> Arc<Self> {
        Arc::new(Self(Mutex::new(t0())))
    }
    fn advance(&self, by: chrono::TimeDelta) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for StepClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn new_message(recipient: &str, created_at: DateTime<Utc>) -> NewMessage {
    NewMessage {
        id: Uuid::new_v4(),
        channel: Channel::Email,
        recipient: recipient.to_owned(),
        subject: "Your code".into(),
        body: "Code: 123456".into(),
        html: Some("<p>Code: <b>123456</b></p>".into()),
        template_type: "recovery_code_valid".into(),
        template_data: json!({"To": recipient, "RecoveryCode": "123456"}),
        created_at,
    }
}

fn lease(until: DateTime<Utc>) -> Lease {
    Lease {
        owner: Uuid::new_v4(),
        until,
    }
}

async fn store_on(db: &TestDb) -> (Database, SqlCourierStore) {
    let database = db.migrated().await;
    (database.clone(), SqlCourierStore::new(database))
}

async fn claims_are_exclusive_between_concurrent_workers(kind: Kind) {
    let db = TestDb::create(kind).await;
    let (first_db, first) = store_on(&db).await;
    let second_db = Database::connect(&bia_server::store::Dsn::parse(&db.dsn).unwrap())
        .await
        .unwrap();
    let second = SqlCourierStore::new(second_db.clone());
    let mut queued = BTreeSet::new();
    for n in 0..60 {
        let message = new_message(&format!("user{n}@example.com"), t0());
        first.queue(&message).await.unwrap();
        queued.insert(message.id);
    }
    let drain = |store: SqlCourierStore| async move {
        let mut mine = Vec::new();
        loop {
            let batch = store.claim(7, &lease(t0() + secs(60)), t0()).await.unwrap();
            if batch.is_empty() {
                return mine;
            }
            assert!(batch.iter().all(|m| m.status == MessageStatus::Processing));
            mine.extend(batch.into_iter().map(|m| m.id));
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(drain(first)), tokio::spawn(drain(second)));
    let (a, b) = (a.unwrap(), b.unwrap());
    let all: BTreeSet<Uuid> = a.iter().chain(b.iter()).copied().collect();
    assert_eq!(a.len() + b.len(), 60, "no message claimed twice");
    assert_eq!(all, queued, "every message claimed");
    first_db.close().await;
    second_db.close().await;
    db.drop_database().await;
}

async fn an_ended_lease_lets_another_worker_claim_again(kind: Kind) {
    let db = TestDb::create(kind).await;
    let (database, store) = store_on(&db).await;
    let message = new_message("a@example.com", t0());
    store.queue(&message).await.unwrap();
    let dead = lease(t0() + secs(60));
    assert_eq!(store.claim(10, &dead, t0()).await.unwrap().len(), 1);
    // Held while the lease lasts.
    let early = lease(t0() + secs(90));
    assert!(
        store
            .claim(10, &early, t0() + secs(30))
            .await
            .unwrap()
            .is_empty()
    );
    // The first worker died: once its lease ends, another takes over.
    let next = lease(t0() + secs(121));
    let again = store.claim(10, &next, t0() + secs(61)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, message.id);
    // The dead worker's late report is logged but changes nothing.
    let late = store
        .record(&AttemptRecord {
            id: message.id,
            lease: &dead,
            attempt: &Attempt::Sent,
            now: t0() + secs(62),
        })
        .await;
    assert!(!late.unwrap());
    assert!(
        store
            .record(&AttemptRecord {
                id: message.id,
                lease: &next,
                attempt: &Attempt::Sent,
                now: t0() + secs(63)
            })
            .await
            .unwrap()
    );
    let (stored, dispatches) = store.get(message.id).await.unwrap().unwrap();
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.send_count, 1);
    assert_eq!(dispatches.len(), 2);
    assert!(
        store
            .claim(10, &lease(t0() + secs(999)), t0() + secs(500))
            .await
            .unwrap()
            .is_empty()
    );
    database.close().await;
    db.drop_database().await;
}

/// A delivery that fails (or succeeds) as told, counting its calls.
struct Scripted {
    fail: Option<DeliveryError>,
    calls: Mutex<Vec<Uuid>>,
}

#[async_trait]
impl Deliver for Scripted {
    async fn deliver(
        &self,
        message: &bia_server::courier::message::Message,
    ) -> Result<(), DeliveryError> {
        self.calls.lock().unwrap().push(message.id);
        match &self.fail {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }
}

fn settings(retries: u32) -> WorkerSettings {
    WorkerSettings {
        message_retries: retries,
        ..WorkerSettings::default()
    }
}

async fn failed_messages_back_off_and_are_abandoned_after_the_retries(kind: Kind) {
    let db = TestDb::create(kind).await;
    let (database, store) = store_on(&db).await;
    let store = Arc::new(store);
    let clock = StepClock::new();
    let delivery = Arc::new(Scripted {
        fail: Some(DeliveryError::new("550 mailbox unavailable").with_code(Some("550".into()))),
        calls: Mutex::new(Vec::new()),
    });
    let worker =
        Worker::new(store.clone(), delivery.clone(), settings(2)).with_clock(clock.clone());
    let message = new_message("gone@example.com", t0());
    store.queue(&message).await.unwrap();
    assert_eq!(worker.pull_once().await.unwrap(), 1);
    // Backing off: 1 s after the first failure, 2 s after the second.
    assert_eq!(worker.pull_once().await.unwrap(), 0);
    clock.advance(secs(1));
    assert_eq!(worker.pull_once().await.unwrap(), 1);
    clock.advance(secs(1));
    assert_eq!(worker.pull_once().await.unwrap(), 0);
    clock.advance(secs(1));
    assert_eq!(worker.pull_once().await.unwrap(), 1);
    clock.advance(secs(600));
    assert_eq!(worker.pull_once().await.unwrap(), 0, "abandoned is final");
    let (stored, dispatches) = store.get(message.id).await.unwrap().unwrap();
    assert_eq!(stored.status, MessageStatus::Abandoned);
    assert_eq!(stored.send_count, 3);
    assert_eq!(dispatches.len(), 3);
    for dispatch in &dispatches {
        assert_eq!(dispatch.status.as_str(), "failed");
        assert_eq!(
            dispatch.error,
            Some(json!({"message": "550 mailbox unavailable", "code": "550"}))
        );
    }
    assert_eq!(delivery.calls.lock().unwrap().len(), 3);
    database.close().await;
    db.drop_database().await;
}

async fn delivered_messages_are_sent_once(kind: Kind) {
    let db = TestDb::create(kind).await;
    let (database, store) = store_on(&db).await;
    let store = Arc::new(store);
    let clock = StepClock::new();
    let delivery = Arc::new(Scripted {
        fail: None,
        calls: Mutex::new(Vec::new()),
    });
    let worker =
        Worker::new(store.clone(), delivery.clone(), settings(5)).with_clock(clock.clone());
    for n in 0..25 {
        store
            .queue(&new_message(&format!("u{n}@example.com"), t0()))
            .await
            .unwrap();
    }
    let mut total = 0;
    loop {
        let claimed = worker.pull_once().await.unwrap();
        if claimed == 0 {
            break;
        }
        total += claimed;
    }
    assert_eq!(total, 25);
    let calls = delivery.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 25);
    assert_eq!(calls.iter().collect::<BTreeSet<_>>().len(), 25);
    let query = MessageQuery {
        page_size: 100,
        status: Some(MessageStatus::Sent),
        ..MessageQuery::default()
    };
    assert_eq!(store.list(&query).await.unwrap().messages.len(), 25);
    database.close().await;
    db.drop_database().await;
}

async fn listings_page_by_id_and_filter(kind: Kind) {
    let db = TestDb::create(kind).await;
    let (database, store) = store_on(&db).await;
    for n in 0..7 {
        let to = if n % 2 == 0 {
            "even@example.com"
        } else {
            "odd@example.com"
        };
        store.queue(&new_message(to, t0() + secs(n))).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut query = MessageQuery {
        page_size: 3,
        ..MessageQuery::default()
    };
    loop {
        let page = store.list(&query).await.unwrap();
        seen.extend(page.messages.iter().map(|m| m.id));
        if !page.has_more {
            break;
        }
        query.after = page.messages.last().map(|m| m.id);
    }
    assert_eq!(seen.len(), 7);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "ordered by id");
    let even = MessageQuery {
        page_size: 10,
        recipient: Some("even@example.com".into()),
        ..MessageQuery::default()
    };
    let page = store.list(&even).await.unwrap();
    assert_eq!(page.messages.len(), 4);
    assert!(!page.has_more);
    let first = &page.messages[0];
    assert_eq!(first.html.as_deref(), Some("<p>Code: <b>123456</b></p>"));
    assert_eq!(first.template_data["RecoveryCode"], "123456");
    let none = MessageQuery {
        page_size: 10,
        status: Some(MessageStatus::Abandoned),
        ..MessageQuery::default()
    };
    assert!(store.list(&none).await.unwrap().messages.is_empty());
    database.close().await;
    db.drop_database().await;
}

/// Renders every message the same way, as the template engine would.
struct FixedRender;

impl Render for FixedRender {
    fn render(&self, message: &Outgoing) -> Result<Rendered, CourierError> {
        Ok(Rendered {
            subject: format!("Code for\r\n{}", message.recipient),
            body: format!("Your code: {}", message.data["RecoveryCode"]),
            html: None,
        })
    }
}

async fn the_outbox_refuses_hostile_recipients_and_queues_rendered_mail(kind: Kind) {
    let db = TestDb::create(kind).await;
    let (database, store) = store_on(&db).await;
    let store = Arc::new(store);
    let outbox = SqlOutbox::new(store.clone(), Arc::new(FixedRender)).with_clock(StepClock::new());
    let outgoing = |recipient: &str| Outgoing {
        template: TemplateType::RecoveryCodeValid,
        channel: Channel::Email,
        recipient: recipient.to_owned(),
        data: json!({"RecoveryCode": "424242", "To": recipient}),
    };
    let long = format!("{}@example.com", "x".repeat(300));
    for hostile in [
        "a@example.com\r\nBcc: victim@example.com",
        "a@example.com\nSubject: pwned",
        "a@example.com\u{0}",
        "",
        long.as_str(),
        "Mallory <a@example.com>",
    ] {
        let refused = outbox.queue(outgoing(hostile)).await;
        assert!(
            matches!(refused, Err(CourierError::InvalidRecipient(_))),
            "{hostile:?}: {refused:?}"
        );
    }
    let id = outbox.queue(outgoing("ok@example.com")).await.unwrap();
    let page = store
        .list(&MessageQuery {
            page_size: 10,
            ..MessageQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1, "nothing hostile was stored");
    let (message, _) = store.get(id).await.unwrap().unwrap();
    assert_eq!(message.status, MessageStatus::Queued);
    assert_eq!(message.subject, "Code for  ok@example.com");
    assert_eq!(message.body, "Your code: \"424242\"");
    assert_eq!(message.template_type, "recovery_code_valid");
    database.close().await;
    db.drop_database().await;
}

async fn queue_on_server(server: &TestServer, messages: &[NewMessage]) {
    let db = server.db.as_ref().unwrap();
    let database = Database::connect(&bia_server::store::Dsn::parse(&db.dsn).unwrap())
        .await
        .unwrap();
    let store = SqlCourierStore::new(database.clone());
    // The first one has failed once already.
    let (first, rest) = messages.split_first().unwrap();
    store.queue(first).await.unwrap();
    let held = lease(t0() + secs(60));
    assert_eq!(
        store.claim(1, &held, t0() + secs(10)).await.unwrap().len(),
        1
    );
    let error = Attempt::Retry {
        error: json!({"message": "connection refused"}),
        at: t0() + secs(3600),
    };
    assert!(
        store
            .record(&AttemptRecord {
                id: first.id,
                lease: &held,
                attempt: &error,
                now: t0() + secs(11)
            })
            .await
            .unwrap()
    );
    for message in rest {
        store.queue(message).await.unwrap();
    }
    database.close().await;
}

fn link(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn admin_lists_and_gets_messages_in_kratos_shape(kind: Kind) {
    let server = TestServer::start(kind).await;
    let messages: Vec<NewMessage> = (0..5)
        .map(|n| {
            new_message(
                if n < 3 {
                    "a@example.com"
                } else {
                    "b@example.com"
                },
                t0() + secs(n),
            )
        })
        .collect();
    queue_on_server(&server, &messages).await;
    let response = server
        .http
        .get(format!(
            "{}/admin/courier/messages?page_size=2&recipient=a%40example.com",
            server.admin
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let links = link(response.headers());
    let page: Vec<Value> = response.json().await.unwrap();
    assert_eq!(page.len(), 2);
    assert!(
        links.contains("recipient=a%40example.com&page_size=2&page_token="),
        "{links}"
    );
    for message in &page {
        for field in [
            "id",
            "status",
            "type",
            "channel",
            "recipient",
            "body",
            "subject",
            "template_type",
            "send_count",
            "created_at",
            "updated_at",
        ] {
            assert!(message.get(field).is_some(), "{field} in {message}");
        }
        assert!(message.get("dispatches").is_none());
        assert!(message.get("html_body").is_none());
        assert_eq!(message["recipient"], "a@example.com");
    }
    let (status, all) = server.get("/admin/courier/messages?status=queued").await;
    assert_eq!(status, 200);
    assert_eq!(all.as_array().unwrap().len(), 5);
    let (_, none) = server.get("/courier/messages?status=sent").await;
    assert_eq!(none, json!([]));

    let first = messages[0].id;
    let (status, one) = server
        .get(&format!("/admin/courier/messages/{first}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(one["id"], first.to_string());
    assert_eq!(one["type"], "email");
    assert_eq!(one["channel"], "email");
    assert_eq!(one["status"], "queued");
    assert_eq!(one["send_count"], 1);
    assert_eq!(one["template_type"], "recovery_code_valid");
    let dispatches = one["dispatches"].as_array().unwrap();
    assert_eq!(dispatches.len(), 1);
    assert_eq!(dispatches[0]["status"], "failed");
    assert_eq!(dispatches[0]["message_id"], first.to_string());
    assert_eq!(dispatches[0]["error"]["message"], "connection refused");
    server.stop().await;
}

async fn admin_message_endpoints_refuse_hostile_input(kind: Kind) {
    let server = TestServer::start(kind).await;
    let (status, body) = server
        .get(&format!("/admin/courier/messages/{}", Uuid::new_v4()))
        .await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!(404)));
    assert_eq!(body["error"]["message"], "Unable to locate the resource");
    assert_eq!(body["error"]["status"], "Not Found");
    let (status, body) = server.get("/admin/courier/messages/not-a-uuid").await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(400)));
    assert_eq!(body["error"]["status"], "Bad Request");
    for query in [
        "page_token=nope",
        "page_token=%00%0d%0a",
        "status=delivered",
        "status=queued%0d%0aX:%20y",
        "page_size=abc",
    ] {
        let (status, body) = server
            .get(&format!("/admin/courier/messages?{query}"))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], 400, "{query}");
    }
    let long = "a".repeat(1000);
    let (status, _) = server
        .get(&format!(
            "/admin/courier/messages?recipient={long}%40example.com"
        ))
        .await;
    assert_eq!(status, 400);
    let (status, body) = server
        .get("/admin/courier/messages?recipient=a%40example.com%0d%0aBcc:%20b%40example.com")
        .await;
    assert_eq!((status, body), (200, json!([])));
    server.stop().await;
}

/// Kratos's recorded answers for the message endpoint's errors, when the
/// reference is present: the same code, status and (for 404) message.
#[tokio::test]
async fn message_errors_match_kratos_snapshots() {
    let dir = std::env::var("BIA_KRATOS_REFERENCE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/kratos")
        })
        .join("snapshots/courier");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no Kratos reference at {}; skipped", dir.display());
        return;
    };
    let server = TestServer::start(Kind::Sqlite).await;
    let mut compared = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with("endpoint=admin.json") {
            continue;
        }
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let id = if name.contains("malformed") {
            "not-a-uuid".to_owned()
        } else {
            Uuid::new_v4().to_string()
        };
        let (status, body) = server.get(&format!("/admin/courier/messages/{id}")).await;
        assert_eq!(json!(status), expected["error"]["code"], "{name}");
        assert_eq!(body["error"]["code"], expected["error"]["code"], "{name}");
        assert_eq!(
            body["error"]["status"], expected["error"]["status"],
            "{name}"
        );
        if status == 404 {
            assert_eq!(
                body["error"]["message"], expected["error"]["message"],
                "{name}"
            );
        }
        compared += 1;
    }
    assert_eq!(compared, 2);
    server.stop().await;
}

on_every_backend!(
    claims_are_exclusive_between_concurrent_workers,
    an_ended_lease_lets_another_worker_claim_again,
    failed_messages_back_off_and_are_abandoned_after_the_retries,
    delivered_messages_are_sent_once,
    listings_page_by_id_and_filter,
    the_outbox_refuses_hostile_recipients_and_queues_rendered_mail,
    admin_lists_and_gets_messages_in_kratos_shape,
    admin_message_endpoints_refuse_hostile_input,
);

/// What the HTTP endpoint received, and the status it answers.
#[derive(Default)]
pub struct Endpoint {
    pub requests: Mutex<Vec<(axum::http::HeaderMap, Value)>>,
    pub status: std::sync::atomic::AtomicU16,
}

/// Serves `endpoint` on loopback at `/sms` and `/mail`; returns its base URL.
pub async fn serve_endpoint(endpoint: Arc<Endpoint>) -> String {
    use axum::extract::State;
    async fn receive(
        State(endpoint): State<Arc<Endpoint>>,
        headers: axum::http::HeaderMap,
        axum::Json(body): axum::Json<Value>,
    ) -> axum::http::StatusCode {
        endpoint.requests.lock().unwrap().push((headers, body));
        let status = endpoint.status.load(std::sync::atomic::Ordering::SeqCst);
        axum::http::StatusCode::from_u16(status).unwrap()
    }
    let app = axum::Router::new()
        .route("/sms", axum::routing::post(receive))
        .route("/mail", axum::routing::post(receive))
        .with_state(endpoint);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_and_http_email_are_posted_with_auth_and_a_refusal_is_a_failed_attempt() {
    crate::support::use_bia_evaluator();
    let db = TestDb::create(Kind::Sqlite).await;
    let (database, store) = store_on(&db).await;
    let store = Arc::new(store);
    let endpoint = Arc::new(Endpoint::default());
    endpoint
        .status
        .store(202, std::sync::atomic::Ordering::SeqCst);
    let url = serve_endpoint(endpoint.clone()).await;
    // The email body program: `function(ctx) {to: ctx.recipient, code: ctx.template_data.RecoveryCode}`.
    let program = "function(ctx) {to: ctx.recipient, code: ctx.template_data.RecoveryCode}";
    let config: bia_config::CourierConfig = serde_json::from_value(json!({
        "delivery_strategy": "http",
        "http": {"request_config": {
            "url": format!("{url}/mail"),
            "body": format!("base64://{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, program)),
            "auth": {"type": "basic_auth", "config": {"user": "bia", "password": "s3cret"}}
        }},
        "channels": [{"id": "sms", "type": "http", "request_config": {
            "url": format!("{url}/sms"),
            "headers": {"X-Tenant": "t1"},
            "auth": {"type": "api_key", "config": {"name": "X-Api-Key", "value": "k3y", "in": "header"}}
        }}]
    }))
    .unwrap();
    bia_server::courier::delivery::check(&config).unwrap();
    let delivery = bia_server::courier::Dispatcher::from_config(&config)
        .await
        .unwrap();
    let clock = StepClock::new();
    let worker =
        Worker::new(store.clone(), Arc::new(delivery), settings(1)).with_clock(clock.clone());
    let mut sms = new_message("+4915112345678", t0());
    sms.channel = Channel::Sms;
    sms.subject = String::new();
    sms.body = "Your code: 123456".into();
    sms.html = None;
    store.queue(&sms).await.unwrap();
    let mail = new_message("someone@example.com", t0());
    store.queue(&mail).await.unwrap();
    assert_eq!(worker.pull_once().await.unwrap(), 2);
    let requests = std::mem::take(&mut *endpoint.requests.lock().unwrap());
    assert_eq!(requests.len(), 2);
    let (sms_headers, sms_body) = requests
        .iter()
        .find(|(h, _)| h.contains_key("x-api-key"))
        .unwrap();
    assert_eq!(sms_headers["x-api-key"], "k3y");
    assert_eq!(sms_headers["x-tenant"], "t1");
    assert_eq!(sms_body["to"], "+4915112345678");
    assert_eq!(sms_body["recipient"], "+4915112345678");
    assert_eq!(sms_body["body"], "Your code: 123456");
    assert_eq!(sms_body["template_type"], "recovery_code_valid");
    assert_eq!(sms_body["RecoveryCode"], "123456");
    let (mail_headers, mail_body) = requests
        .iter()
        .find(|(h, _)| !h.contains_key("x-api-key"))
        .unwrap();
    assert!(
        mail_headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!(
        mail_body,
        &json!({"to": "someone@example.com", "code": "123456"})
    );
    for id in [sms.id, mail.id] {
        assert_eq!(
            store.get(id).await.unwrap().unwrap().0.status,
            MessageStatus::Sent
        );
    }

    // A refusal is a failed attempt, with the status in the log.
    endpoint
        .status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    let mut again = new_message("+4915100000000", t0());
    again.channel = Channel::Sms;
    store.queue(&again).await.unwrap();
    assert_eq!(worker.pull_once().await.unwrap(), 1);
    let (stored, dispatches) = store.get(again.id).await.unwrap().unwrap();
    assert_eq!(stored.status, MessageStatus::Queued);
    assert_eq!(dispatches[0].error.as_ref().unwrap()["code"], "503");
    let logged = dispatches[0].error.as_ref().unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        logged.contains("503") && !logged.contains("k3y"),
        "{logged}"
    );
    clock.advance(secs(1));
    assert_eq!(worker.pull_once().await.unwrap(), 1);
    assert_eq!(
        store.get(again.id).await.unwrap().unwrap().0.status,
        MessageStatus::Abandoned
    );
    database.close().await;
    db.drop_database().await;
}
