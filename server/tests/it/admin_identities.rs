//! The admin identity API over HTTP, on every backend.

use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::{Kind, TestServer, assert_error};

async fn count(server: &TestServer) -> usize {
    let (_, body) = server.get("/admin/identities?page_size=1000").await;
    body.as_array().unwrap().len()
}

async fn create_get_and_errors(kind: Kind) {
    let server = TestServer::start(kind).await;
    let response = server
        .http
        .post(format!("{}/admin/identities", server.admin))
        .json(&json!({
            "schema_id": "default",
            "traits": {"email": "Ada@Example.COM", "name": {"first": "Ada"}},
            "metadata_public": {"tier": 1},
            "metadata_admin": {"note": "x"},
            "external_id": "crm-1",
            "credentials": {"password": {"config": {"password": "correct horse battery"}}},
            "verifiable_addresses": [{"value": "ada@example.com", "via": "email", "verified": true, "status": "completed"}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("{}/admin/identities/{id}", server.admin));
    assert_eq!(created["schema_id"], "default");
    assert_eq!(
        created["schema_url"],
        format!("{}/schemas/ZGVmYXVsdA", server.public)
    );
    assert_eq!(created["state"], "active");
    assert_eq!(created["traits"]["email"], "Ada@Example.COM");
    assert_eq!(created["metadata_admin"], json!({"note": "x"}));
    assert_eq!(created["external_id"], "crm-1");
    assert_eq!(created["organization_id"], Value::Null);
    let password = &created["credentials"]["password"];
    assert_eq!(password["identifiers"], json!(["ada@example.com"]));
    assert_eq!(password["version"], 1);
    assert!(
        password.get("config").is_none(),
        "secrets stay hidden: {password}"
    );
    assert_eq!(
        created["credentials"]["code"]["identifiers"],
        json!(["ada@example.com"])
    );
    let address = &created["verifiable_addresses"][0];
    assert_eq!(address["value"], "ada@example.com");
    assert_eq!(address["verified"], true);
    assert_eq!(address["status"], "completed");
    assert!(address["verified_at"].is_string());
    assert_eq!(created["recovery_addresses"][0]["value"], "ada@example.com");

    // Read back, with and without the credential's configuration.
    let (status, fetched) = server.get(&format!("/admin/identities/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, created);
    let (_, with_config) = server
        .get(&format!(
            "/admin/identities/{id}?include_credential=password"
        ))
        .await;
    let hash = with_config["credentials"]["password"]["config"]["hashed_password"]
        .as_str()
        .unwrap();
    assert!(hash.starts_with("$2a$04$"), "{hash}");
    let (status, by_external) = server.get("/admin/identities/by/external/crm-1").await;
    assert_eq!(status, 200);
    assert_eq!(by_external["id"], id);
    // Without the /admin prefix too.
    let (status, _) = server.get(&format!("/identities/{id}")).await;
    assert_eq!(status, 200);

    // Bad input: a Kratos error, and nothing written.
    let (status, body) = server
        .post(
            "/admin/identities",
            json!({"traits": {"email": "ADA@example.com"}}),
        )
        .await;
    assert_error(status, &body, 409);
    let (status, body) = server
        .post(
            "/admin/identities",
            json!({"traits": {"email": "no", "extra": 1}}),
        )
        .await;
    assert_error(status, &body, 400);
    let reason = body["error"]["reason"].as_str().unwrap();
    assert!(reason.contains("/traits/email"), "{reason}");
    assert!(reason.contains("extra"), "{reason}");
    let (status, body) = server
        .post(
            "/admin/identities",
            json!({"schema_id": "nope", "traits": {"email": "a@b.co"}}),
        )
        .await;
    assert_error(status, &body, 400);
    let (status, body) = server
        .post(
            "/admin/identities",
            json!({"traits": {"email": "c@d.co"}, "credentials": {"magic": {"config": {}}}}),
        )
        .await;
    assert_error(status, &body, 400);
    assert!(body["error"]["reason"].as_str().unwrap().contains("magic"));
    let (status, body) = server
        .post(
            "/admin/identities",
            json!({"traits": {"email": "e@f.co"}, "credentials": {"password": {"config": {"hashed_password": "plaintext?"}}}}),
        )
        .await;
    assert_error(status, &body, 400);
    let (status, body) = server
        .post(
            "/admin/identities",
            json!({"traits": {"email": "g@h.co"}, "state": "sleepy"}),
        )
        .await;
    assert_error(status, &body, 400);
    let response = server
        .http
        .post(format!("{}/admin/identities", server.admin))
        .header("content-type", "application/json")
        .body("{\"traits\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = crate::support::split(response).await;
    assert_error(status, &body, 400);
    let huge = "x".repeat(11 * 1024 * 1024);
    let response = server
        .http
        .post(format!("{}/admin/identities", server.admin))
        .header("content-type", "application/json")
        // The server answers 413 before reading the body and then closes the
        // connection; it must not go back into the client's pool.
        .header("connection", "close")
        .body(format!("{{\"traits\": {{\"email\": \"{huge}\"}}}}"))
        .send()
        .await
        .unwrap();
    let (status, body) = crate::support::split(response).await;
    assert_error(status, &body, 413);
    assert_eq!(count(&server).await, 1);

    let (status, body) = server.get("/admin/identities/not-a-uuid").await;
    assert_error(status, &body, 404);
    let (status, body) = server
        .get("/admin/identities/7d9a6b5e-0000-4000-8000-000000000000")
        .await;
    assert_error(status, &body, 404);
    server.stop().await;
}

async fn update_patch_and_delete(kind: Kind) {
    let server = TestServer::start(kind).await;
    let (_, created) = server
        .post(
            "/admin/identities",
            json!({"traits": {"email": "bo@example.com"},
                   "verifiable_addresses": [{"value": "bo@example.com", "via": "email", "verified": true}]}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let address_id = created["verifiable_addresses"][0]["id"].clone();

    // PUT needs state and traits.
    let (status, body) = server
        .put(
            &format!("/admin/identities/{id}"),
            json!({"traits": {"email": "bo@example.com"}}),
        )
        .await;
    assert_error(status, &body, 400);
    let (status, updated) = server
        .put(
            &format!("/admin/identities/{id}"),
            json!({"state": "inactive", "traits": {"email": "bo@example.com", "name": {"first": "Bo"}},
                   "metadata_public": {"a": 1}}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["state"], "inactive");
    assert_eq!(updated["metadata_public"], json!({"a": 1}));
    // The unchanged address keeps its id and verification.
    assert_eq!(updated["verifiable_addresses"][0]["id"], address_id);
    assert_eq!(updated["verifiable_addresses"][0]["verified"], true);

    // JSON Patch on traits; the address follows the traits.
    let (status, patched) = server
        .patch(
            &format!("/admin/identities/{id}"),
            json!([{"op": "replace", "path": "/traits/email", "value": "bo2@example.com"},
                   {"op": "replace", "path": "/state", "value": "active"}]),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["traits"]["email"], "bo2@example.com");
    assert_eq!(patched["state"], "active");
    assert_eq!(
        patched["verifiable_addresses"][0]["value"],
        "bo2@example.com"
    );
    assert_eq!(patched["verifiable_addresses"][0]["verified"], false);
    assert_eq!(
        patched["credentials"]["password"]["identifiers"],
        json!(["bo2@example.com"])
    );
    for denied in ["/id", "/credentials/password", "/state_changed_at"] {
        let (status, body) = server
            .patch(
                &format!("/admin/identities/{id}"),
                json!([{"op": "replace", "path": denied, "value": "x"}]),
            )
            .await;
        assert_error(status, &body, 400);
    }
    let (status, body) = server
        .patch(
            &format!("/admin/identities/{id}"),
            json!([{"op": "replace", "path": "/traits/email", "value": 5}]),
        )
        .await;
    assert_error(status, &body, 400);
    let (_, unchanged) = server.get(&format!("/admin/identities/{id}")).await;
    assert_eq!(unchanged["traits"]["email"], "bo2@example.com");

    // Import an OIDC link, then remove it by identifier.
    let (status, linked) = server
        .put(
            &format!("/admin/identities/{id}"),
            json!({"state": "active", "traits": {"email": "bo2@example.com"},
                   "credentials": {"oidc": {"config": {"providers": [
                        {"provider": "github", "subject": "42"}, {"provider": "google", "subject": "7"}]}}}}),
        )
        .await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(
        linked["credentials"]["oidc"]["identifiers"],
        json!(["github:42", "google:7"])
    );
    let (status, body) = server
        .delete(&format!("/admin/identities/{id}/credentials/oidc"))
        .await;
    assert_error(status, &body, 400);
    let (status, _) = server
        .delete(&format!(
            "/admin/identities/{id}/credentials/oidc?identifier=github:42"
        ))
        .await;
    assert_eq!(status, 204);
    let (_, after) = server.get(&format!("/admin/identities/{id}")).await;
    assert_eq!(
        after["credentials"]["oidc"]["identifiers"],
        json!(["google:7"])
    );
    let (status, body) = server
        .delete(&format!("/admin/identities/{id}/credentials/totp"))
        .await;
    assert_error(status, &body, 404);
    let (status, body) = server
        .delete(&format!("/admin/identities/{id}/credentials/bogus"))
        .await;
    assert_error(status, &body, 400);

    let (status, _) = server.delete(&format!("/admin/identities/{id}")).await;
    assert_eq!(status, 204);
    let (status, body) = server.delete(&format!("/admin/identities/{id}")).await;
    assert_error(status, &body, 404);
    server.stop().await;
}

async fn list_batch_and_routing(kind: Kind) {
    let server = TestServer::start(kind).await;
    let mut batch = Vec::new();
    for n in 0..7 {
        batch.push(json!({"create": {"traits": {"email": format!("p{n}@example.com")},
            "credentials": {"password": {"config": {"hashed_password": "$2a$04$XUPMnBQzv4j8W6Jg0rhK1eXIBPeWQkSDGLjkmnGfd4GgqyRaHk8Hq"}}}},
            "patch_id": format!("00000000-0000-4000-8000-00000000000{n}")}));
    }
    batch.push(json!({"create": {"traits": {"email": "p1@example.com"}}}));
    batch.push(json!({"create": {"traits": {"email": 3}}}));
    let (status, result) = server
        .patch("/admin/identities", json!({"identities": batch}))
        .await;
    assert_eq!(status, 200, "{result}");
    let results = result["identities"].as_array().unwrap();
    assert_eq!(results.len(), 9);
    assert!(results[..7].iter().all(|r| r["action"] == "create"));
    assert_eq!(
        results[0]["patch_id"],
        "00000000-0000-4000-8000-000000000000"
    );
    assert_eq!(results[7]["action"], "error");
    assert_eq!(results[7]["error"]["code"], 409);
    assert_eq!(results[8]["error"]["code"], 400);

    // Keyset pages with a Link header.
    let response = server
        .http
        .get(format!("{}/admin/identities?page_size=3", server.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["cache-control"],
        "private, no-cache, no-store, must-revalidate"
    );
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains("rel=\"next\""), "{link}");
    let page: Vec<Value> = response.json().await.unwrap();
    assert_eq!(page.len(), 3);
    assert!(page[0].get("credentials").is_none());
    let mut all = page;
    let mut next = link;
    while let Some(part) = next.split(',').find(|p| p.contains("rel=\"next\"")) {
        let path = part
            .trim()
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_owned();
        let response = server
            .http
            .get(format!("{}{path}", server.admin))
            .send()
            .await
            .unwrap();
        next = response
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        all.extend(response.json::<Vec<Value>>().await.unwrap());
    }
    assert_eq!(all.len(), 7);
    let (_, legacy) = server.get("/admin/identities?page=2&per_page=5").await;
    assert_eq!(legacy.as_array().unwrap().len(), 2);
    let (_, found) = server
        .get("/admin/identities?credentials_identifier=P3@EXAMPLE.COM&include_credential=password")
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert!(found[0]["credentials"]["password"]["config"]["hashed_password"].is_string());
    let (status, body) = server.get("/admin/identities?page_token=garbage").await;
    assert_error(status, &body, 400);
    let (status, body) = server.get("/admin/identities?page_size=ten").await;
    assert_error(status, &body, 400);

    // The public listener sends admin paths to the admin listener.
    let response = server
        .http
        .get(format!("{}/admin/identities?page_size=1", server.public))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 307);
    assert_eq!(
        response.headers()["location"],
        format!("{}/admin/identities?page_size=1", server.admin).as_str()
    );
    server.stop().await;
}

on_every_backend!(
    create_get_and_errors,
    update_patch_and_delete,
    list_batch_and_routing
);
