#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bia_config::CourierConfig;
use serde_json::{Value, json};

use super::*;

/// Data as a flow hands it over, with Kratos's field names.
fn sample(t: TemplateType) -> Value {
    json!({
        "To": "ada@example.com",
        "RecoveryCode": "123456",
        "RecoveryURL": "https://id.example/self-service/recovery?flow=f&token=t",
        "VerificationCode": "654321",
        "VerificationURL": "https://id.example/self-service/verification?flow=f&code=654321",
        "LoginCode": "111222",
        "RegistrationCode": "333444",
        "RequestURL": "https://app.example/login",
        "ExpiresInMinutes": 15,
        "Identity": {"id": "9f", "traits": {"email": "ada@example.com"}},
        "Traits": {"email": "ada@example.com"},
        "TransientPayload": {},
        "Type": t.as_str(),
    })
}

fn message(t: TemplateType, channel: Channel) -> Outgoing {
    Outgoing {
        template: t,
        channel,
        recipient: "ada@example.com".into(),
        data: sample(t),
    }
}

fn config(value: Value) -> CourierConfig {
    serde_json::from_value(value).unwrap()
}

#[test]
fn every_builtin_template_renders_its_data() {
    let templates = Templates::builtin().unwrap();
    for t in TemplateType::ALL {
        let m = templates.render(&message(t, Channel::Email)).unwrap();
        assert!(!m.subject.is_empty() && !m.subject.contains('\n'), "{t:?}");
        let html = m.html.unwrap();
        assert!(html.contains("</html>"), "{t:?}");
        for text in [&m.subject, &m.body, &html] {
            assert!(!text.contains("<no value>"), "{t:?}: {text}");
        }
        let (dir, variant) = t.key_and_variant();
        let field = match dir {
            "recovery" => "https://id.example/self-service/recovery",
            "recovery_code" => "123456",
            "verification" => "https://id.example/self-service/verification",
            "verification_code" => "654321",
            "login_code" => "111222",
            _ => "333444",
        };
        if variant == "valid" {
            assert!(m.body.contains(field), "{t:?}: {}", m.body);
            assert!(html.contains(field), "{t:?}: {html}");
            assert!(m.body.contains("15 minutes"), "{t:?}");
        } else {
            assert!(m.body.contains("ada@example.com"), "{t:?}");
        }
        // URLs in HTML attributes keep their query, escaped as HTML wants.
        if dir == "verification" && variant == "valid" {
            assert!(html.contains("flow=f&amp;code=654321"), "{html}");
        }
        let sms = templates.render(&message(t, Channel::Sms));
        if dir.ends_with("_code") && variant == "valid" {
            let sms = sms.unwrap();
            assert!(
                sms.body.contains(field) && sms.body.contains("@app.example #"),
                "{sms:?}"
            );
            assert_eq!((sms.subject.as_str(), sms.html), ("", None));
        } else {
            let error = sms.unwrap_err().to_string();
            assert!(error.contains("no SMS body template"), "{error}");
        }
    }
}

#[test]
fn missing_fields_are_zero_as_in_kratos_models() {
    let templates = Templates::builtin().unwrap();
    let mut m = message(TemplateType::LoginCodeValid, Channel::Sms);
    m.data = json!({"LoginCode": "1"});
    let sms = templates.render(&m).unwrap();
    assert!(
        !sms.body.contains('@') && !sms.body.contains("<no value>"),
        "{sms:?}"
    );
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_override_directory_replaces_files_it_has_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "recovery_code/valid/email.subject.gotmpl",
        "Code {{ .RecoveryCode | upper }}\n",
    );
    write(
        root,
        "recovery_code/valid/email.body.gotmpl",
        r#"{{- if eq .TransientPayload.lang "de" }}{{ template "email.body.de.gotmpl" . }}{{ else }}<p>{{ .Identity.traits.email }}</p>{{ end -}}"#,
    );
    write(
        root,
        "recovery_code/valid/email.body.de.gotmpl",
        "<p>Dein Code: {{ .RecoveryCode }}</p>",
    );
    let config = config(json!({"template_override_path": root.display().to_string()}));
    let templates = Templates::from_sources(&config, &source::Fetched::default()).unwrap();
    let mut m = message(TemplateType::RecoveryCodeValid, Channel::Email);
    let rendered = templates.render(&m).unwrap();
    assert_eq!(rendered.subject, "Code 123456");
    assert_eq!(rendered.html.as_deref(), Some("<p>ada@example.com</p>"));
    // The plain-text body has no override: the built-in one.
    assert!(
        rendered.body.contains("Enter this code"),
        "{}",
        rendered.body
    );
    m.data["TransientPayload"] = json!({"lang": "de"});
    assert_eq!(
        templates.render(&m).unwrap().html.as_deref(),
        Some("<p>Dein Code: 123456</p>")
    );
    // A URI in courier.templates wins over the directory.
    let mut config = config;
    config.templates.recovery_code.valid = Some(
        serde_json::from_value(json!({
            "email": {"subject": format!("base64://{}", STANDARD.encode("From URI {{ .To }}"))}
        }))
        .unwrap(),
    );
    let templates = Templates::from_sources(&config, &source::Fetched::default()).unwrap();
    assert_eq!(
        templates.render(&m).unwrap().subject,
        "From URI ada@example.com"
    );
}

#[test]
fn an_invalid_override_names_the_template_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "login_code/valid/sms.body.gotmpl",
        "Code:\n{{ .LoginCode \n",
    );
    let config = config(json!({"template_override_path": dir.path().display().to_string()}));
    let error = Templates::from_sources(&config, &source::Fetched::default()).unwrap_err();
    assert_eq!(error.key(), "courier.template_override_path");
    let text = error.to_string();
    assert!(text.contains("login_code_valid SMS body"), "{text}");
    assert!(text.contains("login_code/valid/sms.body.gotmpl"), "{text}");
    assert!(text.contains("line 2"), "{text}");
    let missing = config_missing_dir();
    let error = Templates::from_sources(&missing, &source::Fetched::default()).unwrap_err();
    assert!(error.to_string().contains("not a directory"), "{error}");
}

fn config_missing_dir() -> CourierConfig {
    config(json!({"template_override_path": "/nonexistent/bia-templates"}))
}

#[tokio::test]
async fn uris_load_from_files_base64_and_http() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("subject.gotmpl");
    std::fs::write(&file, "File {{ .VerificationCode }}").unwrap();
    let url = serve_once("<b>{{ .VerificationCode }}</b>").await;
    let config = config(json!({"templates": {"verification_code": {"valid": {
        "email": {
            "subject": format!("file://{}", file.display()),
            "body": {
                "html": format!("{url}/body.gotmpl"),
                "plaintext": format!("base64://{}", STANDARD.encode("Text {{ .VerificationCode }}"))
            }
        },
        "sms": {"body": {"plaintext": format!("base64://{}", STANDARD.encode("SMS {{ .VerificationCode }}"))}}
    }}}}));
    let templates = Templates::load(&config).await.unwrap();
    let m = templates
        .render(&message(
            TemplateType::VerificationCodeValid,
            Channel::Email,
        ))
        .unwrap();
    assert_eq!(m.subject, "File 654321");
    assert_eq!(m.body, "Text 654321");
    assert_eq!(m.html.as_deref(), Some("<b>654321</b>"));
    let sms = templates
        .render(&message(TemplateType::VerificationCodeValid, Channel::Sms))
        .unwrap();
    assert_eq!(sms.body, "SMS 654321");
}

#[tokio::test]
async fn broken_uris_are_reported_under_their_key() {
    let config = config(json!({"templates": {"recovery": {"invalid": {"email": {
        "subject": format!("base64://{}", STANDARD.encode("ok\n{{ if .To }}")),
        "body": {"plaintext": "file:///nonexistent/x.gotmpl", "html": "http://127.0.0.1:9/x"}
    }}}}}));
    let problems = Templates::problems(&config).await;
    let keys: Vec<&str> = problems.iter().map(TemplateError::key).collect();
    assert_eq!(keys, ["courier.templates.recovery.invalid.email.body.html"]);
    let config = config_without_http(config);
    let problems = Templates::problems(&config).await;
    let keys: Vec<&str> = problems.iter().map(TemplateError::key).collect();
    assert_eq!(
        keys,
        [
            "courier.templates.recovery.invalid.email.subject",
            "courier.templates.recovery.invalid.email.body.plaintext"
        ]
    );
    assert!(
        problems[0].to_string().contains("line 2"),
        "{}",
        problems[0]
    );
}

fn config_without_http(mut config: CourierConfig) -> CourierConfig {
    if let Some(email) = config
        .templates
        .recovery
        .invalid
        .as_mut()
        .and_then(|v| v.email.as_mut())
    {
        email.body.html = None;
    }
    config
}

#[test]
fn a_handle_swaps_templates_for_the_next_message() {
    let handle = TemplateHandle::new(Templates::builtin().unwrap());
    let m = message(TemplateType::LoginCodeValid, Channel::Email);
    assert!(handle.render(&m).unwrap().subject.contains("111222"));
    let config = config(json!({"templates": {"login_code": {"valid": {"email": {
        "subject": format!("base64://{}", STANDARD.encode("New {{ .LoginCode }}"))
    }}}}}));
    handle.replace(Templates::from_sources(&config, &source::Fetched::default()).unwrap());
    assert_eq!(handle.render(&m).unwrap().subject, "New 111222");
}

/// A loopback HTTP server answering every request with `body`; its base URL.
async fn serve_once(body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    url
}

/// Kratos's own default templates, used as an override directory, load and render
/// every message with no `<no value>`: an existing Kratos directory works unchanged.
/// Point `BIA_KRATOS_TEMPLATES` at Kratos's
/// `courier/template/courier/builtin/templates`; skipped when it is not set.
#[test]
fn a_kratos_template_directory_renders_unchanged() {
    let Some(dir) = std::env::var_os("BIA_KRATOS_TEMPLATES") else {
        return;
    };
    let config = config(json!({"template_override_path": dir.to_string_lossy()}));
    let templates = Templates::from_sources(&config, &source::Fetched::default()).unwrap();
    for t in TemplateType::ALL {
        let m = templates.render(&message(t, Channel::Email)).unwrap();
        for text in [&m.subject, &m.body, m.html.as_ref().unwrap()] {
            assert!(!text.contains("<no value>"), "{t:?}: {text}");
        }
        let (dir, variant) = t.key_and_variant();
        if dir.ends_with("_code") && variant == "valid" {
            let sms = templates.render(&message(t, Channel::Sms)).unwrap();
            assert!(!sms.body.contains("<no value>"), "{t:?}: {}", sms.body);
        }
    }
}

#[test]
fn hostile_overrides_fail_the_load_or_the_message_never_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Refused at load: nesting, recursion.
    write(
        root,
        "login_code/valid/email.subject.gotmpl",
        &("{{ if true }}".repeat(10_000) + &"{{ end }}".repeat(10_000)),
    );
    let config = config(json!({"template_override_path": root.display().to_string()}));
    let error = Templates::from_sources(&config, &source::Fetched::default()).unwrap_err();
    assert!(
        error.to_string().contains("login_code_valid email subject"),
        "{error}"
    );
    write(
        root,
        "login_code/valid/email.subject.gotmpl",
        r#"{{ define "x" }}{{ template "x" }}{{ end }}{{ template "x" }}"#,
    );
    let error = Templates::from_sources(&config, &source::Fetched::default()).unwrap_err();
    assert!(error.to_string().contains("calls itself"), "{error}");
    // Bounded at render: the message fails, naming the template.
    write(
        root,
        "login_code/valid/email.subject.gotmpl",
        "{{ range 100000000 }}{{ .To }}{{ .To }}{{ .To }}{{ end }}",
    );
    let templates = Templates::from_sources(&config, &source::Fetched::default()).unwrap();
    let error = templates
        .render(&message(TemplateType::LoginCodeValid, Channel::Email))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("template login_code_valid: email subject:"),
        "{error}"
    );
    // An oversized file is refused before it is read.
    write(
        root,
        "login_code/valid/email.subject.gotmpl",
        &"x".repeat(300 * 1024),
    );
    let error = Templates::from_sources(&config, &source::Fetched::default()).unwrap_err();
    assert!(error.to_string().contains("larger than"), "{error}");
}
