//! The Kratos-format config file.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bia_crds::{IdentityServer, SameSite, SecretKeyRef};
use serde_json::{Map, Value, json};

use super::{ADMIN_PORT, Inputs, PUBLIC_PORT, RenderError, SecretValues, names};

/// A `base64://` URL embedding some text.
pub fn base64_url(text: &str) -> String {
    format!("base64://{}", STANDARD.encode(text.as_bytes()))
}

fn secret(
    server: &IdentityServer,
    secrets: &SecretValues,
    field: &str,
    r: &SecretKeyRef,
) -> Result<String, RenderError> {
    let ns = server.metadata.namespace.as_deref().unwrap_or_default();
    secrets
        .get(ns, r)
        .map(str::to_owned)
        .ok_or_else(|| RenderError::MissingSecret {
            field: field.to_owned(),
            name: r.name.clone(),
            key: r.key.clone(),
        })
}

/// Renders the config as a JSON value (keys in Kratos order), and the part of it that
/// needs a restart when it changes ([`restart_part`]).
pub fn render_config(inputs: Inputs<'_>) -> Result<(Value, Value), RenderError> {
    let server = inputs.server;
    let spec = &server.spec;
    let namespace = server
        .metadata
        .namespace
        .as_deref()
        .ok_or(RenderError::Unnamed)?;
    let child = names(server).ok_or(RenderError::Unnamed)?;

    let mut root = Map::new();
    root.insert(
        "dsn".into(),
        json!(secret(server, inputs.secrets, "spec.dsn", &spec.dsn)?),
    );

    let admin_url = spec.admin_base_url.clone().unwrap_or_else(|| {
        format!(
            "http://{}.{namespace}.svc.cluster.local:{ADMIN_PORT}/",
            child.admin_service
        )
    });
    root.insert(
        "serve".into(),
        json!({
            "public": {"base_url": spec.public_base_url, "port": PUBLIC_PORT},
            "admin": {"base_url": admin_url, "port": ADMIN_PORT},
        }),
    );

    let mut secrets = Map::new();
    let cookie = spec
        .secrets
        .cookie
        .iter()
        .enumerate()
        .map(|(i, r)| {
            secret(
                server,
                inputs.secrets,
                &format!("spec.secrets.cookie[{i}]"),
                r,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    secrets.insert("cookie".into(), json!(cookie));
    if let Some(cipher) = spec.secrets.cipher.as_ref().filter(|c| !c.is_empty()) {
        let cipher = cipher
            .iter()
            .enumerate()
            .map(|(i, r)| {
                secret(
                    server,
                    inputs.secrets,
                    &format!("spec.secrets.cipher[{i}]"),
                    r,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        secrets.insert("cipher".into(), json!(cipher));
    }
    root.insert("secrets".into(), Value::Object(secrets));

    let mut identity = Map::new();
    identity.insert("default_schema_id".into(), json!(spec.default_schema_id));
    let mut schemas: Vec<_> = inputs.schemas.iter().collect();
    schemas.sort_by(|a, b| a.spec.schema_id.cmp(&b.spec.schema_id));
    let schema_list: Vec<Value> = schemas
        .iter()
        .map(
            |s| json!({"id": s.spec.schema_id, "url": base64_url(&canonical_json(&s.spec.schema))}),
        )
        .collect();

    if let Some(session) = &spec.session {
        let mut out = Map::new();
        if let Some(lifespan) = &session.lifespan {
            out.insert("lifespan".into(), json!(lifespan));
        }
        if let Some(window) = &session.earliest_possible_extend {
            out.insert("earliest_possible_extend".into(), json!(window));
        }
        if let Some(cookie) = &session.cookie {
            let mut c = Map::new();
            if let Some(v) = &cookie.name {
                c.insert("name".into(), json!(v));
            }
            if let Some(v) = &cookie.domain {
                c.insert("domain".into(), json!(v));
            }
            if let Some(v) = &cookie.path {
                c.insert("path".into(), json!(v));
            }
            if let Some(v) = cookie.same_site {
                let v = match v {
                    SameSite::Strict => "Strict",
                    SameSite::Lax => "Lax",
                    SameSite::None => "None",
                };
                c.insert("same_site".into(), json!(v));
            }
            if let Some(v) = cookie.persistent {
                c.insert("persistent".into(), json!(v));
            }
            if !c.is_empty() {
                out.insert("cookie".into(), Value::Object(c));
            }
        }
        if !out.is_empty() {
            root.insert("session".into(), Value::Object(out));
        }
    }

    let caps = inputs.capabilities;
    let mut courier = Map::new();
    if let Some(settings) = spec.courier.as_ref().filter(|_| caps.courier) {
        let mut smtp = Map::new();
        smtp.insert(
            "connection_uri".into(),
            json!(secret(
                server,
                inputs.secrets,
                "spec.courier.smtpConnectionUri",
                &settings.smtp_connection_uri
            )?),
        );
        if let Some(from) = &settings.from_address {
            smtp.insert("from_address".into(), json!(from));
        }
        courier.insert("smtp".into(), Value::Object(smtp));
    }

    if !schema_list.is_empty() {
        identity.insert("schemas".into(), Value::Array(schema_list));
    }
    root.insert("identity".into(), Value::Object(identity));

    let mut templates: Vec<_> = inputs.templates.iter().filter(|_| caps.courier).collect();
    templates.sort_by_key(|t| (t.spec.template_type, t.spec.variant, t.spec.channel));
    let mut tree = Map::new();
    for t in templates {
        let s = &t.spec;
        let mut body = Map::new();
        body.insert("plaintext".into(), json!(base64_url(&s.body.plaintext)));
        if let Some(html) = &s.body.html {
            body.insert("html".into(), json!(base64_url(html)));
        }
        let mut leaf = Map::new();
        if let Some(subject) = &s.subject {
            leaf.insert("subject".into(), json!(base64_url(subject)));
        }
        leaf.insert("body".into(), Value::Object(body));
        let by_type = tree
            .entry(s.template_type.as_str())
            .or_insert_with(|| json!({}));
        let by_variant = by_type
            .as_object_mut()
            .map(|m| m.entry(s.variant.as_str()).or_insert_with(|| json!({})));
        if let Some(Value::Object(m)) = by_variant {
            m.insert(s.channel.as_str().into(), Value::Object(leaf));
        }
    }
    if !tree.is_empty() {
        courier.insert("templates".into(), Value::Object(tree));
    }
    if !courier.is_empty() {
        root.insert("courier".into(), Value::Object(courier));
    }

    let mut providers: Vec<_> = inputs
        .providers
        .iter()
        .filter(|_| caps.social_sign_in)
        .collect();
    providers.sort_by(|a, b| a.spec.provider_id.cmp(&b.spec.provider_id));
    let mut provider_list = Vec::new();
    for p in providers {
        let s = &p.spec;
        let ns = p.metadata.namespace.as_deref().unwrap_or(namespace);
        let client_secret =
            inputs
                .secrets
                .get(ns, &s.client_secret)
                .ok_or_else(|| RenderError::MissingSecret {
                    field: "spec.clientSecret".into(),
                    name: s.client_secret.name.clone(),
                    key: s.client_secret.key.clone(),
                })?;
        let mut out = Map::new();
        out.insert("id".into(), json!(s.provider_id));
        out.insert("provider".into(), json!(s.provider.as_str()));
        out.insert("client_id".into(), json!(s.client_id));
        out.insert("client_secret".into(), json!(client_secret));
        if let Some(issuer) = &s.issuer_url {
            out.insert("issuer_url".into(), json!(issuer));
        }
        if let Some(tenant) = &s.microsoft_tenant {
            out.insert("microsoft_tenant".into(), json!(tenant));
        }
        if let Some(scopes) = s.scopes.as_ref().filter(|v| !v.is_empty()) {
            out.insert("scope".into(), json!(scopes));
        }
        out.insert("mapper_url".into(), json!(base64_url(&s.mapper)));
        provider_list.push(Value::Object(out));
    }
    if caps.social_sign_in {
        let oidc = if provider_list.is_empty() {
            json!({"enabled": false})
        } else {
            json!({"enabled": true, "config": {"providers": provider_list}})
        };
        root.insert("selfservice".into(), json!({"methods": {"oidc": oidc}}));
    }

    let restart = restart_part(&root);
    Ok((Value::Object(root), restart))
}

/// The top-level keys the running server applies from a changed file without a restart,
/// as the server states them (`HOT_RELOADED_KEYS` in `server/src/reload.rs`; a test
/// checks every key here is there). They are left out of the restart hash; a change to
/// anything else rolls the pods.
pub const HOT_RELOADED_KEYS: &[&str] = &["identity"];

/// The part of the config whose change needs a restart: all but [`HOT_RELOADED_KEYS`].
pub fn restart_part(config: &Map<String, Value>) -> Value {
    let mut restart = config.clone();
    restart.retain(|key, _| !HOT_RELOADED_KEYS.contains(&key.as_str()));
    Value::Object(restart)
}

/// Compact JSON of a schema text (the text itself when it does not parse).
fn canonical_json(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}
