//! Finished CustomResourceDefinitions: the derived ones plus list-map conditions,
//! CEL rules, size limits, and without empty lists or defaults inside lists.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::{Value, json};

use crate::{CourierTemplate, Identity, IdentitySchema, IdentityServer, OIDCProvider};

/// One CRD as written to disk.
#[derive(Clone, Debug, PartialEq)]
pub struct CrdFile {
    /// File name, `<plural>.bia.dev.yaml`.
    pub file_name: String,
    /// YAML text, with a generated-file header.
    pub yaml: String,
}

/// A CEL rule placed at a path inside `openAPIV3Schema`.
struct Rule {
    path: &'static [&'static str],
    rule: &'static str,
    message: &'static str,
}

const fn rule(path: &'static [&'static str], rule: &'static str, message: &'static str) -> Rule {
    Rule {
        path,
        rule,
        message,
    }
}

const IMMUTABLE: &str = "self == oldSelf";

fn server_rules() -> Vec<Rule> {
    vec![
        rule(&["spec"], "size(self.image) > 0", "spec.image is required"),
        rule(
            &["spec"],
            "size(self.defaultSchemaId) > 0",
            "spec.defaultSchemaId is required",
        ),
        rule(
            &["spec"],
            "self.publicBaseUrl.startsWith('http://') || self.publicBaseUrl.startsWith('https://')",
            "spec.publicBaseUrl must be an http(s) URL",
        ),
        rule(
            &["spec", "secrets"],
            "size(self.cookie) > 0",
            "spec.secrets.cookie needs at least one Secret reference",
        ),
        rule(
            &["spec", "exposure", "httpRoute"],
            "size(self.parentRefs) > 0",
            "spec.exposure.httpRoute.parentRefs needs at least one Gateway",
        ),
        rule(
            &["spec", "exposure", "ingress", "tls"],
            "size(self.secretName) > 0",
            "spec.exposure.ingress.tls.secretName is required",
        ),
        rule(
            &["spec", "secrets"],
            "!has(self.cipher) || size(self.cipher) > 0",
            "spec.secrets.cipher, when set, needs at least one Secret reference",
        ),
    ]
}

fn schema_rules() -> Vec<Rule> {
    vec![
        rule(
            &["spec", "schemaId"],
            IMMUTABLE,
            "schemaId is immutable: create a new IdentitySchema for a new version",
        ),
        rule(
            &["spec", "schema"],
            IMMUTABLE,
            "schema is immutable: create a new IdentitySchema for a new version",
        ),
        rule(&["spec", "serverRef"], IMMUTABLE, "serverRef is immutable"),
        rule(
            &["spec", "supersedes"],
            IMMUTABLE,
            "supersedes is immutable: create a new IdentitySchema to supersede another version",
        ),
        rule(
            &["spec"],
            "size(self.schemaId) > 0",
            "spec.schemaId is required",
        ),
        rule(
            &["spec"],
            "size(self.schema) > 0",
            "spec.schema is required",
        ),
    ]
}

fn provider_rules() -> Vec<Rule> {
    vec![
        rule(
            &["spec", "providerId"],
            IMMUTABLE,
            "providerId is immutable",
        ),
        rule(&["spec", "serverRef"], IMMUTABLE, "serverRef is immutable"),
        rule(
            &["spec"],
            "size(self.providerId) > 0",
            "spec.providerId is required",
        ),
        rule(
            &["spec"],
            "size(self.clientId) > 0",
            "spec.clientId is required",
        ),
        rule(
            &["spec"],
            "self.provider != 'generic' || has(self.issuerUrl)",
            "spec.issuerUrl is required for generic providers",
        ),
        rule(
            &["spec"],
            "self.provider != 'microsoft' || has(self.microsoftTenant)",
            "spec.microsoftTenant is required for microsoft providers",
        ),
    ]
}

fn template_rules() -> Vec<Rule> {
    vec![
        rule(&["spec", "serverRef"], IMMUTABLE, "serverRef is immutable"),
        rule(
            &["spec"],
            "self.channel != 'email' || has(self.subject)",
            "spec.subject is required for email templates",
        ),
        rule(
            &["spec"],
            "self.channel != 'sms' || !has(self.body.html)",
            "spec.body.html is for email templates only",
        ),
        rule(
            &["spec"],
            "!(self.templateType in ['login_code', 'registration_code']) || self.variant == 'valid'",
            "login_code and registration_code templates have only the valid variant",
        ),
        rule(
            &["spec"],
            "self.channel != 'sms' || self.variant == 'valid'",
            "sms templates have only the valid variant",
        ),
        rule(
            &["spec", "body"],
            "size(self.plaintext) > 0",
            "spec.body.plaintext is required",
        ),
    ]
}

fn identity_rules() -> Vec<Rule> {
    vec![
        rule(&["spec", "serverRef"], IMMUTABLE, "serverRef is immutable"),
        rule(
            &["spec"],
            "size(self.schemaId) > 0",
            "spec.schemaId is required",
        ),
        rule(
            &["spec", "credentials", "password", "secretRef"],
            "size(self.name) > 0 && size(self.key) > 0",
            "spec.credentials.password.secretRef needs a name and a key",
        ),
    ]
}

/// Size limits that keep CEL cost estimates bounded.
fn max_lengths(kind: &str) -> Vec<(&'static [&'static str], u64)> {
    let mut limits: Vec<(&'static [&'static str], u64)> = vec![
        (&["spec", "serverRef", "name"], 253),
        (&["spec", "serverRef", "namespace"], 63),
    ];
    match kind {
        "IdentitySchema" => {
            limits.push((&["spec", "schemaId"], 253));
            limits.push((&["spec", "schema"], 1_048_576));
            limits.push((&["spec", "supersedes"], 253));
            limits.push((&["spec", "transform"], 65_536));
        }
        "OIDCProvider" => limits.push((&["spec", "providerId"], 253)),
        "Identity" => {
            limits.push((&["spec", "schemaId"], 253));
            limits.push((
                &["spec", "credentials", "password", "secretRef", "name"],
                253,
            ));
            limits.push((
                &["spec", "credentials", "password", "secretRef", "key"],
                253,
            ));
        }
        "IdentityServer" => {
            limits = vec![
                (&["spec", "defaultSchemaId"], 253),
                (&["spec", "exposure", "ingress", "tls", "secretName"], 253),
            ];
        }
        _ => {}
    }
    limits
}

/// The five CRDs, finished.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let raw = [
        (IdentityServer::crd(), server_rules()),
        (IdentitySchema::crd(), schema_rules()),
        (OIDCProvider::crd(), provider_rules()),
        (CourierTemplate::crd(), template_rules()),
        (Identity::crd(), identity_rules()),
    ];
    raw.into_iter()
        .filter_map(|(crd, rules)| {
            let kind = crd.spec.names.kind.clone();
            let mut value = serde_json::to_value(&crd).ok()?;
            finish(&mut value, &kind, &rules);
            serde_json::from_value(value).ok()
        })
        .collect()
}

fn finish(crd: &mut Value, kind: &str, rules: &[Rule]) {
    if let Some(root) = crd.pointer_mut("/spec/versions/0/schema/openAPIV3Schema") {
        if let Some(conditions) = node(root, &["status", "conditions"]) {
            conditions["x-kubernetes-list-type"] = json!("map");
            conditions["x-kubernetes-list-map-keys"] = json!(["type"]);
        }
        for (path, max) in max_lengths(kind) {
            if let Some(n) = node(root, path) {
                n["maxLength"] = json!(max);
            }
        }
        for r in rules {
            if let Some(n) = node(root, r.path)
                && let Some(obj) = n.as_object_mut()
            {
                let list = obj
                    .entry("x-kubernetes-validations")
                    .or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut() {
                    list.push(json!({"rule": r.rule, "message": r.message}));
                }
            }
        }
    }
    clean(crd, false);
}

/// The schema node at a path of property names.
fn node<'a>(root: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut cur = root;
    for p in path {
        cur = cur.get_mut("properties")?.get_mut(*p)?;
    }
    Some(cur)
}

/// Removes empty lists everywhere and `default` inside list item schemas.
fn clean(v: &mut Value, in_items: bool) {
    match v {
        Value::Object(map) => {
            map.retain(|k, val| {
                !(val.as_array().is_some_and(Vec::is_empty) || (in_items && k == "default"))
            });
            for (k, val) in map.iter_mut() {
                clean(val, in_items || k == "items");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| clean(i, in_items)),
        _ => {}
    }
}

/// The CRDs as YAML files, in a fixed order.
pub fn crds_yaml() -> Vec<CrdFile> {
    crds()
        .into_iter()
        .filter_map(|crd| {
            let name = crd.metadata.name.clone()?;
            let body = yaml_serde::to_string(&crd).ok()?;
            Some(CrdFile {
                file_name: format!("{name}.yaml"),
                yaml: format!(
                    "# Generated from crds/src by `cargo run -p bia-crds --bin crdgen`; do not edit.\n{body}"
                ),
            })
        })
        .collect()
}
