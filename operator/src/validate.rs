//! Validation of attached resources and the pure plan that decides which of them
//! reach the config. Each refusal carries a reason and a message a person can act on.

use std::collections::BTreeMap;

use bia_crds::{CourierTemplate, IdentitySchema, IdentityServer, OIDCProvider, TemplateChannel};
use bia_templates::Kind;
use kube::ResourceExt;
use serde_json::Value;

use crate::capabilities::ServerCapabilities;
use crate::render::SecretValues;

/// Why an attached resource is not part of its server's config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// PascalCase reason for the `Accepted` condition.
    pub reason: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

fn refuse(reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        reason,
        message: message.into(),
    }
}

/// Checks an identity schema: valid JSON, a valid JSON Schema, and at least one trait
/// marked as a credentials identifier (`ory.sh/kratos.credentials.<method>.identifier`).
pub fn validate_schema(schema: &IdentitySchema) -> Result<(), Refusal> {
    let value: Value = serde_json::from_str(&schema.spec.schema)
        .map_err(|e| refuse("InvalidJSON", format!("spec.schema is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(refuse(
            "InvalidJSONSchema",
            "spec.schema must be a JSON object",
        ));
    }
    jsonschema::meta::validate(&value).map_err(|e| {
        refuse(
            "InvalidJSONSchema",
            format!("spec.schema is not a valid JSON Schema: {e}"),
        )
    })?;
    jsonschema::validator_for(&value).map_err(|e| {
        refuse(
            "InvalidJSONSchema",
            format!("spec.schema cannot be compiled: {e}"),
        )
    })?;
    let traits = value.pointer("/properties/traits").ok_or_else(|| {
        refuse(
            "NoTraits",
            "spec.schema has no properties.traits object; identities need traits",
        )
    })?;
    if !has_identifier(traits) {
        return Err(refuse(
            "NoIdentifier",
            "no trait is a credentials identifier: mark one, e.g. the email, with \
             \"ory.sh/kratos\": {\"credentials\": {\"password\": {\"identifier\": true}}}",
        ));
    }
    validate_succession(schema)
}

/// Checks `supersedes` and `transform` on their own (the superseded schema is looked up
/// in [`plan`]).
fn validate_succession(schema: &IdentitySchema) -> Result<(), Refusal> {
    let spec = &schema.spec;
    match (&spec.supersedes, &spec.transform) {
        (Some(old), _) if *old == spec.schema_id => Err(refuse(
            "InvalidSupersedes",
            "spec.supersedes names this schema's own schemaId; name the earlier version",
        )),
        (None, Some(_)) => Err(refuse(
            "InvalidTransform",
            "spec.transform needs spec.supersedes: it moves the identities of the schema superseded",
        )),
        (_, Some(transform)) => crate::transform::check(transform).map_err(|e| {
            refuse(
                "InvalidTransform",
                format!("spec.transform is not a valid Jsonnet program: {e}"),
            )
        }),
        _ => Ok(()),
    }
}

/// Refuses accepted schemas whose `supersedes` names no accepted schema of the same server,
/// until nothing changes (a refused schema cannot be superseded either). A migration that
/// ended no longer needs the superseded schema, which may then be deleted.
fn check_superseded(server: &IdentityServer, plan: &mut Plan) {
    loop {
        let orphan = plan.schemas.iter().position(|s| {
            let ended = crate::migration::ended(s);
            s.spec
                .supersedes
                .as_ref()
                .is_some_and(|old| !ended && !plan.schemas.iter().any(|o| o.spec.schema_id == *old))
        });
        let Some(index) = orphan else { return };
        let s = plan.schemas.remove(index);
        let message = format!(
            "spec.supersedes names schema id {:?}, which no accepted IdentitySchema of \
             IdentityServer {}/{} has; a schema supersedes an earlier version on the same server",
            s.spec.supersedes.clone().unwrap_or_default(),
            server.namespace().unwrap_or_default(),
            server.name_any()
        );
        plan.verdicts.insert(
            key(&s),
            Verdict::Refused(refuse("SupersededSchemaNotFound", message)),
        );
    }
}

fn has_identifier(v: &Value) -> bool {
    match v {
        Value::Object(map) => {
            let here = map
                .get("ory.sh/kratos")
                .and_then(|k| k.get("credentials"))
                .and_then(Value::as_object)
                .is_some_and(|creds| {
                    creds
                        .values()
                        .any(|c| c.get("identifier").and_then(Value::as_bool) == Some(true))
                });
            here || map.values().any(has_identifier)
        }
        Value::Array(items) => items.iter().any(has_identifier),
        _ => false,
    }
}

/// Checks a template with the server's own parser (`bia_templates`): the subject and
/// plain-text body as text templates, the HTML body as an HTML template (escaped
/// output), within the same limits. The message names the field and the line. An SMS
/// has only a text, so a subject or HTML body on one is refused rather than dropped.
pub fn validate_template(template: &CourierTemplate) -> Result<(), Refusal> {
    let s = &template.spec;
    if s.channel == TemplateChannel::Sms {
        for (field, set) in [
            ("subject", s.subject.is_some()),
            ("body.html", s.body.html.is_some()),
        ] {
            if set {
                return Err(refuse(
                    "NotForSms",
                    format!(
                        "spec.{field} is for email; an SMS template has only spec.body.plaintext"
                    ),
                ));
            }
        }
    }
    let html = crate::render::html_body(template);
    let parts = [
        ("subject", Kind::Text, s.subject.clone()),
        ("body.plaintext", Kind::Text, Some(s.body.plaintext.clone())),
        ("body.html", Kind::Html, html),
    ];
    for (field, kind, text) in parts {
        if let Some(text) = text {
            bia_templates::check(kind, &format!("spec.{field}"), &text).map_err(|e| {
                refuse(
                    "TemplateParseError",
                    format!("{e}; fix the template, the server keeps its last good one"),
                )
            })?;
        }
    }
    Ok(())
}

/// Checks a provider's client secret exists and that the server would take its entry
/// (`bia_config`'s check of one provider: id, issuer URL, client id...). The kind of
/// provider is checked against the server's capabilities afterwards.
pub fn validate_provider(provider: &OIDCProvider, secrets: &SecretValues) -> Result<(), Refusal> {
    let ns = provider.namespace().unwrap_or_default();
    for (field, r) in provider.spec.secret_refs() {
        if secrets.get(&ns, r).is_some() {
            continue;
        }
        return Err(if secrets.has_secret(&ns, &r.name) {
            refuse(
                "SecretKeyMissing",
                format!(
                    "Secret {ns}/{} has no key {:?}; add it or fix {field}.key",
                    r.name, r.key
                ),
            )
        } else {
            refuse(
                "SecretMissing",
                format!(
                    "Secret {ns}/{} does not exist; create it or fix {field}.name",
                    r.name
                ),
            )
        });
    }
    let read =
        |r: Option<&bia_crds::SecretKeyRef>| r.and_then(|r| secrets.get(&ns, r)).map(str::to_owned);
    let entry = crate::render::provider_entry(
        provider,
        read(provider.spec.client_secret.as_ref()),
        read(provider.spec.apple.as_ref().map(|a| &a.private_key)),
    );
    if !bia_config::oidc::PROVIDER_KINDS.contains(&entry.provider.as_str()) {
        // A kind the server does not implement: the capability check says so.
        return Ok(());
    }
    let problems: Vec<String> = bia_config::oidc::provider_problems(&entry)
        .into_iter()
        .map(|(field, reason)| format!("{} {reason}", spec_field(&field)))
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(refuse("Invalid", problems.join("; ")))
}

/// The `OIDCProvider` field a server config key of a provider entry comes from.
fn spec_field(config_key: &str) -> String {
    let field = match config_key {
        "id" => "providerId",
        "client_id" => "clientId",
        "issuer_url" => "issuerUrl",
        "mapper_url" => "mapper",
        "scope" => "scopes",
        "client_secret" => "clientSecret",
        "auth_url" => "authUrl",
        "token_url" => "tokenUrl",
        "api_base_url" => "apiBaseUrl",
        "microsoft_tenant" => "microsoftTenant",
        "subject_source" => "subjectSource",
        "apple_team_id" => "apple.teamId",
        "apple_private_key_id" => "apple.privateKeyId",
        "apple_private_key" => "apple.privateKey",
        other => other,
    };
    format!("spec.{field}")
}

/// The verdict on one attached resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It is in the config.
    Accepted,
    /// It is not, and why.
    Refused(Refusal),
}

/// Whether an attached resource's `serverRef` names this server.
pub fn refers_to<K: kube::Resource>(
    obj: &K,
    server_ref: &bia_crds::ServerRef,
    server: &IdentityServer,
) -> bool {
    let own = obj.meta().namespace.as_deref().unwrap_or_default();
    server_ref.name == server.name_any()
        && Some(server_ref.namespace_or(own)) == server.metadata.namespace.as_deref()
}

/// Key of an attached object: kind, namespace, name.
pub type ObjectKey = (&'static str, String, String);

/// Which attached resources go into the config, and the verdict on each.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Accepted schemas, sorted by schema id.
    pub schemas: Vec<IdentitySchema>,
    /// Accepted providers, sorted by provider id.
    pub providers: Vec<OIDCProvider>,
    /// Accepted templates.
    pub templates: Vec<CourierTemplate>,
    /// Verdict per attached resource.
    pub verdicts: BTreeMap<ObjectKey, Verdict>,
    /// Problems of the server itself; nothing is rolled out while there are any.
    pub server_problems: Vec<Refusal>,
    /// Fields of the server this server version ignores (they do not stop a rollout).
    pub server_notes: Vec<String>,
}

fn key<K: kube::Resource<DynamicType = ()>>(obj: &K) -> ObjectKey {
    let kind: &'static str = match K::kind(&()).as_ref() {
        "IdentitySchema" => "IdentitySchema",
        "OIDCProvider" => "OIDCProvider",
        "CourierTemplate" => "CourierTemplate",
        _ => "IdentityServer",
    };
    (
        kind,
        obj.meta().namespace.clone().unwrap_or_default(),
        obj.meta().name.clone().unwrap_or_default(),
    )
}

/// Older first; ties broken by namespace and name, so the winner of a conflict is stable.
fn age_order<K: kube::Resource>(a: &K, b: &K) -> std::cmp::Ordering {
    let ka = (
        a.meta().creation_timestamp.as_ref().map(|t| t.0),
        &a.meta().namespace,
        &a.meta().name,
    );
    let kb = (
        b.meta().creation_timestamp.as_ref().map(|t| t.0),
        &b.meta().namespace,
        &b.meta().name,
    );
    ka.cmp(&kb)
}

/// Decides what goes into the config. Pure: everything it needs is passed in.
///
/// Each resource is checked in the same order: its own content, then conflicts with
/// older resources, then whether the server version supports it (`capabilities`), so
/// an invalid resource always says what is wrong with it.
pub fn plan(
    server: &IdentityServer,
    schemas: &[IdentitySchema],
    providers: &[OIDCProvider],
    templates: &[CourierTemplate],
    secrets: &SecretValues,
    capabilities: ServerCapabilities,
) -> Plan {
    let mut plan = Plan::default();

    // Schemas being deleted stay served until their finalizer is released.
    let mut schemas: Vec<_> = schemas.iter().collect();
    schemas.sort_by(|a, b| age_order(*a, *b));
    for s in schemas {
        let verdict = match validate_schema(s) {
            Err(r) => Verdict::Refused(r),
            Ok(()) => match plan
                .schemas
                .iter()
                .find(|a| a.spec.schema_id == s.spec.schema_id)
            {
                Some(winner) => Verdict::Refused(refuse(
                    "DuplicateSchemaId",
                    format!(
                        "schema id {:?} is already served by IdentitySchema {}; pick another id",
                        s.spec.schema_id,
                        winner.name_any()
                    ),
                )),
                None => {
                    plan.schemas.push(s.clone());
                    Verdict::Accepted
                }
            },
        };
        plan.verdicts.insert(key(s), verdict);
    }
    check_superseded(server, &mut plan);
    plan.schemas
        .sort_by(|a, b| a.spec.schema_id.cmp(&b.spec.schema_id));

    let mut providers: Vec<_> = providers.iter().collect();
    providers.sort_by(|a, b| age_order(*a, *b));
    let mut valid_providers: Vec<&OIDCProvider> = Vec::new();
    for p in providers {
        let verdict = match validate_provider(p, secrets) {
            Err(r) => Verdict::Refused(r),
            Ok(()) => match valid_providers
                .iter()
                .find(|a| a.spec.provider_id == p.spec.provider_id)
            {
                Some(winner) => Verdict::Refused(refuse(
                    "DuplicateProviderId",
                    format!(
                        "provider id {:?} is already used by OIDCProvider {}/{}; pick another providerId",
                        p.spec.provider_id,
                        winner.namespace().unwrap_or_default(),
                        winner.name_any()
                    ),
                )),
                None => {
                    valid_providers.push(p);
                    match capabilities.refuse_provider(p) {
                        Some(r) => Verdict::Refused(r),
                        None => {
                            plan.providers.push(p.clone());
                            Verdict::Accepted
                        }
                    }
                }
            },
        };
        plan.verdicts.insert(key(p), verdict);
    }
    plan.providers
        .sort_by(|a, b| a.spec.provider_id.cmp(&b.spec.provider_id));

    let mut templates: Vec<_> = templates.iter().collect();
    templates.sort_by(|a, b| age_order(*a, *b));
    let mut valid_templates: Vec<&CourierTemplate> = Vec::new();
    for t in templates {
        let slot = |x: &CourierTemplate| (x.spec.template_type, x.spec.variant, x.spec.channel);
        let verdict = match validate_template(t) {
            Err(r) => Verdict::Refused(r),
            Ok(()) => match valid_templates.iter().find(|a| slot(a) == slot(t)) {
                Some(winner) => Verdict::Refused(refuse(
                    "DuplicateTemplate",
                    format!(
                        "CourierTemplate {} already provides {}.{}.{}; delete one of them",
                        winner.name_any(),
                        t.spec.template_type.as_str(),
                        t.spec.variant.as_str(),
                        t.spec.channel.as_str()
                    ),
                )),
                None => {
                    valid_templates.push(t);
                    match capabilities.refuse_template() {
                        Some(r) => Verdict::Refused(r),
                        None => {
                            plan.templates.push(t.clone());
                            Verdict::Accepted
                        }
                    }
                }
            },
        };
        plan.verdicts.insert(key(t), verdict);
    }

    plan.server_problems = server_problems(server, &plan, secrets);
    plan.server_notes = capabilities.ignored_server_fields(server);
    plan
}

fn server_problems(server: &IdentityServer, plan: &Plan, secrets: &SecretValues) -> Vec<Refusal> {
    let ns = server.namespace().unwrap_or_default();
    let spec = &server.spec;
    let mut problems = Vec::new();
    let mut refs = vec![("spec.dsn".to_owned(), &spec.dsn)];
    refs.extend(
        spec.secrets
            .cookie
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("spec.secrets.cookie[{i}]"), r)),
    );
    for (i, r) in spec.secrets.cipher.iter().flatten().enumerate() {
        let field = format!("spec.secrets.cipher[{i}]");
        if let Some(v) = secrets.get(&ns, r)
            && v.chars().count() != 32
        {
            problems.push(refuse(
                "InvalidCipherSecret",
                format!(
                    "{field} ({}/{}) must be exactly 32 characters",
                    r.name, r.key
                ),
            ));
        }
        refs.push((field, r));
    }
    if let Some(c) = &spec.courier {
        refs.push((
            "spec.courier.smtpConnectionUri".to_owned(),
            &c.smtp_connection_uri,
        ));
    }
    for (field, r) in refs {
        if secrets.get(&ns, r).is_none() {
            let what = if secrets.has_secret(&ns, &r.name) {
                format!("Secret {ns}/{} has no key {:?}", r.name, r.key)
            } else {
                format!("Secret {ns}/{} does not exist", r.name)
            };
            problems.push(refuse(
                "SecretMissing",
                format!("{what} (referenced by {field}); waiting for it"),
            ));
        }
    }
    if let Some(problem) = crate::render::exposure::exposure_problem(server) {
        problems.push(refuse("InvalidExposure", problem));
    }
    if !plan
        .schemas
        .iter()
        .any(|s| s.spec.schema_id == spec.default_schema_id)
    {
        problems.push(refuse(
            "DefaultSchemaMissing",
            format!(
                "no accepted IdentitySchema has schemaId {:?} (spec.defaultSchemaId); waiting for it",
                spec.default_schema_id
            ),
        ));
    }
    problems
}
