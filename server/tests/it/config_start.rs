//! The `bia` binary: starting from config files, refusing bad ones, migrations,
//! readiness while the database is away, and graceful shutdown.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

fn bia() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bia"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn reference(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/kratos")
        .join(path)
}

async fn wait_for(url: &str, status: u16) -> bool {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.get(url).send().await
            && r.status().as_u16() == status
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn terminate(child: &mut Running) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.0.id().to_string())
        .status();
    for _ in 0..100 {
        if let Ok(Some(status)) = child.0.try_wait() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not stop on SIGTERM");
}

#[tokio::test]
async fn the_quickstart_config_starts_unchanged() {
    let config = reference("quickstart-email-password/kratos.yml");
    if !config.exists() {
        eprintln!("reference config not present; skipping");
        return;
    }
    // The quickstart points at the schema where its container mounts it.
    std::fs::create_dir_all("/etc/config/kratos").unwrap();
    std::fs::copy(
        reference("quickstart-email-password/identity.schema.json"),
        "/etc/config/kratos/identity.schema.json",
    )
    .unwrap();
    let (public, admin) = (free_port(), free_port());
    let mut child = Running(
        bia()
            .args(["serve", "-c"])
            .arg(&config)
            .env("SERVE_PUBLIC_PORT", public.to_string())
            .env("SERVE_ADMIN_PORT", admin.to_string())
            .env("SERVE_ADMIN_BASE_URL", format!("http://127.0.0.1:{admin}/"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    assert!(wait_for(&format!("http://127.0.0.1:{admin}/health/ready"), 200).await);
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("http://127.0.0.1:{admin}/admin/identities"))
        .json(
            &json!({"schema_id": "default", "traits": {"email": "quick@start.io"},
                      "credentials": {"password": {"config": {"password": "a strong password"}}}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["traits"]["email"], "quick@start.io", "{created}");
    let status = terminate(&mut child);
    assert!(status.success(), "{status:?}");
    let mut stderr = String::new();
    use std::io::Read;
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    // Every method the quickstart turns on is served now; what is left
    // unsupported is still named.
    assert!(
        stderr.contains("config key feature_flags is not supported"),
        "unsupported keys are warned about: {stderr}"
    );
}

fn write_config(dir: &tempfile::TempDir, body: &str) -> PathBuf {
    let path = dir.path().join("bia.yml");
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn bad_configs_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("s.json");
    std::fs::write(&schema, r#"{"type": "object"}"#).unwrap();
    let good = format!(
        "dsn: memory\nsecrets:\n  cookie: [a-long-enough-cookie-secret]\nidentity:\n  default_schema_id: default\n  schemas:\n    - id: default\n      url: file://{}\n",
        schema.display()
    );
    let cases = [
        (good.replace("dsn: memory", "dsn: oracle://x"), "dsn"),
        (
            good.replace("secrets:\n  cookie: [a-long-enough-cookie-secret]\n", ""),
            "secrets.cookie",
        ),
        (
            format!("{good}serve:\n  public:\n    port: seventy\n"),
            "serve.public.port",
        ),
        (
            good.replace("file://", "file:///nope"),
            "identity schema \"default\"",
        ),
        (
            format!("{good}hashers:\n  bcrypt:\n    cost: 99\n"),
            "hashers",
        ),
    ];
    for (body, expected) in cases {
        let path = write_config(&dir, &body);
        let output = bia().args(["serve", "-c"]).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{body}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in: {stderr}"
        );
    }
    // A broken schema names its id and the reason.
    std::fs::write(&schema, r#"{"type": 5}"#).unwrap();
    let path = write_config(&dir, &good);
    let output = bia().args(["serve", "-c"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("\"default\"") && stderr.contains("JSON Schema"),
        "{stderr}"
    );
}

#[tokio::test]
async fn not_ready_until_the_database_answers_and_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("s.json");
    std::fs::write(&schema, r#"{"type": "object"}"#).unwrap();
    let db_path = dir.path().join("bia.sqlite");
    let (public, admin) = (free_port(), free_port());
    let config = write_config(
        &dir,
        &format!(
            "dsn: sqlite://{}\nsecrets:\n  cookie: [a-long-enough-cookie-secret]\nserve:\n  public:\n    port: {public}\n  admin:\n    port: {admin}\nidentity:\n  schemas:\n    - id: default\n      url: file://{}\n",
            db_path.display(),
            schema.display()
        ),
    );
    let _child = Running(
        bia()
            .args(["serve", "-c"])
            .arg(&config)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ready = format!("http://127.0.0.1:{admin}/health/ready");
    assert!(wait_for(&format!("http://127.0.0.1:{admin}/health/alive"), 200).await);
    assert!(
        wait_for(&ready, 503).await,
        "unmigrated database must be not ready"
    );
    let status = bia()
        .args(["migrate", "sql", "--yes", "-c"])
        .arg(&config)
        .status()
        .unwrap();
    assert!(status.success());
    let output = bia()
        .args(["migrate", "sql", "status", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("Applied"));
    assert!(wait_for(&ready, 200).await, "ready once migrated");
}

#[tokio::test]
async fn an_unreachable_database_keeps_the_server_alive_but_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("s.json");
    std::fs::write(&schema, r#"{"type": "object"}"#).unwrap();
    let (public, admin, dead) = (free_port(), free_port(), free_port());
    let config = write_config(
        &dir,
        &format!(
            "dsn: postgres://nobody@127.0.0.1:{dead}/none\nsecrets:\n  cookie: [a-long-enough-cookie-secret]\nserve:\n  public:\n    port: {public}\n  admin:\n    port: {admin}\nidentity:\n  schemas:\n    - id: default\n      url: file://{}\n",
            schema.display()
        ),
    );
    let _child = Running(
        bia()
            .args(["serve", "-c"])
            .arg(&config)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(wait_for(&format!("http://127.0.0.1:{admin}/health/alive"), 200).await);
    let response = reqwest::get(format!("http://127.0.0.1:{admin}/health/ready"))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let response = reqwest::get(format!("http://127.0.0.1:{admin}/admin/identities"))
        .await
        .unwrap();
    assert!(response.status().is_server_error());
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"]["code"].is_number(), "{body}");
}

fn schema_b64(property: &str) -> String {
    use base64::Engine;
    let schema = json!({"type": "object", "properties": {"traits": {"type": "object", "properties": {
        property: {"type": "string", "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}}
    }}}});
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(schema.to_string())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_reload_without_restart_and_bad_changes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (public, admin) = (free_port(), free_port());
    let head = format!(
        "dsn: memory\nsecrets:\n  cookie: [a-long-enough-cookie-secret]\nserve:\n  public:\n    port: {public}\n  admin:\n    port: {admin}\n"
    );
    let one = format!(
        "{head}identity:\n  default_schema_id: a\n  schemas:\n    - id: a\n      url: {}\n",
        schema_b64("email")
    );
    let config = write_config(&dir, &one);
    let _child = Running(
        bia()
            .args(["serve", "-c"])
            .arg(&config)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{admin}");
    assert!(wait_for(&format!("{base}/health/ready"), 200).await);

    // Requests keep flowing while the file changes.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammer = {
        let (stop, base) = (stop.clone(), base.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (mut ok, mut failed) = (0, 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match http.get(format!("{base}/schemas")).send().await {
                    Ok(r) if r.status() == 200 => ok += 1,
                    _ => failed += 1,
                }
            }
            (ok, failed)
        })
    };

    let two = format!(
        "{head}identity:\n  default_schema_id: b\n  schemas:\n    - id: a\n      url: {}\n    - id: b\n      url: {}\n",
        schema_b64("email"),
        schema_b64("username")
    );
    std::fs::write(&config, &two).unwrap();
    let http = reqwest::Client::new();
    let mut reloaded = false;
    for _ in 0..100 {
        let schemas: serde_json::Value = http
            .get(format!("{base}/schemas"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if schemas.as_array().unwrap().len() == 2 {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reloaded, "the new schema was not picked up");
    let created: serde_json::Value = http
        .post(format!("{base}/admin/identities"))
        .json(&json!({"traits": {"username": "neo"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["schema_id"], "b", "{created}");

    // A broken schema is refused; the last good configuration keeps serving.
    let broken = format!(
        "{head}identity:\n  default_schema_id: b\n  schemas:\n    - id: b\n      url: base64://eyJ0eXBlIjogNX0=\n"
    );
    std::fs::write(&config, &broken).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let schemas: serde_json::Value = http
        .get(format!("{base}/schemas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(schemas.as_array().unwrap().len(), 2, "{schemas}");

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = hammer.await.unwrap();
    assert!(ok > 0);
    assert_eq!(failed, 0, "requests failed during reload");
}
