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

enum On {
    Public,
    Admin,
}

impl Probe<'_> {
    /// Sends a request, checks the answer against the document and returns
    /// its status and body.
    async fn call(
        &mut self,
        on: On,
        method: &str,
        template: &str,
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
        if let Some(problem) = self
            .spec
            .check(method, template, status, &content_type, &body)
        {
            self.problems
                .push(format!("{problem}\n  (request {method} {path})"));
        }
        (status, body)
    }
}

const JSON: (&str, &str) = ("Accept", "application/json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_real_responses_match_the_document() {
    let server = TestServer::start(Kind::Sqlite).await;
    let mut p = Probe {
        server: &server,
        spec: Spec::load(),
        problems: Vec::new(),
    };
    // The checker itself refuses what the document does not allow.
    let spec = &p.spec;
    assert!(
        spec.check("GET", "/version", 200, "application/json", &json!({}))
            .is_some()
    );
    assert!(
        spec.check(
            "GET",
            "/version",
            418,
            "application/json",
            &json!({"version": "1"})
        )
        .is_some()
    );
    assert!(
        spec.check(
            "DELETE",
            "/admin/identities/{id}",
            204,
            "",
            &json!({"x": 1})
        )
        .is_some()
    );
    assert!(
        spec.check(
            "GET",
            "/version",
            200,
            "application/json",
            &json!({"version": "1"})
        )
        .is_none()
    );
    use On::{Admin, Public};

    // Metadata, schemas and the document itself.
    for path in ["/health/alive", "/health/ready", "/version", "/schemas"] {
        p.call(Admin, "GET", path, path, &[], None).await;
        p.call(Public, "GET", path, path, &[], None).await;
    }
    p.call(Admin, "GET", "/schemas/{id}", "/schemas/default", &[], None)
        .await;
    p.call(Admin, "GET", "/schemas/{id}", "/schemas/nope", &[], None)
        .await;
    p.call(
        Admin,
        "GET",
        "/schemas",
        "/schemas?page_size=1&page_token=default",
        &[],
        None,
    )
    .await;
    let doc = "/admin/bia/openapi.json";
    let (status, served) = p.call(Admin, "GET", doc, doc, &[], None).await;
    assert_eq!(status, 200);
    assert_eq!(served, p.spec.0, "the served document is the committed one");

    // Admin identities.
    let identities = "/admin/identities";
    let one = "/admin/identities/{id}";
    let (status, identity) = p
        .call(Admin, "POST", identities, identities, &[], Some(json!({
            "schema_id": "default",
            "traits": {"email": "ada@example.test", "name": {"first": "Ada"}},
            "credentials": {"password": {"config": {"password": "a-long-password-4-tests"}}},
            "metadata_public": {"plan": "free"},
            "metadata_admin": {"note": "first"},
            "external_id": "ext-ada",
            "verifiable_addresses": [{"value": "ada@example.test", "via": "email", "verified": true, "status": "completed"}]
        })))
        .await;
    assert_eq!(status, 201, "{identity}");
    let id = identity["id"].as_str().unwrap().to_owned();
    let at = |template: &str| template.replace("{id}", &id);
    p.call(
        Admin,
        "POST",
        identities,
        identities,
        &[],
        Some(json!({"traits": {"email": "ada@example.test"}})),
    )
    .await;
    p.call(
        Admin,
        "POST",
        identities,
        identities,
        &[],
        Some(json!({"traits": {"email": 7}})),
    )
    .await;
    p.call(
        Admin,
        "POST",
        identities,
        identities,
        &[],
        Some(json!({"traits": {}, "state": "sleeping"})),
    )
    .await;
    p.call(Admin, "GET", identities, identities, &[], None)
        .await;
    p.call(
        Admin,
        "GET",
        identities,
        "/admin/identities?include_credential=password&page_size=1",
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "GET",
        identities,
        "/admin/identities?page=1&per_page=1",
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "GET",
        identities,
        "/admin/identities?page_token=nonsense",
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "GET",
        one,
        &at("/admin/identities/{id}?include_credential=password"),
        &[],
        None,
    )
    .await;
    p.call(Admin, "GET", one, "/admin/identities/not-an-id", &[], None)
        .await;
    p.call(
        Admin,
        "GET",
        "/admin/identities/by/external/{externalID}",
        "/admin/identities/by/external/ext-ada",
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "GET",
        "/admin/identities/by/external/{externalID}",
        "/admin/identities/by/external/nobody",
        &[],
        None,
    )
    .await;
    p.call(Admin, "PUT", one, &at(one), &[], Some(json!({"state": "active", "traits": {"email": "ada@example.test"}, "metadata_admin": {"note": "second"}}))).await;
    p.call(
        Admin,
        "PUT",
        one,
        &at(one),
        &[],
        Some(json!({"traits": {"email": "ada@example.test"}})),
    )
    .await;
    p.call(
        Admin,
        "PATCH",
        one,
        &at(one),
        &[],
        Some(json!([{"op": "replace", "path": "/metadata_public", "value": {"plan": "pro"}}])),
    )
    .await;
    p.call(
        Admin,
        "PATCH",
        one,
        &at(one),
        &[],
        Some(json!([{"op": "replace", "path": "/id", "value": "x"}])),
    )
    .await;
    p.call(Admin, "PATCH", identities, identities, &[], Some(json!({"identities": [
        {"create": {"traits": {"email": "bob@example.test"}}, "patch_id": "8f1c5b4e-2a4d-4c38-9a8e-0d4f7b1f2c3a"},
        {"create": {"traits": {"email": 7}}},
        {}
    ]}))).await;
    p.call(
        Admin,
        "DELETE",
        "/admin/identities/{id}/credentials/{type}",
        &at("/admin/identities/{id}/credentials/totp"),
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "DELETE",
        "/admin/identities/{id}/credentials/{type}",
        &at("/admin/identities/{id}/credentials/nonsense"),
        &[],
        None,
    )
    .await;

    // Native registration, login, whoami and settings.
    let (_, flow) = p
        .call(
            Public,
            "GET",
            "/self-service/registration/api",
            "/self-service/registration/api",
            &[],
            None,
        )
        .await;
    let submit = format!(
        "/self-service/registration?flow={}",
        flow["id"].as_str().unwrap()
    );
    p.call(
        Public,
        "POST",
        "/self-service/registration",
        &submit,
        &[],
        Some(json!({"method": "password", "traits": {"email": "cy@example.test"}})),
    )
    .await;
    let (status, registered) = p.call(Public, "POST", "/self-service/registration", &submit, &[], Some(json!({
        "method": "password", "password": "another-long-password-5", "traits": {"email": "cy@example.test"}
    }))).await;
    assert_eq!(status, 200, "{registered}");
    p.call(
        Public,
        "POST",
        "/self-service/registration",
        "/self-service/registration",
        &[],
        Some(json!({})),
    )
    .await;
    let (_, flow) = p
        .call(
            Public,
            "GET",
            "/self-service/login/api",
            "/self-service/login/api",
            &[],
            None,
        )
        .await;
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let submit = format!("/self-service/login?flow={flow_id}");
    p.call(Public, "POST", "/self-service/login", &submit, &[], Some(json!({"method": "password", "identifier": "cy@example.test", "password": "wrong-password-123456"}))).await;
    let (status, login) = p.call(Public, "POST", "/self-service/login", &submit, &[], Some(json!({
        "method": "password", "identifier": "cy@example.test", "password": "another-long-password-5"
    }))).await;
    assert_eq!(status, 200, "{login}");
    let token = login["session_token"].as_str().unwrap().to_owned();
    let session_id = login["session"]["id"].as_str().unwrap().to_owned();
    let auth = ("X-Session-Token", token.as_str());
    p.call(
        Public,
        "GET",
        "/self-service/login/flows",
        &format!("/self-service/login/flows?id={flow_id}"),
        &[],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/login/flows",
        "/self-service/login/flows?id=8f1c5b4e-2a4d-4c38-9a8e-0d4f7b1f2c3a",
        &[],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/login/flows",
        "/self-service/login/flows",
        &[],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/login/api",
        "/self-service/login/api",
        &[auth],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/login/api",
        "/self-service/login/api?refresh=true",
        &[auth],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/sessions/whoami",
        "/sessions/whoami",
        &[auth],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/sessions/whoami",
        "/sessions/whoami",
        &[],
        None,
    )
    .await;
    p.call(Public, "GET", "/sessions", "/sessions", &[auth], None)
        .await;
    p.call(Public, "GET", "/sessions", "/sessions", &[], None)
        .await;
    p.call(Public, "DELETE", "/sessions", "/sessions", &[auth], None)
        .await;
    p.call(
        Public,
        "DELETE",
        "/sessions/{id}",
        &format!("/sessions/{session_id}"),
        &[auth],
        None,
    )
    .await;
    p.call(
        Public,
        "DELETE",
        "/sessions/{id}",
        "/sessions/8f1c5b4e-2a4d-4c38-9a8e-0d4f7b1f2c3a",
        &[auth],
        None,
    )
    .await;
    let (_, settings) = p
        .call(
            Public,
            "GET",
            "/self-service/settings/api",
            "/self-service/settings/api",
            &[auth],
            None,
        )
        .await;
    p.call(
        Public,
        "GET",
        "/self-service/settings/api",
        "/self-service/settings/api",
        &[],
        None,
    )
    .await;
    let settings_id = settings["id"].as_str().unwrap().to_owned();
    p.call(
        Public,
        "GET",
        "/self-service/settings/flows",
        &format!("/self-service/settings/flows?id={settings_id}"),
        &[auth],
        None,
    )
    .await;
    p.call(
        Public,
        "POST",
        "/self-service/settings",
        &format!("/self-service/settings?flow={settings_id}"),
        &[auth],
        Some(json!({
            "method": "profile", "traits": {"email": "cy@example.test", "name": {"first": "Cy"}}
        })),
    )
    .await;
    p.call(
        Public,
        "POST",
        "/self-service/settings",
        &format!("/self-service/settings?flow={settings_id}"),
        &[auth],
        Some(json!({
            "method": "profile", "traits": {"email": 7}
        })),
    )
    .await;

    // Browser flows asking for JSON, and for pages.
    p.call(
        Public,
        "GET",
        "/self-service/login/browser",
        "/self-service/login/browser",
        &[JSON],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/login/browser",
        "/self-service/login/browser",
        &[],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/registration/browser",
        "/self-service/registration/browser",
        &[JSON],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/settings/browser",
        "/self-service/settings/browser",
        &[JSON],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/settings/browser",
        "/self-service/settings/browser",
        &[],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/logout/browser",
        "/self-service/logout/browser",
        &[JSON],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/logout",
        "/self-service/logout",
        &[JSON],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/errors",
        "/self-service/errors",
        &[],
        None,
    )
    .await;
    p.call(
        Public,
        "GET",
        "/self-service/errors",
        "/self-service/errors?id=8f1c5b4e-2a4d-4c38-9a8e-0d4f7b1f2c3a",
        &[],
        None,
    )
    .await;
    for page in [
        "/ui/login",
        "/ui/registration",
        "/ui/settings",
        "/ui/error",
        "/ui/welcome",
    ] {
        p.call(Public, "GET", page, page, &[], None).await;
    }

    // Admin sessions.
    let session = |template: &str| template.replace("{id}", &session_id);
    p.call(
        Admin,
        "GET",
        "/admin/sessions",
        "/admin/sessions?expand=identity&expand=devices",
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "GET",
        "/admin/sessions",
        "/admin/sessions?active=maybe",
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "GET",
        "/admin/sessions/{id}",
        &session("/admin/sessions/{id}?expand=identity"),
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "GET",
        "/admin/sessions/{id}",
        "/admin/sessions/8f1c5b4e-2a4d-4c38-9a8e-0d4f7b1f2c3a",
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "PATCH",
        "/admin/sessions/{id}/extend",
        &session("/admin/sessions/{id}/extend"),
        &[],
        None,
    )
    .await;
    let owner = registered["identity"]["id"].as_str().unwrap();
    p.call(
        Admin,
        "GET",
        "/admin/identities/{id}/sessions",
        &format!("/admin/identities/{owner}/sessions?active=true"),
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "POST",
        "/admin/sessions",
        "/admin/sessions",
        &[],
        Some(json!({"action": "disable", "sessions": [session_id]})),
    )
    .await;
    p.call(
        Admin,
        "POST",
        "/admin/sessions",
        "/admin/sessions",
        &[],
        Some(json!({"action": "explode"})),
    )
    .await;
    p.call(
        Admin,
        "DELETE",
        "/admin/sessions/{id}",
        &session("/admin/sessions/{id}"),
        &[],
        None,
    )
    .await;
    p.call(
        Admin,
        "DELETE",
        "/admin/identities/{id}/sessions",
        &format!("/admin/identities/{owner}/sessions"),
        &[],
        None,
    )
    .await;

    // Logout and deletion.
    let (_, flow) = p
        .call(
            Public,
            "GET",
            "/self-service/login/api",
            "/self-service/login/api",
            &[],
            None,
        )
        .await;
    let submit = format!("/self-service/login?flow={}", flow["id"].as_str().unwrap());
    let (_, login) = p.call(Public, "POST", "/self-service/login", &submit, &[], Some(json!({
        "method": "password", "identifier": "cy@example.test", "password": "another-long-password-5"
    }))).await;
    let logout = json!({"session_token": login["session_token"]});
    let (status, _) = p
        .call(
            Public,
            "DELETE",
            "/self-service/logout/api",
            "/self-service/logout/api",
            &[],
            Some(logout.clone()),
        )
        .await;
    assert_eq!(status, 204);
    p.call(
        Public,
        "DELETE",
        "/self-service/logout/api",
        "/self-service/logout/api",
        &[],
        Some(logout),
    )
    .await;
    p.call(
        Public,
        "DELETE",
        "/self-service/logout/api",
        "/self-service/logout/api",
        &[],
        Some(json!({})),
    )
    .await;
    p.call(Admin, "DELETE", one, &at(one), &[], None).await;
    p.call(Admin, "DELETE", one, &at(one), &[], None).await;

    let problems = std::mem::take(&mut p.problems);
    server.stop().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
