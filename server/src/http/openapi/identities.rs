//! `/admin/identities`: the admin identity API.

use utoipa::OpenApi;

use super::components::{
    BatchPatchIdentitiesBody, BatchPatchIdentitiesResponse, ErrorEnvelope, IdentityId,
    IncludeCredential, JsonPatchOperation, Paging,
};
use crate::http::wire::{CreateIdentityBody, IdentityJson, UpdateIdentityBody};

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(
    list_identities,
    create_identity,
    batch_patch_identities,
    get_identity,
    update_identity,
    patch_identity,
    delete_identity,
    get_identity_by_external_id,
    delete_identity_credentials,
))]
pub struct Api;

#[utoipa::path(
    get, path = "/admin/identities", operation_id = "listIdentities", tag = "identity",
    summary = "List identities",
    description = "Pages with `page_size` and `page_token` (the `Link` header names the next \
                   page), or the legacy `page` and `per_page`.",
    params(
        Paging,
        ("consistency" = Option<String>, Query, description = "Accepted and ignored: reads are always strongly consistent."),
        ("ids" = Option<Vec<String>>, Query, description = "Only these identity ids."),
        ("credentials_identifier" = Option<String>, Query, description = "Only the identity with this credential identifier (exact match)."),
        ("preview_credentials_identifier_similar" = Option<String>, Query, description = "Identities whose credential identifier is similar; not with `credentials_identifier`."),
        IncludeCredential,
        ("organization_id" = Option<String>, Query, description = "Only identities of this organization."),
    ),
    responses(
        (status = 200, description = "A page of identities.", body = [IdentityJson],
            headers(("Link" = String, description = "The first and (when there is one) the next page."))),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn list_identities() {}

#[utoipa::path(
    post, path = "/admin/identities", operation_id = "createIdentity", tag = "identity",
    summary = "Create an identity",
    description = "Creates an identity, optionally importing credentials (password or hash, \
                   social sign-in links) and addresses with their verification state.",
    request_body = CreateIdentityBody,
    responses(
        (status = 201, description = "The new identity.", body = IdentityJson,
            headers(("Location" = String, description = "The identity's admin URL."))),
        (status = 400, description = "The body is invalid or the traits do not match the schema.", body = ErrorEnvelope),
        (status = 409, description = "An identity with one of these identifiers exists.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn create_identity() {}

#[utoipa::path(
    patch, path = "/admin/identities", operation_id = "batchPatchIdentities", tag = "identity",
    summary = "Create many identities",
    description = "Creates each entry on its own: one failing entry does not stop the others.",
    request_body = BatchPatchIdentitiesBody,
    responses(
        (status = 200, description = "One result per entry.", body = BatchPatchIdentitiesResponse),
        (status = 400, description = "The body is invalid or too large.", body = ErrorEnvelope),
        (status = 409, description = "Conflict.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn batch_patch_identities() {}

#[utoipa::path(
    get, path = "/admin/identities/{id}", operation_id = "getIdentity", tag = "identity",
    summary = "Get an identity",
    params(
        IdentityId,
        IncludeCredential,
    ),
    responses(
        (status = 200, description = "The identity.", body = IdentityJson),
        (status = 404, description = "No such identity.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn get_identity() {}

#[utoipa::path(
    put, path = "/admin/identities/{id}", operation_id = "updateIdentity", tag = "identity",
    summary = "Replace an identity",
    description = "Replaces traits, state and metadata; credentials in the body are imported.",
    params(IdentityId),
    request_body = UpdateIdentityBody,
    responses(
        (status = 200, description = "The changed identity.", body = IdentityJson),
        (status = 400, description = "The body is invalid.", body = ErrorEnvelope),
        (status = 404, description = "No such identity.", body = ErrorEnvelope),
        (status = 409, description = "Another identity has one of these identifiers.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn update_identity() {}

#[utoipa::path(
    patch, path = "/admin/identities/{id}", operation_id = "patchIdentity", tag = "identity",
    summary = "Patch an identity",
    description = "Applies a JSON Patch to the identity as the API shows it. `/id`, \
                   `/credentials`, `/state_changed_at`, `/created_at`, `/updated_at` and \
                   `/schema_url` cannot be changed.",
    params(IdentityId),
    request_body = [JsonPatchOperation],
    responses(
        (status = 200, description = "The changed identity.", body = IdentityJson),
        (status = 400, description = "The patch is invalid or cannot be applied.", body = ErrorEnvelope),
        (status = 404, description = "No such identity.", body = ErrorEnvelope),
        (status = 409, description = "Another identity has one of these identifiers.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn patch_identity() {}

#[utoipa::path(
    delete, path = "/admin/identities/{id}", operation_id = "deleteIdentity", tag = "identity",
    summary = "Delete an identity",
    description = "Deletes the identity with its credentials, addresses and sessions.",
    params(IdentityId),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such identity.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn delete_identity() {}

#[utoipa::path(
    get, path = "/admin/identities/by/external/{externalID}", operation_id = "getIdentityByExternalID",
    tag = "identity",
    summary = "Get an identity by its external id",
    params(
        ("externalID" = String, Path, description = "The external id."),
        IncludeCredential,
    ),
    responses(
        (status = 200, description = "The identity.", body = IdentityJson),
        (status = 404, description = "No identity has this external id.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn get_identity_by_external_id() {}

#[utoipa::path(
    delete, path = "/admin/identities/{id}/credentials/{type}", operation_id = "deleteIdentityCredentials",
    tag = "identity",
    summary = "Delete a credential of an identity",
    params(
        IdentityId,
        ("type" = String, Path, description = "The credential type, e.g. `totp` or `oidc`."),
        ("identifier" = Option<String>, Query, description = "For `oidc` and `saml`: the provider link to remove."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "The type is unknown or cannot be deleted.", body = ErrorEnvelope),
        (status = 404, description = "No such identity or credential.", body = ErrorEnvelope),
        (status = "default", description = "Error.", body = ErrorEnvelope),
    ),
)]
fn delete_identity_credentials() {}
