//! Schema and health endpoints.

use serde_json::json;

use crate::on_every_backend;
use crate::support::{Kind, TestServer, assert_error, email_schema};

async fn schemas_and_health(kind: Kind) {
    let server = TestServer::start(kind).await;
    for base in [server.public.as_str(), server.admin.as_str()] {
        let (status, body) = server.get_from(base, "/schemas").await;
        assert_eq!(status, 200);
        assert_eq!(body[0]["id"], "default");
        assert_eq!(body[0]["schema"], email_schema());
        assert_eq!(body[1]["id"], "username");
        for id in ["default", "ZGVmYXVsdA"] {
            let (status, body) = server.get_from(base, &format!("/schemas/{id}")).await;
            assert_eq!(status, 200);
            assert_eq!(body, email_schema());
        }
        let (status, body) = server.get_from(base, "/schemas/missing").await;
        assert_error(status, &body, 404);
        let (status, body) = server.get_from(base, "/health/alive").await;
        assert_eq!((status, body), (200, json!({"status": "ok"})));
        let (status, body) = server.get_from(base, "/health/ready").await;
        assert_eq!((status, body), (200, json!({"status": "ok"})));
        let (status, body) = server.get_from(base, "/version").await;
        assert_eq!(status, 200);
        assert!(body["version"].is_string());
    }
    let (_, page) = server.get("/schemas?page_size=1").await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    let (_, page) = server.get("/schemas?page_size=1&page_token=default").await;
    assert_eq!(page[0]["id"], "username");
    // Pages far past the end are empty, never an overflow.
    for far in [
        "page=9223372036854775808",
        "page=18446744073709551615&per_page=1000",
    ] {
        let (status, page) = server.get(&format!("/schemas?{far}")).await;
        assert_eq!((status, page), (200, json!([])), "{far}");
    }

    // The second schema validates with draft 2020-12 and marks array items.
    let (status, created) = server
        .post(
            "/admin/identities",
            json!({"schema_id": "username", "traits": {"username": "Neo", "emails": ["n@x.io", "m@x.io"]}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["credentials"]["password"]["identifiers"],
        json!(["neo"])
    );
    assert_eq!(created["verifiable_addresses"].as_array().unwrap().len(), 2);
    assert_eq!(
        created["schema_url"],
        format!("{}/schemas/dXNlcm5hbWU", server.public)
    );
    server.stop().await;
}

on_every_backend!(schemas_and_health);
