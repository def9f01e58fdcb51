//! Brute-force throttling of credential checks, in the memory of each replica.
//!
//! Two rules (configured in the `throttle` section, see
//! [`bia_config::ThrottleConfig`]):
//! - per identifier: failed checks of the submitted identifier, known or not,
//!   so the answer is the same for accounts that exist and those that do not.
//!   Every check takes its place when admitted and a success gives it back, so
//!   parallel guesses cannot race past the limit, and a victim's own sign-in
//!   does not wipe an attacker's failures;
//! - per client address: every check, failed or not.
//!
//! A third rule counts the self-service flows each client address creates,
//! so one client cannot fill the database with flows.
//!
//! Each rule is a generic cell rate algorithm: `max_attempts` may come at
//! once, then one more every `window / max_attempts`. A key's whole state is
//! one instant (when its allowance is full again), kept in an
//! [`ExpiringMap`] that forgets it then, so memory stays bounded.
//!
//! Invariant: a refused check is refused before any hash is verified.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::bounded::ExpiringMap;
use crate::schema::extension::normalize_identifier;
use bia_config::ThrottleConfig;

/// A check refused for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// How long until a check would be accepted.
    pub retry_after: Duration,
}

/// Settings of the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Whether anything is throttled.
    pub enabled: bool,
    /// Failures allowed per identifier within the window.
    pub identifier_failures: u32,
    /// The identifier window.
    pub identifier_window: Duration,
    /// Attempts allowed per client address within the window.
    pub ip_attempts: u32,
    /// The address window.
    pub ip_window: Duration,
    /// Flows a client address may create within the flow window.
    pub flow_creations: u32,
    /// The flow window.
    pub flow_window: Duration,
    /// Most keys tracked per rule.
    pub max_tracked_keys: usize,
}

impl ThrottleSettings {
    /// The settings of a `throttle` section.
    pub fn from_config(config: &ThrottleConfig) -> Self {
        let (identifier_failures, identifier_window) = config.per_identifier();
        let (ip_attempts, ip_window) = config.per_ip();
        let (flow_creations, flow_window) = config.flows_per_ip();
        Self {
            enabled: config.is_enabled(),
            identifier_failures,
            identifier_window,
            ip_attempts,
            ip_window,
            flow_creations,
            flow_window,
            max_tracked_keys: config.max_tracked_keys(),
        }
    }

    /// Nothing is throttled.
    pub fn disabled() -> Self {
        Self::from_config(&ThrottleConfig {
            enabled: Some(false),
            ..ThrottleConfig::default()
        })
    }
}

/// One keyed rate limit.
#[derive(Debug)]
struct Limiter {
    /// Time one attempt takes to be replenished; `None` when the rule is off.
    interval: Option<Duration>,
    /// How far ahead of now a key's full-again instant may lie and still
    /// admit one more attempt.
    tolerance: Duration,
    /// Per key: the instant its allowance is full again.
    keys: Mutex<ExpiringMap<()>>,
}

impl Limiter {
    fn new(enabled: bool, attempts: u32, window: Duration, capacity: usize) -> Self {
        let interval = (enabled && attempts > 0 && !window.is_zero()).then(|| window / attempts);
        Self {
            interval,
            tolerance: interval.map_or(Duration::ZERO, |i| window.saturating_sub(i)),
            keys: Mutex::new(ExpiringMap::new(capacity)),
        }
    }

    /// When `key` is full again (`now` when it is not tracked).
    fn full_at(keys: &ExpiringMap<()>, key: &str, now: Instant) -> Instant {
        keys.get(key, now).map_or(now, |(_, at)| at.max(now))
    }

    fn refusal(&self, full_at: Instant, now: Instant) -> Option<Throttled> {
        let ahead = full_at.saturating_duration_since(now);
        (ahead > self.tolerance).then(|| Throttled {
            retry_after: ahead - self.tolerance,
        })
    }

    /// Counts one attempt, or refuses it (without counting) when over the limit.
    fn take(&self, key: &str, now: Instant) -> Result<(), Throttled> {
        let Some(interval) = self.interval else {
            return Ok(());
        };
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let full_at = Self::full_at(&keys, key, now);
        if let Some(refused) = self.refusal(full_at, now) {
            return Err(refused);
        }
        keys.insert(key, (), full_at + interval, now);
        Ok(())
    }

    /// Gives back one attempt taken earlier.
    fn give_back(&self, key: &str, now: Instant) {
        let Some(interval) = self.interval else {
            return;
        };
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((_, full_at)) = keys.get(key, now) else {
            return;
        };
        match full_at.checked_sub(interval).filter(|at| *at > now) {
            Some(at) => keys.insert(key, (), at, now),
            None => keys.remove(key),
        }
    }
}

/// The key an address is counted under: an IPv6 client usually holds a whole
/// /64, so its addresses share one bucket; IPv4 addresses (also when mapped into
/// IPv6) and anything that does not parse count on their own.
fn address_bucket(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!("{}/64", Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        },
        _ => ip.to_owned(),
    }
}

/// The throttle of credential checks, shared by the methods that check them.
#[derive(Debug)]
pub struct Throttle {
    identifiers: Limiter,
    addresses: Limiter,
    flows: Limiter,
}

impl Throttle {
    /// A throttle with these settings.
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            identifiers: Limiter::new(
                settings.enabled,
                settings.identifier_failures,
                settings.identifier_window,
                settings.max_tracked_keys,
            ),
            addresses: Limiter::new(
                settings.enabled,
                settings.ip_attempts,
                settings.ip_window,
                settings.max_tracked_keys,
            ),
            flows: Limiter::new(
                settings.enabled,
                settings.flow_creations,
                settings.flow_window,
                settings.max_tracked_keys,
            ),
        }
    }

    /// Before a credential check: counts the attempt against the client
    /// address and against the identifier, or refuses it when either is over
    /// its limit. A check that then succeeds is given back with
    /// [`Self::succeeded`]; a failed one stays counted.
    pub fn admit(&self, identifier: &str, ip: Option<&str>) -> Result<(), Throttled> {
        self.admit_at(identifier, ip, Instant::now())
    }

    /// [`Self::admit`] at a given instant.
    pub fn admit_at(
        &self,
        identifier: &str,
        ip: Option<&str>,
        now: Instant,
    ) -> Result<(), Throttled> {
        if let Some(ip) = ip.filter(|ip| !ip.is_empty()) {
            self.addresses
                .take(&address_bucket(ip), now)
                .inspect_err(|_| refused("address"))?;
        }
        self.identifiers
            .take(&normalize_identifier(identifier), now)
            .inspect_err(|_| refused("identifier"))
    }

    /// Before a registration: counts the attempt against the client address
    /// alone, or refuses it when the address is over its limit.
    pub fn admit_address(&self, ip: Option<&str>) -> Result<(), Throttled> {
        match ip.filter(|ip| !ip.is_empty()) {
            Some(ip) => self
                .addresses
                .take(&address_bucket(ip), Instant::now())
                .inspect_err(|_| refused("address")),
            None => Ok(()),
        }
    }

    /// Before a flow is created: counts it against the client address, or
    /// refuses it when the address created too many lately.
    pub fn admit_flow(&self, ip: Option<&str>) -> Result<(), Throttled> {
        match ip.filter(|ip| !ip.is_empty()) {
            Some(ip) => self
                .flows
                .take(&address_bucket(ip), Instant::now())
                .inspect_err(|_| refused("flows")),
            None => Ok(()),
        }
    }

    /// After a successful check of `identifier`: its attempt does not count.
    pub fn succeeded(&self, identifier: &str) {
        self.succeeded_at(identifier, Instant::now());
    }

    /// [`Self::succeeded`] at a given instant.
    pub fn succeeded_at(&self, identifier: &str, now: Instant) {
        self.identifiers
            .give_back(&normalize_identifier(identifier), now);
    }
}

/// Counts a refusal by what was over its limit (`address` or `identifier`).
fn refused(check: &'static str) {
    metrics::counter!(crate::metrics::THROTTLE_REFUSALS, "check" => check).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(address_bucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            address_bucket("2001:db8:1:2:ffff:1:2:3"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(address_bucket("2001:db8:1:3::1"), "2001:db8:1:2::/64");
        assert_eq!(address_bucket("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_bucket("192.0.2.7"), "192.0.2.7");
        assert_eq!(address_bucket("unknown"), "unknown");
        let throttle = Throttle::new(ThrottleSettings {
            ip_attempts: 2,
            ..settings()
        });
        let now = Instant::now();
        assert!(throttle.admit_at("a", Some("2001:db8::1"), now).is_ok());
        assert!(throttle.admit_at("b", Some("2001:db8::2"), now).is_ok());
        assert!(
            throttle.admit_at("c", Some("2001:db8::3"), now).is_err(),
            "a third address of the same /64 is over the per-address limit"
        );
        assert!(throttle.admit_at("d", Some("2001:db9::1"), now).is_ok());
    }

    fn settings() -> ThrottleSettings {
        ThrottleSettings {
            enabled: true,
            identifier_failures: 3,
            identifier_window: Duration::from_secs(60),
            ip_attempts: 5,
            ip_window: Duration::from_secs(10),
            flow_creations: 4,
            flow_window: Duration::from_secs(60),
            max_tracked_keys: 100,
        }
    }

    #[test]
    fn flow_creations_are_limited_per_address() {
        let throttle = Throttle::new(settings());
        for _ in 0..4 {
            assert!(throttle.admit_flow(Some("192.0.2.1")).is_ok());
        }
        let refused = throttle.admit_flow(Some("192.0.2.1")).unwrap_err();
        assert!(refused.retry_after > Duration::ZERO);
        assert!(throttle.admit_flow(Some("192.0.2.2")).is_ok());
        assert!(throttle.admit_flow(None).is_ok());
        // Flows and sign-ins are counted apart.
        assert!(throttle.admit("a", Some("192.0.2.1")).is_ok());
    }

    #[test]
    fn failures_per_identifier_are_limited_and_replenish_evenly() {
        let throttle = Throttle::new(settings());
        let t0 = Instant::now();
        // Three checks admitted and failed (nothing given back), in any case
        // of the identifier; parallel checks could not get more.
        for identifier in ["Ann@Example.org", "ann@example.org", " ANN@example.org"] {
            assert!(throttle.admit_at(identifier, None, t0).is_ok());
        }
        let refused = throttle.admit_at("ann@example.org", None, t0).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(20));
        assert!(throttle.admit_at("bob@example.org", None, t0).is_ok());
        // One failure is replenished every 20 seconds.
        let later = t0 + Duration::from_secs(20);
        assert!(throttle.admit_at("ann@example.org", None, later).is_ok());
        assert!(throttle.admit_at("ann@example.org", None, later).is_err());
    }

    #[test]
    fn successes_do_not_count() {
        let throttle = Throttle::new(settings());
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(throttle.admit_at("cy@example.org", None, t0).is_ok());
            throttle.succeeded_at("cy@example.org", t0);
        }
        // Two failures, a success: the failures stay counted.
        for _ in 0..2 {
            assert!(throttle.admit_at("cy@example.org", None, t0).is_ok());
        }
        assert!(throttle.admit_at("cy@example.org", None, t0).is_ok());
        throttle.succeeded_at("cy@example.org", t0);
        assert!(throttle.admit_at("cy@example.org", None, t0).is_ok());
        assert!(throttle.admit_at("cy@example.org", None, t0).is_err());
        // Giving back never goes below an empty count.
        let idle = Throttle::new(settings());
        idle.succeeded_at("dee@example.org", t0);
        for _ in 0..3 {
            assert!(idle.admit_at("dee@example.org", None, t0).is_ok());
        }
        assert!(idle.admit_at("dee@example.org", None, t0).is_err());
    }

    #[test]
    fn every_attempt_counts_per_address() {
        let throttle = Throttle::new(settings());
        let t0 = Instant::now();
        for n in 0..5 {
            assert!(
                throttle
                    .admit_at(&format!("user{n}"), Some("10.0.0.1"), t0)
                    .is_ok()
            );
        }
        let refused = throttle
            .admit_at("user9", Some("10.0.0.1"), t0)
            .unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(2));
        assert!(throttle.admit_at("user9", Some("10.0.0.2"), t0).is_ok());
        assert!(
            throttle
                .admit_at("user9", Some("10.0.0.1"), t0 + Duration::from_secs(2))
                .is_ok()
        );
    }

    #[test]
    fn disabled_rules_admit_everything() {
        let throttle = Throttle::new(ThrottleSettings::disabled());
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(throttle.admit_at("a", Some("10.0.0.1"), t0).is_ok());
        }
        let throttle = Throttle::new(ThrottleSettings {
            ip_attempts: 0,
            ..settings()
        });
        for n in 0..100 {
            assert!(
                throttle
                    .admit_at(&format!("a{n}"), Some("10.0.0.1"), t0)
                    .is_ok()
            );
        }
    }

    #[test]
    fn memory_stays_bounded() {
        let throttle = Throttle::new(ThrottleSettings {
            max_tracked_keys: 50,
            ..settings()
        });
        let t0 = Instant::now();
        for n in 0..10_000 {
            let _ = throttle.admit_at(&format!("u{n}"), Some(&format!("ip{n}")), t0);
        }
        let held = |l: &Limiter| l.keys.lock().map(|k| k.len()).unwrap_or(0);
        assert!(held(&throttle.identifiers) <= 50);
        assert!(held(&throttle.addresses) <= 50);
    }
}
