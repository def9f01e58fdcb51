//! The checked-in CRD YAML matches the Rust types.

use std::path::PathBuf;

const REGENERATE: &str = "cargo run -p bia-crds --bin crdgen";

#[test]
fn checked_in_crds_match_the_types() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in ["crds", "charts/bia/crds"] {
        for file in bia_crds::crds_yaml() {
            let path = root.join(dir).join(&file.file_name);
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == file.yaml,
                "{} is stale or missing; regenerate it with `{REGENERATE}`",
                path.display()
            );
        }
    }
}

#[test]
fn no_empty_lists_and_no_defaults_in_lists() {
    for file in bia_crds::crds_yaml() {
        assert!(
            !file.yaml.contains("[]"),
            "{} has an empty list",
            file.file_name
        );
        let v: serde_json::Value = yaml_serde::from_str(&file.yaml).unwrap();
        fn walk(v: &serde_json::Value, in_items: bool, name: &str) {
            match v {
                serde_json::Value::Object(m) => {
                    assert!(
                        !(in_items && m.contains_key("default")),
                        "{name}: default inside a list"
                    );
                    for (k, x) in m {
                        walk(x, in_items || k == "items", name);
                    }
                }
                serde_json::Value::Array(a) => {
                    assert!(!a.is_empty(), "{name}: empty list");
                    a.iter().for_each(|x| walk(x, in_items, name));
                }
                _ => {}
            }
        }
        walk(&v, false, &file.file_name);
    }
}

#[test]
fn names_columns_and_list_map_conditions() {
    for crd in bia_crds::crds() {
        let names = &crd.spec.names;
        assert_eq!(crd.spec.group, "bia.dev");
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(names.categories.as_deref(), Some(&["bia".to_owned()][..]));
        assert_eq!(names.short_names.as_ref().map(Vec::len), Some(1));
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        let columns: Vec<_> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert!(
            columns.contains(&"Ready") && columns.contains(&"Age"),
            "{columns:?}"
        );
        let schema = crate::schema_of(&names.kind);
        let conditions = schema
            .pointer("/properties/status/properties/conditions")
            .unwrap();
        assert_eq!(conditions["x-kubernetes-list-type"], "map");
        assert_eq!(
            conditions["x-kubernetes-list-map-keys"],
            serde_json::json!(["type"])
        );
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some()
        );
    }
}
