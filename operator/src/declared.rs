//! Declared identities, the pure part: what an `Identity` asks of the server, whether the
//! server's copy has drifted from it, which identifiers it claims, and the bounds a spec
//! must keep. The controller (`controller::identity`) does the I/O around these.

use bia_crds::IdentitySpec;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::validate::Refusal;

/// Largest traits or metadata document accepted, serialized (the server's own body limit
/// is far above; a declared identity has no business being this large).
pub const MAX_DOCUMENT: usize = 64 * 1024;
/// Deepest nesting accepted in traits and metadata.
pub const MAX_DEPTH: usize = 32;
/// Longest password or hash accepted from a Secret.
pub const MAX_PASSWORD: usize = 4096;

/// The fields of an identity the spec decides, as the admin API spells them.
pub fn desired(spec: &IdentitySpec) -> Value {
    json!({
        "schema_id": spec.schema_id,
        "traits": spec.traits,
        "state": spec.state.unwrap_or_default().as_str(),
        "metadata_public": spec.metadata_public.clone().unwrap_or(Value::Null),
        "metadata_admin": spec.metadata_admin.clone().unwrap_or(Value::Null),
    })
}

/// The `external_id` the operator gives an identity it creates: the resource's uid, so
/// that the identity is found again even when the status that names it was lost.
pub fn external_id(resource_uid: &str) -> String {
    format!("bia-identity-{resource_uid}")
}

/// Whether the server's identity differs from `desired` in a field the spec decides.
pub fn drifted(desired: &Value, current: &Value) -> bool {
    desired.as_object().is_some_and(|fields| {
        fields
            .iter()
            .any(|(k, want)| current.get(k).unwrap_or(&Value::Null) != want)
    })
}

/// A password read from a Secret, with the digest that tells whether it changed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password {
    /// The clear password or the hash.
    pub value: String,
    /// Whether `value` is a hash.
    pub hashed: bool,
    /// [`password_revision`] of the Secret it came from.
    pub revision: String,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Password")
            .field("hashed", &self.hashed)
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

/// An opaque digest of where a password comes from and which revision of its Secret:
/// it changes when the Secret is replaced or edited, and never reveals the password.
pub fn password_revision(
    identity_uid: &str,
    secret_uid: &str,
    resource_version: &str,
    key: &str,
    hashed: bool,
) -> String {
    let mut h = Sha256::new();
    for part in [identity_uid, secret_uid, resource_version, key] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update([u8::from(hashed)]);
    hex::encode(&h.finalize()[..12])
}

/// The admin API body that creates or replaces the identity, importing `password` if given.
pub fn body(desired: &Value, password: Option<&Password>) -> Value {
    let mut body = desired.clone();
    if let (Some(p), Some(fields)) = (password, body.as_object_mut()) {
        let key = if p.hashed {
            "hashed_password"
        } else {
            "password"
        };
        let mut config = Map::new();
        config.insert(key.to_owned(), Value::String(p.value.clone()));
        fields.insert(
            "credentials".to_owned(),
            json!({"password": {"config": config}}),
        );
    }
    body
}

/// Checks the bounds of a spec: traits an object, documents small and shallow.
pub fn check_spec(spec: &IdentitySpec) -> Result<(), Refusal> {
    if !spec.traits.is_object() {
        return Err(refuse("InvalidTraits", "spec.traits must be an object"));
    }
    let documents = [
        ("traits", Some(&spec.traits)),
        ("metadataPublic", spec.metadata_public.as_ref()),
        ("metadataAdmin", spec.metadata_admin.as_ref()),
    ];
    for (field, doc) in documents {
        let Some(doc) = doc else { continue };
        let size = serde_json::to_vec(doc)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > MAX_DOCUMENT {
            return Err(refuse(
                "TooLarge",
                format!("spec.{field} is {size} bytes; at most {MAX_DOCUMENT} are accepted"),
            ));
        }
        if depth(doc) > MAX_DEPTH {
            return Err(refuse(
                "TooLarge",
                format!("spec.{field} is nested deeper than {MAX_DEPTH} levels"),
            ));
        }
    }
    Ok(())
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Checks a password or hash read from a Secret.
pub fn check_password(value: &str, source: &str) -> Result<(), Refusal> {
    if value.is_empty() {
        return Err(refuse("InvalidPassword", format!("{source} is empty")));
    }
    if value.len() > MAX_PASSWORD {
        return Err(refuse(
            "InvalidPassword",
            format!("{source} is longer than {MAX_PASSWORD} bytes"),
        ));
    }
    Ok(())
}

/// The identifier values `traits` holds under the fields `schema` marks as credential
/// identifiers (`ory.sh/kratos.credentials.<method>.identifier`), in schema order,
/// without duplicates. Local `$ref`s are followed; depth is bounded.
pub fn identifiers(schema: &Value, traits: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(node) = schema.pointer("/properties/traits") {
        walk(schema, node, traits, 0, &mut out);
    }
    out
}

fn walk(root: &Value, node: &Value, value: &Value, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    let node = resolve(root, node);
    if marks_identifier(node)
        && let Some(text) = value.as_str()
        && !out.iter().any(|o| o == text)
    {
        out.push(text.to_owned());
    }
    if let (Some(props), Some(fields)) = (
        node.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for (name, sub) in props {
            if let Some(v) = fields.get(name) {
                walk(root, sub, v, depth + 1, out);
            }
        }
    }
    if let (Some(items), Some(values)) = (node.get("items"), value.as_array()) {
        for v in values {
            walk(root, items, v, depth + 1, out);
        }
    }
}

/// Follows one local `$ref` (`#/...`), if the node is one.
fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    node.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
        .unwrap_or(node)
}

fn marks_identifier(node: &Value) -> bool {
    node.pointer("/ory.sh~1kratos/credentials")
        .and_then(Value::as_object)
        .is_some_and(|methods| {
            methods
                .values()
                .any(|m| m.get("identifier").and_then(Value::as_bool) == Some(true))
        })
}

fn refuse(reason: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        reason,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bia_crds::{IdentityState, ServerRef};

    fn spec(traits: Value) -> IdentitySpec {
        IdentitySpec {
            server_ref: ServerRef {
                name: "bia".into(),
                namespace: None,
            },
            schema_id: "default".into(),
            traits,
            state: None,
            metadata_public: None,
            metadata_admin: None,
            credentials: None,
            existing_policy: None,
            deletion_policy: None,
        }
    }

    #[test]
    fn identifiers_follow_the_schema_marks() {
        let schema = json!({
            "definitions": {"mail": {"type": "string",
                "ory.sh/kratos": {"credentials": {"code": {"identifier": true, "via": "email"}}}}},
            "properties": {"traits": {"properties": {
                "email": {"type": "string", "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}},
                "name": {"type": "string"},
                "backup": {"$ref": "#/definitions/mail"},
                "phones": {"type": "array", "items": {"type": "string",
                    "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}}}
            }}}
        });
        let traits = json!({"email": "a@x.io", "name": "A", "backup": "b@x.io",
                            "phones": ["+1", "+2", "+1"]});
        assert_eq!(
            identifiers(&schema, &traits),
            vec!["a@x.io", "b@x.io", "+1", "+2"]
        );
        assert!(identifiers(&json!({}), &traits).is_empty());
    }

    #[test]
    fn drift_is_any_decided_field() {
        let mut s = spec(json!({"email": "a@x.io"}));
        s.state = Some(IdentityState::Inactive);
        let want = desired(&s);
        let current = json!({"id": "1", "schema_id": "default", "traits": {"email": "a@x.io"},
            "state": "inactive", "metadata_public": null, "created_at": "t"});
        assert!(!drifted(&want, &current));
        let mut changed = current.clone();
        changed["traits"]["email"] = json!("b@x.io");
        assert!(drifted(&want, &changed));
        let mut changed = current.clone();
        changed["metadata_admin"] = json!({"x": 1});
        assert!(drifted(&want, &changed));
    }

    #[test]
    fn body_imports_the_password_only_when_given() {
        let want = desired(&spec(json!({"email": "a@x.io"})));
        assert!(body(&want, None).get("credentials").is_none());
        let p = Password {
            value: "$2a$04$abc".into(),
            hashed: true,
            revision: "r".into(),
        };
        assert_eq!(
            body(&want, Some(&p))["credentials"]["password"]["config"]["hashed_password"],
            "$2a$04$abc"
        );
        assert!(!format!("{p:?}").contains("abc"), "Debug hides the value");
    }

    #[test]
    fn bounds_refuse_large_deep_and_non_object_traits() {
        assert!(check_spec(&spec(json!({"email": "a@x.io"}))).is_ok());
        assert_eq!(
            check_spec(&spec(json!("x"))).unwrap_err().reason,
            "InvalidTraits"
        );
        let big = spec(json!({"blob": "x".repeat(MAX_DOCUMENT)}));
        assert!(check_spec(&big).unwrap_err().message.contains("bytes"));
        let mut deep = json!(1);
        for _ in 0..40 {
            deep = json!({ "a": deep });
        }
        assert!(
            check_spec(&spec(deep))
                .unwrap_err()
                .message
                .contains("deeper")
        );
        assert!(check_password("", "Secret x key y").is_err());
        assert!(check_password(&"p".repeat(MAX_PASSWORD + 1), "s").is_err());
    }

    #[test]
    fn revision_changes_with_the_secret_and_hides_nothing() {
        let a = password_revision("u", "s", "1", "password", false);
        assert_ne!(a, password_revision("u", "s", "2", "password", false));
        assert_ne!(a, password_revision("u", "s", "1", "password", true));
        assert_eq!(a.len(), 24);
    }
}
