//! Timestamps as they are stored and sent: RFC 3339 in UTC with microseconds.
//!
//! A fixed width text form sorts the same as time itself, which keeps the SQL
//! identical on every backend.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, SubsecRound, Timelike, Utc};

/// Length of the stored form, `2026-01-02T03:04:05.000006Z`.
const STORED_LEN: usize = 27;

/// Formats an instant the way the API and the database hold it.
pub fn format(at: DateTime<Utc>) -> String {
    // Every session and identity read formats several instants: years 0 to
    // 9999 are written digit by digit, anything else by the general formatter.
    let year = at.year();
    if !(0..=9999).contains(&year) || at.nanosecond() >= 1_000_000_000 {
        return at.to_rfc3339_opts(SecondsFormat::Micros, true);
    }
    let mut out = String::with_capacity(STORED_LEN);
    let mut digits = |value: u32, width: u32, after: char| {
        for place in (0..width).rev() {
            let digit = value / 10u32.pow(place) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
        out.push(after);
    };
    digits(year.unsigned_abs(), 4, '-');
    digits(at.month(), 2, '-');
    digits(at.day(), 2, 'T');
    digits(at.hour(), 2, ':');
    digits(at.minute(), 2, ':');
    digits(at.second(), 2, '.');
    digits(at.nanosecond() / 1000, 6, 'Z');
    out
}

/// Parses a stored or received RFC 3339 timestamp.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    parse_stored(text).or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    })
}

/// The stored form only (what [`format`] writes), read without the general parser.
fn parse_stored(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    if bytes.len() != STORED_LEN {
        return None;
    }
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ];
    if separators.iter().any(|&(i, c)| bytes[i] != c) {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        bytes[from..to].iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(number(0, 4)? as i32, number(5, 7)?, number(8, 10)?)?;
    let time = date.and_hms_micro_opt(
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
        number(20, 26)?,
    )?;
    Some(time.and_utc())
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

    #[test]
    fn the_quick_forms_agree_with_the_general_ones() {
        let mut at = parse("1970-01-01T00:00:00.000000Z").unwrap();
        let step = chrono::Duration::microseconds(987_654_321_123);
        for _ in 0..2000 {
            let general = at.to_rfc3339_opts(SecondsFormat::Micros, true);
            assert_eq!(format(at), general);
            assert_eq!(parse_stored(&general), Some(at));
            at += step;
        }
        for year_edge in ["0000-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z"] {
            let at = parse(year_edge).unwrap();
            assert_eq!(format(at), year_edge);
        }
    }

    #[test]
    fn other_rfc3339_forms_still_parse_and_bad_ones_do_not() {
        let expected = parse("2026-01-02T03:04:05.000000Z").unwrap();
        assert_eq!(parse("2026-01-02T03:04:05Z"), Some(expected));
        assert_eq!(parse("2026-01-02T04:04:05+01:00"), Some(expected));
        for bad in [
            "2026-02-30T03:04:05.000000Z",
            "2026-01-02T24:04:05.000000Z",
            "2026-01-02T03:04:05.00000xZ",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
