//! Render time for a server with 50 schemas, 50 providers and 30 templates (goal: < 20 ms).
//! Run with `cargo bench -p bia-operator --bench render`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bia_crds::{
    CourierTemplate, CourierTemplateSpec, IdentitySchema, IdentitySchemaSpec, IdentityServer,
    IdentityServerSpec, OIDCProvider, OIDCProviderSpec, ProviderKind, SecretKeyRef, ServerRef,
    ServerSecrets, TemplateBody, TemplateChannel, TemplateType, TemplateVariant,
};
use bia_operator::capabilities::ServerCapabilities;
use bia_operator::render::{Inputs, SecretValues, render};
use bia_operator::validate::{Plan, plan};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some("bench".into()),
        uid: Some(format!("uid-{name}")),
        ..ObjectMeta::default()
    }
}

fn key(name: &str, key: &str) -> SecretKeyRef {
    SecretKeyRef {
        name: name.into(),
        key: key.into(),
    }
}

fn server_ref() -> ServerRef {
    ServerRef {
        name: "bia".into(),
        namespace: None,
    }
}

fn main() {
    let mut server = IdentityServer::new(
        "bia",
        IdentityServerSpec {
            image: "bia:bench".into(),
            replicas: Some(3),
            dsn: key("s", "dsn"),
            secrets: ServerSecrets {
                cookie: vec![key("s", "cookie")],
                cipher: None,
            },
            public_base_url: "https://id.example.com/".into(),
            admin_base_url: None,
            session: None,
            courier: None,
            default_schema_id: "schema-0".into(),
            resources: None,
            deletion_policy: None,
            namespace_selectors: None,
            image_pull_secrets: None,
            scheduling: None,
            exposure: None,
            network_policy: None,
        },
    );
    server.metadata = meta("bia");
    let body = |i: usize| {
        format!(
            r#"{{"$id":"https://schemas.example.com/{i}.json","$schema":"http://json-schema.org/draft-07/schema#","type":"object",
            "properties":{{"traits":{{"type":"object","properties":{{"email":{{"type":"string","format":"email",
            "ory.sh/kratos":{{"credentials":{{"password":{{"identifier":true}}}}}}}},"name":{{"type":"string"}}}}}}}}}}"#
        )
    };
    let schemas: Vec<_> = (0..50)
        .map(|i| {
            let mut s = IdentitySchema::new(
                &format!("schema-{i}"),
                IdentitySchemaSpec {
                    schema_id: format!("schema-{i}"),
                    schema: body(i),
                    server_ref: server_ref(),
                    supersedes: None,
                    transform: None,
                },
            );
            s.metadata = meta(&format!("schema-{i}"));
            s
        })
        .collect();
    let providers: Vec<_> = (0..50)
        .map(|i| {
            let mut p = OIDCProvider::new(
                &format!("p-{i}"),
                OIDCProviderSpec {
                    provider_id: format!("p-{i}"),
                    provider: ProviderKind::Generic,
                    issuer_url: Some(format!("https://issuer-{i}.example.com")),
                    client_id: format!("client-{i}"),
                    client_secret: Some(key("oauth", "secret")),
                    scopes: Some(vec!["openid".into(), "email".into()]),
                    mapper:
                        "local c = std.extVar('claims'); {identity: {traits: {email: c.email}}}"
                            .into(),
                    microsoft_tenant: None,
                    subject_source: None,
                    auth_url: None,
                    token_url: None,
                    api_base_url: None,
                    apple: None,
                    server_ref: server_ref(),
                },
            );
            p.metadata = meta(&format!("p-{i}"));
            p
        })
        .collect();
    let types = [
        TemplateType::Recovery,
        TemplateType::RecoveryCode,
        TemplateType::Verification,
        TemplateType::VerificationCode,
        TemplateType::LoginCode,
        TemplateType::RegistrationCode,
    ];
    let templates: Vec<_> = (0..30)
        .map(|i| {
            let mut t = CourierTemplate::new(
                &format!("t-{i}"),
                CourierTemplateSpec {
                    template_type: types[i % 6],
                    variant: if i % 12 < 6 || i % 6 >= 4 {
                        TemplateVariant::Valid
                    } else {
                        TemplateVariant::Invalid
                    },
                    channel: if i < 15 {
                        TemplateChannel::Email
                    } else {
                        TemplateChannel::Sms
                    },
                    subject: Some("Code {{ .Code }}".into()),
                    body: TemplateBody {
                        plaintext:
                            "Hi {{ if .Identity }}{{ .Identity.traits.name }}{{ end }}: {{ .Code }}"
                                .into(),
                        html: None,
                    },
                    server_ref: server_ref(),
                },
            );
            t.metadata = meta(&format!("t-{i}"));
            t
        })
        .collect();
    let mut secrets = SecretValues::new();
    for (k, v) in [("dsn", "postgres://x"), ("cookie", "cookie-secret")] {
        secrets.insert("bench", "s", k, v);
    }
    secrets.insert("bench", "oauth", "secret", "s3cr3t");

    let planned = || {
        plan(
            &server,
            &schemas,
            &providers,
            &templates,
            &secrets,
            ServerCapabilities::CURRENT,
        )
    };
    let rendered = |p: &Plan| {
        render(Inputs {
            server: &server,
            schemas: &p.schemas,
            providers: &p.providers,
            templates: &p.templates,
            secrets: &secrets,
            capabilities: ServerCapabilities::CURRENT,
            existing_selector: None,
        })
        .unwrap()
    };
    let run = || {
        black_box(rendered(&planned()));
    };
    for _ in 0..3 {
        run();
    }
    let iterations = 50u32;
    let mut samples: Vec<Duration> = Vec::new();
    for _ in 0..iterations {
        let start = Instant::now();
        run();
        samples.push(start.elapsed());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let worst = samples[samples.len() - 1];
    let p = planned();
    let r = rendered(&p);
    println!(
        "validate+render 50 schemas, 50 providers, 30 templates ({} accepted, config {} KiB): median {:.2} ms, max {:.2} ms over {iterations} runs (goal < 20 ms)",
        p.schemas.len() + p.providers.len() + p.templates.len(),
        r.config.len() / 1024,
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
    );
}
