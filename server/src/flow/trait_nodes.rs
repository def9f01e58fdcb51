//! Form nodes derived from an identity schema's traits, shared by the
//! flow machine (the profile step of a registration) and the methods that
//! collect traits (registration, profile).

use serde_json::Value;

use super::ui::{Message, Node};
use crate::schema::SchemaHandle;

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
        nodes.push(node.label(Message::generated_label(title, &path)));
    }
}
