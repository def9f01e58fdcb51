//! Loading, checking and writing whole configurations.

use super::*;
use serde_json::json;

fn no_vars() -> Vec<(String, String)> {
    Vec::new()
}

fn base() -> Value {
    json!({
        "dsn": "memory",
        "secrets": {"cookie": ["a-very-long-cookie-secret"]},
        "identity": {"default_schema_id": "default", "schemas": [{"id": "default", "url": "file:///x.json"}]}
    })
}

fn with(layer: Value) -> Value {
    let mut tree = base();
    merge(&mut tree, layer);
    tree
}

fn keys(tree: Value, mode: Mode) -> Vec<String> {
    let loaded = parse(&tree).unwrap();
    check(&loaded.config, mode)
        .iter()
        .map(|e| e.key().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_good_config_has_no_problem() {
    assert!(keys(base(), Mode::default()).is_empty());
}

#[test]
fn every_problem_names_its_key() {
    for (layer, key) in [
        (
            json!({"secrets": {"cookie": ["short"]}}),
            "secrets.cookie[0]",
        ),
        (
            json!({"secrets": {"cookie": [], "default": ["ok-long-enough-secret", "short"]}}),
            "secrets.default[1]",
        ),
        (
            json!({"secrets": {"cipher": ["short"]}}),
            "secrets.cipher[0]",
        ),
        (
            json!({"identity": {"default_schema_id": "other"}}),
            "identity.default_schema_id",
        ),
        (
            json!({"identity": {"schemas": [{"id": "default", "url": ""}]}}),
            "identity.schemas[0].url",
        ),
        (
            json!({"identity": {"schemas": [{"id": "default", "url": "file:///a"}, {"id": "default", "url": "file:///b"}]}}),
            "identity.schemas[1].id",
        ),
        (json!({"identity": {"schemas": []}}), "identity.schemas"),
        (
            json!({"serve": {"admin": {"base_url": "ftp://x/"}}}),
            "serve.admin.base_url",
        ),
        (
            json!({"selfservice": {"flows": {"login": {"ui_url": "/login"}}}}),
            "selfservice.flows.login.ui_url",
        ),
        (
            json!({"selfservice": {"allowed_return_urls": ["https://a/", "no scheme"]}}),
            "selfservice.allowed_return_urls[1]",
        ),
        (
            json!({"session": {"cookie": {"same_site": "lax"}}}),
            "session.cookie.same_site",
        ),
        (
            json!({"selfservice": {"methods": {"password": {"config": {"min_password_length": 5}}}}}),
            "selfservice.methods.password.config.min_password_length",
        ),
        (
            json!({"selfservice": {"methods": {"password": {"config": {"max_breaches": 101}}}}}),
            "selfservice.methods.password.config.max_breaches",
        ),
        (
            json!({"selfservice": {"methods": {"password": {"config": {"haveibeenpwned_host": "ftp://x"}}}}}),
            "selfservice.methods.password.config.haveibeenpwned_host",
        ),
        (
            json!({"throttle": {"per_ip": {"window": "0s"}}}),
            "throttle.per_ip.window",
        ),
        (
            json!({"throttle": {"max_tracked_keys": 0}}),
            "throttle.max_tracked_keys",
        ),
        (json!({"log": {"level": "loud"}}), "log.level"),
        (json!({"log": {"format": "xml"}}), "log.format"),
        (
            json!({"selfservice": {"methods": {"webauthn": {"config": {"passwordless": true}}}}}),
            "selfservice.methods.webauthn.config.passwordless",
        ),
        (
            json!({"selfservice": {"methods": {"webauthn": {"enabled": true, "config": {"rp": {"display_name": "Bia"}}}}}}),
            "selfservice.methods.webauthn.config.rp.id",
        ),
        (
            json!({"selfservice": {"methods": {"passkey": {"enabled": true, "config": {"rp": {"id": "example.org"}}}}}}),
            "selfservice.methods.passkey.config.rp.display_name",
        ),
        (
            json!({"selfservice": {"methods": {"passkey": {"enabled": true, "config": {"rp": {"id": "example.org", "display_name": "Bia", "origins": ["https://example.org", "https://evil.test"]}}}}}}),
            "selfservice.methods.passkey.config.rp.origins",
        ),
        (
            json!({"selfservice": {"methods": {"webauthn": {"enabled": true, "config": {"rp": {"id": "example.org", "display_name": "Bia", "origin": "https://auth.example.org/path"}}}}}}),
            "selfservice.methods.webauthn.config.rp.origin",
        ),
    ] {
        assert_eq!(keys(with(layer.clone()), Mode::default()), [key], "{layer}");
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let tree = with(json!({
        "secrets": {"cookie": ["short"]},
        "log": {"level": "loud"},
        "throttle": {"max_tracked_keys": 0}
    }));
    assert_eq!(
        keys(tree, Mode::default()),
        [
            "secrets.cookie[0]",
            "throttle.max_tracked_keys",
            "log.level"
        ]
    );
}

#[test]
fn a_cookie_secret_is_required_outside_dev() {
    let mut tree = base();
    tree["secrets"] = json!({});
    assert_eq!(keys(tree.clone(), Mode::default()), ["secrets.cookie"]);
    assert!(keys(tree, Mode { dev: true }).is_empty());
}

#[test]
fn files_and_environment_load_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.yml");
    let two = dir.path().join("two.json");
    std::fs::write(
        &one,
        "secrets:\n  cookie: [a-very-long-cookie-secret]\nidentity:\n  schemas:\n    - id: default\n      url: file:///x\nserve:\n  public:\n    port: 1\n    host: a\n",
    )
    .unwrap();
    std::fs::write(&two, r#"{"serve": {"public": {"port": 2}}}"#).unwrap();
    let loaded = load(
        &[&one, &two],
        [("SERVE_ADMIN_PORT".to_string(), "3".to_string())],
        Mode::default(),
    )
    .unwrap();
    assert_eq!(loaded.config.serve.public.port, Some(2));
    assert_eq!(loaded.config.serve.public.host.as_deref(), Some("a"));
    assert_eq!(loaded.config.serve.admin.port, Some(3));
    let err = load(&[&one], no_vars(), Mode { dev: false });
    assert!(err.is_ok());
    let err = read(&[&one], [("SERVE_ADMIN_PORT".to_string(), "x".to_string())]).unwrap_err();
    assert_eq!(err.key(), Some("serve.admin.port"));
    let missing = dir.path().join("missing.yml");
    let err = read(&[&missing], no_vars()).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
}

#[test]
fn texts_in_memory_read_as_files_do() {
    assert_eq!(parse_text("", false).unwrap(), json!({}));
    assert_eq!(parse_text("{}", true).unwrap(), json!({}));
    assert!(parse_text("- a list", false).is_err());
    assert!(parse_text("[1]", true).is_err());
    let mut tree = parse_text("dsn: memory\nserve: {public: {port: 1}}", false).unwrap();
    merge(
        &mut tree,
        parse_text(r#"{"serve": {"public": {"port": 2}}}"#, true).unwrap(),
    );
    let vars = [("SERVE_ADMIN_PORT".to_string(), "3".to_string())];
    let loaded = read_tree(tree, vars).unwrap();
    assert_eq!(loaded.config.serve.public.port, Some(2));
    assert_eq!(loaded.config.serve.admin.port, Some(3));
}

#[test]
fn password_policy_and_throttle_defaults() {
    let config = parse(&base()).unwrap().config;
    let password = &config.selfservice.methods.password.config;
    assert_eq!(password.min_password_length(), 8);
    assert!(password.identifier_similarity_check_enabled());
    assert!(password.haveibeenpwned_enabled());
    assert!(password.ignore_network_errors());
    assert_eq!(password.max_breaches(), 0);
    assert_eq!(
        password.haveibeenpwned_base_url(),
        "https://api.pwnedpasswords.com"
    );
    let custom = PasswordConfig {
        haveibeenpwned_host: Some("http://127.0.0.1:8080/".into()),
        ..PasswordConfig::default()
    };
    assert_eq!(custom.haveibeenpwned_base_url(), "http://127.0.0.1:8080");
    assert!(config.throttle.is_enabled());
    assert_eq!(
        config.throttle.per_identifier(),
        (10, std::time::Duration::from_secs(300))
    );
    assert_eq!(
        config.throttle.per_ip(),
        (100, std::time::Duration::from_secs(60))
    );
}

#[test]
fn the_session_extension_window_defaults_to_the_lifespan() {
    let hour = std::time::Duration::from_secs(3600);
    let config = parse(&base()).unwrap().config;
    assert_eq!(config.session.earliest_possible_extend(), 24 * hour);
    let config = parse(&with(json!({"session": {"lifespan": "2h"}})))
        .unwrap()
        .config;
    assert_eq!(config.session.earliest_possible_extend(), 2 * hour);
    let config = parse(&with(
        json!({"session": {"lifespan": "2h", "earliest_possible_extend": "1h"}}),
    ))
    .unwrap()
    .config;
    assert_eq!(config.session.earliest_possible_extend(), hour);
}

#[test]
fn a_default_config_serializes_to_an_empty_mapping() {
    assert_eq!(serde_json::to_value(Config::default()).unwrap(), json!({}));
}

#[test]
fn a_config_built_in_code_round_trips_through_yaml() {
    let mut config = Config {
        dsn: Some("postgres://bia@db/bia".into()),
        ..Config::default()
    };
    config.serve.public.base_url = Some("https://id.example.org/".into());
    config.serve.public.port = Some(4433);
    config.serve.public.trusted_proxies = vec!["10.0.0.0/8".into()];
    config.secrets.cookie = vec!["a-very-long-cookie-secret".into()];
    config.identity.default_schema_id = Some("customer".into());
    config.identity.schemas = vec![SchemaEntry {
        id: "customer".into(),
        url: "base64://e30=".into(),
        ..SchemaEntry::default()
    }];
    config.session.lifespan = Some(GoDuration(std::time::Duration::from_secs(7200)));
    config.session.cookie.same_site = Some("Strict".into());
    config.hashers.bcrypt.cost = 10;
    config.selfservice.flows.registration.after.hooks = vec![HookConfig::Session];
    config.selfservice.flows.login.before.hooks = vec![HookConfig::WebHook(WebHookConfig {
        id: None,
        url: "https://hooks.example.org/login".into(),
        method: Some("POST".into()),
        headers: Default::default(),
        body: None,
        auth: None,
        response: WebHookResponse::default(),
        can_interrupt: None,
        emit_analytics_event: None,
    })];
    let yaml = config.to_yaml().unwrap();
    assert!(!yaml.contains("argon2"), "defaults are left out:\n{yaml}");
    assert!(!yaml.contains("throttle"), "defaults are left out:\n{yaml}");
    let tree = parse_yaml(&yaml).unwrap();
    assert_eq!(
        tree["selfservice"]["flows"]["registration"]["after"]["hooks"],
        json!([{"hook": "session"}])
    );
    assert_eq!(tree["session"]["lifespan"], "7200s");
    let loaded = parse(&tree).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.config, config);
    assert!(check(&loaded.config, Mode::default()).is_empty());
}

#[test]
fn show_verification_ui_is_reported_as_inert() {
    let tree = json!({"selfservice": {"flows": {"registration": {"after": {
        "hooks": [{"hook": "session"}],
        "password": {"hooks": [{"hook": "session"}, {"hook": "show_verification_ui"}]}
    }}}}});
    let loaded = parse(&tree).unwrap();
    let keys: Vec<&str> = loaded.warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(
        keys,
        ["selfservice.flows.registration.after.password.hooks[1]"]
    );
    assert!(
        loaded.warnings[0]
            .to_string()
            .contains("show_verification_ui")
    );
}

fn oidc_provider(extra: Value) -> Value {
    let mut provider = json!({
        "id": "corp",
        "provider": "generic",
        "client_id": "bia",
        "client_secret": "secret",
        "issuer_url": "https://sso.example.com",
        "mapper_url": "file:///etc/bia/oidc.jsonnet"
    });
    merge(&mut provider, extra);
    provider
}

fn with_providers(providers: Vec<Value>) -> Value {
    with(json!({"selfservice": {"methods": {"oidc": {
        "enabled": true, "config": {"providers": providers}
    }}}}))
}

#[test]
fn a_generic_oidc_provider_is_read_and_passes() {
    let tree = with_providers(vec![oidc_provider(json!({
        "label": "Corporate SSO",
        "scope": ["email"],
        "pkce": "force",
        "claims_source": "userinfo",
        "upstream_parameters": {"prompt": "login"},
        "requested_claims": {"id_token": {"email": {"essential": true}}}
    }))]);
    let loaded = parse(&tree).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(check(&loaded.config, Mode::default()).is_empty());
    let oidc = &loaded.config.selfservice.methods.oidc;
    assert!(oidc.is_enabled());
    assert_eq!(oidc.config.providers[0].pkce.as_deref(), Some("force"));
}

#[test]
fn oidc_providers_are_checked_key_by_key() {
    let list = "selfservice.methods.oidc.config.providers";
    for (provider, key) in [
        (
            json!({"provider": "myspace"}),
            format!("{list}[0].provider"),
        ),
        (json!({"id": "has space"}), format!("{list}[0].id")),
        (json!({"client_id": ""}), format!("{list}[0].client_id")),
        (json!({"mapper_url": ""}), format!("{list}[0].mapper_url")),
        (
            json!({"issuer_url": "ftp://x"}),
            format!("{list}[0].issuer_url"),
        ),
        (json!({"token_url": "nope"}), format!("{list}[0].token_url")),
        (json!({"pkce": "sometimes"}), format!("{list}[0].pkce")),
        (
            json!({"claims_source": "guess"}),
            format!("{list}[0].claims_source"),
        ),
        (
            json!({"requested_claims": "email"}),
            format!("{list}[0].requested_claims"),
        ),
        (
            json!({"upstream_parameters": {"state": "x"}}),
            format!("{list}[0].upstream_parameters.state"),
        ),
    ] {
        let tree = with_providers(vec![oidc_provider(provider.clone())]);
        assert_eq!(keys(tree, Mode::default()), [key], "{provider}");
    }
    let twice = with_providers(vec![oidc_provider(json!({})), oidc_provider(json!({}))]);
    assert_eq!(keys(twice, Mode::default()), [format!("{list}[1].id")]);
    let mut no_issuer = oidc_provider(json!({}));
    no_issuer.as_object_mut().unwrap().remove("issuer_url");
    let tree = with_providers(vec![no_issuer]);
    assert_eq!(
        keys(tree, Mode::default()),
        [format!("{list}[0].issuer_url")]
    );
    // A named kind has its own issuer: `issuer_url` may be left out.
    let mut google = oidc_provider(json!({"provider": "google"}));
    google.as_object_mut().unwrap().remove("issuer_url");
    assert!(keys(with_providers(vec![google]), Mode::default()).is_empty());
}

fn oauth2_provider(kind: &str, extra: Value) -> Value {
    let mut provider = oidc_provider(json!({"provider": kind}));
    provider.as_object_mut().unwrap().remove("issuer_url");
    merge(&mut provider, extra);
    provider
}

#[test]
fn oauth2_kinds_need_no_issuer_and_take_a_stand_in_base() {
    for kind in ["github", "github-app", "discord", "slack", "facebook"] {
        let provider = oauth2_provider(
            kind,
            json!({"api_base_url": "http://127.0.0.1:5555/github", "pkce": "force",
                   "auth_url": "https://auth.example.com/authorize"}),
        );
        let tree = with_providers(vec![provider]);
        assert!(keys(tree, Mode::default()).is_empty(), "{kind}");
    }
    let mut linkedin = oidc_provider(json!({"provider": "linkedin"}));
    linkedin.as_object_mut().unwrap().remove("issuer_url");
    assert!(keys(with_providers(vec![linkedin]), Mode::default()).is_empty());
}

#[test]
fn keys_a_kind_does_not_read_are_refused_by_name() {
    let list = "selfservice.methods.oidc.config.providers";
    for (provider, key) in [
        (
            oauth2_provider("github", json!({"issuer_url": "https://github.com"})),
            "issuer_url",
        ),
        (
            oauth2_provider("discord", json!({"claims_source": "userinfo"})),
            "claims_source",
        ),
        (
            oauth2_provider("facebook", json!({"requested_claims": {"id_token": {}}})),
            "requested_claims",
        ),
        (
            oauth2_provider("github-app", json!({"scope": ["user:email"]})),
            "scope",
        ),
        (
            oauth2_provider("slack", json!({"api_base_url": "file:///etc/passwd"})),
            "api_base_url",
        ),
        (
            oidc_provider(json!({"api_base_url": "http://127.0.0.1:5555"})),
            "api_base_url",
        ),
        (
            oidc_provider(json!({"provider": "linkedin", "claims_source": "id_token"})),
            "claims_source",
        ),
    ] {
        let problems = keys(with_providers(vec![provider.clone()]), Mode::default());
        assert_eq!(problems, [format!("{list}[0].{key}")], "{provider}");
    }
    let problems = crate::oidc::provider_problems(
        &serde_json::from_value(oauth2_provider("github-app", json!({"scope": ["repo"]}))).unwrap(),
    );
    assert_eq!(problems.len(), 1);
    assert!(problems[0].1.contains("\"github-app\""), "{problems:?}");
}

/// A P-256 private key in PKCS#8 PEM, as Apple's `.p8` files hold one.
const APPLE_TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg05rovxta3Bp/8ul7
YrLk3voVcgJVSpmTZYsN/Tfi0cahRANCAAQzZg2uaudYUl27R7vpzovrzeCdIenU
0+LVX1tw3ZJtRs4afQGq0r8za91uOoezYiRqWiZ0UrpH93Pohrj6dp+V
-----END PRIVATE KEY-----
";

fn apple_provider(extra: Value) -> Value {
    let mut provider = oidc_provider(json!({
        "provider": "apple",
        "client_secret": null,
        "issuer_url": null,
        "apple_team_id": "KP76DQS54M",
        "apple_private_key_id": "ABC123DEFG",
        "apple_private_key": APPLE_TEST_KEY
    }));
    merge(&mut provider, extra);
    let object = provider.as_object_mut().unwrap();
    object.retain(|_, value| !value.is_null());
    provider
}

#[test]
fn named_provider_kinds_pass_with_their_own_keys() {
    let mut gitlab = oidc_provider(json!({"provider": "gitlab"}));
    gitlab.as_object_mut().unwrap().remove("issuer_url");
    let microsoft = oidc_provider(json!({
        "id": "ms", "provider": "microsoft", "issuer_url": null,
        "microsoft_tenant": "organizations", "subject_source": "me"
    }));
    let mut microsoft = microsoft;
    microsoft
        .as_object_mut()
        .unwrap()
        .retain(|_, v| !v.is_null());
    let auth0 = oidc_provider(json!({"id": "a0", "provider": "auth0"}));
    let apple = apple_provider(json!({"id": "apple"}));
    let tree = with_providers(vec![gitlab, microsoft, auth0, apple]);
    let loaded = parse(&tree).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(check(&loaded.config, Mode::default()).is_empty());
    let providers = &loaded.config.selfservice.methods.oidc.config.providers;
    assert_eq!(
        crate::oidc::issuer(&providers[1]).as_deref(),
        Some("https://login.microsoftonline.com/organizations/v2.0")
    );
    assert_eq!(
        crate::oidc::issuer(&providers[0]).as_deref(),
        Some("https://gitlab.com")
    );
}

#[test]
fn kind_only_keys_are_refused_on_other_kinds() {
    let list = "selfservice.methods.oidc.config.providers";
    let tree = with_providers(vec![oidc_provider(json!({
        "microsoft_tenant": "common",
        "apple_team_id": "KP76DQS54M"
    }))]);
    assert_eq!(
        keys(tree, Mode::default()),
        [
            format!("{list}[0].microsoft_tenant"),
            format!("{list}[0].apple_team_id")
        ]
    );
    let apple_with_tenant = apple_provider(json!({"subject_source": "me"}));
    assert_eq!(
        keys(with_providers(vec![apple_with_tenant]), Mode::default()),
        [format!("{list}[0].subject_source")]
    );
}

#[test]
fn kind_specific_keys_are_checked() {
    let list = "selfservice.methods.oidc.config.providers";
    let mut auth0 = oidc_provider(json!({"provider": "auth0"}));
    auth0.as_object_mut().unwrap().remove("issuer_url");
    let microsoft = |extra: Value| {
        let mut provider = oidc_provider(json!({"provider": "microsoft"}));
        merge(&mut provider, extra);
        provider
    };
    let cases = [
        (auth0, "issuer_url"),
        (
            microsoft(json!({"microsoft_tenant": "x/../y"})),
            "microsoft_tenant",
        ),
        (
            microsoft(json!({"microsoft_tenant": ""})),
            "microsoft_tenant",
        ),
        (
            microsoft(json!({"subject_source": "oid?"})),
            "subject_source",
        ),
        (
            apple_provider(json!({"apple_private_key": "not a key"})),
            "apple_private_key",
        ),
        (
            apple_provider(json!({"apple_private_key": APPLE_TEST_KEY.replace("MIGH", "MIGG")})),
            "apple_private_key",
        ),
        (
            apple_provider(json!({"apple_team_id": "KP76 DQS"})),
            "apple_team_id",
        ),
        (
            apple_provider(json!({"apple_private_key_id": ""})),
            "apple_private_key_id",
        ),
    ];
    for (provider, key) in cases {
        let tree = with_providers(vec![provider.clone()]);
        assert_eq!(
            keys(tree, Mode::default()),
            [format!("{list}[0].{key}")],
            "{provider}"
        );
    }
    // The apple keys go together; without them a client secret is needed.
    let mut partial = apple_provider(json!({}));
    partial
        .as_object_mut()
        .unwrap()
        .remove("apple_private_key_id");
    assert_eq!(
        keys(with_providers(vec![partial]), Mode::default()),
        [format!("{list}[0].apple_private_key_id")]
    );
    let mut bare = apple_provider(json!({}));
    bare.as_object_mut()
        .unwrap()
        .retain(|key, _| !key.starts_with("apple_"));
    assert_eq!(
        keys(with_providers(vec![bare.clone()]), Mode::default()),
        [format!("{list}[0].client_secret")]
    );
    merge(
        &mut bare,
        json!({"client_secret": "a-secret-signed-elsewhere"}),
    );
    assert!(keys(with_providers(vec![bare]), Mode::default()).is_empty());
}

#[test]
fn a_disabled_oidc_method_is_not_checked() {
    let tree = with(json!({"selfservice": {"methods": {"oidc": {
        "config": {"providers": [{"id": "x", "provider": "myspace"}]}
    }}}}));
    assert!(keys(tree, Mode::default()).is_empty());
}

#[test]
fn relying_party_origins_default_to_the_id() {
    let rp = RelyingPartyConfig {
        id: Some("localhost".into()),
        ..Default::default()
    };
    assert_eq!(
        rp.effective_origins("http://localhost:4433/"),
        ["http://localhost:4433"]
    );
    assert_eq!(
        rp.effective_origins("https://auth.example.org/"),
        ["https://localhost"]
    );
    let listed = RelyingPartyConfig {
        id: Some("example.org".into()),
        origin: Some("https://a.example.org".into()),
        origins: Some(vec!["https://b.example.org".into()]),
        ..Default::default()
    };
    assert_eq!(
        listed.effective_origins("https://example.org/"),
        ["https://a.example.org", "https://b.example.org"]
    );
}
