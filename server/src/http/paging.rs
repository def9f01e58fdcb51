//! Paging of admin lists (identities, sessions) as Kratos does it: keyset
//! paging with `page_size` and `page_token`, the legacy `page`/`per_page`
//! where a list still accepts it, and the `Link` header naming the first and
//! the next page.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::QueryPairs;

/// Default and largest page sizes, as Kratos has them.
const DEFAULT_PAGE_SIZE: u64 = 250;
const MAX_PAGE_SIZE: u64 = 1000;

/// The largest offset a legacy page may start at (a signed 64-bit integer in SQL).
const MAX_OFFSET: u64 = i64::MAX as u64;

/// Which page of a list a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Items per page.
    pub size: u64,
    /// Keyset paging: the page starts after this id.
    pub after: Option<Uuid>,
    /// Legacy paging: the page number, counted from 1.
    legacy_page: Option<u64>,
}

impl Paging {
    /// Keyset paging, or legacy `page`/`per_page` paging when the request
    /// names either of those and no `page_token` (identities).
    pub fn keyset_or_legacy(query: &QueryPairs) -> Result<Self, ApiError> {
        let legacy = query.first("page_token").is_none()
            && (query.first("page").is_some() || query.first("per_page").is_some());
        if !legacy {
            let size = page_size(query.number("page_size")?);
            return Ok(Self::keyset(size, page_token(query)?));
        }
        let size = page_size(query.number("per_page")?);
        let page = query.number("page")?.unwrap_or(1).max(1);
        // Every page's offset must fit a database integer.
        if (page - 1).checked_mul(size).is_none_or(|o| o > MAX_OFFSET) {
            return Err(ApiError::bad_request(format!(
                "page: at most {} with per_page={size}",
                MAX_OFFSET / size.max(1) + 1
            )));
        }
        Ok(Self {
            size,
            after: None,
            legacy_page: Some(page),
        })
    }

    /// Keyset paging only; `per_page` stands for `page_size` (sessions).
    pub fn keyset_only(query: &QueryPairs) -> Result<Self, ApiError> {
        let size = page_size(query.number("page_size")?.or(query.number("per_page")?));
        Ok(Self::keyset(size, page_token(query)?))
    }

    fn keyset(size: u64, after: Option<Uuid>) -> Self {
        Self {
            size,
            after,
            legacy_page: None,
        }
    }

    /// The page size as the stores take it.
    pub fn limit(&self) -> u32 {
        self.size as u32
    }

    /// Legacy paging: how many items come before the page.
    pub fn offset(&self) -> Option<u64> {
        self.legacy_page.map(|page| (page - 1) * self.size)
    }

    /// The `Link` header: the first page, and the next one when there is more
    /// after `last`, the id of the page's last item.
    pub fn links(&self, path: &str, has_more: bool, last: Option<Uuid>) -> HeaderMap {
        self.links_filtered(path, &[], has_more, last)
    }

    /// [`Paging::links`] for a list whose filters every page keeps: they
    /// come first in each link's query, percent-encoded.
    pub fn links_filtered(
        &self,
        path: &str,
        filters: &[(&str, String)],
        has_more: bool,
        last: Option<Uuid>,
    ) -> HeaderMap {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in filters {
            query.append_pair(name, value);
        }
        let mut kept = query.finish();
        if !kept.is_empty() {
            kept.push('&');
        }
        let base = format!("{path}?{kept}");
        let size = self.size;
        let mut links = vec![match self.legacy_page {
            Some(_) => format!("<{base}page=1&per_page={size}>; rel=\"first\""),
            None => format!("<{base}page_size={size}>; rel=\"first\""),
        }];
        if let (true, Some(last)) = (has_more, last) {
            links.push(match self.legacy_page {
                Some(page) => {
                    format!("<{base}page={}&per_page={size}>; rel=\"next\"", page + 1)
                }
                None => format!("<{base}page_size={size}&page_token={last}>; rel=\"next\""),
            });
        }
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&links.join(",")) {
            headers.insert(header::LINK, value);
        }
        headers
    }

    /// [`Paging::respond`] for a list whose filters every page keeps.
    pub fn respond_filtered<T: Serialize>(
        &self,
        path: &str,
        filters: &[(&str, String)],
        has_more: bool,
        last: Option<Uuid>,
        items: Vec<T>,
    ) -> Response {
        let links = self.links_filtered(path, filters, has_more, last);
        (links, Json(items)).into_response()
    }

    /// A page of items as the JSON list with its `Link` header.
    pub fn respond<T: Serialize>(
        &self,
        path: &str,
        has_more: bool,
        last: Option<Uuid>,
        items: Vec<T>,
    ) -> Response {
        (self.links(path, has_more, last), Json(items)).into_response()
    }
}

fn page_size(requested: Option<u64>) -> u64 {
    requested
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE)
}

fn page_token(query: &QueryPairs) -> Result<Option<Uuid>, ApiError> {
    query
        .first("page_token")
        .filter(|t| !t.is_empty())
        .map(|t| {
            Uuid::parse_str(t).map_err(|_| {
                ApiError::bad_request(
                    "page_token: the page token is invalid; use the one from the Link header",
                )
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> QueryPairs {
        QueryPairs(
            url::form_urlencoded::parse(text.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn link(paging: &Paging, has_more: bool) -> String {
        let last = Uuid::nil();
        let headers = paging.links("/admin/identities", has_more, Some(last));
        headers[header::LINK]
            .to_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn legacy_paging_counts_pages_and_links_the_next() {
        let paging = Paging::keyset_or_legacy(&query("page=3&per_page=10")).unwrap();
        assert_eq!(paging.offset(), Some(20));
        assert_eq!(paging.after, None);
        assert_eq!(
            link(&paging, true),
            "</admin/identities?page=1&per_page=10>; rel=\"first\",\
             </admin/identities?page=4&per_page=10>; rel=\"next\""
        );
    }

    #[test]
    fn keyset_paging_links_the_last_id() {
        let paging = Paging::keyset_or_legacy(&query("page_size=5000")).unwrap();
        assert_eq!(paging.size, MAX_PAGE_SIZE);
        assert_eq!(paging.offset(), None);
        assert_eq!(
            link(&paging, true),
            format!(
                "</admin/identities?page_size=1000>; rel=\"first\",\
                 </admin/identities?page_size=1000&page_token={}>; rel=\"next\"",
                Uuid::nil()
            )
        );
        assert_eq!(
            link(&paging, false),
            "</admin/identities?page_size=1000>; rel=\"first\""
        );
        let filters = [
            ("status", "queued".to_owned()),
            ("recipient", "a+b@x.example".to_owned()),
        ];
        let headers = paging.links_filtered("/admin/courier/messages", &filters, false, None);
        assert_eq!(
            headers[header::LINK].to_str().unwrap(),
            "</admin/courier/messages?status=queued&recipient=a%2Bb%40x.example&page_size=1000>; rel=\"first\""
        );
    }

    #[test]
    fn a_page_token_wins_over_legacy_parameters() {
        let token = Uuid::new_v4();
        let paging = Paging::keyset_or_legacy(&query(&format!("page=2&page_token={token}")));
        assert_eq!(paging.unwrap().after, Some(token));
        assert!(Paging::keyset_only(&query("page_token=nope")).is_err());
        assert_eq!(Paging::keyset_only(&query("per_page=7")).unwrap().size, 7);
        for huge in [
            "page=9223372036854775808",
            "page=41957447991521920&per_page=250",
        ] {
            assert!(Paging::keyset_or_legacy(&query(huge)).is_err(), "{huge}");
        }
        let last = format!("page={}&per_page=1", i64::MAX as u64 + 1);
        assert_eq!(
            Paging::keyset_or_legacy(&query(&last)).unwrap().offset(),
            Some(i64::MAX as u64)
        );
        assert_eq!(Paging::keyset_only(&query("page=0")).unwrap().size, 250);
    }
}
