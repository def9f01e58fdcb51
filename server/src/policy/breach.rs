//! Breached-password lookup through the Have I Been Pwned range API, with
//! k-anonymity: only the first five hex characters of the password's SHA-1
//! leave the server (`GET {base}/range/{prefix}` with `Add-Padding: true`);
//! the suffixes of the answer are compared here.
//!
//! Counts are cached in memory per password (keyed by a secret hash, bounded,
//! for [`CACHE_TTL`]); failed lookups are not cached.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sha1::{Digest, Sha1};

use crate::bounded::ExpiringMap;

/// How long a looked-up count is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(3600);

/// Most passwords whose count is cached.
pub const CACHE_ENTRIES: usize = 10_000;

/// Time allowed for a whole lookup.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest range answer read (real ones are about 40 KB).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("breached-password lookup failed: {0}")]
pub struct LookupError(pub String);

/// The range query: the seam tests replace.
#[async_trait]
pub trait BreachLookup: Send + Sync {
    /// The body answered for a five-character upper-case SHA-1 prefix: lines of
    /// `SUFFIX:COUNT`.
    async fn range(&self, prefix: &str) -> Result<String, LookupError>;
}

/// The range API over HTTP.
#[derive(Debug, Clone)]
pub struct PwnedPasswords {
    client: reqwest::Client,
    base_url: String,
}

impl PwnedPasswords {
    /// A client of the API at `base_url` (e.g. `https://api.pwnedpasswords.com`).
    pub fn new(base_url: &str) -> Result<Self, LookupError> {
        // The range API answers directly; a redirect is refused like any failure.
        let client = crate::outbound::client(REQUEST_TIMEOUT).map_err(|e| LookupError(e.0))?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }
}

#[async_trait]
impl BreachLookup for PwnedPasswords {
    async fn range(&self, prefix: &str) -> Result<String, LookupError> {
        let failed = |e: reqwest::Error| LookupError(e.without_url().to_string());
        let response = self
            .client
            .get(format!("{}/range/{prefix}", self.base_url))
            .header("Add-Padding", "true")
            .send()
            .await
            .map_err(failed)?
            .error_for_status()
            .map_err(failed)?;
        let body = crate::outbound::read_bounded(response, MAX_BODY_BYTES)
            .await
            .map_err(|e| LookupError(e.0))?;
        String::from_utf8(body).map_err(|_| LookupError("the answer is not text".into()))
    }
}

/// Counts breaches of passwords, with a cache.
pub struct BreachCheck {
    lookup: Arc<dyn BreachLookup>,
    cache: Mutex<ExpiringMap<u64>>,
}

impl std::fmt::Debug for BreachCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreachCheck").finish_non_exhaustive()
    }
}

impl BreachCheck {
    /// A check through this lookup.
    pub fn new(lookup: Arc<dyn BreachLookup>) -> Self {
        Self {
            lookup,
            cache: Mutex::new(ExpiringMap::new(CACHE_ENTRIES)),
        }
    }

    /// How many breaches the password appeared in.
    pub async fn count(&self, password: &str) -> Result<u64, LookupError> {
        let digest = sha1_hex(password);
        let now = Instant::now();
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&digest, now)
            .map(|(count, _)| *count);
        if let Some(count) = cached {
            return Ok(count);
        }
        let (prefix, suffix) = digest.split_at(5);
        let body = self.lookup.range(prefix).await?;
        let count = find_count(&body, suffix)?;
        let now = Instant::now();
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(&digest, count, now + CACHE_TTL, now);
        Ok(count)
    }
}

/// The upper-case hex SHA-1 of a password.
pub fn sha1_hex(password: &str) -> String {
    let digest = Sha1::digest(password.as_bytes());
    let mut hex = String::with_capacity(40);
    for byte in digest.iter() {
        let _ = write!(hex, "{byte:02X}");
    }
    hex
}

/// The count of `suffix` in a range answer; 0 when absent (padding lines
/// carry 0 too). An answer without a single `SUFFIX:COUNT` line is refused,
/// so a wrong endpoint does not pass every password.
fn find_count(body: &str, suffix: &str) -> Result<u64, LookupError> {
    let mut lines = 0usize;
    for line in body.lines() {
        let Some((hash, count)) = line.trim().split_once(':') else {
            continue;
        };
        let Ok(count) = count.trim().parse::<u64>() else {
            continue;
        };
        lines += 1;
        if hash.trim().eq_ignore_ascii_case(suffix) {
            return Ok(count);
        }
    }
    if lines == 0 {
        return Err(LookupError("the answer is not a hash range".into()));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Fake {
        body: String,
        calls: AtomicUsize,
        prefixes: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl BreachLookup for Fake {
        async fn range(&self, prefix: &str) -> Result<String, LookupError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.prefixes.lock().unwrap().push(prefix.to_owned());
            Ok(self.body.clone())
        }
    }

    #[test]
    fn sha1_is_upper_case_hex() {
        assert_eq!(
            sha1_hex("password"),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
    }

    #[test]
    fn counts_are_found_by_suffix_and_padding_is_ignored() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\r\n\
                    011053FD0102E94D6AE2F8B83D76FAF94F6:0\r\n";
        assert_eq!(
            find_count(body, "1e4c9b93f3f0682250b6cf8331b7ee68fd8"),
            Ok(9545824)
        );
        assert_eq!(
            find_count(body, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
            Ok(0)
        );
        assert!(find_count("<html>maintenance</html>", "AB").is_err());
    }

    #[tokio::test]
    async fn only_the_prefix_is_sent_and_counts_are_cached() {
        let fake = Arc::new(Fake {
            body: "1E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n".into(),
            calls: AtomicUsize::new(0),
            prefixes: Mutex::new(Vec::new()),
        });
        let check = BreachCheck::new(fake.clone());
        assert_eq!(check.count("password").await, Ok(3));
        assert_eq!(check.count("password").await, Ok(3));
        assert_eq!(check.count("another password").await, Ok(0));
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        let prefixes = fake.prefixes.lock().unwrap().clone();
        assert_eq!(prefixes[0], "5BAA6");
        assert!(prefixes.iter().all(|p| p.len() == 5));
    }
}
