//! Request paths in their canonical form, as Kratos answers them: a path with
//! repeated slashes or dot segments (`//sessions/whoami`, `/ui/./login`,
//! `/a/../sessions`) is redirected to its cleaned form, query kept.
//!
//! Reads and other safe requests get a 301, as Kratos answers; every other
//! method gets a 308, which makes clients repeat the same method and body (a
//! 301 turns a form POST into a GET). Percent-encoded slashes (`%2F`) are data,
//! not separators: such a path is left as it is and answers like any unknown
//! path. A cleaned path is always canonical, so redirects cannot loop.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The canonical form of `path` (no empty or `.` segments, `..` applied,
/// a trailing slash kept), or `None` when `path` is already canonical.
pub fn clean(path: &str) -> Option<String> {
    if is_canonical(path) {
        return None;
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut cleaned = format!("/{}", segments.join("/"));
    let ends_in_directory = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if ends_in_directory && cleaned != "/" {
        cleaned.push('/');
    }
    Some(cleaned)
}

/// True for a path that starts with `/` and has no empty, `.` or `..`
/// segment (but for the trailing slash).
fn is_canonical(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let body = rest.strip_suffix('/').unwrap_or(rest);
    if body.is_empty() {
        return rest.is_empty();
    }
    body.split('/')
        .all(|segment| !matches!(segment, "" | "." | ".."))
}

/// Middleware: redirects a request whose path is not canonical to the
/// canonical path, before any route sees it.
pub async fn redirect_unclean(request: Request, next: Next) -> Response {
    let Some(cleaned) = clean(request.uri().path()) else {
        return next.run(request).await;
    };
    let target = match request.uri().query() {
        Some(query) => format!("{cleaned}?{query}"),
        None => cleaned,
    };
    let status = if matches!(*request.method(), Method::GET | Method::HEAD) {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::PERMANENT_REDIRECT
    };
    match HeaderValue::from_str(&target) {
        Ok(location) => (status, [(header::LOCATION, location)]).into_response(),
        Err(_) => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn canonical_paths_are_left_alone() {
        for path in [
            "/",
            "/sessions/whoami",
            "/self-service/login/browser",
            "/ui/settings/",
            "/schemas/a.b",
            "/a/..b/c.",
            "/identities/a%2F%2Fb",
        ] {
            assert_eq!(clean(path), None, "{path}");
        }
    }

    #[test]
    fn repeated_slashes_and_dot_segments_are_cleaned() {
        for (path, expected) in [
            ("//sessions/whoami", "/sessions/whoami"),
            (
                "//self-service//registration/flows",
                "/self-service/registration/flows",
            ),
            ("/ui/./login", "/ui/login"),
            ("/ui/x/../login", "/ui/login"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("/..", "/"),
            ("//", "/"),
            ("/ui/settings//", "/ui/settings/"),
            ("/ui/settings/.", "/ui/settings/"),
            ("", "/"),
        ] {
            assert_eq!(clean(path).as_deref(), Some(expected), "{path}");
            assert_eq!(clean(expected), None, "{expected} is canonical: no loop");
        }
    }
}
