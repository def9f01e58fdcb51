//! The OpenAPI document of the API, generated from the code and committed as
//! `server/openapi.json`.
//!
//! The declarations are documentation-only items, one file per area, so the
//! handlers stay free of documentation attributes; the wire types derive
//! their schemas. Tests keep the document honest: it equals the committed
//! file, it lists exactly the routes the routers register, it matches
//! Kratos's `api.json` for every operation both implement, and real
//! responses validate against it.

/// Declares the operations of one area: `utoipa::path` with the area's tag
/// written once and every error answer written as its status and
/// description, since its body is always Kratos's error envelope. Each
/// operation names its function, method, path, operation id and summary,
/// then optionally its description, parameters (the last ones may be query
/// parameters Bia accepts and ignores, by name) and request body (`form_body`:
/// the same type as JSON or as a form), then the
/// answers that are not errors (a page of a list names its description and
/// body; its `Link` header is implied), then the error answers.
macro_rules! operations {
    (tag = $tag:literal; $(
        fn $name:ident($method:ident $path:literal, $op:literal) $summary:literal
            $(description $description:literal)?
            $(params($($param:tt),* $(,)?) $(ignored($($ignored:literal),* $(,)?))?)?
            $(body = $body:tt)?
            $(body($($content:tt)*))?
            $(form_body($form:ident))?
            $(page($page:literal, $page_body:tt))?
            $(answers($($answer:tt),* $(,)?))?
            $(submission($ok:literal, $ok_body:ident))?
            $(redirect($redirect:literal, $location:literal))?
            errors[$($status:tt $why:literal),* $(,)?];
    )*) => {$(
        #[utoipa::path(
            $method, path = $path, operation_id = $op, tag = $tag,
            summary = $summary,
            $(description = $description,)?
            $(params(
                $($param,)*
                $($(($ignored = Option<String>, Query, description = "Accepted and ignored."),)*)?
            ),)?
            $(request_body = $body,)?
            $(request_body($($content)*),)?
            $(request_body(content(
                ($form = "application/json"),
                ($form = "application/x-www-form-urlencoded"),
            )),)?
            responses(
                $((status = 200, description = $page, body = $page_body,
                    headers(("Link" = String, description = "The first and (when there is one) the next page."))),)?
                $($($answer,)*)?
                $((status = 200, description = $ok, body = $ok_body),
                (status = 400, description = "The flow with messages on its fields, or a malformed request.",
                    body = super::components::FlowOrError),
                (status = 410, description = "The flow expired; `use_flow_id` names its replacement.",
                    body = super::components::ErrorEnvelope),)?
                $((status = 303, description = $redirect,
                    headers(("Location" = String, description = $location))),)?
                $((status = $status, description = $why, body = super::components::ErrorEnvelope),)*
            ),
        )]
        fn $name() {}
    )*};
}

// The area modules' functions exist only to carry path declarations, and
// the component types only to describe JSON the handlers build as values:
// none is ever called or constructed.
#[allow(dead_code)]
mod address;
#[allow(dead_code)]
pub mod components;
#[allow(dead_code)]
mod courier;
#[allow(dead_code)]
mod health;
#[allow(dead_code)]
mod identities;
#[allow(dead_code)]
mod schemas;
#[allow(dead_code)]
mod selfservice;
#[allow(dead_code)]
mod sessions;
#[allow(dead_code)]
mod ui;

#[cfg(test)]
mod tests;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::OpenApiBuilder;
use utoipa::openapi::tag::TagBuilder;

/// Where the admin listener serves the document.
pub const DOCUMENT_PATH: &str = "/admin/bia/openapi.json";

const DESCRIPTION: &str = "\
Bia speaks the Ory Kratos REST API: paths, methods, parameters, JSON fields, status codes \
and error envelopes as in Kratos. Operations Bia does not implement are absent; Bia's own \
operations carry the `bia` tag.

Two listeners: public (4433 by default) serves `/self-service/...`, `/sessions...` and \
`/ui/...`; admin (4434) serves `/admin/...`. Both serve `/health/...`, `/version` and \
`/schemas...`. The admin listener also serves the Kratos `/admin/...` paths without the \
`/admin` prefix, as Kratos does; the public listener answers `/admin/...` with a 307 to the \
admin one.";

/// The document, built from every area's declarations.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("Bia")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .license(Some(utoipa::openapi::License::new("Apache-2.0")))
                .build(),
        )
        .tags(Some([
            tag(
                "identity",
                "Identities, sessions and schemas (mostly admin).",
            ),
            tag(
                "frontend",
                "Self-service flows and the caller's sessions (public).",
            ),
            tag("courier", "The courier's message log (admin)."),
            tag("metadata", "Health and version."),
            tag("bia", "Bia's own endpoints, not part of the Kratos API."),
        ]))
        .build();
    for area in [
        identities::Api::openapi(),
        sessions::Api::openapi(),
        courier::Api::openapi(),
        selfservice::Api::openapi(),
        address::Api::openapi(),
        schemas::Api::openapi(),
        health::Api::openapi(),
        ui::Api::openapi(),
    ] {
        doc.merge(area);
    }
    doc
}

fn tag(name: &str, description: &str) -> utoipa::openapi::tag::Tag {
    TagBuilder::new()
        .name(name)
        .description(Some(description))
        .build()
}

/// The document as the committed file holds it: pretty JSON and a newline.
pub fn document_json() -> String {
    let mut doc = serde_json::to_value(document()).unwrap_or_default();
    headers_not_nullable(&mut doc);
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// An optional header is absent, never null: utoipa types optional header
/// parameters as `[string, null]`, which would invite clients to send
/// `null` as text.
fn headers_not_nullable(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let parameters = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("parameters"))
        .filter_map(|list| list.as_array_mut())
        .flatten();
    for parameter in parameters {
        if parameter["in"] != "header" {
            continue;
        }
        if let Some(types) = parameter
            .pointer_mut("/schema/type")
            .and_then(|t| t.as_array_mut())
        {
            types.retain(|t| t != "null");
            if let [only] = types.as_slice() {
                let only = only.clone();
                parameter["schema"]["type"] = only;
            }
        }
    }
}

/// `GET /admin/bia/openapi.json`
pub async fn serve() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}
