//! `bia-operator render`: what the operator would do with some resources, without a
//! cluster. Reads `IdentityServer`, `IdentitySchema`, `OIDCProvider`, `CourierTemplate`
//! and `v1/Secret` documents, runs the controller's own [`validate::plan`] and
//! [`render::render`] on them, and prints the objects it would apply and the status it
//! would write on every attached resource. Meant as a pre-merge check of a GitOps
//! repository: it fails on exactly what the controller would refuse.
//!
//! Differences from a cluster, all on the safe side: a resource in another namespace
//! attaches when the server has a namespace selector for its kind (namespace labels are
//! not known here); a `serverRef` to a server that is not among the files is refused as
//! `ServerNotFound`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bia_crds::{CourierTemplate, IdentitySchema, IdentityServer, OIDCProvider, ServerRef};
use k8s_openapi::api::core::v1::Secret;
use kube::{Resource, ResourceExt};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::capabilities::{ServerCapabilities, UNSUPPORTED};
use crate::render::{self, Inputs, SecretValues};
use crate::status;
use crate::validate::{self, ObjectKey, Verdict};

/// Why the input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// A file or directory could not be read.
    #[error("{path}: {reason}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A document is not valid YAML or not a valid resource of its kind.
    #[error("{source_name}, document {index}: {reason}")]
    Document {
        /// The file it came from.
        source_name: String,
        /// 1-based position in the file.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// The resources read from files.
#[derive(Clone, Debug, Default)]
pub struct Bundle {
    /// Servers.
    pub servers: Vec<IdentityServer>,
    /// Schemas.
    pub schemas: Vec<IdentitySchema>,
    /// Providers.
    pub providers: Vec<OIDCProvider>,
    /// Templates.
    pub templates: Vec<CourierTemplate>,
    /// Values of every Secret read.
    pub secrets: SecretValues,
    /// Documents of other kinds, skipped (`kind namespace/name`).
    pub skipped: Vec<String>,
}

impl Bundle {
    /// Adds the documents of one YAML text (several documents separated by `---`).
    /// Objects without a namespace are put in `namespace`, as `kubectl apply` would.
    pub fn add_yaml(
        &mut self,
        source_name: &str,
        text: &str,
        namespace: &str,
    ) -> Result<(), OfflineError> {
        for (i, document) in yaml_serde::Deserializer::from_str(text).enumerate() {
            let fail = |reason: String| OfflineError::Document {
                source_name: source_name.to_owned(),
                index: i + 1,
                reason,
            };
            let mut value = Value::deserialize(document).map_err(|e| fail(e.to_string()))?;
            if value.is_null() {
                continue;
            }
            if value.pointer("/metadata/namespace").is_none()
                && let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), json!(namespace));
            }
            let api_version = value["apiVersion"].as_str().unwrap_or_default().to_owned();
            let kind = value["kind"].as_str().unwrap_or_default().to_owned();
            let wrong = |e: serde_json::Error| fail(format!("{kind}: {e}"));
            match (api_version.as_str(), kind.as_str()) {
                ("bia.dev/v1alpha1", "IdentityServer") => self
                    .servers
                    .push(serde_json::from_value(value).map_err(wrong)?),
                ("bia.dev/v1alpha1", "IdentitySchema") => self
                    .schemas
                    .push(serde_json::from_value(value).map_err(wrong)?),
                ("bia.dev/v1alpha1", "OIDCProvider") => self
                    .providers
                    .push(serde_json::from_value(value).map_err(wrong)?),
                ("bia.dev/v1alpha1", "CourierTemplate") => self
                    .templates
                    .push(serde_json::from_value(value).map_err(wrong)?),
                ("v1", "Secret") => {
                    let secret: Secret = serde_json::from_value(value).map_err(wrong)?;
                    self.secrets.insert_secret(&secret);
                }
                ("", _) | (_, "") => {
                    return Err(fail(
                        "not a Kubernetes object (no apiVersion or kind)".into(),
                    ));
                }
                _ => self.skipped.push(format!(
                    "{api_version} {kind} {}/{}",
                    value
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    value
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                )),
            }
        }
        Ok(())
    }

    /// Reads files, directories (their `.yaml`, `.yml` and `.json` files, sorted) or `-`
    /// (standard input).
    pub fn read_paths(paths: &[PathBuf], namespace: &str) -> Result<Self, OfflineError> {
        let mut bundle = Self::default();
        for path in paths {
            for file in expand(path)? {
                let text = if file == Path::new("-") {
                    std::io::read_to_string(std::io::stdin())
                } else {
                    std::fs::read_to_string(&file)
                }
                .map_err(|e| OfflineError::Read {
                    path: file.display().to_string(),
                    reason: e.to_string(),
                })?;
                bundle.add_yaml(&file.display().to_string(), &text, namespace)?;
            }
        }
        Ok(bundle)
    }
}

fn expand(path: &Path) -> Result<Vec<PathBuf>, OfflineError> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| OfflineError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })
        .collect();
    files.sort();
    Ok(files)
}

/// What `render` found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The YAML stream: per server, the objects the operator would apply (the config
    /// Secret with `stringData`, so the config reads as text), then the status it would
    /// write on the server and on each attached resource.
    pub yaml: String,
    /// What the controller would refuse (`Kind namespace/name: Reason: message`), and
    /// servers that would not roll out. Any entry means the check fails.
    pub errors: Vec<String>,
    /// Valid resources the server version cannot act on, and server fields it ignores.
    pub unsupported: Vec<String>,
}

fn attaches<K: Resource>(
    obj: &K,
    server_ref: &ServerRef,
    server: &IdentityServer,
    selector: bool,
) -> bool {
    validate::refers_to(obj, server_ref, server)
        && (obj.meta().namespace == server.metadata.namespace || selector)
}

fn document(text: &mut String, comment: &str, value: &impl serde::Serialize) {
    let yaml = yaml_serde::to_string(value).unwrap_or_else(|e| format!("# {e}\n"));
    let _ = write!(text, "---\n# {comment}\n{yaml}");
}

fn status_document(key: &ObjectKey, status: Value) -> Value {
    json!({
        "apiVersion": "bia.dev/v1alpha1",
        "kind": key.0,
        "metadata": {"name": key.2, "namespace": key.1},
        "status": status,
    })
}

/// Runs the controller's validation and rendering on a bundle.
pub fn render_bundle(bundle: &Bundle, capabilities: ServerCapabilities) -> Report {
    let mut report = Report::default();
    let mut attached: BTreeMap<ObjectKey, ()> = BTreeMap::new();
    let mut servers: Vec<&IdentityServer> = bundle.servers.iter().collect();
    servers.sort_by_key(|s| (s.namespace(), s.name_any()));
    for server in servers {
        let selectors = server.spec.namespace_selectors.clone().unwrap_or_default();
        let schemas: Vec<_> = (bundle.schemas.iter())
            .filter(|s| attaches(*s, &s.spec.server_ref, server, selectors.schemas.is_some()))
            .cloned()
            .collect();
        let providers: Vec<_> = (bundle.providers.iter())
            .filter(|p| {
                let selected = selectors.oidc_providers.is_some();
                attaches(*p, &p.spec.server_ref, server, selected)
            })
            .cloned()
            .collect();
        let templates: Vec<_> = (bundle.templates.iter())
            .filter(|t| {
                let selected = selectors.courier_templates.is_some();
                attaches(*t, &t.spec.server_ref, server, selected)
            })
            .cloned()
            .collect();
        let plan = validate::plan(
            server,
            &schemas,
            &providers,
            &templates,
            &bundle.secrets,
            capabilities,
        );
        render_server(&mut report, server, &plan, &bundle.secrets, capabilities);
        for (key, verdict) in &plan.verdicts {
            attached.insert(key.clone(), ());
            let condition = status::accepted_condition(verdict, server);
            if let Verdict::Refused(r) = verdict {
                let line = format!("{} {}/{}: {}: {}", key.0, key.1, key.2, r.reason, r.message);
                if r.reason == UNSUPPORTED {
                    report.unsupported.push(line);
                } else {
                    report.errors.push(line);
                }
            }
            document(
                &mut report.yaml,
                "status the operator would write",
                &status_document(key, json!({"conditions": [condition]})),
            );
        }
    }
    orphans(&mut report, bundle, &attached);
    report
}

fn render_server(
    report: &mut Report,
    server: &IdentityServer,
    plan: &validate::Plan,
    secrets: &SecretValues,
    capabilities: ServerCapabilities,
) {
    let key: ObjectKey = (
        "IdentityServer",
        server.namespace().unwrap_or_default(),
        server.name_any(),
    );
    let counts = json!({
        "schemas": plan.schemas.len(),
        "oidcProviders": plan.providers.len(),
        "courierTemplates": plan.templates.len(),
    });
    for note in &plan.server_notes {
        report
            .unsupported
            .push(format!("IdentityServer {}/{}: {note}", key.1, key.2));
    }
    if let Some(conditions) = status::problem_conditions(&plan.server_problems) {
        for p in &plan.server_problems {
            report.errors.push(format!(
                "IdentityServer {}/{}: {}: {}",
                key.1, key.2, p.reason, p.message
            ));
        }
        document(
            &mut report.yaml,
            "status the operator would write (nothing is applied)",
            &status_document(&key, json!({"conditions": conditions, "attached": counts})),
        );
        return;
    }
    let rendered = match render::render(Inputs {
        server,
        schemas: &plan.schemas,
        providers: &plan.providers,
        templates: &plan.templates,
        secrets,
        capabilities,
        existing_selector: None,
    }) {
        Ok(rendered) => rendered,
        Err(e) => {
            report
                .errors
                .push(format!("IdentityServer {}/{}: {e}", key.1, key.2));
            return;
        }
    };
    let mut secret = rendered.secret.clone();
    secret.string_data = secret.data.take().map(|data| {
        data.into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
            .collect()
    });
    document(
        &mut report.yaml,
        "config Secret (applied with the same keys as data)",
        &secret,
    );
    document(&mut report.yaml, "applied", &rendered.public_service);
    document(&mut report.yaml, "applied", &rendered.admin_service);
    document(&mut report.yaml, "applied", &rendered.pdb);
    if let Some(policy) = &rendered.network_policy {
        document(&mut report.yaml, "applied", policy);
    }
    if let Some(ingress) = &rendered.ingress {
        document(&mut report.yaml, "applied", ingress);
    }
    if let Some(route) = &rendered.http_route {
        document(
            &mut report.yaml,
            "applied (needs the Gateway API CRDs)",
            route,
        );
    }
    document(
        &mut report.yaml,
        "applied (an existing Deployment keeps its selector)",
        &rendered.deployment,
    );
    document(
        &mut report.yaml,
        "status the operator would write (readiness is known only in a cluster)",
        &status_document(
            &key,
            json!({"configHash": rendered.config_hash, "attached": counts}),
        ),
    );
}

/// Resources whose `serverRef` names no server among the files.
fn orphans(report: &mut Report, bundle: &Bundle, attached: &BTreeMap<ObjectKey, ()>) {
    let mut refs: Vec<(ObjectKey, &ServerRef)> = Vec::new();
    refs.extend(
        bundle
            .schemas
            .iter()
            .map(|o| (key_of(o), &o.spec.server_ref)),
    );
    refs.extend(
        bundle
            .providers
            .iter()
            .map(|o| (key_of(o), &o.spec.server_ref)),
    );
    refs.extend(
        bundle
            .templates
            .iter()
            .map(|o| (key_of(o), &o.spec.server_ref)),
    );
    refs.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, server_ref) in refs {
        if attached.contains_key(&key) {
            continue;
        }
        let refusal = status::server_not_found(server_ref.namespace_or(&key.1), &server_ref.name);
        report.errors.push(format!(
            "{} {}/{}: {}: {}",
            key.0, key.1, key.2, refusal.reason, refusal.message
        ));
        let condition = status::refused_condition(&refusal);
        document(
            &mut report.yaml,
            "status the operator would write",
            &status_document(&key, json!({"conditions": [condition]})),
        );
    }
}

fn key_of<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectKey {
    let kind: &'static str = match K::kind(&()).as_ref() {
        "IdentitySchema" => "IdentitySchema",
        "OIDCProvider" => "OIDCProvider",
        _ => "CourierTemplate",
    };
    (kind, obj.namespace().unwrap_or_default(), obj.name_any())
}
