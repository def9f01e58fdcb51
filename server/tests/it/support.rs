//! Test fixtures: a fresh database per test on each backend, and a running server.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use uuid::Uuid;

use bia_server::app::{App, ServeOptions};
use bia_server::config::{self, Mode};
use bia_server::store::{Database, Dsn};

/// The three database kinds every store and API test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    pub dsn: String,
    kind: Kind,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

fn postgres_server() -> String {
    std::env::var("BIA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn mysql_server() -> String {
    std::env::var("BIA_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

async fn admin_exec(kind: Kind, statement: &str) {
    sqlx::any::install_default_drivers();
    let url = match kind {
        Kind::Postgres => format!("{}/postgres", postgres_server()),
        Kind::MySql => format!("{}/", mysql_server()),
        Kind::Sqlite => return,
    };
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the {kind:?} test server at {url}: {e}"));
    sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(statement.to_owned()))
        .await
        .unwrap();
    let _ = sqlx::Connection::close(conn).await;
}

impl TestDb {
    pub async fn create(kind: Kind) -> Self {
        let name = format!("bia_test_{}", Uuid::new_v4().simple());
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let dsn = format!("sqlite://{}/bia.db?_fk=true", dir.path().display());
                Self {
                    dsn,
                    kind,
                    name,
                    _dir: Some(dir),
                }
            }
            Kind::Postgres => {
                admin_exec(kind, &format!("CREATE DATABASE {name}")).await;
                let dsn = format!("{}/{name}?sslmode=disable", postgres_server());
                Self {
                    dsn,
                    kind,
                    name,
                    _dir: None,
                }
            }
            Kind::MySql => {
                admin_exec(
                    kind,
                    &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
                )
                .await;
                // The Go driver form Kratos users write.
                let server = mysql_server().replace("mysql://", "");
                let (userinfo, host) = server.split_once('@').unwrap();
                let dsn = format!("mysql://{userinfo}@tcp({host})/{name}?parseTime=true");
                Self {
                    dsn,
                    kind,
                    name,
                    _dir: None,
                }
            }
        }
    }

    /// A migrated database handle.
    pub async fn migrated(&self) -> Database {
        let db = Database::connect(&Dsn::parse(&self.dsn).unwrap())
            .await
            .unwrap();
        db.migrate_up().await.unwrap();
        db
    }

    pub async fn drop_database(self) {
        match self.kind {
            Kind::Sqlite => {}
            Kind::Postgres => {
                admin_exec(
                    self.kind,
                    &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                )
                .await
            }
            Kind::MySql => {
                admin_exec(self.kind, &format!("DROP DATABASE IF EXISTS {}", self.name)).await
            }
        }
    }
}

/// Runs an async test body once per backend, each on a fresh database.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::support::Kind;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() { super::$name(Kind::Sqlite).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() { super::$name(Kind::Postgres).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() { super::$name(Kind::MySql).await }
            }
        )*
    };
}

pub fn email_schema() -> Value {
    json!({
        "$id": "https://example.test/email.schema.json",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Person",
        "type": "object",
        "properties": {"traits": {"type": "object", "properties": {
            "email": {"type": "string", "format": "email", "minLength": 3,
                "ory.sh/kratos": {
                    "credentials": {"password": {"identifier": true}, "code": {"identifier": true, "via": "email"}},
                    "verification": {"via": "email"},
                    "recovery": {"via": "email"}
                }},
            "name": {"type": "object", "properties": {"first": {"type": "string"}, "last": {"type": "string"}}}
        }, "required": ["email"], "additionalProperties": false}}
    })
}

pub fn username_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"traits": {"type": "object", "properties": {
            "username": {"type": "string", "minLength": 2,
                "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}},
            "emails": {"type": "array", "items": {"type": "string", "format": "email",
                "ory.sh/kratos": {"verification": {"via": "email"}}}}
        }, "required": ["username"]}}
    })
}

pub fn base64_url(value: &Value) -> String {
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(value.to_string())
    )
}

/// Jsonnet programs run in `bia jsonnet-eval` processes; the test binary
/// is not `bia`, so it names the one cargo built.
pub fn use_bia_evaluator() {
    bia_server::hook::jsonnet::set_evaluator(env!("CARGO_BIN_EXE_bia").into());
}

/// A running server on loopback ports, with its database.
pub struct TestServer {
    pub public: String,
    pub admin: String,
    pub http: reqwest::Client,
    pub db: Option<TestDb>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(kind: Kind) -> Self {
        Self::start_with(kind, json!({})).await
    }

    pub async fn start_with(kind: Kind, extra: Value) -> Self {
        Self::start_with_options(kind, extra, ServeOptions::default()).await
    }

    /// A server with `extra` config and the given serve options (e.g. its
    /// own courier worker).
    pub async fn start_with_options(kind: Kind, extra: Value, options: ServeOptions) -> Self {
        use_bia_evaluator();
        let db = TestDb::create(kind).await;
        db.migrated().await.close().await;
        let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let public_url = format!("http://{}/", public.local_addr().unwrap());
        let admin_url = format!("http://{}/", admin.local_addr().unwrap());
        let mut tree = json!({
            "dsn": db.dsn,
            "serve": {
                "public": {"base_url": public_url, "port": public.local_addr().unwrap().port()},
                "admin": {"base_url": admin_url, "port": admin.local_addr().unwrap().port()}
            },
            "secrets": {"cookie": ["a-cookie-secret-for-tests-only"]},
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
            // No breach lookups unless a test serves its own range API.
            "selfservice": {"methods": {"password": {"config": {"haveibeenpwned_enabled": false}}}},
            "identity": {
                "default_schema_id": "default",
                "schemas": [
                    {"id": "default", "url": base64_url(&email_schema())},
                    {"id": "username", "url": base64_url(&username_schema())}
                ]
            }
        });
        config::merge(&mut tree, extra);
        let loaded = config::from_tree(tree, Mode::default()).unwrap();
        let app = App::build(loaded.config, options).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_on(public, admin, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let server = Self {
            public: public_url.trim_end_matches('/').to_owned(),
            admin: admin_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            db: Some(db),
            stop: Some(stop),
            task: Some(task),
        };
        server.wait_ready().await;
        server
    }

    pub async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(r) = self
                .http
                .get(format!("{}/health/ready", self.admin))
                .send()
                .await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("server did not become ready");
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        if let Some(db) = self.db.take() {
            db.drop_database().await;
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.admin))
            .json(&body)
            .send()
            .await
            .unwrap();
        split(r).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .put(format!("{}{path}", self.admin))
            .json(&body)
            .send()
            .await
            .unwrap();
        split(r).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .patch(format!("{}{path}", self.admin))
            .json(&body)
            .send()
            .await
            .unwrap();
        split(r).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_from(&self.admin, path).await
    }

    /// GET on either listener (`base` is `self.public` or `self.admin`).
    pub async fn get_from(&self, base: &str, path: &str) -> (u16, Value) {
        let r = self.http.get(format!("{base}{path}")).send().await.unwrap();
        split(r).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .delete(format!("{}{path}", self.admin))
            .send()
            .await
            .unwrap();
        split(r).await
    }
}

pub async fn split(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Asserts the Kratos error envelope with a status code.
pub fn assert_error(status: u16, body: &Value, expected: u16) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], expected, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["status"].is_string(), "{body}");
}
