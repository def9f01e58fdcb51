//! `/admin/identities`: the admin identity API, and Bia's schema migrations
//! (`/admin/bia/schema-migrations`).

use utoipa::OpenApi;

use super::components::{
    BatchPatchIdentitiesBody, BatchPatchIdentitiesResponse, IdentityId, IncludeCredential,
    JsonPatchOperation, Paging,
};
use crate::http::schema_migrations::{MigrationBody, MigrationJson};
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
    run_schema_migration,
))]
pub struct Api;

operations! {
    tag = "bia";

    fn run_schema_migration(post "/admin/bia/schema-migrations", "runSchemaMigration")
        "Migrate a batch of identities to another schema"
        description "Bia only, on the admin listener. Reads up to `batch_size` identities still \
            on `from_schema_id` after the cursor `after`, gives each to the Jsonnet `transform` \
            (as web hook bodies get theirs: `function(ctx)`, `ctx.identity`) for its new \
            `traits` (and optionally `metadata_public`, `metadata_admin`), validates it against \
            `to_schema_id` as any update does (identifiers and addresses follow the traits) and \
            stores each identity on its own, only if it is unchanged since it was read: an \
            identity changed meanwhile, or migrated by a concurrent call, is counted as \
            `skipped`. Identities that fail stay on the source schema, untouched. Call again \
            with `after` set to `next` until `next` is null; a new pass (no `after`) takes \
            what was skipped. Stateless and idempotent: several callers may run at once. A \
            dry run evaluates and validates, and writes nothing."
        body = MigrationBody
        answers((status = 200, description = "What the batch did.", body = MigrationJson))
        errors[
            400 "Same source and target, a target schema without traits, a transform that is too \
                 large or does not compile (the reason names the line), a batch size out of \
                 range, a malformed cursor, or an unknown field.",
            404 "A schema id names no configured schema (the source: nor any identity).",
            503 "Too many Jsonnet programs are running, or the database is unavailable; retry.",
            "default" "Error."
        ];
}

operations! {
    tag = "identity";

    fn list_identities(get "/admin/identities", "listIdentities") "List identities"
        description "Pages with `page_size` and `page_token` (the `Link` header names the next \
                     page), or the legacy `page` and `per_page`."
        params(
            Paging,
            ("consistency" = Option<String>, Query, description = "Accepted and ignored: reads are always strongly consistent."),
            ("ids" = Option<Vec<String>>, Query, description = "Only these identity ids."),
            ("credentials_identifier" = Option<String>, Query, description = "Only the identity with this credential identifier (exact match)."),
            ("preview_credentials_identifier_similar" = Option<String>, Query, description = "Identities whose credential identifier is similar; not with `credentials_identifier`."),
            IncludeCredential,
            ("organization_id" = Option<String>, Query, description = "Only identities of this organization."),
        )
        page("A page of identities.", [IdentityJson])
        errors["default" "Error."];

    fn create_identity(post "/admin/identities", "createIdentity") "Create an identity"
        description "Creates an identity, optionally importing credentials (password or hash, \
                     social sign-in links) and addresses with their verification state."
        body = CreateIdentityBody
        answers(
            (status = 201, description = "The new identity.", body = IdentityJson,
                headers(("Location" = String, description = "The identity's admin URL."))),
        )
        errors[
            400 "The body is invalid or the traits do not match the schema.",
            409 "An identity with one of these identifiers exists.",
            "default" "Error.",
        ];

    fn batch_patch_identities(patch "/admin/identities", "batchPatchIdentities") "Create many identities"
        description "Creates each entry on its own: one failing entry does not stop the others."
        body = BatchPatchIdentitiesBody
        answers((status = 200, description = "One result per entry.", body = BatchPatchIdentitiesResponse))
        errors[400 "The body is invalid or too large.", 409 "Conflict.", "default" "Error."];

    fn get_identity(get "/admin/identities/{id}", "getIdentity") "Get an identity"
        params(IdentityId, IncludeCredential)
        answers((status = 200, description = "The identity.", body = IdentityJson))
        errors[404 "No such identity.", "default" "Error."];

    fn update_identity(put "/admin/identities/{id}", "updateIdentity") "Replace an identity"
        description "Replaces traits, state and metadata; credentials in the body are imported."
        params(IdentityId)
        body = UpdateIdentityBody
        answers((status = 200, description = "The changed identity.", body = IdentityJson))
        errors[
            400 "The body is invalid.",
            404 "No such identity.",
            409 "Another identity has one of these identifiers.",
            "default" "Error.",
        ];

    fn patch_identity(patch "/admin/identities/{id}", "patchIdentity") "Patch an identity"
        description "Applies a JSON Patch to the identity as the API shows it. `/id`, \
                     `/credentials`, `/state_changed_at`, `/created_at`, `/updated_at` and \
                     `/schema_url` cannot be changed."
        params(IdentityId)
        body = [JsonPatchOperation]
        answers((status = 200, description = "The changed identity.", body = IdentityJson))
        errors[
            400 "The patch is invalid or cannot be applied.",
            404 "No such identity.",
            409 "Another identity has one of these identifiers.",
            "default" "Error.",
        ];

    fn delete_identity(delete "/admin/identities/{id}", "deleteIdentity") "Delete an identity"
        description "Deletes the identity with its credentials, addresses and sessions."
        params(IdentityId)
        answers((status = 204, description = "Deleted."))
        errors[404 "No such identity.", "default" "Error."];

    fn get_identity_by_external_id(
        get "/admin/identities/by/external/{externalID}", "getIdentityByExternalID"
    ) "Get an identity by its external id"
        params(
            ("externalID" = String, Path, description = "The external id."),
            IncludeCredential,
        )
        answers((status = 200, description = "The identity.", body = IdentityJson))
        errors[404 "No identity has this external id.", "default" "Error."];

    fn delete_identity_credentials(
        delete "/admin/identities/{id}/credentials/{type}", "deleteIdentityCredentials"
    ) "Delete a credential of an identity"
        params(
            IdentityId,
            ("type" = String, Path, description = "The credential type, e.g. `totp` or `oidc`."),
            ("identifier" = Option<String>, Query, description = "For `oidc` and `saml`: the provider link to remove."),
        )
        answers((status = 204, description = "Deleted."))
        errors[
            400 "The type is unknown or cannot be deleted.",
            404 "No such identity or credential.",
            "default" "Error.",
        ];
}
