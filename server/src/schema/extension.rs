//! Reads the `ory.sh/kratos` extension of an identity schema: which traits are
//! credential identifiers, and which are verification or recovery addresses.

use std::collections::BTreeMap;

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::identity::CredentialType;

/// The extension keyword inside a trait's schema.
pub const EXTENSION: &str = "ory.sh/kratos";

/// What the extension marks in one set of traits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marked {
    /// Credential identifiers by credential type, normalised and de-duplicated.
    pub identifiers: BTreeMap<CredentialType, Vec<String>>,
    /// Verifiable addresses as (via, value).
    pub verifiable: Vec<(String, String)>,
    /// Recovery addresses as (via, value).
    pub recovery: Vec<(String, String)>,
}

impl Marked {
    fn add_identifier(&mut self, kind: CredentialType, value: &str) {
        self.add_normalized_identifier(kind, normalize_identifier(value));
    }

    fn add_normalized_identifier(&mut self, kind: CredentialType, value: String) {
        let list = self.identifiers.entry(kind).or_default();
        if !value.is_empty() && !list.contains(&value) {
            list.push(value);
        }
    }

    fn add_address(list: &mut Vec<(String, String)>, via: &str, value: &str) {
        let value = normalize_address(via, value);
        let entry = (via.to_owned(), value);
        if !entry.1.is_empty() && !list.contains(&entry) {
            list.push(entry);
        }
    }
}

/// Trims, applies Unicode NFC and lower-cases an identifier.
pub fn normalize_identifier(value: &str) -> String {
    value.trim().nfc().collect::<String>().to_lowercase()
}

/// Normalises an address for its channel: emails are lower-cased, phone
/// numbers lose spaces, dashes and brackets.
pub fn normalize_address(via: &str, value: &str) -> String {
    let value: String = value.trim().nfc().collect();
    match via {
        "sms" => value
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect(),
        _ => value.to_lowercase(),
    }
}

/// Walks `traits` alongside the schema and collects what the extension marks.
pub fn mark(root: &Value, traits: &Value) -> Marked {
    let mut marked = Marked::default();
    if let Some(traits_schema) = root.get("properties").and_then(|p| p.get("traits")) {
        walk(root, traits_schema, traits, &mut marked, 0);
    }
    marked
}

/// True when the schema marks at least one credential identifier somewhere.
pub fn has_identifier(root: &Value) -> bool {
    fn search(node: &Value) -> bool {
        match node {
            Value::Object(map) => {
                if let Some(credentials) = map.get(EXTENSION).and_then(|e| e.get("credentials"))
                    && let Some(credentials) = credentials.as_object()
                    && credentials
                        .values()
                        .any(|c| c.get("identifier") == Some(&Value::Bool(true)))
                {
                    return true;
                }
                map.values().any(search)
            }
            Value::Array(items) => items.iter().any(search),
            _ => false,
        }
    }
    search(root)
}

/// The label of the login identifier: the title and dotted name of the one
/// trait that names an identity to a credential (a password, WebAuthn or code
/// identifier, a passkey display name or a TOTP account name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierLabel {
    /// The trait's `title`, e.g. `E-Mail`.
    pub title: String,
    /// Its dotted name, e.g. `traits.email`.
    pub name: String,
}

/// The [`IdentifierLabel`] of a schema, when exactly one trait identifies an
/// identity and it has a title; otherwise forms say "ID".
pub fn identifier_label(root: &Value) -> Option<IdentifierLabel> {
    let mut found = Vec::new();
    if let Some(traits_schema) = root.get("properties").and_then(|p| p.get("traits")) {
        collect_identifiers(root, traits_schema, "traits", &mut found, 0);
    }
    match found.as_slice() {
        [(name, Some(title))] if !title.is_empty() => Some(IdentifierLabel {
            title: title.clone(),
            name: name.clone(),
        }),
        _ => None,
    }
}

/// Whether an extension section makes its field identify an identity.
fn names_an_identity(extension: &Value) -> bool {
    let credentials = &extension["credentials"];
    [
        ("password", "identifier"),
        ("webauthn", "identifier"),
        ("code", "identifier"),
        ("passkey", "display_name"),
        ("totp", "account_name"),
    ]
    .iter()
    .any(|(credential, flag)| credentials[credential][flag] == Value::Bool(true))
}

fn collect_identifiers(
    root: &Value,
    node: &Value,
    name: &str,
    found: &mut Vec<(String, Option<String>)>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    let resolved = resolve(root, node);
    if resolved.get(EXTENSION).is_some_and(names_an_identity) {
        let title = node.get("title").or_else(|| resolved.get("title"));
        found.push((
            name.to_owned(),
            title.and_then(Value::as_str).map(str::to_owned),
        ));
    }
    if let Some(properties) = resolved.get("properties").and_then(Value::as_object) {
        for (field, child) in properties {
            collect_identifiers(root, child, &format!("{name}.{field}"), found, depth + 1);
        }
    }
    if let Some(items) = resolved.get("items") {
        collect_identifiers(root, items, name, found, depth + 1);
    }
}

fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let mut current = node;
    for _ in 0..16 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(reference) if reference.starts_with('#') => match root.pointer(&reference[1..]) {
                Some(target) => current = target,
                None => return current,
            },
            _ => return current,
        }
    }
    current
}

fn walk(root: &Value, node: &Value, value: &Value, marked: &mut Marked, depth: usize) {
    if depth > 64 {
        return;
    }
    let node = resolve(root, node);
    if let Some(extension) = node.get(EXTENSION) {
        match value {
            Value::String(text) => apply(extension, text, marked),
            Value::Array(items) => {
                for item in items {
                    if let Value::String(text) = item {
                        apply(extension, text, marked);
                    }
                }
            }
            _ => {}
        }
    }
    if let (Some(properties), Value::Object(fields)) =
        (node.get("properties").and_then(Value::as_object), value)
    {
        for (name, field) in fields {
            if let Some(child) = properties.get(name) {
                walk(root, child, field, marked, depth + 1);
            }
        }
    }
    if let (Some(items), Value::Array(values)) = (node.get("items"), value) {
        for item in values {
            walk(root, items, item, marked, depth + 1);
        }
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(branches) = node.get(combinator).and_then(Value::as_array) {
            for branch in branches {
                walk(root, branch, value, marked, depth + 1);
            }
        }
    }
}

fn apply(extension: &Value, text: &str, marked: &mut Marked) {
    if let Some(credentials) = extension.get("credentials").and_then(Value::as_object) {
        for (name, settings) in credentials {
            let Ok(kind) = name.parse::<CredentialType>() else {
                continue;
            };
            if settings.get("identifier") != Some(&Value::Bool(true)) {
                continue;
            }
            // A code identifier sent by SMS is a phone number: kept as the
            // courier dials it, without spaces or brackets.
            match settings.get("via").and_then(Value::as_str) {
                Some("sms") if kind == CredentialType::Code => {
                    marked.add_normalized_identifier(kind, normalize_address("sms", text))
                }
                _ => marked.add_identifier(kind, text),
            }
        }
    }
    if let Some(via) = extension
        .get("verification")
        .and_then(|v| v.get("via"))
        .and_then(Value::as_str)
    {
        Marked::add_address(&mut marked.verifiable, via, text);
    }
    if let Some(via) = extension
        .get("recovery")
        .and_then(|v| v.get("via"))
        .and_then(Value::as_str)
    {
        Marked::add_address(&mut marked.recovery, via, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "properties": {"traits": {"type": "object", "properties": {
                "email": {"type": "string", "ory.sh/kratos": {
                    "credentials": {"password": {"identifier": true}, "code": {"identifier": true, "via": "email"}},
                    "verification": {"via": "email"},
                    "recovery": {"via": "email"}
                }},
                "emails": {"type": "array", "items": {"$ref": "#/definitions/email"}},
                "username": {"type": "string", "ory.sh/kratos": {"credentials": {"password": {"identifier": true}, "totp": {"account_name": true}}}},
                "phone": {"type": "string", "ory.sh/kratos": {
                    "credentials": {"code": {"identifier": true, "via": "sms"}},
                    "verification": {"via": "sms"}
                }}
            }}},
            "definitions": {"email": {"type": "string", "ory.sh/kratos": {"credentials": {"webauthn": {"identifier": true}}}}}
        })
    }

    #[test]
    fn marks_identifiers_and_addresses() {
        let traits = json!({
            "email": "  Foo@Example.COM ",
            "emails": ["A@b.c", "a@B.c", "x@y.z"],
            "username": "Bob",
            "phone": "+49 (151) 123-456"
        });
        let marked = mark(&schema(), &traits);
        assert_eq!(
            marked.identifiers[&CredentialType::Password],
            vec!["foo@example.com", "bob"]
        );
        assert_eq!(
            marked.identifiers[&CredentialType::Code],
            vec!["foo@example.com", "+49151123456"]
        );
        assert_eq!(
            marked.identifiers[&CredentialType::Webauthn],
            vec!["a@b.c", "x@y.z"]
        );
        assert!(!marked.identifiers.contains_key(&CredentialType::Totp));
        assert_eq!(
            marked.verifiable,
            vec![
                ("email".to_owned(), "foo@example.com".to_owned()),
                ("sms".to_owned(), "+49151123456".to_owned())
            ]
        );
        assert_eq!(
            marked.recovery,
            vec![("email".to_owned(), "foo@example.com".to_owned())]
        );
        assert!(has_identifier(&schema()));
        assert!(!has_identifier(&json!({"properties": {"traits": {}}})));
    }

    #[test]
    fn one_titled_identifier_labels_the_login_field() {
        let titled = json!({"properties": {"traits": {"properties": {
            "email": {"type": "string", "title": "E-Mail", "ory.sh/kratos": {"credentials": {
                "password": {"identifier": true}, "code": {"identifier": true}, "totp": {"account_name": true}}}},
            "name": {"type": "string", "title": "Name"}
        }}}});
        assert_eq!(
            identifier_label(&titled),
            Some(IdentifierLabel {
                title: "E-Mail".into(),
                name: "traits.email".into()
            })
        );
        let untitled = json!({"properties": {"traits": {"properties": {
            "email": {"type": "string", "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}}
        }}}});
        assert_eq!(identifier_label(&untitled), None);
        assert_eq!(
            identifier_label(&schema()),
            None,
            "two identifying traits: ID"
        );
        let by_reference = json!({"definitions": {"mail": {"type": "string", "title": "Mail",
                "ory.sh/kratos": {"credentials": {"webauthn": {"identifier": true}}}}},
            "properties": {"traits": {"properties": {"mail": {"$ref": "#/definitions/mail"}}}}});
        assert_eq!(
            identifier_label(&by_reference).map(|l| l.title),
            Some("Mail".into())
        );
    }

    #[test]
    fn normalizes_unicode_to_nfc() {
        // "e" followed by a combining acute accent becomes the single code point.
        assert_eq!(normalize_identifier("Cafe\u{301}"), "caf\u{e9}");
    }
}
