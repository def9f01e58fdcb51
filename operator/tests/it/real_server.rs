//! A real `bia` server process, for scenarios where the operator talks to the admin API:
//! the fake API server's Service proxy forwards to it.
//!
//! The binary is `$BIA_BIN`, else `bia` next to this test's own target directory
//! (`cargo build -p bia-server` puts it there). The database is SQLite unless
//! `BIA_OPERATOR_TEST_DB` is `postgres` (a fresh database on `$BIA_TEST_POSTGRES`) or
//! `mysql` (on `$BIA_TEST_MYSQL`), created with `psql` / `mysql` and dropped afterwards.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// The identity schema of the scenarios: the email is the password identifier.
pub const SCHEMA: &str = r#"{
  "$id": "https://schemas.example.com/declared.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {"type": "string", "format": "email",
                  "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}},
        "name": {"type": "string"}
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}"#;

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("BIA_BIN") {
        return path.into();
    }
    // target/debug/deps/it-<hash> → target/debug/bia
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("bia");
    assert!(
        path.exists(),
        "no bia binary at {}: run `cargo build -p bia-server` or set BIA_BIN",
        path.display()
    );
    path
}

fn serve(config: &std::path::Path) -> Child {
    Command::new(binary())
        .args(["serve", "-c"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A database made for one server, dropped with it.
struct TestDatabase {
    dsn: String,
    drop: Option<Command>,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.into())
}

fn run(mut command: Command) {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{command:?}: {out:?}");
}

impl TestDatabase {
    fn create(dir: &std::path::Path) -> Self {
        let name = format!("bia_op_{}_{}", std::process::id(), free_port());
        match env_or("BIA_OPERATOR_TEST_DB", "sqlite").as_str() {
            "postgres" => {
                let base = env_or("BIA_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432");
                let psql = |sql: String| {
                    let mut c = Command::new("psql");
                    c.args(["-X", "-q", &format!("{base}/postgres"), "-c", &sql]);
                    c
                };
                run(psql(format!("CREATE DATABASE {name}")));
                Self {
                    dsn: format!("{base}/{name}?sslmode=disable"),
                    drop: Some(psql(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))),
                }
            }
            "mysql" => {
                let base = env_or("BIA_TEST_MYSQL", "mysql://root@127.0.0.1:3306");
                let (user, host) = base.trim_start_matches("mysql://").split_once('@').unwrap();
                let (address, port) = host.split_once(':').unwrap_or((host, "3306"));
                let mysql = |sql: String| {
                    let mut c = Command::new("mysql");
                    c.args(["-h", address, "-P", port, "-u", user, "-e", &sql]);
                    c
                };
                run(mysql(format!(
                    "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                )));
                Self {
                    dsn: format!("mysql://{user}@tcp({host})/{name}?parseTime=true"),
                    drop: Some(mysql(format!("DROP DATABASE IF EXISTS {name}"))),
                }
            }
            _ => Self {
                dsn: format!("sqlite://{}?mode=rwc", dir.join("bia.sqlite").display()),
                drop: None,
            },
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(command) = &mut self.drop {
            let _ = command.output();
        }
    }
}

/// A running server; killed on drop.
pub struct RealServer {
    child: Child,
    config: PathBuf,
    _database: TestDatabase,
    _dir: tempfile::TempDir,
    /// Admin API base URL, without a trailing slash.
    pub admin: String,
    /// Public API base URL, without a trailing slash.
    pub public: String,
    http: reqwest::Client,
}

impl Drop for RealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RealServer {
    /// Migrates a fresh database and starts the server on free ports, serving [`SCHEMA`]
    /// as `default`.
    pub async fn start() -> Self {
        Self::start_with(&[("default", SCHEMA)]).await
    }

    /// As [`RealServer::start`], serving these (id, JSON Schema) pairs; the first is the
    /// default.
    pub async fn start_with(schemas: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut listed = Vec::new();
        for (id, body) in schemas {
            let path = dir.path().join(format!("{id}.schema.json"));
            std::fs::write(&path, body).unwrap();
            listed.push(json!({"id": id, "url": format!("file://{}", path.display())}));
        }
        let database = TestDatabase::create(dir.path());
        let (public, admin) = (free_port(), free_port());
        let config = json!({
            "dsn": database.dsn,
            "serve": {
                "public": {"port": public, "base_url": format!("http://127.0.0.1:{public}/")},
                "admin": {"port": admin, "base_url": format!("http://127.0.0.1:{admin}/")}
            },
            "secrets": {"cookie": ["a-cookie-secret-for-operator-tests"]},
            "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
            "selfservice": {"methods": {"password": {"enabled": true,
                "config": {"haveibeenpwned_enabled": false}}}},
            "identity": {"default_schema_id": schemas[0].0, "schemas": listed}
        });
        let path = dir.path().join("bia.yml");
        std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
        let migrated = Command::new(binary())
            .args(["migrate", "sql", "--yes", "-c"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(migrated.status.success(), "{migrated:?}");
        let server = Self {
            child: serve(&path),
            config: path,
            _database: database,
            _dir: dir,
            admin: format!("http://127.0.0.1:{admin}"),
            public: format!("http://127.0.0.1:{public}"),
            http: reqwest::Client::new(),
        };
        server.wait_ready().await;
        server
    }

    /// Kills the process at once (SIGKILL: no graceful shutdown), whatever it is doing.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Starts the server again on the same configuration, database and ports.
    pub async fn restart(&mut self) {
        self.child = serve(&self.config);
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(r) = self
                .http
                .get(format!("{}/health/ready", self.admin))
                .send()
                .await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("bia did not become ready");
    }

    /// `GET /admin/identities/{id}`: (status, body).
    pub async fn identity(&self, id: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/admin/identities/{id}", self.admin))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Every identity in the server.
    pub async fn identities(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/admin/identities", self.admin))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Sends an admin API request and returns (status, body).
    pub async fn admin_call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.admin));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Signs in through the public API's native login flow; `true` when a session results.
    pub async fn signs_in(&self, identifier: &str, password: &str) -> bool {
        let flow: Value = self
            .http
            .get(format!("{}/self-service/login/api", self.public))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = flow["id"].as_str().unwrap();
        let r = self
            .http
            .post(format!("{}/self-service/login?flow={id}", self.public))
            .json(&json!({"method": "password", "identifier": identifier, "password": password}))
            .send()
            .await
            .unwrap();
        let ok = r.status().is_success();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        ok && body["session_token"].is_string()
    }
}
