//! The server config file, built from the server's own config types ([`bia_config`]), so
//! the operator cannot write a key the server does not read.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bia_config::{
    Config, CourierConfig, CourierTemplates, EmailBody, EmailTemplate, GoDuration, IdentityConfig,
    Listener, SchemaEntry, Secrets, Serve, SessionConfig, SessionCookieConfig, SmsBody,
    SmsTemplate, SmtpConfig, TemplateChannels, TemplateVariants,
};
use bia_config::{MethodsConfig, OidcConfig, OidcMethodConfig, OidcProvider, SelfServiceConfig};
use bia_crds::{
    CourierTemplate, IdentityServer, OIDCProvider, SameSite, SecretKeyRef, TemplateChannel,
    TemplateType, TemplateVariant,
};
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
    secret_in(ns, secrets, field, r)
}

/// The value of a Secret key in namespace `ns`; `field` names the resource field
/// that refers to it.
fn secret_in(
    ns: &str,
    secrets: &SecretValues,
    field: &str,
    r: &SecretKeyRef,
) -> Result<String, RenderError> {
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

/// Renders the server config. Accepted providers become the entries of
/// `selfservice.methods.oidc` (their client secrets read from their Secrets, their
/// mappers as `base64://` URIs); accepted templates become `base64://` URIs under
/// `courier.templates`, `spec.courier` the SMTP settings.
pub fn render_config(inputs: Inputs<'_>) -> Result<Config, RenderError> {
    let server = inputs.server;
    let spec = &server.spec;
    let namespace = server
        .metadata
        .namespace
        .as_deref()
        .ok_or(RenderError::Unnamed)?;
    let child = names(server).ok_or(RenderError::Unnamed)?;

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
            public: Listener {
                trusted_proxies: super::exposure::trusted_proxies(server),
                ..listener(spec.public_base_url.clone(), PUBLIC_PORT)
            },
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
                    selfservice_selectable: false,
                })
                .collect(),
        },
        session,
        selfservice: if inputs.capabilities.social_sign_in {
            social_sign_in(inputs.providers, inputs.secrets)?
        } else {
            SelfServiceConfig::default()
        },
        courier: if inputs.capabilities.courier {
            courier(server, inputs.secrets, inputs.templates)?
        } else {
            CourierConfig::default()
        },
        ..Config::default()
    })
}

/// `selfservice.methods.oidc`: every accepted provider (none: the method stays off and
/// the section is not written).
fn social_sign_in(
    providers: &[OIDCProvider],
    secrets: &SecretValues,
) -> Result<SelfServiceConfig, RenderError> {
    if providers.is_empty() {
        return Ok(SelfServiceConfig::default());
    }
    let entries = providers
        .iter()
        .map(|p| {
            let ns = p.metadata.namespace.as_deref().unwrap_or_default();
            let read = |field: &str, r: &Option<&SecretKeyRef>| {
                r.map(|r| secret_in(ns, secrets, field, r)).transpose()
            };
            let client_secret = read("spec.clientSecret", &p.spec.client_secret.as_ref())?;
            let apple_key = read(
                "spec.apple.privateKey",
                &p.spec.apple.as_ref().map(|a| &a.private_key),
            )?;
            Ok(provider_entry(p, client_secret, apple_key))
        })
        .collect::<Result<Vec<_>, RenderError>>()?;
    Ok(SelfServiceConfig {
        methods: MethodsConfig {
            oidc: OidcMethodConfig {
                enabled: Some(true),
                config: OidcConfig {
                    providers: entries,
                    ..OidcConfig::default()
                },
            },
            ..MethodsConfig::default()
        },
        ..SelfServiceConfig::default()
    })
}

/// The server config entry of a provider, with its client secret and Apple
/// private key (as read from their Secrets).
pub fn provider_entry(
    provider: &OIDCProvider,
    client_secret: Option<String>,
    apple_private_key: Option<String>,
) -> OidcProvider {
    let spec = &provider.spec;
    let apple = spec.apple.as_ref();
    OidcProvider {
        id: spec.provider_id.clone(),
        provider: spec.provider.as_str().to_owned(),
        client_id: spec.client_id.clone(),
        client_secret,
        issuer_url: spec.issuer_url.clone(),
        auth_url: spec.auth_url.clone(),
        token_url: spec.token_url.clone(),
        api_base_url: spec.api_base_url.clone(),
        mapper_url: base64_url(&spec.mapper),
        scope: spec.scopes.clone().unwrap_or_default(),
        microsoft_tenant: spec.microsoft_tenant.clone(),
        subject_source: spec.subject_source.clone(),
        apple_team_id: apple.map(|a| a.team_id.clone()),
        apple_private_key_id: apple.map(|a| a.private_key_id.clone()),
        apple_private_key,
        ..OidcProvider::default()
    }
}

/// `courier`: the SMTP settings of `spec.courier` and every accepted template.
fn courier(
    server: &IdentityServer,
    secrets: &SecretValues,
    templates: &[CourierTemplate],
) -> Result<CourierConfig, RenderError> {
    let mut courier = CourierConfig::default();
    if let Some(settings) = &server.spec.courier {
        courier.smtp = SmtpConfig {
            connection_uri: Some(secret(
                server,
                secrets,
                "spec.courier.smtpConnectionUri",
                &settings.smtp_connection_uri,
            )?),
            from_address: settings.from_address.clone(),
            ..SmtpConfig::default()
        };
    }
    let mut sorted: Vec<&CourierTemplate> = templates.iter().collect();
    sorted.sort_by_key(|t| (t.spec.template_type, t.spec.variant, t.spec.channel));
    for t in sorted {
        let variants = type_entry(&mut courier.templates, t.spec.template_type);
        let channels = match t.spec.variant {
            TemplateVariant::Valid => &mut variants.valid,
            TemplateVariant::Invalid => &mut variants.invalid,
        }
        .get_or_insert_with(TemplateChannels::default);
        match t.spec.channel {
            TemplateChannel::Email => {
                channels.email = Some(EmailTemplate {
                    subject: t.spec.subject.as_deref().map(base64_url),
                    body: EmailBody {
                        html: html_body(t).as_deref().map(base64_url),
                        plaintext: Some(base64_url(&t.spec.body.plaintext)),
                    },
                });
            }
            TemplateChannel::Sms => {
                channels.sms = Some(SmsTemplate {
                    body: SmsBody {
                        plaintext: Some(base64_url(&t.spec.body.plaintext)),
                    },
                });
            }
        }
    }
    Ok(courier)
}

fn type_entry(templates: &mut CourierTemplates, t: TemplateType) -> &mut TemplateVariants {
    match t {
        TemplateType::Recovery => &mut templates.recovery,
        TemplateType::RecoveryCode => &mut templates.recovery_code,
        TemplateType::Verification => &mut templates.verification,
        TemplateType::VerificationCode => &mut templates.verification_code,
        TemplateType::LoginCode => &mut templates.login_code,
        TemplateType::RegistrationCode => &mut templates.registration_code,
    }
}

/// The HTML body an email template sends: its own, or, when it has none, its plain
/// text kept as written (line breaks too), so a custom text is never hidden behind the
/// server's built-in HTML body. `None` for SMS.
pub fn html_body(template: &CourierTemplate) -> Option<String> {
    if template.spec.channel != TemplateChannel::Email {
        return None;
    }
    Some(match &template.spec.body.html {
        Some(html) => html.clone(),
        None => format!(
            "<div style=\"white-space: pre-wrap\">{}</div>\n",
            template.spec.body.plaintext.trim_end()
        ),
    })
}

/// The config keys the running server applies from a changed file without a restart,
/// as the server states them (`HOT_RELOADED_KEYS` in `server/src/reload.rs`; a test
/// checks every key here is there): the schemas and the courier's templates (a dotted
/// key is one field of its section; the rest of `courier`, SMTP, needs a restart). They
/// are left out of the restart hash; a change to anything else rolls the pods.
pub const HOT_RELOADED_KEYS: &[&str] = &["identity", "courier.templates"];

/// The part of the config whose change needs a restart: all but [`HOT_RELOADED_KEYS`].
pub fn restart_part(config: &Map<String, Value>) -> Value {
    let mut restart = config.clone();
    for key in HOT_RELOADED_KEYS {
        match key.split_once('.') {
            Some((name, field)) => {
                if let Some(Value::Object(section)) = restart.get_mut(name) {
                    section.remove(field);
                    // A section left empty is one that is not written at all.
                    if section.is_empty() {
                        restart.remove(name);
                    }
                }
            }
            None => {
                restart.remove(*key);
            }
        }
    }
    Value::Object(restart)
}

/// Compact JSON of a schema text (the text itself when it does not parse).
fn canonical_json(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}
