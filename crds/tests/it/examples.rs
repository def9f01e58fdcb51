//! The example resources in config/examples/ are valid against the generated CRD schemas.

use std::path::PathBuf;

use serde_json::Value;

/// The openAPIV3Schema as plain JSON Schema: Kubernetes extensions dropped,
/// `nullable: true` turned into a null alternative.
fn as_json_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                if k.starts_with("x-kubernetes-") || k == "nullable" {
                    continue;
                }
                out.insert(k.clone(), as_json_schema(x));
            }
            if m.get("nullable") == Some(&Value::Bool(true)) {
                return serde_json::json!({"anyOf": [Value::Object(out), {"type": "null"}]});
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(as_json_schema).collect()),
        other => other.clone(),
    }
}

#[test]
fn examples_validate_against_the_crds() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/examples");
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(path).unwrap();
        for doc in text.split("\n---\n") {
            let obj: Value = yaml_serde::from_str(doc).unwrap();
            let api_version = obj["apiVersion"].as_str().unwrap_or_default();
            if !api_version.starts_with("bia.dev/") {
                continue;
            }
            let kind = obj["kind"].as_str().unwrap();
            let schema = as_json_schema(&crate::schema_of(kind));
            let validator = jsonschema::validator_for(&schema).unwrap();
            let errors: Vec<String> = validator.iter_errors(&obj).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {kind}: {errors:?}", path.display());
            kube::core::cel::Validator::new()
                .validate(&crate::schema_of(kind), &obj, None)
                .unwrap_or_else(|e| panic!("{}: CEL: {e:?}", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} example resources found");
}

#[test]
fn a_wrong_example_is_caught() {
    let schema = as_json_schema(&crate::schema_of("OIDCProvider"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad = serde_json::json!({"apiVersion": "bia.dev/v1alpha1", "kind": "OIDCProvider",
        "metadata": {"name": "x"}, "spec": {"providerId": "x", "provider": "myspace"}});
    assert!(!validator.is_valid(&bad));
}
