//! The server config file, built from the server's own config types ([`bia_config`]), so
//! the operator cannot write a key the server does not read.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bia_config::{
    Config, GoDuration, IdentityConfig, Listener, SchemaEntry, Secrets, Serve, SessionConfig,
    SessionCookieConfig,
};
use bia_crds::{IdentityServer, SameSite, SecretKeyRef};
use serde_json::{Map, Value};

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

fn secret_list(
    server: &IdentityServer,
    secrets: &SecretValues,
    field: &str,
    refs: &[SecretKeyRef],
) -> Result<Vec<String>, RenderError> {
    refs.iter()
        .enumerate()
        .map(|(i, r)| secret(server, secrets, &format!("{field}[{i}]"), r))
        .collect()
}

fn duration(field: &str, text: &Option<String>) -> Result<Option<GoDuration>, RenderError> {
    text.as_deref()
        .map(|t| {
            GoDuration::parse(t).map_err(|reason| RenderError::Invalid {
                field: field.to_owned(),
                reason,
            })
        })
        .transpose()
}

/// Renders the server config. Providers, templates and `spec.courier` have no place in it
/// until the server (and so [`Config`]) has social sign-in and a courier; a capability
/// switched on before that is an error rather than a silently dropped resource.
pub fn render_config(inputs: Inputs<'_>) -> Result<Config, RenderError> {
    let server = inputs.server;
    let spec = &server.spec;
    let namespace = server
        .metadata
        .namespace
        .as_deref()
        .ok_or(RenderError::Unnamed)?;
    let child = names(server).ok_or(RenderError::Unnamed)?;
    if inputs.capabilities.social_sign_in {
        return Err(RenderError::NotInConfigTypes(
            "social sign-in (selfservice.methods.oidc)",
        ));
    }
    if inputs.capabilities.courier {
        return Err(RenderError::NotInConfigTypes("the courier (courier)"));
    }

    let admin_url = spec.admin_base_url.clone().unwrap_or_else(|| {
        format!(
            "http://{}.{namespace}.svc.cluster.local:{ADMIN_PORT}/",
            child.admin_service
        )
    });
    let listener = |base_url: String, port: i32| Listener {
        base_url: Some(base_url),
        port: u16::try_from(port).ok(),
        ..Listener::default()
    };

    let mut schemas: Vec<_> = inputs.schemas.iter().collect();
    schemas.sort_by(|a, b| a.spec.schema_id.cmp(&b.spec.schema_id));

    let mut session = SessionConfig::default();
    if let Some(settings) = &spec.session {
        session.lifespan = duration("spec.session.lifespan", &settings.lifespan)?;
        session.earliest_possible_extend = duration(
            "spec.session.earliestPossibleExtend",
            &settings.earliest_possible_extend,
        )?;
        if let Some(cookie) = &settings.cookie {
            session.cookie = SessionCookieConfig {
                name: cookie.name.clone(),
                domain: cookie.domain.clone(),
                path: cookie.path.clone(),
                same_site: cookie.same_site.map(|v| {
                    match v {
                        SameSite::Strict => "Strict",
                        SameSite::Lax => "Lax",
                        SameSite::None => "None",
                    }
                    .to_owned()
                }),
                persistent: cookie.persistent,
            };
        }
    }

    Ok(Config {
        dsn: Some(secret(server, inputs.secrets, "spec.dsn", &spec.dsn)?),
        serve: Serve {
            public: listener(spec.public_base_url.clone(), PUBLIC_PORT),
            admin: listener(admin_url, ADMIN_PORT),
        },
        secrets: Secrets {
            cookie: secret_list(
                server,
                inputs.secrets,
                "spec.secrets.cookie",
                &spec.secrets.cookie,
            )?,
            cipher: secret_list(
                server,
                inputs.secrets,
                "spec.secrets.cipher",
                spec.secrets.cipher.as_deref().unwrap_or_default(),
            )?,
            ..Secrets::default()
        },
        identity: IdentityConfig {
            default_schema_id: Some(spec.default_schema_id.clone()),
            schemas: schemas
                .iter()
                .map(|s| SchemaEntry {
                    id: s.spec.schema_id.clone(),
                    url: base64_url(&canonical_json(&s.spec.schema)),
                })
                .collect(),
        },
        session,
        ..Config::default()
    })
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
