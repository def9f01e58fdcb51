//! CEL rules, evaluated without a cluster.

use kube::core::cel::Validator;
use serde_json::{Value, json};

fn check(kind: &str, obj: &Value, old: Option<&Value>) -> Result<(), String> {
    Validator::new()
        .validate(&crate::schema_of(kind), obj, old)
        .map_err(|e| format!("{e:?}"))
}

fn schema() -> Value {
    json!({
        "apiVersion": "bia.dev/v1alpha1", "kind": "IdentitySchema",
        "metadata": {"name": "s", "namespace": "n"},
        "spec": {"schemaId": "customer-v1", "schema": "{}", "serverRef": {"name": "bia"}}
    })
}

fn provider() -> Value {
    json!({
        "apiVersion": "bia.dev/v1alpha1", "kind": "OIDCProvider",
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {"providerId": "google", "provider": "google", "clientId": "c",
                 "clientSecret": {"name": "s", "key": "k"}, "mapper": "{}", "serverRef": {"name": "bia"}}
    })
}

fn template() -> Value {
    json!({
        "apiVersion": "bia.dev/v1alpha1", "kind": "CourierTemplate",
        "metadata": {"name": "t", "namespace": "n"},
        "spec": {"templateType": "recovery_code", "variant": "valid", "channel": "email",
                 "subject": "s", "body": {"plaintext": "p"}, "serverRef": {"name": "bia"}}
    })
}

fn server() -> Value {
    json!({
        "apiVersion": "bia.dev/v1alpha1", "kind": "IdentityServer",
        "metadata": {"name": "bia", "namespace": "n"},
        "spec": {"image": "bia:1", "dsn": {"name": "s", "key": "dsn"},
                 "secrets": {"cookie": [{"name": "s", "key": "cookie"}]},
                 "publicBaseUrl": "https://id.example.com/", "defaultSchemaId": "customer-v1"}
    })
}

#[test]
fn valid_objects_pass() {
    check("IdentitySchema", &schema(), None).unwrap();
    check("OIDCProvider", &provider(), None).unwrap();
    check("CourierTemplate", &template(), None).unwrap();
    check("IdentityServer", &server(), None).unwrap();
    check("IdentitySchema", &schema(), Some(&schema())).unwrap();
}

#[test]
fn schema_id_body_and_server_ref_are_immutable() {
    for (pointer, value) in [
        ("/spec/schemaId", json!("customer-v2")),
        ("/spec/schema", json!("{\"type\":\"object\"}")),
        ("/spec/serverRef/name", json!("other")),
    ] {
        let mut new = schema();
        *new.pointer_mut(pointer).unwrap() = value;
        check("IdentitySchema", &new, None).unwrap();
        let err = check("IdentitySchema", &new, Some(&schema())).unwrap_err();
        assert!(err.contains("immutable"), "{pointer}: {err}");
    }
}

#[test]
fn provider_id_and_server_ref_are_immutable() {
    let mut new = provider();
    new["spec"]["providerId"] = json!("google2");
    assert!(
        check("OIDCProvider", &new, Some(&provider()))
            .unwrap_err()
            .contains("providerId is immutable")
    );
    let mut new = provider();
    new["spec"]["serverRef"]["name"] = json!("x");
    assert!(
        check("OIDCProvider", &new, Some(&provider()))
            .unwrap_err()
            .contains("serverRef is immutable")
    );
    let mut new = template();
    new["spec"]["serverRef"]["namespace"] = json!("x");
    assert!(
        check("CourierTemplate", &new, Some(&template()))
            .unwrap_err()
            .contains("serverRef is immutable")
    );
}

#[test]
fn per_kind_required_fields() {
    let mut p = provider();
    p["spec"]["provider"] = json!("generic");
    assert!(
        check("OIDCProvider", &p, None)
            .unwrap_err()
            .contains("issuerUrl is required")
    );
    p["spec"]["issuerUrl"] = json!("https://issuer.example.com");
    check("OIDCProvider", &p, None).unwrap();
    p["spec"]["provider"] = json!("microsoft");
    assert!(
        check("OIDCProvider", &p, None)
            .unwrap_err()
            .contains("microsoftTenant")
    );

    let mut t = template();
    t["spec"].as_object_mut().unwrap().remove("subject");
    assert!(
        check("CourierTemplate", &t, None)
            .unwrap_err()
            .contains("subject is required")
    );
    let mut t = template();
    t["spec"]["templateType"] = json!("login_code");
    t["spec"]["variant"] = json!("invalid");
    assert!(
        check("CourierTemplate", &t, None)
            .unwrap_err()
            .contains("only the valid variant")
    );
    let mut t = template();
    t["spec"]["channel"] = json!("sms");
    t["spec"]["body"]["html"] = json!("<p>");
    assert!(
        check("CourierTemplate", &t, None)
            .unwrap_err()
            .contains("email templates only")
    );

    let mut s = schema();
    s["spec"]["schemaId"] = json!("");
    assert!(
        check("IdentitySchema", &s, None)
            .unwrap_err()
            .contains("schemaId is required")
    );

    let mut srv = server();
    srv["spec"]["secrets"]["cookie"] = json!([]);
    assert!(
        check("IdentityServer", &srv, None)
            .unwrap_err()
            .contains("at least one")
    );
    let mut srv = server();
    srv["spec"]["publicBaseUrl"] = json!("id.example.com");
    assert!(
        check("IdentityServer", &srv, None)
            .unwrap_err()
            .contains("http(s) URL")
    );
}

fn identity() -> Value {
    json!({
        "apiVersion": "bia.dev/v1alpha1", "kind": "Identity",
        "metadata": {"name": "i", "namespace": "n"},
        "spec": {"serverRef": {"name": "bia"}, "schemaId": "customer-v1",
                 "traits": {"email": "a@example.com", "nested": {"any": ["shape"]}},
                 "credentials": {"password": {"secretRef": {"name": "pw", "key": "password"}}}}
    })
}

#[test]
fn identity_rules() {
    check("Identity", &identity(), None).unwrap();
    let mut changed = identity();
    changed["spec"]["traits"]["email"] = json!("b@example.com");
    check("Identity", &changed, Some(&identity())).unwrap();
    let mut moved = identity();
    moved["spec"]["serverRef"]["name"] = json!("other");
    assert!(
        check("Identity", &moved, Some(&identity()))
            .unwrap_err()
            .contains("serverRef is immutable")
    );
    let mut no_schema = identity();
    no_schema["spec"]["schemaId"] = json!("");
    assert!(
        check("Identity", &no_schema, None)
            .unwrap_err()
            .contains("schemaId is required")
    );
    let mut no_key = identity();
    no_key["spec"]["credentials"]["password"]["secretRef"]["key"] = json!("");
    assert!(
        check("Identity", &no_key, None)
            .unwrap_err()
            .contains("needs a name and a key")
    );
}
