//! Admin identity endpoints: thin handlers that parse, call the identity
//! service, and render Kratos's JSON.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{JsonBody, QueryPairs};
use super::state::AppState;
use super::wire::{
    CreateIdentityBody, IdentityJson, UpdateIdentityBody, VerifiableAddressJson, View,
    identity_json, parse_state,
};
use crate::identity::{AddressImport, CredentialType, Identity, IdentityDraft};
use crate::store::IdentityQuery;

/// Default and largest page sizes, as Kratos has them.
const DEFAULT_PAGE_SIZE: u64 = 250;
const MAX_PAGE_SIZE: u64 = 1000;
/// Most identities one batch request may create.
const MAX_BATCH: usize = 2000;
/// JSON-Patch paths that may not be changed.
const DENIED_PATCH_PATHS: [&str; 6] = [
    "/id",
    "/credentials",
    "/state_changed_at",
    "/created_at",
    "/updated_at",
    "/schema_url",
];

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("Unable to locate the resource"))
}

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

fn render(state: &AppState, identity: &Identity, view: &View) -> IdentityJson {
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

/// `GET /admin/identities`
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let mut view = view_for(&query)?;
    view.credentials = !view.include_config.is_empty();
    let legacy = query.first("page_token").is_none()
        && (query.first("page").is_some() || query.first("per_page").is_some());
    let page_size = if legacy {
        query.number("per_page")?
    } else {
        query.number("page_size")?
    }
    .unwrap_or(DEFAULT_PAGE_SIZE)
    .clamp(1, MAX_PAGE_SIZE);
    let mut filter = IdentityQuery {
        page_size: page_size as u32,
        ..IdentityQuery::default()
    };
    if legacy {
        let page = query.number("page")?.unwrap_or(1).max(1);
        filter.offset = Some((page - 1) * page_size);
    } else if let Some(token) = query.first("page_token").filter(|t| !t.is_empty()) {
        filter.after = Some(Uuid::parse_str(token).map_err(|_| {
            ApiError::bad_request(
                "page_token: the page token is invalid; use the one from the Link header",
            )
        })?);
    }
    for id in query.all("ids") {
        filter.ids.push(
            Uuid::parse_str(id)
                .map_err(|_| ApiError::bad_request(format!("ids: {id:?} is not a UUID")))?,
        );
    }
    filter.credentials_identifier = query
        .first("credentials_identifier")
        .filter(|s| !s.is_empty())
        .map(crate::schema::extension::normalize_identifier);
    filter.identifier_similar = query
        .first("preview_credentials_identifier_similar")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if filter.credentials_identifier.is_some() && filter.identifier_similar.is_some() {
        return Err(ApiError::bad_request(
            "credentials_identifier and preview_credentials_identifier_similar cannot be used together",
        ));
    }
    if let Some(organization) = query.first("organization_id").filter(|s| !s.is_empty()) {
        filter.organization_id = Some(Uuid::parse_str(organization).map_err(|_| {
            ApiError::bad_request(format!("organization_id: {organization:?} is not a UUID"))
        })?);
    }
    let page = state.identities.list(&filter).await?;
    let body: Vec<IdentityJson> = page
        .identities
        .iter()
        .map(|i| render(&state, i, &view))
        .collect();
    let mut headers = HeaderMap::new();
    let path = uri.path();
    let mut links = vec![if legacy {
        format!("<{path}?page=1&per_page={page_size}>; rel=\"first\"")
    } else {
        format!("<{path}?page_size={page_size}>; rel=\"first\"")
    }];
    if page.has_more
        && let Some(last) = page.identities.last()
    {
        links.push(if legacy {
            let next = query.number("page")?.unwrap_or(1).max(1) + 1;
            format!("<{path}?page={next}&per_page={page_size}>; rel=\"next\"")
        } else {
            format!(
                "<{path}?page_size={page_size}&page_token={}>; rel=\"next\"",
                last.id
            )
        });
    }
    if let Ok(value) = HeaderValue::from_str(&links.join(",")) {
        headers.insert(header::LINK, value);
    }
    Ok((headers, Json(body)).into_response())
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

/// The fields of an identity a JSON Patch may change.
#[derive(Debug, Deserialize)]
struct PatchedIdentity {
    schema_id: Option<String>,
    #[serde(default)]
    traits: Value,
    state: Option<String>,
    #[serde(default)]
    metadata_public: Option<Value>,
    #[serde(default)]
    metadata_admin: Option<Value>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    organization_id: Option<Uuid>,
    #[serde(default)]
    verifiable_addresses: Vec<VerifiableAddressJson>,
}

/// `PATCH /admin/identities/{id}` with a JSON Patch document.
pub async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(operations): JsonBody<json_patch::Patch>,
) -> Result<Json<IdentityJson>, ApiError> {
    let id = parse_id(&id)?;
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
    let current = state.identities.get(id).await?;
    let mut document = serde_json::to_value(render(&state, &current, &View::admin()))
        .map_err(|e| ApiError::internal(&e))?;
    json_patch::patch(&mut document, &operations)
        .map_err(|e| ApiError::bad_request(format!("The JSON Patch could not be applied: {e}")))?;
    let patched: PatchedIdentity = serde_json::from_value(document)
        .map_err(|e| ApiError::bad_request(format!("The patched identity is invalid: {e}")))?;
    let draft = IdentityDraft {
        schema_id: patched.schema_id,
        traits: patched.traits,
        state: parse_state(patched.state.as_deref())?,
        metadata_public: patched.metadata_public,
        metadata_admin: patched.metadata_admin,
        external_id: patched.external_id,
        organization_id: patched.organization_id,
        verifiable_addresses: patched
            .verifiable_addresses
            .into_iter()
            .map(AddressImport::from)
            .collect(),
        ..IdentityDraft::default()
    };
    let identity = state.identities.update(id, draft).await?;
    Ok(Json(render(&state, &identity, &View::admin())))
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

/// One entry of a batch request.
#[derive(Debug, Deserialize)]
pub struct BatchEntry {
    create: Option<CreateIdentityBody>,
    patch_id: Option<Uuid>,
}

/// The body of `PATCH /admin/identities`.
#[derive(Debug, Deserialize)]
pub struct BatchBody {
    identities: Vec<BatchEntry>,
}

/// `PATCH /admin/identities`: create many identities, each on its own.
pub async fn batch(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<BatchBody>,
) -> Result<Json<Value>, ApiError> {
    if body.identities.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "A batch may hold at most {MAX_BATCH} identities, got {}.",
            body.identities.len()
        )));
    }
    let mut results = Vec::with_capacity(body.identities.len());
    for entry in body.identities {
        let mut result = serde_json::Map::new();
        if let Some(patch_id) = entry.patch_id {
            result.insert("patch_id".into(), json!(patch_id));
        }
        let outcome = match entry.create {
            Some(create) => match create.into_draft() {
                Ok(draft) => state.identities.create(draft).await.map_err(ApiError::from),
                Err(error) => Err(error),
            },
            None => Err(ApiError::bad_request("Each patch needs a create body.")),
        };
        match outcome {
            Ok(identity) => {
                result.insert("action".into(), json!("create"));
                result.insert("identity".into(), json!(identity.id));
            }
            Err(error) => {
                result.insert("action".into(), json!("error"));
                result.insert("error".into(), error.body()["error"].clone());
            }
        }
        results.push(Value::Object(result));
    }
    Ok(Json(json!({ "identities": results })))
}
