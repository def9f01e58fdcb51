//! `bia config validate`: the same loading as `serve`, every problem printed
//! with its key, the exit status for CI.

use std::path::PathBuf;
use std::process::{Command, Output};

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn validate(files: &[&PathBuf], extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bia"));
    command.args(["config", "validate"]);
    for file in files {
        command.arg("-c").arg(file);
    }
    command.args(extra);
    for (name, value) in env {
        command.env(name, value);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("schema.json"), r#"{"type": "object"}"#).unwrap();
        Files { dir }
    }

    fn good(&self) -> String {
        format!(
            "dsn: memory\nsecrets:\n  cookie: [a-long-enough-cookie-secret]\nidentity:\n  default_schema_id: default\n  schemas:\n    - id: default\n      url: file://{}\n",
            self.dir.path().join("schema.json").display()
        )
    }

    fn write(&self, name: &str, body: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    }
}

#[test]
fn a_valid_file_passes() {
    let files = Files::new();
    let path = files.write("kratos.yml", files.good());
    let run = validate(&[&path], &[], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("valid"), "{}", run.stdout);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn a_broken_file_names_each_key_and_reason() {
    let files = Files::new();
    let path = files.write(
        "kratos.yml",
        format!(
            "{}serve:\n  public:\n    trusted_proxies: [10.0.0.0/8, not-an-address]\nlog:\n  level: loud\nhashers:\n  bcrypt:\n    cost: 99\n",
            files.good()
        ),
    );
    let run = validate(&[&path], &[], &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for expected in [
        "error: config key serve.public.trusted_proxies[1]: \"not-an-address\" is not an IP address or CIDR range",
        "error: config key log.level: unknown level \"loud\"",
        "error: config key hashers.bcrypt.cost:",
        "invalid (3 problems)",
    ] {
        assert!(
            run.stderr.contains(expected),
            "{expected:?} in:\n{}",
            run.stderr
        );
    }

    // A value of the wrong kind, and a second file overriding the first.
    let port = files.write("port.yml", "serve:\n  admin:\n    port: seventy\n");
    let run = validate(&[&path, &port], &[], &[]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("config key serve.admin.port: invalid type"),
        "{}",
        run.stderr
    );
    let fixed = files.write(
        "fixed.yml",
        "serve:\n  public:\n    trusted_proxies: []\nlog:\n  level: info\nhashers:\n  bcrypt:\n    cost: 10\n",
    );
    let run = validate(&[&path, &fixed], &[], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);

    // What the config points at is loaded too: a missing schema file.
    let missing = files.write(
        "missing.yml",
        files.good().replace("schema.json", "nowhere.json"),
    );
    let run = validate(&[&missing], &[], &[]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("config key identity.schemas[0].url: cannot load"),
        "{}",
        run.stderr
    );
    // Without a cookie secret only --dev passes, as with serve.
    let no_secret = files.write(
        "no-secret.yml",
        files
            .good()
            .replace("secrets:\n  cookie: [a-long-enough-cookie-secret]\n", ""),
    );
    let run = validate(&[&no_secret], &[], &[]);
    assert!(
        run.stderr.contains("config key secrets.cookie:"),
        "{}",
        run.stderr
    );
    assert_eq!(validate(&[&no_secret], &["--dev"], &[]).code, Some(0));
}

#[test]
fn lookup_codes_are_supported_and_need_a_cipher_secret() {
    let files = Files::new();
    let lookup = "selfservice:\n  methods:\n    lookup_secret:\n      enabled: true\n";
    let bare = files.write("bare.yml", format!("{}{lookup}", files.good()));
    let run = validate(&[&bare], &["--strict"], &[]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("selfservice.methods.lookup_secret keeps its codes encrypted"),
        "{}",
        run.stderr
    );
    let sealed = files.write(
        "sealed.yml",
        format!(
            "{}{lookup}",
            files.good().replace(
                "secrets:\n",
                "secrets:\n  cipher: [0123456789abcdef0123456789abcdef]\n"
            )
        ),
    );
    let run = validate(&[&sealed], &["--strict"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("not supported"), "{}", run.stderr);
}

#[test]
fn unsupported_keys_warn_and_fail_only_when_strict() {
    let files = Files::new();
    let path = files.write(
        "kratos.yml",
        format!(
            "{}oauth2_provider:\n  url: http://x\nselfservice:\n  methods:\n    saml:\n      enabled: true\n",
            files.good()
        ),
    );
    let run = validate(&[&path], &[], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    for key in ["oauth2_provider", "selfservice.methods.saml"] {
        assert!(
            run.stderr.contains(&format!(
                "warning: config key {key} is not supported by this version and is ignored"
            )),
            "{key} in:\n{}",
            run.stderr
        );
    }
    assert!(run.stdout.contains("2 warnings"), "{}", run.stdout);
    let run = validate(&[&path], &["--strict"], &[]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("error: config key oauth2_provider is not supported"),
        "{}",
        run.stderr
    );
}

#[test]
fn totp_needs_a_cipher_secret_and_a_real_cipher() {
    let files = Files::new();
    let totp = "selfservice:\n  methods:\n    totp:\n      enabled: true\n";
    let path = files.write("totp.yml", format!("{}{totp}", files.good()));
    let run = validate(&[&path], &[], &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("config key secrets.cipher: selfservice.methods.totp"),
        "{}",
        run.stderr
    );
    let cipher = "ciphers:\n  algorithm: noop\n";
    let path = files.write("noop.yml", format!("{}{cipher}", files.good()));
    let run = validate(&[&path], &[], &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("config key ciphers.algorithm: \"noop\" is not supported"),
        "{}",
        run.stderr
    );
    let sealed = format!(
        "{}{totp}ciphers:\n  algorithm: aes\n",
        files.good().replace(
            "secrets:\n  cookie: [a-long-enough-cookie-secret]\n",
            "secrets:\n  cookie: [a-long-enough-cookie-secret]\n  cipher: [0123456789abcdef0123456789abcdef]\n",
        )
    );
    let path = files.write("sealed.yml", sealed);
    let run = validate(&[&path], &["--strict"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[test]
fn environment_overrides_apply_and_their_errors_name_the_variable() {
    let files = Files::new();
    let path = files.write("kratos.yml", files.good());
    let run = validate(&[&path], &[], &[("SERVE_ADMIN_PORT", "many")]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains(
            "environment variable SERVE_ADMIN_PORT (config key serve.admin.port): expected an integer"
        ),
        "{}",
        run.stderr
    );
    let run = validate(&[&path], &[], &[("LOG_LEVEL", "loud")]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("config key log.level"),
        "{}",
        run.stderr
    );
    let run = validate(&[&path], &[], &[("DSN", "oracle://db")]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("config key dsn:"), "{}", run.stderr);
    let run = validate(
        &[&path],
        &[],
        &[("IDENTITY_SCHEMAS_100000000_URL", "file:///x")],
    );
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("list index"), "{}", run.stderr);
    let run = validate(&[&path], &[], &[("SERVE_PUBLIC_PORT", "4455")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

#[test]
fn hostile_files_are_errors_not_crashes() {
    let files = Files::new();
    let deep = files.write(
        "deep.yml",
        format!("a: {}{}", "[".repeat(200_000), "]".repeat(200_000)),
    );
    let nested = files.write(
        "nested.yml",
        (0..1_000)
            .map(|n| format!("{}k:\n", " ".repeat(n)))
            .collect::<String>(),
    );
    let huge = files.write("huge.yml", vec![b'#'; 5 * 1024 * 1024]);
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for n in 1..10 {
        let p = n - 1;
        bomb.push_str(&format!(
            "a{n}: &a{n} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let bomb = files.write("bomb.yml", bomb);
    let not_yaml = files.write("binary.yml", [0u8, 159, 146, 150]);
    for (path, reason) in [
        (&deep, "recursion limit"),
        (&nested, "recursion limit"),
        (&huge, "larger than 4 MiB"),
        (&bomb, "repetition limit"),
        (&not_yaml, "config file"),
    ] {
        let run = validate(&[path], &[], &[]);
        assert_eq!(run.code, Some(1), "{}: {}", path.display(), run.stderr);
        assert!(
            run.stderr.contains(reason) && run.stderr.contains(&path.display().to_string()),
            "{reason:?} in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn passwordless_code_keys_are_checked() {
    let files = Files::new();
    let path = files.write(
        "kratos.yml",
        format!(
            "{}selfservice:\n  methods:\n    code:\n      passwordless_enabled: true\n      mfa_enabled: true\n",
            files.good()
        ),
    );
    let run = validate(&[&path], &[], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        !run.stderr.contains("passwordless_enabled") && !run.stderr.contains("mfa_enabled"),
        "{}",
        run.stderr
    );
    let path = files.write(
        "broken.yml",
        format!(
            "{}selfservice:\n  methods:\n    code:\n      enabled: false\n      passwordless_enabled: true\n      mfa_enabled: true\n    link:\n      passwordless_enabled: true\n      mfa_enabled: true\n",
            files.good()
        ),
    );
    let run = validate(&[&path], &[], &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for key in [
        "selfservice.methods.code.passwordless_enabled",
        "selfservice.methods.code.mfa_enabled",
        "selfservice.methods.link.passwordless_enabled",
        "selfservice.methods.link.mfa_enabled",
    ] {
        assert!(run.stderr.contains(key), "{key} in:\n{}", run.stderr);
    }
}

#[test]
fn flow_styles_are_checked() {
    let files = Files::new();
    let path = files.write(
        "kratos.yml",
        format!(
            "{}selfservice:\n  flows:\n    login:\n      style: identifier_first\nsecurity:\n  account_enumeration:\n    mitigate: true\n",
            files.good()
        ),
    );
    let run = validate(&[&path], &["--strict"], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let path = files.write(
        "broken.yml",
        format!(
            "{}selfservice:\n  flows:\n    login:\n      style: sideways\n    registration:\n      style: upside_down\n    settings:\n      style: unified\n",
            files.good()
        ),
    );
    let run = validate(&[&path], &[], &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for key in [
        "selfservice.flows.login.style",
        "selfservice.flows.registration.style",
        "selfservice.flows.settings.style",
    ] {
        assert!(run.stderr.contains(key), "{key} in:\n{}", run.stderr);
    }
    assert!(
        run.stderr.contains("use unified or profile_first"),
        "{}",
        run.stderr
    );
}
