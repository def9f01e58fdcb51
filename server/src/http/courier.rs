//! Admin courier endpoints: the message log, as Kratos lists it.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use uuid::Uuid;

use super::courier_json::{MessageJson, message_json};
use super::error::ApiError;
use super::extract::QueryPairs;
use super::paging::Paging;
use super::state::AppState;
use crate::courier::message::MessageStatus;
use crate::courier::outbox::MAX_RECIPIENT_BYTES;
use crate::store::MessageQuery;

/// The filters a listing's `Link` header keeps, as query pairs.
type KeptFilters = Vec<(&'static str, String)>;

/// The filters of `GET /admin/courier/messages` besides paging, and the
/// same filters as query pairs for the `Link` header.
fn list_filter(
    query: &QueryPairs,
    paging: &Paging,
) -> Result<(MessageQuery, KeptFilters), ApiError> {
    let text = |name: &str| query.first(name).filter(|s| !s.is_empty());
    let status = text("status")
        .map(|s| {
            MessageStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "status: {s:?} is not one of queued, processing, sent, abandoned"
                ))
            })
        })
        .transpose()?;
    let recipient = text("recipient").map(str::to_owned);
    if recipient
        .as_ref()
        .is_some_and(|r| r.len() > MAX_RECIPIENT_BYTES)
    {
        return Err(ApiError::bad_request(format!(
            "recipient: longer than {MAX_RECIPIENT_BYTES} bytes"
        )));
    }
    let mut kept = Vec::new();
    if let Some(status) = status {
        kept.push(("status", status.as_str().to_owned()));
    }
    if let Some(recipient) = &recipient {
        kept.push(("recipient", recipient.clone()));
    }
    let filter = MessageQuery {
        page_size: paging.limit(),
        after: paging.after,
        status,
        recipient,
    };
    Ok((filter, kept))
}

/// `GET /admin/courier/messages`
pub async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let paging = Paging::keyset_only(&query)?;
    let (filter, kept) = list_filter(&query, &paging)?;
    let page = state.courier.list(&filter).await?;
    let body: Vec<MessageJson> = page
        .messages
        .iter()
        .map(|m| message_json(m, None))
        .collect();
    let last = page.messages.last().map(|m| m.id);
    Ok(paging.respond_filtered(uri.path(), &kept, page.has_more, last, body))
}

/// `GET /admin/courier/messages/{id}`: a malformed id is a 400, as in Kratos.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MessageJson>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| {
        ApiError::bad_request("The message id is not a UUID.")
            .with_message("invalid message id: not a UUID")
    })?;
    let (message, dispatches) = state.courier.get(id).await?.ok_or_else(|| {
        ApiError::not_found("No message has this id.").with_message("Unable to locate the resource")
    })?;
    Ok(Json(message_json(&message, Some(&dispatches))))
}
