//! `bia-operator render`: the binary on the example resources and on broken ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bia_operator::capabilities::ServerCapabilities;
use bia_operator::offline::{Bundle, render_bundle};
use serde_json::Value;

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn run(files: &[PathBuf], extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bia-operator"));
    cmd.arg("render");
    for f in files {
        cmd.arg("-f").arg(f);
    }
    cmd.args(extra).output().unwrap()
}

fn documents(yaml: &str) -> Vec<Value> {
    use serde::Deserialize;
    yaml_serde::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bia-render-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_examples_render() {
    let out = run(&examples(), &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}\n{stdout}");
    let docs = documents(&stdout);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Secret",
            "Service",
            "Service",
            "PodDisruptionBudget",
            "NetworkPolicy",
            "Ingress",
            "Deployment",
            "IdentityServer",
            "CourierTemplate",
            "IdentitySchema",
            "OIDCProvider"
        ],
        "{stdout}"
    );
    // The config reads as text, with the example's values.
    let config = docs[0]["stringData"]["kratos.yml"].as_str().unwrap();
    assert!(
        config.contains("default_schema_id: customer-v1"),
        "{config}"
    );
    assert!(config.contains("change-me-to-a-long-random-string"));
    // The provider is in, with its client secret and its mapper as a base64 URI.
    assert!(
        config.contains("issuer_url: https://accounts.google.com")
            && config.contains("mapper_url: base64://"),
        "{config}"
    );
    // The example's template is in, as a base64 URI, and the SMTP settings.
    assert!(
        config.contains("recovery_code:") && config.contains("subject: base64://"),
        "{config}"
    );
    assert!(config.contains("connection_uri: smtp"), "{config}");
    assert!(config.contains("- 10.244.0.0/16"), "{config}");
    assert_eq!(docs[5]["spec"]["rules"][0]["host"], "id.example.com");
    assert_eq!(
        docs[5]["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
        "letsencrypt"
    );
    // The server's loader reads it and its checks pass; the only warning is the SMTP
    // delivery's, not acted on until the courier's delivery lands.
    let loaded = bia_config::parse(&bia_config::parse_yaml(config).unwrap()).unwrap();
    assert!(
        loaded.warnings.iter().all(|w| w.key == "courier"),
        "{:?}",
        loaded.warnings
    );
    let problems = bia_config::check(&loaded.config, bia_config::Mode::default());
    assert!(problems.is_empty(), "{problems:?}");
    // The verdicts the controller would write.
    let accepted = |doc: &Value| {
        let c = &doc["status"]["conditions"][0];
        (
            c["status"].as_str().unwrap().to_owned(),
            c["reason"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(accepted(&docs[8]), ("True".into(), "Accepted".into()));
    assert_eq!(accepted(&docs[9]), ("True".into(), "Accepted".into()));
    assert_eq!(accepted(&docs[10]), ("True".into(), "Accepted".into()));
    assert!(!stderr.contains("unsupported:"), "{stderr}");
    assert!(!stderr.contains("spec.courier is not applied"), "{stderr}");
    let loaded_providers = &loaded.config.selfservice.methods.oidc.config.providers;
    assert_eq!(loaded_providers.len(), 1);
    assert_eq!(loaded_providers[0].id, "google");
    assert!(
        loaded_providers[0]
            .client_secret
            .as_deref()
            .is_some_and(|s| !s.is_empty())
    );

    // Everything in the examples is acted on, so --strict passes too.
    let strict = run(&examples(), &["--strict"]);
    assert_eq!(strict.status.code(), Some(0));
}

/// A provider the server's check would refuse is refused with the field it names (and
/// kept out of the config); `--strict` fails on it.
#[test]
fn providers_the_server_cannot_use_are_refused() {
    let dir = temp_dir("providers");
    let provider = |name: &str, extra: &str| {
        format!(
            r#"apiVersion: bia.dev/v1alpha1
kind: OIDCProvider
metadata:
  name: {name}
  namespace: identity
spec:
  providerId: "{name}"
  clientId: client
  clientSecret:
    name: google-oauth
    key: client-secret
  mapper: "{{}}"
  serverRef:
    name: bia
{extra}"#
        )
    };
    // Apple without a client secret or the key to sign one.
    let apple = write(
        &dir,
        "apple.yaml",
        &provider("apple", "  provider: apple\n").replace(
            "  clientSecret:\n    name: google-oauth\n    key: client-secret\n",
            "",
        ),
    );
    let no_issuer = write(
        &dir,
        "no-issuer.yaml",
        &provider("bare", "  provider: generic\n"),
    );
    let bad_id = write(
        &dir,
        "bad-id.yaml",
        &provider(
            "bad",
            "  provider: generic\n  issuerUrl: https://id.example.com\n",
        )
        .replace("providerId: \"bad\"", "providerId: \"bad id!\""),
    );
    let mut files = examples();
    files.extend([apple, no_issuer, bad_id]);
    let out = run(&files, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    // An invalid resource fails the check.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "refused: OIDCProvider identity/apple: Invalid: spec.clientSecret is required"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("refused: OIDCProvider identity/bare: Invalid: spec.issuerUrl is required"),
        "{stderr}"
    );
    assert!(
        stderr.contains("refused: OIDCProvider identity/bad: Invalid: spec.providerId must be"),
        "{stderr}"
    );
    let docs = documents(&stdout);
    let config = docs[0]["stringData"]["kratos.yml"].as_str().unwrap();
    assert!(config.contains("id: google"), "{config}");
    for id in ["apple", "bare", "bad"] {
        assert!(!config.contains(&format!("id: {id}")), "{id} in {config}");
    }
    let strict = run(&files, &["--strict"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn render_is_the_controllers_render() {
    // The library entry point and the golden-tested render agree: same config hash twice,
    // and the config Secret carries the hash the status reports.
    let files = examples();
    let mut bundle = Bundle::default();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        bundle
            .add_yaml(&f.display().to_string(), &text, "default")
            .unwrap();
    }
    let a = render_bundle(&bundle, ServerCapabilities::CURRENT);
    let b = render_bundle(&bundle, ServerCapabilities::CURRENT);
    assert_eq!(a, b);
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    let docs = documents(&a.yaml);
    let config = docs[0]["stringData"]["kratos.yml"].as_str().unwrap();
    let hash = bia_operator::render::sha256_hex(config.as_bytes());
    assert_eq!(docs[7]["status"]["configHash"], hash.as_str());
}

#[test]
fn an_invalid_resource_fails_with_the_controllers_message() {
    let dir = temp_dir("invalid");
    let broken = write(
        &dir,
        "broken.yaml",
        r#"apiVersion: bia.dev/v1alpha1
kind: CourierTemplate
metadata:
  name: broken
  namespace: identity
spec:
  templateType: login_code
  variant: valid
  channel: email
  body:
    plaintext: "Code: {{ .LoginCode "
  serverRef:
    name: bia
---
apiVersion: bia.dev/v1alpha1
kind: IdentitySchema
metadata:
  name: anonymous
  namespace: identity
spec:
  schemaId: anonymous-v1
  serverRef:
    name: bia
  schema: '{"type":"object","properties":{"traits":{"type":"object"}}}'
"#,
    );
    let mut files = examples();
    files.push(broken);
    let out = run(&files, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused: CourierTemplate identity/broken: TemplateParseError: spec.body.plaintext line 1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("refused: IdentitySchema identity/anonymous: NoIdentifier: no trait is a credentials identifier"),
        "{stderr}"
    );
    // The status document carries the same refusal; the server still renders without them.
    let docs = documents(&stdout);
    let broken = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "broken")
        .unwrap();
    assert_eq!(
        broken["status"]["conditions"][0]["reason"],
        "TemplateParseError"
    );
    assert!(docs.iter().any(|d| d["kind"] == "Deployment"));
}

#[test]
fn a_missing_secret_is_reported() {
    // Without the Secrets file, the server does not roll out and the provider waits.
    let files: Vec<PathBuf> = examples()
        .into_iter()
        .filter(|f| !f.ends_with("00-secrets.yaml"))
        .collect();
    let out = run(&files, &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused: IdentityServer identity/bia: SecretMissing: Secret identity/bia-secrets does not exist (referenced by spec.dsn)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("refused: OIDCProvider identity/google: SecretMissing: Secret identity/google-oauth does not exist"),
        "{stderr}"
    );
    let docs = documents(&stdout);
    assert!(
        !docs.iter().any(|d| d["kind"] == "Deployment"),
        "nothing is applied"
    );
    let server = docs.iter().find(|d| d["kind"] == "IdentityServer").unwrap();
    assert_eq!(server["status"]["conditions"][0]["reason"], "SecretMissing");
}

#[test]
fn secrets_in_data_and_a_server_ref_to_nothing() {
    let dir = temp_dir("data");
    let file = write(
        &dir,
        "all.yaml",
        r#"apiVersion: v1
kind: Secret
metadata:
  name: s
data:
  dsn: c3FsaXRlOi8vL3Zhci9saWIvYmlhL2RiLnNxbGl0ZQ==
  cookie: YS1jb29raWUtc2VjcmV0LXRoYXQtaXMtbG9uZy1lbm91Z2g=
---
apiVersion: bia.dev/v1alpha1
kind: IdentityServer
metadata:
  name: dev
spec:
  image: ghcr.io/bia-dev/bia:0.1.0
  dsn: {name: s, key: dsn}
  secrets:
    cookie: [{name: s, key: cookie}]
  publicBaseUrl: https://id.example.com/
  defaultSchemaId: default
---
apiVersion: bia.dev/v1alpha1
kind: IdentitySchema
metadata:
  name: default
spec:
  schemaId: default
  serverRef: {name: dev}
  schema: '{"type":"object","properties":{"traits":{"type":"object","properties":{"email":{"type":"string","ory.sh/kratos":{"credentials":{"password":{"identifier":true}}}}}}}}'
---
apiVersion: bia.dev/v1alpha1
kind: IdentitySchema
metadata:
  name: lost
spec:
  schemaId: lost
  serverRef: {name: elsewhere}
  schema: '{}'
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: unrelated
"#,
    );
    let out = run(&[file], &["-n", "apps"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.contains("dsn: sqlite:///var/lib/bia/db.sqlite"),
        "{stdout}"
    );
    assert!(stdout.contains("namespace: apps"));
    assert!(
        stderr.contains("refused: IdentitySchema apps/lost: ServerNotFound: IdentityServer apps/elsewhere does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped: v1 ConfigMap apps/unrelated"),
        "{stderr}"
    );
}

#[test]
fn unreadable_input_is_an_error_of_its_own() {
    let dir = temp_dir("bad");
    let file = write(&dir, "bad.yaml", "kind: [unclosed");
    let out = run(&[file], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[PathBuf::from("/nonexistent/file.yaml")], &[]);
    assert_eq!(out.status.code(), Some(2));
}
