//! Timestamps as they are stored and sent: RFC 3339 in UTC with microseconds.
//!
//! A fixed width text form sorts the same as time itself, which keeps the SQL
//! identical on every backend.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// Formats an instant the way the API and the database hold it.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored or received RFC 3339 timestamp.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// A source of the current time, passed in so tests can fix it.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Whole microseconds, so that what is stored equals what was built.
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock for tests that stands still until moved.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

#[cfg(test)]
impl ManualClock {
    /// A clock showing `at`.
    pub(crate) fn new(at: DateTime<Utc>) -> Self {
        Self(std::sync::Mutex::new(at))
    }

    /// Moves the clock forward by `by`.
    pub(crate) fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sorts_as_text() {
        let a = parse("2026-01-02T03:04:05.000006Z").unwrap();
        let b = parse("2026-01-02T03:04:05.100000Z").unwrap();
        assert_eq!(format(a), "2026-01-02T03:04:05.000006Z");
        assert!(format(a) < format(b));
    }
}
