//! Environment overrides as Kratos reads them: `SERVE_PUBLIC_PORT=4455` sets
//! `serve.public.port`, `SECRETS_COOKIE` takes a JSON list or a comma list, and
//! `IDENTITY_SCHEMAS_0_URL` addresses one list element.
//!
//! Key names may contain underscores themselves (`default_schema_id`), so a
//! variable name cannot be split blindly: it is resolved against the config's
//! own JSON Schema, property by property.
//!
//! A variable that names no key (`PATH`, `HOME`) is left alone.

use serde_json::{Map, Value};

use crate::error::{ConfigError, key};

/// The largest list index a variable may address (`IDENTITY_SCHEMAS_63_URL`):
/// a list is padded up to the index, so a huge one would exhaust memory.
pub const MAX_INDEX: usize = 255;

/// One path step into the config tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// The variables of this process, without those whose name or value is not
/// UTF-8 (no config key has such a name, and `std::env::vars` would panic).
pub fn process_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
}

/// Applies every environment variable that names a config key to `tree`.
/// Returns the keys that were set; an error names the variable and its key.
pub fn apply<I>(tree: &mut Value, schema: &Value, vars: I) -> Result<Vec<String>, ConfigError>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut applied = Vec::new();
    let mut vars: Vec<(String, String)> = vars.into_iter().collect();
    // Whole lists first, then their elements, so `X_0_Y` refines `X`.
    vars.sort_by_key(|(name, _)| name.len());
    for (name, raw) in vars {
        let tokens: Vec<String> = name.split('_').map(str::to_lowercase).collect();
        if tokens.iter().any(String::is_empty) {
            continue;
        }
        let Some((path, leaf)) = resolve(schema, schema, &tokens) else {
            continue;
        };
        let key = key_of(&path);
        let error = |reason: String| ConfigError::Environment {
            variable: name.clone(),
            key: key.clone(),
            reason,
        };
        if let Some(index) = path.iter().find_map(|step| match step {
            Step::Index(n) if *n > MAX_INDEX => Some(*n),
            _ => None,
        }) {
            return Err(error(format!(
                "list index {index} is larger than {MAX_INDEX}"
            )));
        }
        let value = convert(&raw, leaf, schema).map_err(error)?;
        set(tree, &path, value);
        applied.push(key);
    }
    Ok(applied)
}

/// The key of a path (`identity.schemas[0].url`).
pub fn key_of(path: &[Step]) -> String {
    path.iter().fold(String::new(), |parent, step| match step {
        Step::Key(name) => key::field(&parent, name),
        Step::Index(n) => key::index(&parent, *n),
    })
}

fn deref<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let mut node = node;
    for _ in 0..8 {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str)
            && let Some(target) = reference.strip_prefix('#').and_then(|p| root.pointer(p))
        {
            node = target;
            continue;
        }
        // `Option<T>` of a struct: anyOf [T, null].
        if let Some(branches) = node.get("anyOf").or_else(|| node.get("oneOf"))
            && let Some(branch) = branches.as_array().and_then(|b| {
                b.iter()
                    .find(|b| b.get("type") != Some(&Value::from("null")))
            })
        {
            node = branch;
            continue;
        }
        break;
    }
    node
}

fn types(node: &Value) -> Vec<&str> {
    match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn resolve<'a>(
    root: &'a Value,
    node: &'a Value,
    tokens: &[String],
) -> Option<(Vec<Step>, &'a Value)> {
    let node = deref(root, node);
    if tokens.is_empty() {
        return Some((Vec::new(), node));
    }
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        // Longest property names first, so `default_schema_id` beats `default`.
        let mut names: Vec<&String> = properties.keys().collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.split('_').count()));
        for name in names {
            let parts: Vec<&str> = name.split('_').collect();
            if tokens.len() >= parts.len()
                && parts
                    .iter()
                    .zip(tokens)
                    .all(|(p, t)| p.to_lowercase() == *t)
                && let Some((mut rest, leaf)) =
                    resolve(root, &properties[name.as_str()], &tokens[parts.len()..])
            {
                rest.insert(0, Step::Key(name.clone()));
                return Some((rest, leaf));
            }
        }
    }
    if types(node).contains(&"array")
        && let Ok(index) = tokens[0].parse::<usize>()
        && let Some(items) = node.get("items")
        && let Some((mut rest, leaf)) = resolve(root, items, &tokens[1..])
    {
        rest.insert(0, Step::Index(index));
        return Some((rest, leaf));
    }
    None
}

fn convert(raw: &str, leaf: &Value, root: &Value) -> Result<Value, String> {
    let kinds = types(leaf);
    if kinds.contains(&"array") {
        if let Ok(Value::Array(list)) = serde_json::from_str::<Value>(raw) {
            return Ok(Value::Array(list));
        }
        let item = leaf.get("items").map(|i| deref(root, i));
        return raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match item {
                Some(item) => scalar(s, item),
                None => Ok(Value::String(s.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if kinds.contains(&"object") && !kinds.contains(&"string") {
        return serde_json::from_str(raw).map_err(|e| format!("expected a JSON object: {e}"));
    }
    scalar(raw, leaf)
}

fn scalar(raw: &str, leaf: &Value) -> Result<Value, String> {
    let kinds = types(leaf);
    if kinds.contains(&"integer") && !kinds.contains(&"string") {
        return raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("expected an integer, got {raw:?}"));
    }
    if kinds.contains(&"number") && !kinds.contains(&"string") {
        return raw
            .trim()
            .parse::<f64>()
            .map(Value::from)
            .map_err(|_| format!("expected a number, got {raw:?}"));
    }
    if kinds.contains(&"boolean") && !kinds.contains(&"string") {
        return match raw.trim() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, got {raw:?}")),
        };
    }
    if kinds.contains(&"integer") {
        // A string-or-integer key (byte sizes): keep numbers numeric.
        if let Ok(number) = raw.trim().parse::<i64>() {
            return Ok(Value::from(number));
        }
    }
    Ok(Value::String(raw.to_owned()))
}

fn set(tree: &mut Value, path: &[Step], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *tree = value;
        return;
    };
    match first {
        Step::Key(key) => {
            if !tree.is_object() {
                *tree = Value::Object(Map::new());
            }
            if let Value::Object(map) = tree {
                let child = map.entry(key.clone()).or_insert(Value::Null);
                set(child, rest, value);
            }
        }
        Step::Index(index) => {
            if !tree.is_array() {
                *tree = Value::Array(Vec::new());
            }
            if let Value::Array(list) = tree {
                while list.len() <= *index {
                    list.push(Value::Null);
                }
                set(&mut list[*index], rest, value);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        crate::json_schema()
    }

    fn run(vars: &[(&str, &str)]) -> Value {
        let mut tree = json!({"identity": {"schemas": [{"id": "a", "url": "file:///a"}]}});
        apply(
            &mut tree,
            &schema(),
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .unwrap();
        tree
    }

    #[test]
    fn resolves_nested_and_underscored_keys() {
        let tree = run(&[
            ("SERVE_PUBLIC_PORT", "4455"),
            ("IDENTITY_DEFAULT_SCHEMA_ID", "customer"),
            ("DSN", "postgres://x"),
            ("LOG_LEVEL", "debug"),
            ("HASHERS_BCRYPT_COST", "10"),
            ("SERVE_PUBLIC_CORS_ENABLED", "true"),
            ("SESSION_EARLIEST_POSSIBLE_EXTEND", "1h"),
            ("PATH", "/usr/bin"),
        ]);
        assert_eq!(tree["serve"]["public"]["port"], 4455);
        assert_eq!(tree["identity"]["default_schema_id"], "customer");
        assert_eq!(tree["dsn"], "postgres://x");
        assert_eq!(tree["log"]["level"], "debug");
        assert_eq!(tree["hashers"]["bcrypt"]["cost"], 10);
        assert_eq!(tree["serve"]["public"]["cors"]["enabled"], true);
        assert_eq!(tree["session"]["earliest_possible_extend"], "1h");
        assert!(tree.get("path").is_none());
    }

    #[test]
    fn lists_take_json_or_commas_and_indices() {
        let tree = run(&[
            ("SECRETS_COOKIE", "one-secret-value-16,two-secret-value-16"),
            ("SECRETS_CIPHER", r#"["abc"]"#),
            ("IDENTITY_SCHEMAS_0_URL", "base64://e30="),
            ("IDENTITY_SCHEMAS_1_ID", "b"),
        ]);
        assert_eq!(
            tree["secrets"]["cookie"],
            json!(["one-secret-value-16", "two-secret-value-16"])
        );
        assert_eq!(tree["secrets"]["cipher"], json!(["abc"]));
        assert_eq!(
            tree["identity"]["schemas"][0],
            json!({"id": "a", "url": "base64://e30="})
        );
        assert_eq!(tree["identity"]["schemas"][1]["id"], "b");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let mut tree = json!({});
        let err = apply(
            &mut tree,
            &schema(),
            [("SERVE_ADMIN_PORT".to_string(), "many".to_string())],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable SERVE_ADMIN_PORT (config key serve.admin.port): \
             expected an integer, got \"many\""
        );
    }

    #[test]
    fn huge_list_indices_are_refused() {
        let mut tree = json!({});
        let err = apply(
            &mut tree,
            &schema(),
            [(
                "IDENTITY_SCHEMAS_99999999999_URL".to_string(),
                "file:///x".to_string(),
            )],
        )
        .unwrap_err();
        assert_eq!(err.key(), Some("identity.schemas[99999999999].url"));
        let applied = apply(
            &mut tree,
            &schema(),
            [("SECRETS_COOKIE_2".to_string(), "x".to_string())],
        )
        .unwrap();
        assert_eq!(applied, ["secrets.cookie[2]"]);
        assert_eq!(tree["secrets"]["cookie"], json!([null, null, "x"]));
    }
}
