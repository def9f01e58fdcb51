//! `/admin/courier/messages`: the courier's message log.

use utoipa::OpenApi;

use crate::http::courier_json::MessageJson;

/// The declarations of this area.
#[derive(OpenApi)]
#[openapi(paths(list_courier_messages, get_courier_message))]
pub struct Api;

operations! {
    tag = "courier";

    fn list_courier_messages(get "/admin/courier/messages", "listCourierMessages") "List messages"
        description "Messages in the order of their ids, without their delivery attempts. The \
                     `Link` header names the next page and keeps the filters."
        params(
            ("page_size" = Option<u64>, Query, description = "Items per page: 1 to 1000, 250 by default."),
            ("page_token" = Option<String>, Query, description = "The token of the next page, from the `Link` header."),
            ("status" = Option<String>, Query, description = "Only messages in this status: `queued`, `processing`, `sent` or `abandoned`."),
            ("recipient" = Option<String>, Query, description = "Only messages to this address or number (exactly)."),
        )
        page("A page of messages.", [MessageJson])
        errors[400 "A parameter is invalid (an unknown status, a bad page token).", "default" "Error."];

    fn get_courier_message(get "/admin/courier/messages/{id}", "getCourierMessage") "Get a message"
        description "The message with every delivery attempt (`dispatches`), oldest first; a \
                     failed attempt carries its error."
        params(("id" = String, Path, description = "The message id."))
        answers((status = 200, description = "The message.", body = MessageJson))
        errors[400 "The id is not a UUID.", "default" "Error, e.g. 404 for an unknown message."];
}
