//! Real responses against the committed OpenAPI document: every status the
//! server answers is documented for its operation, and every JSON body
//! validates against the documented schema (so the schemas claim nothing the
//! server does not send).

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::support::{Kind, TestServer};

struct Spec(Value);

impl Spec {
    fn load() -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
        Self(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
    }

    /// The documented path template a concrete path belongs to: segments
    /// match literally or by a `{parameter}`, literal matches preferred.
    fn template(&self, path: &str) -> String {
        let path = path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &String)> = None;
        for template in self.0["paths"].as_object().unwrap().keys() {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literal = 0;
            let fits = parts.iter().zip(&segments).all(|(t, s)| {
                if t.starts_with('{') {
                    true
                } else {
                    literal += 1;
                    t == s
                }
            });
            if fits && best.is_none_or(|(n, _)| literal > n) {
                best = Some((literal, template));
            }
        }
        best.map(|(_, t)| t.clone())
            .unwrap_or_else(|| path.to_owned())
    }

    /// Problems with one answer, if any.
    fn check(
        &self,
        method: &str,
        template: &str,
        status: u16,
        content_type: &str,
        body: &Value,
    ) -> Option<String> {
        let operation = &self.0["paths"][template][method.to_ascii_lowercase()];
        if operation.is_null() {
            return Some(format!("{method} {template} is not documented"));
        }
        let responses = &operation["responses"];
        let response = match responses.get(status.to_string()) {
            Some(response) => response,
            None => match responses.get("default") {
                Some(response) => response,
                None => return Some(format!("{method} {template}: {status} is not documented")),
            },
        };
        let Some(content) = response.get("content") else {
            return (!body.is_null()).then(|| {
                format!("{method} {template}: {status} is documented without a body, got {body}")
            });
        };
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let Some(schema) = content.get(media).map(|c| &c["schema"]) else {
            return Some(format!(
                "{method} {template}: {status} with {media:?} is not documented"
            ));
        };
        if media != "application/json" {
            return None;
        }
        let mut root = schema.as_object().cloned().unwrap_or_default();
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("components".into(), self.0["components"].clone());
        let validator = jsonschema::options().build(&Value::Object(root)).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        (!errors.is_empty()).then(|| {
            format!(
                "{method} {template}: {status} body does not match the schema: {}\n  body: {body}",
                errors.join("; ")
            )
        })
    }
}

struct Probe<'a> {
    server: &'a TestServer,
    spec: Spec,
    problems: Vec<String>,
}

#[derive(Clone, Copy)]
enum On {
    Public,
    Admin,
}

impl Probe<'_> {
    /// Sends a request, checks the answer against the document and returns
    /// its status and body.
    async fn send(
        &mut self,
        on: On,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let base = match on {
            On::Public => &self.server.public,
            On::Admin => &self.server.admin,
        };
        let mut request = self
            .server
            .http
            .request(method.parse().unwrap(), format!("{base}{path}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        let template = self.spec.template(path);
        if let Some(problem) = self
            .spec
            .check(method, &template, status, &content_type, &body)
        {
            self.problems
                .push(format!("{problem}\n  (request {method} {path})"));
        }
        (status, body)
    }

    async fn get(&mut self, on: On, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        self.send(on, "GET", path, headers, None).await
    }
}

const JSON: (&str, &str) = ("Accept", "application/json");
const UNKNOWN: &str = "8f1c5b4e-2a4d-4c38-9a8e-0d4f7b1f2c3a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_real_responses_match_the_document() {
    let server = TestServer::start(Kind::Sqlite).await;
    let mut p = Probe {
        server: &server,
        spec: Spec::load(),
        problems: Vec::new(),
    };
    // The checker itself refuses what the document does not allow.
    let (spec, json_type) = (&p.spec, "application/json");
    assert!(
        spec.check("GET", "/version", 200, json_type, &json!({}))
            .is_some()
    );
    let version = json!({"version": "1"});
    assert!(
        spec.check("GET", "/version", 418, json_type, &version)
            .is_some()
    );
    assert!(
        spec.check("GET", "/version", 200, json_type, &version)
            .is_none()
    );
    let deleted = spec.check("DELETE", "/admin/identities/{id}", 204, "", &version);
    assert!(deleted.is_some());
    assert_eq!(
        spec.template("/admin/identities/by/external/x"),
        "/admin/identities/by/external/{externalID}"
    );
    assert_eq!(spec.template("/sessions/whoami?x=1"), "/sessions/whoami");
    use On::{Admin, Public};

    // Metadata, schemas and the document itself.
    for path in ["/health/alive", "/health/ready", "/version", "/schemas"] {
        p.get(Admin, path, &[]).await;
        p.get(Public, path, &[]).await;
    }
    p.get(Admin, "/schemas/default", &[]).await;
    p.get(Admin, "/schemas/nope", &[]).await;
    p.get(Admin, "/schemas?page_size=1&page_token=default", &[])
        .await;
    let (status, served) = p.get(Admin, "/admin/bia/openapi.json", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(served, p.spec.0, "the served document is the committed one");

    // Admin identities.
    let identities = "/admin/identities";
    let (status, identity) = p.send(Admin, "POST", identities, &[], Some(json!({
        "schema_id": "default",
        "traits": {"email": "ada@example.test", "name": {"first": "Ada"}},
        "credentials": {"password": {"config": {"password": "a-long-password-4-tests"}}},
        "metadata_public": {"plan": "free"},
        "metadata_admin": {"note": "first"},
        "external_id": "ext-ada",
        "verifiable_addresses": [{"value": "ada@example.test", "via": "email", "verified": true, "status": "completed"}]
    }))).await;
    assert_eq!(status, 201, "{identity}");
    let one = format!("/admin/identities/{}", identity["id"].as_str().unwrap());
    for body in [
        json!({"traits": {"email": "ada@example.test"}}),
        json!({"traits": {"email": 7}}),
        json!({"traits": {}, "state": "sleeping"}),
    ] {
        p.send(Admin, "POST", identities, &[], Some(body)).await;
    }
    for query in [
        "",
        "?include_credential=password&page_size=1",
        "?page=1&per_page=1",
        "?page_token=nonsense",
    ] {
        p.get(Admin, &format!("{identities}{query}"), &[]).await;
    }
    p.get(Admin, &format!("{one}?include_credential=password"), &[])
        .await;
    p.get(Admin, "/admin/identities/not-an-id", &[]).await;
    p.get(Admin, "/admin/identities/by/external/ext-ada", &[])
        .await;
    p.get(Admin, "/admin/identities/by/external/nobody", &[])
        .await;
    let replaced = json!({"state": "active", "traits": {"email": "ada@example.test"}, "metadata_admin": {"note": "second"}});
    p.send(Admin, "PUT", &one, &[], Some(replaced)).await;
    p.send(
        Admin,
        "PUT",
        &one,
        &[],
        Some(json!({"traits": {"email": "ada@example.test"}})),
    )
    .await;
    let patch = json!([{"op": "replace", "path": "/metadata_public", "value": {"plan": "pro"}}]);
    p.send(Admin, "PATCH", &one, &[], Some(patch)).await;
    let patch = json!([{"op": "replace", "path": "/id", "value": "x"}]);
    p.send(Admin, "PATCH", &one, &[], Some(patch)).await;
    p.send(
        Admin,
        "PATCH",
        identities,
        &[],
        Some(json!({"identities": [
            {"create": {"traits": {"email": "bob@example.test"}}, "patch_id": UNKNOWN},
            {"create": {"traits": {"email": 7}}},
            {}
        ]})),
    )
    .await;
    p.send(
        Admin,
        "DELETE",
        &format!("{one}/credentials/totp"),
        &[],
        None,
    )
    .await;
    p.send(
        Admin,
        "DELETE",
        &format!("{one}/credentials/nonsense"),
        &[],
        None,
    )
    .await;

    // Native registration, login, whoami and settings.
    let (_, flow) = p.get(Public, "/self-service/registration/api", &[]).await;
    let submit = format!(
        "/self-service/registration?flow={}",
        flow["id"].as_str().unwrap()
    );
    let incomplete = json!({"method": "password", "traits": {"email": "cy@example.test"}});
    p.send(Public, "POST", &submit, &[], Some(incomplete)).await;
    let complete = json!({"method": "password", "password": "another-long-password-5", "traits": {"email": "cy@example.test"}});
    let (status, registered) = p.send(Public, "POST", &submit, &[], Some(complete)).await;
    assert_eq!(status, 200, "{registered}");
    p.send(
        Public,
        "POST",
        "/self-service/registration",
        &[],
        Some(json!({})),
    )
    .await;
    let (_, flow) = p.get(Public, "/self-service/login/api", &[]).await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let submit = format!("/self-service/login?flow={flow_id}");
    let wrong = json!({"method": "password", "identifier": "cy@example.test", "password": "wrong-password-123456"});
    p.send(Public, "POST", &submit, &[], Some(wrong)).await;
    let right = json!({"method": "password", "identifier": "cy@example.test", "password": "another-long-password-5"});
    let (status, login) = p
        .send(Public, "POST", &submit, &[], Some(right.clone()))
        .await;
    assert_eq!(status, 200, "{login}");
    let token = login["session_token"].as_str().unwrap().to_owned();
    let session_id = login["session"]["id"].as_str().unwrap().to_owned();
    let auth = ("X-Session-Token", token.as_str());
    p.get(
        Public,
        &format!("/self-service/login/flows?id={flow_id}"),
        &[],
    )
    .await;
    p.get(
        Public,
        &format!("/self-service/login/flows?id={UNKNOWN}"),
        &[],
    )
    .await;
    p.get(Public, "/self-service/login/flows", &[]).await;
    p.get(Public, "/self-service/login/api", &[auth]).await;
    p.get(Public, "/self-service/login/api?refresh=true", &[auth])
        .await;
    for headers in [&[auth][..], &[]] {
        p.get(Public, "/sessions/whoami", headers).await;
        p.get(Public, "/sessions", headers).await;
    }
    p.send(Public, "DELETE", "/sessions", &[auth], None).await;
    p.send(
        Public,
        "DELETE",
        &format!("/sessions/{session_id}"),
        &[auth],
        None,
    )
    .await;
    p.send(
        Public,
        "DELETE",
        &format!("/sessions/{UNKNOWN}"),
        &[auth],
        None,
    )
    .await;
    let (_, settings) = p.get(Public, "/self-service/settings/api", &[auth]).await;
    p.get(Public, "/self-service/settings/api", &[]).await;
    let settings_id = settings["id"].as_str().unwrap().to_owned();
    p.get(
        Public,
        &format!("/self-service/settings/flows?id={settings_id}"),
        &[auth],
    )
    .await;
    let submit = format!("/self-service/settings?flow={settings_id}");
    let profile = json!({"method": "profile", "traits": {"email": "cy@example.test", "name": {"first": "Cy"}}});
    p.send(Public, "POST", &submit, &[auth], Some(profile))
        .await;
    let invalid = json!({"method": "profile", "traits": {"email": 7}});
    p.send(Public, "POST", &submit, &[auth], Some(invalid))
        .await;

    // Browser flows asking for JSON, and for pages.
    for headers in [&[JSON][..], &[]] {
        p.get(Public, "/self-service/login/browser", headers).await;
        p.get(Public, "/self-service/registration/browser", headers)
            .await;
        p.get(Public, "/self-service/settings/browser", headers)
            .await;
    }
    p.get(Public, "/self-service/logout/browser", &[JSON]).await;
    p.get(Public, "/self-service/logout", &[JSON]).await;
    p.get(Public, "/self-service/errors", &[]).await;
    p.get(Public, &format!("/self-service/errors?id={UNKNOWN}"), &[])
        .await;
    for page in [
        "/ui/login",
        "/ui/registration",
        "/ui/settings",
        "/ui/error",
        "/ui/welcome",
    ] {
        p.get(Public, page, &[]).await;
    }

    // Admin sessions.
    let session = format!("/admin/sessions/{session_id}");
    let owner = format!(
        "/admin/identities/{}",
        registered["identity"]["id"].as_str().unwrap()
    );
    p.get(Admin, "/admin/sessions?expand=identity&expand=devices", &[])
        .await;
    p.get(Admin, "/admin/sessions?active=maybe", &[]).await;
    p.get(Admin, &format!("{session}?expand=identity"), &[])
        .await;
    p.get(Admin, &format!("/admin/sessions/{UNKNOWN}"), &[])
        .await;
    p.send(Admin, "PATCH", &format!("{session}/extend"), &[], None)
        .await;
    p.get(Admin, &format!("{owner}/sessions?active=true"), &[])
        .await;
    let disable = json!({"action": "disable", "sessions": [session_id]});
    p.send(Admin, "POST", "/admin/sessions", &[], Some(disable))
        .await;
    p.send(
        Admin,
        "POST",
        "/admin/sessions",
        &[],
        Some(json!({"action": "explode"})),
    )
    .await;
    p.send(Admin, "DELETE", &session, &[], None).await;
    p.send(Admin, "DELETE", &format!("{owner}/sessions"), &[], None)
        .await;

    // Logout and deletion.
    let (_, flow) = p.get(Public, "/self-service/login/api", &[]).await;
    let submit = format!("/self-service/login?flow={}", flow["id"].as_str().unwrap());
    let (_, login) = p.send(Public, "POST", &submit, &[], Some(right)).await;
    let logout = json!({"session_token": login["session_token"]});
    let path = "/self-service/logout/api";
    let (status, _) = p
        .send(Public, "DELETE", path, &[], Some(logout.clone()))
        .await;
    assert_eq!(status, 204);
    p.send(Public, "DELETE", path, &[], Some(logout)).await;
    p.send(Public, "DELETE", path, &[], Some(json!({}))).await;
    p.send(Admin, "DELETE", &one, &[], None).await;
    p.send(Admin, "DELETE", &one, &[], None).await;

    let problems = std::mem::take(&mut p.problems);
    server.stop().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
