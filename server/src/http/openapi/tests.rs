//! The document against the committed file, the routers and Kratos.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use super::{DOCUMENT_PATH, document_json};
use crate::http::{admin_table, public_table};

/// Operations Bia has and Kratos has not: `(method, path)`.
const BIA_ONLY: &[(&str, &str)] = &[
    ("GET", "/ui/login"),
    ("GET", "/ui/registration"),
    ("GET", "/ui/settings"),
    ("GET", "/ui/error"),
    ("GET", "/ui/welcome"),
    ("GET", "/ui/recovery"),
    ("GET", "/ui/verification"),
    ("GET", "/self-service/recovery"),
    ("GET", "/self-service/verification"),
    ("GET", DOCUMENT_PATH),
    // Kratos serves the provider callback too, but its document leaves it out.
    ("GET", "/self-service/methods/oidc/callback/{provider}"),
    ("POST", "/self-service/methods/oidc/callback/{provider}"),
    // Kratos serves its metrics here too, but its document leaves them out.
    ("GET", "/admin/metrics/prometheus"),
    ("POST", "/admin/bia/schema-migrations"),
];

/// Status codes Bia documents beyond Kratos's, with the reason:
/// `(method, path, status, reason)`.
const EXTRA_STATUSES: &[(&str, &str, &str, &str)] = &[
    (
        "GET",
        "/self-service/errors",
        "400",
        "Bia answers 400 when the id is missing; Kratos lists no 4xx but 403 and 404",
    ),
    ("GET", "/self-service/recovery/flows", "400", DISABLED_400),
    ("GET", "/self-service/recovery/flows", "403", CSRF_403),
    (
        "GET",
        "/self-service/verification/browser",
        "400",
        DISABLED_400,
    ),
    (
        "GET",
        "/self-service/verification/flows",
        "400",
        DISABLED_400,
    ),
    (
        "GET",
        "/self-service/verification/flows",
        "410",
        "an expired flow is answered 410 with its replacement, as on every other flow",
    ),
    (
        "GET",
        "/sessions/token-exchange",
        "400",
        "Kratos answers 400 when a code is missing, though its document omits it",
    ),
];

const DISABLED_400: &str = "Kratos answers 400 for a disabled flow (and a missing id) on every \
    endpoint, though its document omits it here";

const CSRF_403: &str = "a browser flow is shown only to the browser holding its anti-CSRF cookie, \
    as login and registration flows are";

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn generated() -> Value {
    serde_json::from_str(&document_json()).unwrap()
}

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

/// `/identities/{id}/credentials/{kind}` -> `/identities/{}/credentials/{}`.
fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Every `(METHOD, path)` operation of a document.
fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
    let mut found = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.insert((method.to_uppercase(), path.clone()), operation);
            }
        }
    }
    found
}

/// The routes of a router as `(METHOD, path)`, read from its `Debug` output
/// (axum has no other way to list them): route ids map to paths in the
/// router's node, and each method router's `Allow` header names its methods.
fn routes(router: &axum::Router<crate::http::AppState>) -> BTreeSet<(String, String)> {
    let text = format!("{router:?}");
    // Only the path router: the fallback router holds the catch-all routes.
    let end = text.find("fallback_router:").unwrap_or(text.len());
    let mut paths = BTreeMap::new();
    let mut allowed = BTreeMap::new();
    let mut rest = &text[..end];
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at + "RouteId(".len()..];
        let Some(close) = rest.find(')') else { break };
        let id: u32 = rest[..close].parse().unwrap();
        rest = &rest[close + 1..];
        if let Some(quoted) = rest.strip_prefix(": \"") {
            let end = quoted.find('"').unwrap();
            paths.insert(id, quoted[..end].to_owned());
        } else if rest.starts_with(": MethodRouter(") {
            let header = rest.find("allow_header: Bytes(b\"").unwrap() + 22;
            let end = rest[header..].find('"').unwrap();
            let methods: Vec<String> = rest[header..header + end]
                .split(',')
                .filter(|m| *m != "HEAD")
                .map(str::to_owned)
                .collect();
            allowed.insert(id, methods);
        } else {
            assert!(
                !rest.starts_with(": Route("),
                "a route is a plain service; its methods cannot be listed"
            );
        }
    }
    assert!(
        !paths.is_empty() && paths.len() == allowed.len(),
        "could not read the routes from the router's Debug output (did axum change it?): {text}"
    );
    paths
        .iter()
        .flat_map(|(id, path)| {
            allowed[id]
                .iter()
                .map(move |method| (method.clone(), normalize(path)))
        })
        .collect()
}

#[test]
fn openapi_committed_document_is_current() {
    let generated = document_json();
    let path = committed_path();
    if std::env::var_os("BIA_UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "server/openapi.json is out of date; regenerate it with \
         `BIA_UPDATE_GENERATED=1 cargo test -p bia-server --lib openapi_committed`"
    );
}

#[test]
fn openapi_documents_exactly_the_routes_of_both_routers() {
    let admin = routes(&admin_table());
    let public = routes(&public_table());
    let mut served = public.clone();
    for (method, path) in &admin {
        // The admin listener also serves `/admin/...` without the prefix;
        // the document lists the prefixed form only.
        let alias = !path.starts_with("/admin/")
            && admin.contains(&(method.clone(), format!("/admin{path}")));
        if !alias {
            served.insert((method.clone(), path.clone()));
        }
    }
    let doc = generated();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_keys()
        .map(|(method, path)| (method, normalize(&path)))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "the document and the routers (server/src/http/mod.rs) disagree.\n\
         Registered but not documented (declare them in server/src/http/openapi/): {undocumented:?}\n\
         Documented but not registered: {unserved:?}"
    );
}

fn kratos_reference() -> Option<Value> {
    let path = match std::env::var_os("BIA_KRATOS_REFERENCE") {
        Some(dir) => PathBuf::from(dir).join("api.json"),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/kratos/api.json")
        }
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap()),
        Err(_) => {
            eprintln!(
                "skipped: the Kratos reference {} is absent (set BIA_KRATOS_REFERENCE to its \
                 directory)",
                path.display()
            );
            None
        }
    }
}

/// `in:name` of each parameter; header names are case-insensitive.
fn parameters(operation: &Value) -> BTreeSet<String> {
    operation["parameters"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|p| {
                    let place = p["in"].as_str().unwrap_or_default();
                    let name = p["name"].as_str().unwrap_or_default();
                    if place == "header" {
                        format!("{place}:{}", name.to_ascii_lowercase())
                    } else {
                        format!("{place}:{name}")
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn statuses(operation: &Value) -> BTreeSet<String> {
    operation["responses"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}

fn body_types(operation: &Value) -> BTreeSet<String> {
    operation["requestBody"]["content"]
        .as_object()
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn openapi_matches_kratos_for_every_shared_operation() {
    let Some(kratos) = kratos_reference() else {
        return;
    };
    let doc = generated();
    let ours = operations(&doc);
    let theirs = operations(&kratos);
    let mut problems = Vec::new();
    for ((method, path), operation) in &ours {
        let key = (method.as_str(), path.as_str());
        if BIA_ONLY.contains(&key) {
            if theirs.contains_key(&(method.clone(), path.clone())) {
                problems.push(format!(
                    "{method} {path}: listed as Bia-only but Kratos has it"
                ));
            }
            if operation["tags"] != serde_json::json!(["bia"]) {
                problems.push(format!(
                    "{method} {path}: Bia-only operations carry the bia tag"
                ));
            }
            continue;
        }
        let Some(reference) = theirs.get(&(method.clone(), path.clone())) else {
            problems.push(format!(
                "{method} {path}: Kratos has no such operation (add it to BIA_ONLY if deliberate)"
            ));
            continue;
        };
        if operation["operationId"] != reference["operationId"] {
            problems.push(format!(
                "{method} {path}: operationId {} where Kratos has {}",
                operation["operationId"], reference["operationId"]
            ));
        }
        let (mine, kratos_params) = (parameters(operation), parameters(reference));
        if mine != kratos_params {
            problems.push(format!(
                "{method} {path}: parameters {mine:?} where Kratos has {kratos_params:?}"
            ));
        }
        let mut mine = statuses(operation);
        for (m, p, status, _reason) in EXTRA_STATUSES {
            if (*m, *p) == key {
                mine.remove(*status);
            }
        }
        let kratos_statuses = statuses(reference);
        if mine != kratos_statuses {
            problems.push(format!(
                "{method} {path}: statuses {mine:?} where Kratos has {kratos_statuses:?}"
            ));
        }
        let (mine, kratos_types) = (body_types(operation), body_types(reference));
        if mine != kratos_types {
            problems.push(format!(
                "{method} {path}: request bodies {mine:?} where Kratos has {kratos_types:?}"
            ));
        }
    }
    for (method, path) in BIA_ONLY {
        if !ours.contains_key(&(method.to_string(), path.to_string())) {
            problems.push(format!("{method} {path}: in BIA_ONLY but not documented"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn collect_refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => found.push(target),
                    _ => collect_refs(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, found)),
        _ => {}
    }
}

#[test]
fn openapi_document_is_well_formed() {
    let doc = generated();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for target in refs {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external reference {target}"));
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    let mut ids = BTreeSet::new();
    for ((method, path), operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        assert!(
            !statuses(operation).is_empty(),
            "{method} {path}: no responses"
        );
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: path parameters are required"
                );
                p["name"].as_str().unwrap()
            })
            .collect();
        let templated: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|part| part.split('}').next())
            .collect();
        assert_eq!(declared, templated, "{method} {path}: path parameters");
    }
}
