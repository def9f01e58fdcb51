//! Builders for test resources, with fixed uids and timestamps.

use std::collections::BTreeMap;

use bia_crds::{
    CourierTemplate, CourierTemplateSpec, IdentitySchema, IdentitySchemaSpec, IdentityServer,
    IdentityServerSpec, OIDCProvider, OIDCProviderSpec, ProviderKind, SecretKeyRef, ServerRef,
    ServerSecrets, TemplateBody, TemplateChannel, TemplateType, TemplateVariant,
};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

pub const NS: &str = "identity";

pub fn time(secs: i64) -> Time {
    Time(Timestamp::from_second(1_700_000_000 + secs).unwrap())
}

pub fn meta(name: &str, created: i64) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(NS.into()),
        uid: Some(format!("uid-{name}")),
        generation: Some(1),
        resource_version: Some("1".into()),
        creation_timestamp: Some(time(created)),
        ..ObjectMeta::default()
    }
}

pub fn key(name: &str, key: &str) -> SecretKeyRef {
    SecretKeyRef {
        name: name.into(),
        key: key.into(),
    }
}

pub fn server_ref() -> ServerRef {
    ServerRef {
        name: "bia".into(),
        namespace: None,
    }
}

pub fn server() -> IdentityServer {
    let mut s = IdentityServer::new(
        "bia",
        IdentityServerSpec {
            image: "ghcr.io/bia-dev/bia:0.1.0".into(),
            replicas: Some(2),
            dsn: key("bia-secrets", "dsn"),
            secrets: ServerSecrets {
                cookie: vec![
                    key("bia-secrets", "cookie"),
                    key("bia-secrets", "cookie-old"),
                ],
                cipher: Some(vec![key("bia-secrets", "cipher")]),
            },
            public_base_url: "https://id.example.com/".into(),
            admin_base_url: None,
            session: Some(bia_crds::SessionSettings {
                lifespan: Some("24h".into()),
                earliest_possible_extend: Some("1h".into()),
                cookie: Some(bia_crds::CookieSettings {
                    name: None,
                    domain: Some("example.com".into()),
                    path: None,
                    same_site: Some(bia_crds::SameSite::Lax),
                    persistent: Some(true),
                }),
            }),
            courier: Some(bia_crds::CourierSettings {
                smtp_connection_uri: key("bia-secrets", "smtp"),
                from_address: Some("no-reply@example.com".into()),
            }),
            default_schema_id: "customer-v1".into(),
            resources: None,
            deletion_policy: None,
            namespace_selectors: None,
            image_pull_secrets: None,
            scheduling: None,
            exposure: None,
            network_policy: None,
        },
    );
    s.metadata = meta("bia", 0);
    s.metadata.labels = Some(BTreeMap::from([(
        "argocd.argoproj.io/instance".into(),
        "bia".into(),
    )]));
    s
}

pub const GOOD_SCHEMA: &str = r#"{
  "$id": "https://schemas.example.com/customer.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}
        }
      }
    }
  }
}"#;

pub fn schema(name: &str, id: &str, body: &str) -> IdentitySchema {
    let mut s = IdentitySchema::new(
        name,
        IdentitySchemaSpec {
            schema_id: id.into(),
            schema: body.into(),
            server_ref: server_ref(),
            supersedes: None,
            transform: None,
        },
    );
    s.metadata = meta(name, 10);
    s
}

pub fn provider(name: &str, id: &str, created: i64) -> OIDCProvider {
    let mut p = OIDCProvider::new(
        name,
        OIDCProviderSpec {
            provider_id: id.into(),
            provider: ProviderKind::Generic,
            issuer_url: Some("https://accounts.example.com".into()),
            client_id: format!("client-{name}"),
            client_secret: Some(key("oauth", "client-secret")),
            scopes: Some(vec!["openid".into(), "email".into()]),
            mapper:
                "local claims = std.extVar('claims'); {identity: {traits: {email: claims.email}}}"
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
    p.metadata = meta(name, created);
    p
}

pub fn template(name: &str, t: TemplateType, plaintext: &str) -> CourierTemplate {
    let mut c = CourierTemplate::new(
        name,
        CourierTemplateSpec {
            template_type: t,
            variant: TemplateVariant::Valid,
            channel: TemplateChannel::Email,
            subject: Some("Your code".into()),
            body: TemplateBody {
                plaintext: plaintext.into(),
                html: Some("<p>{{ .RecoveryCode }}</p>".into()),
            },
            server_ref: server_ref(),
        },
    );
    c.metadata = meta(name, 20);
    c
}

pub fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NS.into()),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    }
}

pub fn server_secrets() -> Secret {
    secret(
        "bia-secrets",
        &[
            ("dsn", "postgres://bia:pw@db:5432/bia"),
            ("cookie", "cookie-secret-one"),
            ("cookie-old", "cookie-secret-zero"),
            ("cipher", "0123456789abcdef0123456789abcdef"),
            ("smtp", "smtps://u:p@mail.example.com:465/"),
        ],
    )
}

pub fn oauth_secret() -> Secret {
    secret("oauth", &[("client-secret", "s3cr3t")])
}
