//! Golden files of the rendered config and children (fixed inputs, deterministic output).

use bia_crds::TemplateType;
use bia_operator::capabilities::ServerCapabilities;
use bia_operator::render::{Inputs, SecretValues, render};

use crate::fixtures::*;

fn values() -> SecretValues {
    let mut v = SecretValues::new();
    v.insert_secret(&server_secrets());
    v.insert_secret(&oauth_secret());
    v
}

fn rendered() -> bia_operator::render::Rendered {
    rendered_with(ServerCapabilities::CURRENT)
}

fn rendered_with(capabilities: ServerCapabilities) -> bia_operator::render::Rendered {
    let server = server();
    let schemas = vec![
        schema("customer-v1", "customer-v1", GOOD_SCHEMA),
        schema("admin-v1", "admin-v1", GOOD_SCHEMA),
    ];
    let providers = vec![provider("corp", "corp-sso", 0)];
    let templates = vec![
        template(
            "recovery",
            TemplateType::RecoveryCode,
            "Your code: {{ .RecoveryCode }}",
        ),
        template(
            "verify",
            TemplateType::VerificationCode,
            "Verify with {{ .VerificationCode }}",
        ),
    ];
    let secrets = values();
    render(Inputs {
        server: &server,
        schemas: &schemas,
        providers: &providers,
        templates: &templates,
        secrets: &secrets,
        capabilities,
        existing_selector: None,
    })
    .unwrap()
}

#[test]
fn config_golden() {
    insta::assert_snapshot!("kratos_yml", rendered().config);
}

#[test]
fn unsupported_features_stay_out() {
    // Without the capabilities, neither providers, templates nor SMTP settings are
    // rendered (the providers list is empty: the validation refused them).
    let config = rendered_with(ServerCapabilities {
        social_sign_in: false,
        courier: false,
    })
    .config;
    for key in ["selfservice", "oidc", "courier"] {
        assert!(!config.contains(key), "{key} in {config}");
    }
}

/// Templates reach the server as `base64://` URIs under `courier.templates`, each
/// decoding to the resource's text; an email template without an HTML body sends its
/// plain text as HTML too; `spec.courier` becomes the SMTP settings.
#[test]
fn templates_and_smtp_settings_are_rendered_into_the_courier_section() {
    use base64::Engine;
    let config = bia_config::parse(&bia_config::parse_yaml(&rendered().config).unwrap())
        .unwrap()
        .config;
    let courier = &config.courier;
    assert_eq!(
        courier.smtp.connection_uri.as_deref(),
        Some("smtps://u:p@mail.example.com:465/")
    );
    assert_eq!(
        courier.smtp.from_address.as_deref(),
        Some("no-reply@example.com")
    );
    let decode = |uri: &Option<String>| {
        let encoded = uri.as_deref().unwrap().strip_prefix("base64://").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        String::from_utf8(bytes).unwrap()
    };
    let email = courier
        .templates
        .recovery_code
        .valid
        .as_ref()
        .unwrap()
        .email
        .as_ref()
        .unwrap();
    assert_eq!(decode(&email.subject), "Your code");
    assert_eq!(
        decode(&email.body.plaintext),
        "Your code: {{ .RecoveryCode }}"
    );
    assert_eq!(decode(&email.body.html), "<p>{{ .RecoveryCode }}</p>");
    assert!(courier.templates.recovery_code.invalid.is_none());
    assert!(courier.templates.login_code == Default::default());

    let server = server();
    let secrets = values();
    let mut plain = template("plain", TemplateType::LoginCode, "Code:\n{{ .LoginCode }}");
    plain.spec.body.html = None;
    let mut sms = template("sms", TemplateType::LoginCode, "SMS {{ .LoginCode }}");
    sms.spec.channel = bia_crds::TemplateChannel::Sms;
    sms.spec.subject = None;
    sms.spec.body.html = None;
    let r = render(Inputs {
        server: &server,
        schemas: &[],
        providers: &[],
        templates: &[sms, plain],
        secrets: &secrets,
        capabilities: ServerCapabilities::CURRENT,
        existing_selector: None,
    })
    .unwrap();
    let config = bia_config::parse(&bia_config::parse_yaml(&r.config).unwrap())
        .unwrap()
        .config;
    let login = config.courier.templates.login_code.valid.unwrap();
    let email = login.email.unwrap();
    assert_eq!(
        decode(&email.body.html),
        "<div style=\"white-space: pre-wrap\">Code:\n{{ .LoginCode }}</div>\n"
    );
    assert_eq!(
        decode(&login.sms.unwrap().body.plaintext),
        "SMS {{ .LoginCode }}"
    );
}

#[test]
fn the_config_is_what_the_server_loader_reads_without_a_warning() {
    let config = rendered().config;
    let tree = bia_config::parse_yaml(&config).unwrap();
    let loaded = bia_config::parse(&tree).unwrap();
    // The SMTP settings are reported as not acted on until the courier's delivery
    // lands; templates are read by the server and draw no warning.
    assert!(
        loaded.warnings.iter().all(|w| w.key == "courier"),
        "{:?}",
        loaded.warnings
    );
    let problems = bia_config::check(&loaded.config, bia_config::Mode::default());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(loaded.config.identity.schemas.len(), 2);
    assert_eq!(loaded.config.to_yaml().unwrap(), config, "reads back equal");
}

#[test]
fn an_invalid_duration_is_refused_before_it_reaches_the_server() {
    let mut server = server();
    server.spec.session.as_mut().unwrap().lifespan = Some("one day".into());
    let error = render(Inputs {
        server: &server,
        schemas: &[],
        providers: &[],
        templates: &[],
        secrets: &values(),
        capabilities: ServerCapabilities::CURRENT,
        existing_selector: None,
    })
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("spec.session.lifespan: invalid duration"),
        "{error}"
    );
}

#[test]
fn children_golden() {
    let r = rendered();
    insta::assert_yaml_snapshot!("deployment", r.deployment);
    insta::assert_yaml_snapshot!("public_service", r.public_service);
    insta::assert_yaml_snapshot!("admin_service", r.admin_service);
    insta::assert_yaml_snapshot!("pdb", r.pdb);
    let mut secret = r.secret.clone();
    secret.data = secret.data.map(|d| {
        d.into_keys()
            .map(|k| (k, k8s_openapi::ByteString(b"<redacted>".to_vec())))
            .collect()
    });
    insta::assert_yaml_snapshot!("config_secret_shape", secret);
}

#[test]
fn rendering_is_deterministic_and_order_independent() {
    let a = rendered();
    let b = rendered();
    assert_eq!(a, b);
    let server = server();
    let secrets = values();
    let s1 = vec![
        schema("a", "a-v1", GOOD_SCHEMA),
        schema("b", "b-v1", GOOD_SCHEMA),
    ];
    let s2 = vec![s1[1].clone(), s1[0].clone()];
    let r1 = render(Inputs {
        server: &server,
        schemas: &s1,
        providers: &[],
        templates: &[],
        secrets: &secrets,
        capabilities: ServerCapabilities::CURRENT,
        existing_selector: None,
    })
    .unwrap();
    let r2 = render(Inputs {
        server: &server,
        schemas: &s2,
        providers: &[],
        templates: &[],
        secrets: &secrets,
        capabilities: ServerCapabilities::CURRENT,
        existing_selector: None,
    })
    .unwrap();
    assert_eq!(r1.config, r2.config);
}

#[test]
fn schemas_are_embedded_as_standard_base64() {
    use base64::Engine;
    let config = rendered().config;
    let url = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("url: base64://"))
        .unwrap();
    let json = base64::engine::general_purpose::STANDARD
        .decode(url)
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["$id"], "https://schemas.example.com/customer.json");
}

#[test]
fn secrets_live_only_in_the_config_secret() {
    let r = rendered();
    for object in [
        serde_json::to_string(&r.deployment).unwrap(),
        serde_json::to_string(&r.public_service).unwrap(),
        serde_json::to_string(&r.pdb).unwrap(),
    ] {
        for secret in ["cookie-secret-one", "s3cr3t", "postgres://"] {
            assert!(!object.contains(secret));
        }
    }
    assert!(r.config.contains("cookie-secret-one"));
}

/// The keys the operator leaves out of the restart hash must be keys the server really
/// applies without a restart. The server states them once, as `HOT_RELOADED_KEYS` in
/// `server/src/reload.rs` (it derives its own "needs a restart" list from it); the
/// operator does not depend on the server crate, so the list is read from the source.
#[test]
fn keys_left_out_of_the_restart_hash_are_reloaded_by_the_server() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src/reload.rs");
    let source = std::fs::read_to_string(&path).unwrap();
    let line = source
        .lines()
        .find(|l| l.starts_with("pub const HOT_RELOADED_KEYS: &[&str] = &["))
        .expect("server/src/reload.rs states HOT_RELOADED_KEYS on one line");
    let list = line
        .split_once("= &[")
        .unwrap()
        .1
        .split_once(']')
        .unwrap()
        .0;
    let server_keys: Vec<&str> = list
        .split(',')
        .map(|k| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty())
        .collect();
    assert!(!server_keys.is_empty(), "{line}");
    for key in bia_operator::render::HOT_RELOADED_KEYS {
        assert!(
            server_keys.contains(key),
            "the operator leaves {key:?} out of the restart hash, but the server does not reload it \
             (server/src/reload.rs: {server_keys:?})"
        );
    }
}

fn render_with(
    server: &bia_crds::IdentityServer,
    schemas: &[bia_crds::IdentitySchema],
    secrets: &SecretValues,
) -> bia_operator::render::Rendered {
    render(Inputs {
        server,
        schemas,
        providers: &[],
        templates: &[],
        secrets,
        capabilities: ServerCapabilities::CURRENT,
        existing_selector: None,
    })
    .unwrap()
}

/// Every change reaches the server: what it reloads through the file, the rest by
/// rolling the pods (the restart hash on the pod template changes).
#[test]
fn every_change_takes_effect_by_reload_or_by_restart() {
    let server = server();
    let schemas = vec![schema("customer-v1", "customer-v1", GOOD_SCHEMA)];
    let secrets = values();
    let base = render_with(&server, &schemas, &secrets);

    // Reloaded: a new schema changes the file, not the pods.
    let more = vec![
        schemas[0].clone(),
        schema("admin-v1", "admin-v1", GOOD_SCHEMA),
    ];
    let r = render_with(&server, &more, &secrets);
    assert_ne!(r.config_hash, base.config_hash);
    assert_eq!(r.restart_hash, base.restart_hash);

    // Restarted: a referenced Secret, a server field.
    let mut rotated = secrets.clone();
    rotated.insert(NS, "bia-secrets", "cookie", "a-new-cookie-secret");
    let r = render_with(&server, &schemas, &rotated);
    assert_ne!(r.restart_hash, base.restart_hash, "server Secret");
    let mut longer = server.clone();
    longer.spec.session.as_mut().unwrap().lifespan = Some("48h".into());
    let r = render_with(&longer, &schemas, &secrets);
    assert_ne!(r.restart_hash, base.restart_hash, "session");

    // Providers, once the server has them, live under a key the server does not reload:
    // a change to them (or to a provider's Secret) will roll the pods.
    assert!(!bia_operator::render::HOT_RELOADED_KEYS.contains(&"selfservice"));
}

/// A changed template reaches the next message through the file (the server reloads
/// `courier.templates`): the config changes, the pods stay. The SMTP settings are not
/// reloaded: changing them, or the Secret holding the URI, rolls the pods.
#[test]
fn a_changed_template_is_reloaded_and_changed_smtp_settings_restart() {
    let server = server();
    let secrets = values();
    let with = |templates: &[bia_crds::CourierTemplate],
                server: &bia_crds::IdentityServer,
                secrets: &SecretValues| {
        render(Inputs {
            server,
            schemas: &[],
            providers: &[],
            templates,
            secrets,
            capabilities: ServerCapabilities::CURRENT,
            existing_selector: None,
        })
        .unwrap()
    };
    let one = [template(
        "recovery",
        TemplateType::RecoveryCode,
        "Code {{ .RecoveryCode }}",
    )];
    let base = with(&one, &server, &secrets);
    let changed = [template(
        "recovery",
        TemplateType::RecoveryCode,
        "New code {{ .RecoveryCode }}",
    )];
    let r = with(&changed, &server, &secrets);
    assert_ne!(r.config_hash, base.config_hash, "the file changes");
    assert_eq!(r.restart_hash, base.restart_hash, "the pods stay");
    let r = with(&[], &server, &secrets);
    assert_ne!(r.config, base.config);
    assert_eq!(
        r.restart_hash, base.restart_hash,
        "removing one is reloaded too"
    );

    // The same without spec.courier: the first template comes and goes without a restart.
    let mut bare = server.clone();
    bare.spec.courier = None;
    let none = with(&[], &bare, &secrets);
    let r = with(&one, &bare, &secrets);
    assert!(r.config.contains("courier:") && !none.config.contains("courier:"));
    assert_eq!(r.restart_hash, none.restart_hash, "the first template");

    let mut rotated = secrets.clone();
    rotated.insert(NS, "bia-secrets", "smtp", "smtp://other.example.com:25/");
    let r = with(&one, &server, &rotated);
    assert_ne!(r.restart_hash, base.restart_hash, "SMTP URI Secret");
    let mut sender = server.clone();
    sender.spec.courier.as_mut().unwrap().from_address = Some("hello@example.com".into());
    let r = with(&one, &sender, &secrets);
    assert_ne!(r.restart_hash, base.restart_hash, "SMTP sender");
}

/// The operator refuses what the server would refuse, with the server's parser: the field
/// and line, HTML bodies the escaper cannot handle, hostile templates, and fields an SMS
/// does not have. Nothing of a refused template is rendered.
#[test]
fn templates_are_validated_with_the_servers_parser() {
    use bia_operator::validate::validate_template;
    let ok = template("ok", TemplateType::LoginCode, "{{ .LoginCode | upper }}");
    assert_eq!(validate_template(&ok), Ok(()));
    let refusal = |t: &bia_crds::CourierTemplate| validate_template(t).unwrap_err();

    let broken = template(
        "broken",
        TemplateType::LoginCode,
        "Code:\n\n{{ if .LoginCode }}",
    );
    let r = refusal(&broken);
    assert_eq!(r.reason, "TemplateParseError");
    assert!(
        r.message.starts_with("spec.body.plaintext line 3:"),
        "{}",
        r.message
    );

    let mut html = template("html", TemplateType::LoginCode, "ok");
    html.spec.body.html = Some("<p>\n<a href=\"{{ .LoginCode }}".into());
    let r = refusal(&html);
    assert!(r.message.starts_with("spec.body.html"), "{}", r.message);

    let unknown = template("f", TemplateType::LoginCode, "{{ env \"HOME\" }}");
    assert!(refusal(&unknown).message.contains("\"env\" not defined"));

    let deep = "{{ if true }}".repeat(10_000) + &"{{ end }}".repeat(10_000);
    let hostile = template("deep", TemplateType::LoginCode, &deep);
    assert_eq!(refusal(&hostile).reason, "TemplateParseError");
    let recursive = template(
        "rec",
        TemplateType::LoginCode,
        r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
    );
    assert!(refusal(&recursive).message.contains("calls itself"));

    let mut sms = template("sms", TemplateType::LoginCode, "{{ .LoginCode }}");
    sms.spec.channel = bia_crds::TemplateChannel::Sms;
    assert_eq!(refusal(&sms).reason, "NotForSms");
    sms.spec.subject = None;
    sms.spec.body.html = None;
    assert_eq!(validate_template(&sms), Ok(()));
}
