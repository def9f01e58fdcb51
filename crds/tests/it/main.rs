//! Integration tests of the CRD crate: generated YAML, CEL rules, example resources.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod cel;
mod drift;
mod examples;

use serde_json::Value;

/// The openAPIV3Schema of a kind, as JSON.
pub fn schema_of(kind: &str) -> Value {
    let crd = bia_crds::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap();
    let v = serde_json::to_value(&crd).unwrap();
    v.pointer("/spec/versions/0/schema/openAPIV3Schema")
        .unwrap()
        .clone()
}
