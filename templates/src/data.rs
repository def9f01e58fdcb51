//! Template data: JSON values in the engine's terms and back.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::Value;
use serde_json::Value as Json;

/// The engine's value for a JSON value. Objects become maps, so `.Field`
/// reads a key; integers stay integers (`{{ .ExpiresInMinutes }}` prints
/// `15`, not `15.0`).
pub fn to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::Uint(u)
            } else {
                Value::Float(n.as_f64().unwrap_or_default())
            }
        }
        Json::String(s) => Value::String(Arc::from(s.as_str())),
        Json::Array(items) => Value::List(items.iter().map(to_value).collect::<Vec<_>>().into()),
        Json::Object(map) => {
            let map: BTreeMap<Arc<str>, Value> = map
                .iter()
                .map(|(k, v)| (Arc::from(k.as_str()), to_value(v)))
                .collect();
            Value::Map(Arc::new(map))
        }
    }
}

/// The JSON value of an engine value (functions become `null`; trusted HTML
/// and the like their text).
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Nil | Value::Function(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Uint(u) => Json::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.to_string()),
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
        #[allow(unreachable_patterns)]
        other => Json::String(other.to_string()),
    }
}
