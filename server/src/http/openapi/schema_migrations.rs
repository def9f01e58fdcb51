//! `/admin/bia/schema-migrations`: moving identities between schemas.

use utoipa::OpenApi;

use crate::http::schema_migrations::{MigrationBody, MigrationJson};

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(run_schema_migration))]
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
