//! Form nodes and field problems derived from an identity schema's traits,
//! shared by the methods that collect traits (registration, profile).

use serde_json::{Value, json};

use crate::flow::Problem;
use crate::flow::ui::{Message, Node};
use crate::schema::{SchemaHandle, TraitViolation};

/// One input node per scalar trait of a schema (the default schema when
/// `schema_id` is absent), in `group`, filled with `values` when given.
pub fn trait_nodes(
    schemas: &SchemaHandle,
    schema_id: Option<&str>,
    group: &str,
    values: Option<&Value>,
) -> Vec<Node> {
    let registry = schemas.current();
    let Some(schema) = registry.get(schema_id.unwrap_or(registry.default_id())) else {
        return Vec::new();
    };
    let mut nodes = Vec::new();
    collect(
        &schema.document()["properties"]["traits"],
        "traits",
        group,
        values,
        &mut nodes,
    );
    nodes
}

fn collect(
    schema: &Value,
    prefix: &str,
    group: &str,
    values: Option<&Value>,
    nodes: &mut Vec<Node>,
) {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    for (name, property) in properties {
        let path = format!("{prefix}.{name}");
        let kind = property["type"].as_str().unwrap_or("string");
        if kind == "object" {
            collect(
                property,
                &path,
                group,
                values.and_then(|v| v.get(name)),
                nodes,
            );
            continue;
        }
        if kind == "array" {
            continue;
        }
        let input_type = match (kind, property["format"].as_str()) {
            (_, Some("email")) => "email",
            (_, Some("tel")) => "tel",
            (_, Some("date")) => "date",
            (_, Some("date-time")) => "datetime-local",
            ("boolean", _) => "checkbox",
            ("number" | "integer", _) => "number",
            _ => "text",
        };
        let mut node = Node::input(group, &path, input_type);
        if let Some(value) = values.and_then(|v| v.get(name)).filter(|v| !v.is_null()) {
            node = node.value(value.clone());
        }
        if required.contains(&name.as_str()) {
            node = node.required();
        }
        if input_type == "email" {
            node = node.autocomplete("email");
        }
        let title = property["title"].as_str().unwrap_or(name);
        nodes.push(node.label(Message::info(1070002, title)));
    }
}

/// Trait validation failures as problems on their form fields.
pub fn trait_problems(violations: &[TraitViolation]) -> Vec<Problem> {
    violations
        .iter()
        .map(|v| {
            let field = v.path.trim_start_matches('/').replace('/', ".");
            let missing = v
                .message
                .strip_suffix(" is a required property")
                .map(|name| name.trim_matches('"').to_owned());
            match missing {
                Some(name) => {
                    let field = if field.is_empty() {
                        name.clone()
                    } else {
                        format!("{field}.{name}")
                    };
                    Problem::field(&field, Message::missing(&name))
                }
                None => Problem::field(
                    &field,
                    Message::error(4000001, v.message.clone(), json!({"reason": v.message})),
                ),
            }
        })
        .collect()
}

/// How a method answers an identity write that failed: invalid traits and
/// taken identifiers become messages on the form, the rest passes through.
pub fn refusal(error: crate::identity::IdentityError) -> crate::flow::MethodError {
    use crate::flow::MethodError;
    use crate::identity::IdentityError;
    match error {
        IdentityError::InvalidTraits(violations) => {
            MethodError::Invalid(trait_problems(&violations))
        }
        IdentityError::Conflict => {
            MethodError::Invalid(vec![Problem::form(Message::duplicate_identifier())])
        }
        IdentityError::Busy => MethodError::Busy,
        other => other.into(),
    }
}
