//! Admin identity endpoints: thin handlers that parse, call the identity
//! service, and render Kratos's JSON.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{JsonBody, QueryPairs, parse_id};
use super::paging::Paging;
use super::state::AppState;
use super::wire::{
    BatchBody, CreateIdentityBody, IdentityJson, PatchedIdentity, UpdateIdentityBody, View,
    batch_json, identity_json,
};
use crate::identity::{CredentialType, Identity, IdentityDraft};
use crate::store::IdentityQuery;

/// JSON-Patch paths that may not be changed.
const DENIED_PATCH_PATHS: [&str; 6] = [
    "/id",
    "/credentials",
    "/state_changed_at",
    "/created_at",
    "/updated_at",
    "/schema_url",
];

fn view_for(query: &QueryPairs) -> Result<View, ApiError> {
    let mut view = View::admin();
    for name in query.all("include_credential") {
        let kind: CredentialType = name.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "include_credential: unknown credential type {name:?}"
            ))
        })?;
        view.include_config.push(kind);
    }
    Ok(view)
}

/// An identity as JSON; provider tokens opened when its `oidc` config is
/// asked for.
fn render(state: &AppState, identity: &Identity, view: &View) -> IdentityJson {
    if view.include_config.contains(&CredentialType::Oidc) {
        let mut opened = identity.clone();
        crate::method::open_tokens(&state.cipher, &mut opened);
        return identity_json(&opened, &state.public_base_url, view);
    }
    identity_json(identity, &state.public_base_url, view)
}

fn created(state: &AppState, identity: &Identity) -> Response {
    let location = format!("{}admin/identities/{}", state.admin_base_url, identity.id);
    let mut response = (
        StatusCode::CREATED,
        Json(render(state, identity, &View::admin())),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A query parameter that must be a UUID when given and not empty.
fn uuid_param(query: &QueryPairs, name: &str) -> Result<Option<Uuid>, ApiError> {
    query
        .first(name)
        .filter(|s| !s.is_empty())
        .map(|value| {
            Uuid::parse_str(value)
                .map_err(|_| ApiError::bad_request(format!("{name}: {value:?} is not a UUID")))
        })
        .transpose()
}

/// The filters of `GET /admin/identities` besides paging.
fn list_filter(query: &QueryPairs, paging: &Paging) -> Result<IdentityQuery, ApiError> {
    let ids = query
        .all("ids")
        .into_iter()
        .map(|id| {
            Uuid::parse_str(id)
                .map_err(|_| ApiError::bad_request(format!("ids: {id:?} is not a UUID")))
        })
        .collect::<Result<_, _>>()?;
    let text = |name: &str| query.first(name).filter(|s| !s.is_empty());
    let filter = IdentityQuery {
        page_size: paging.limit(),
        after: paging.after,
        offset: paging.offset(),
        ids,
        credentials_identifiers: text("credentials_identifier")
            .map(exact_or_normalized)
            .unwrap_or_default(),
        identifier_similar: text("preview_credentials_identifier_similar").map(str::to_owned),
        organization_id: None,
        schema_id: None,
    };
    if !filter.credentials_identifiers.is_empty() && filter.identifier_similar.is_some() {
        return Err(ApiError::bad_request(
            "credentials_identifier and preview_credentials_identifier_similar cannot be used together",
        ));
    }
    let organization_id = uuid_param(query, "organization_id")?;
    Ok(IdentityQuery {
        organization_id,
        ..filter
    })
}

/// `GET /admin/identities`
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let mut view = view_for(&query)?;
    view.credentials = !view.include_config.is_empty();
    let paging = Paging::keyset_or_legacy(&query)?;
    let page = state
        .identities
        .list(&list_filter(&query, &paging)?)
        .await?;
    let body: Vec<IdentityJson> = page
        .identities
        .iter()
        .map(|i| render(&state, i, &view))
        .collect();
    let last = page.identities.last().map(|i| i.id);
    Ok(paging.respond(uri.path(), page.has_more, last, body))
}

/// `GET /admin/identities/{id}`
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Json<IdentityJson>, ApiError> {
    let view = view_for(&query)?;
    let identity = state.identities.get(parse_id(&id)?).await?;
    Ok(Json(render(&state, &identity, &view)))
}

/// `GET /admin/identities/by/external/{externalID}`
pub async fn get_by_external_id(
    State(state): State<AppState>,
    Path(external_id): Path<String>,
    query: QueryPairs,
) -> Result<Json<IdentityJson>, ApiError> {
    let view = view_for(&query)?;
    let identity = state.identities.get_by_external_id(&external_id).await?;
    Ok(Json(render(&state, &identity, &view)))
}

/// `POST /admin/identities`
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateIdentityBody>,
) -> Result<Response, ApiError> {
    let identity = state.identities.create(body.into_draft()?).await?;
    Ok(created(&state, &identity))
}

/// `PUT /admin/identities/{id}`
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateIdentityBody>,
) -> Result<Json<IdentityJson>, ApiError> {
    let id = parse_id(&id)?;
    let identity = state.identities.update(id, body.into_draft()?).await?;
    Ok(Json(render(&state, &identity, &View::admin())))
}

/// `PATCH /admin/identities/{id}` with a JSON Patch document.
pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(operations): JsonBody<json_patch::Patch>,
) -> Result<Json<IdentityJson>, ApiError> {
    let id = parse_id(&id)?;
    refuse_denied_paths(&operations)?;
    let current = state.identities.get(id).await?;
    let draft = patched_draft(render(&state, &current, &View::admin()), &operations)?;
    let identity = state.identities.update(id, draft).await?;
    Ok(Json(render(&state, &identity, &View::admin())))
}

/// A JSON Patch may not change ids, credentials or timestamps.
fn refuse_denied_paths(operations: &json_patch::Patch) -> Result<(), ApiError> {
    for operation in &operations.0 {
        let path = operation_path(operation);
        if let Some(denied) = DENIED_PATCH_PATHS
            .iter()
            .find(|d| path == **d || path.starts_with(&format!("{d}/")))
        {
            return Err(ApiError::bad_request(format!(
                "The JSON Patch may not change {denied}."
            )));
        }
    }
    Ok(())
}

/// Applies a JSON Patch to an identity's API document and reads the result
/// back as a replacement.
fn patched_draft(
    current: IdentityJson,
    operations: &json_patch::Patch,
) -> Result<IdentityDraft, ApiError> {
    let mut document: Value = serde_json::to_value(current).map_err(|e| ApiError::internal(&e))?;
    json_patch::patch(&mut document, operations)
        .map_err(|e| ApiError::bad_request(format!("The JSON Patch could not be applied: {e}")))?;
    let patched: PatchedIdentity = serde_json::from_value(document)
        .map_err(|e| ApiError::bad_request(format!("The patched identity is invalid: {e}")))?;
    Ok(patched.into_draft()?)
}

fn operation_path(operation: &json_patch::PatchOperation) -> String {
    use json_patch::PatchOperation as Op;
    match operation {
        Op::Add(op) => op.path.to_string(),
        Op::Remove(op) => op.path.to_string(),
        Op::Replace(op) => op.path.to_string(),
        Op::Move(op) => op.path.to_string(),
        Op::Copy(op) => op.path.to_string(),
        Op::Test(op) => op.path.to_string(),
    }
}

/// `DELETE /admin/identities/{id}`
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.identities.delete(parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/identities/{id}/credentials/{type}`
pub async fn delete_credential(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
    query: QueryPairs,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let kind: CredentialType = kind.parse().map_err(|e: String| ApiError::bad_request(e))?;
    state
        .identities
        .delete_credential(id, kind, query.first("identifier"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /admin/identities`: create many identities, each on its own.
pub async fn batch(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<BatchBody>,
) -> Result<Json<Value>, ApiError> {
    let results = state.identities.create_batch(body.into_entries()).await?;
    Ok(Json(batch_json(results)))
}

/// The values a `credentials_identifier` filter matches: the normalised
/// form (addresses and usernames are stored lower-cased) and the value as
/// given (provider subjects are case-sensitive and stored as they are).
fn exact_or_normalized(value: &str) -> Vec<String> {
    let normalized = crate::schema::extension::normalize_identifier(value);
    let exact = value.trim().to_owned();
    if exact == normalized {
        vec![normalized]
    } else {
        vec![normalized, exact]
    }
}
