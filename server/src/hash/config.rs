//! Hasher configuration with Kratos's key names (`hashers.*`), defaults and validation.
//!
//! Byte sizes follow Kratos: `"128MB"` means 128 MiB (binary units), `"19MiB"` is accepted too, and a
//! plain integer is a number of bytes. Durations use Go's syntax (`"500ms"`, `"1m30s"`).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use super::argon2id::{MAX_MEMORY_KIB, MAX_PARALLELISM, MAX_WORK_KIB_ITERATIONS};
use super::bcrypt::MAX_COST as BCRYPT_MAX_VERIFY_COST;

/// The `hashers` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct HashersConfig {
    /// Algorithm used for new hashes (`algorithm`); other stored formats are re-hashed on login.
    pub algorithm: Algorithm,
    /// Parameters of the argon2id hasher (`argon2`).
    pub argon2: Argon2Config,
    /// Parameters of the bcrypt hasher (`bcrypt`).
    pub bcrypt: BcryptConfig,
}

/// Algorithm used to hash new passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// argon2id (the default).
    #[default]
    Argon2,
    /// bcrypt, written with the `$2a$` prefix as Kratos does.
    Bcrypt,
}

/// The `hashers.argon2` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Argon2Config {
    /// Memory cost (`memory`), default 19 MiB.
    pub memory: ByteSize,
    /// Number of passes (`iterations`), default 2.
    pub iterations: u32,
    /// Degree of parallelism (`parallelism`), default 1.
    pub parallelism: u32,
    /// Salt length in bytes (`salt_length`), default 16.
    pub salt_length: u32,
    /// Length of the derived key in bytes (`key_length`), default 32.
    pub key_length: u32,
    /// Expected duration of one hash (`expected_duration`), default 500ms; informational.
    pub expected_duration: GoDuration,
    /// Expected deviation of the hash duration (`expected_deviation`), default 500ms; informational.
    pub expected_deviation: GoDuration,
    /// Memory dedicated to the server (`dedicated_memory`), default 1GB; informational.
    pub dedicated_memory: ByteSize,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory: ByteSize(19 * 1024 * 1024),
            iterations: 2,
            parallelism: 1,
            salt_length: 16,
            key_length: 32,
            expected_duration: GoDuration(Duration::from_millis(500)),
            expected_deviation: GoDuration(Duration::from_millis(500)),
            dedicated_memory: ByteSize(1024 * 1024 * 1024),
        }
    }
}

impl Argon2Config {
    /// Memory cost in KiB blocks, as argon2 counts it (bytes rounded down to whole KiB).
    pub fn memory_kib(&self) -> u64 {
        self.memory.0 / 1024
    }
}

/// The `hashers.bcrypt` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct BcryptConfig {
    /// Cost factor (`cost`), default 12.
    pub cost: u32,
}

impl Default for BcryptConfig {
    fn default() -> Self {
        Self { cost: 12 }
    }
}

/// A configuration value that is out of range; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Full key path, e.g. `hashers.bcrypt.cost`.
    pub key: &'static str,
    /// What is wrong with the value.
    pub message: String,
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key,
        message: message.into(),
    }
}

impl HashersConfig {
    /// Checks every value; hashes made with a valid configuration always verify within the
    /// bounds `verify_password` enforces on stored hashes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let a = &self.argon2;
        if a.iterations < 1 {
            return Err(invalid("hashers.argon2.iterations", "must be at least 1"));
        }
        if a.parallelism < 1 || a.parallelism > MAX_PARALLELISM {
            return Err(invalid(
                "hashers.argon2.parallelism",
                format!("must be between 1 and {MAX_PARALLELISM}"),
            ));
        }
        let kib = a.memory_kib();
        let min_kib = 8 * u64::from(a.parallelism);
        if kib < min_kib {
            return Err(invalid(
                "hashers.argon2.memory",
                format!("must be at least {min_kib}KB (8KB per unit of parallelism)"),
            ));
        }
        if kib > MAX_MEMORY_KIB {
            return Err(invalid("hashers.argon2.memory", "must be at most 1GB"));
        }
        if kib * u64::from(a.iterations) > MAX_WORK_KIB_ITERATIONS {
            return Err(invalid(
                "hashers.argon2.iterations",
                "memory times iterations must be at most 10GB (a hash would take too long)",
            ));
        }
        if !(16..=256).contains(&a.salt_length) {
            return Err(invalid(
                "hashers.argon2.salt_length",
                "must be between 16 and 256",
            ));
        }
        if !(16..=256).contains(&a.key_length) {
            return Err(invalid(
                "hashers.argon2.key_length",
                "must be between 16 and 256",
            ));
        }
        let cost = self.bcrypt.cost;
        if !(4..=31).contains(&cost) {
            return Err(invalid("hashers.bcrypt.cost", "must be between 4 and 31"));
        }
        if cost > BCRYPT_MAX_VERIFY_COST {
            return Err(invalid(
                "hashers.bcrypt.cost",
                format!(
                    "must be at most {BCRYPT_MAX_VERIFY_COST}: higher costs take seconds per login"
                ),
            ));
        }
        Ok(())
    }
}

/// A size in bytes; reads `"128MB"`, `"19MiB"`, `"1GB"` (binary units, as Kratos) or an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u32); 7] = [
    ("EB", 60),
    ("PB", 50),
    ("TB", 40),
    ("GB", 30),
    ("MB", 20),
    ("KB", 10),
    ("B", 0),
];

impl ByteSize {
    /// Parses a Kratos byte size string such as `"128MB"` or `"19MiB"` (units are binary).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits_end);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("invalid byte size {text:?}: expected e.g. \"128MB\""))?;
        let unit = unit.trim().to_ascii_uppercase();
        let unit = unit.replace("IB", "B");
        let shift = match unit.as_str() {
            "" | "B" => 0,
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            "P" => 50,
            "E" => 60,
            other => UNITS
                .iter()
                .find(|(name, _)| *name == other)
                .map(|(_, shift)| *shift)
                .ok_or_else(|| format!("invalid byte size {text:?}: unknown unit"))?,
        };
        number
            .checked_mul(1u64 << shift)
            .map(ByteSize)
            .ok_or_else(|| format!("invalid byte size {text:?}: too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, shift) in UNITS {
            let unit = 1u64 << shift;
            if self.0 != 0 && self.0.is_multiple_of(unit) {
                return write!(f, "{}{name}", self.0 / unit);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte size such as \"128MB\" or an integer number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a byte size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> Cow<'static, str> {
        "ByteSize".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A byte size: \"128MB\" (binary units: KB=1024 bytes, KiB accepted) or an integer number of bytes.",
            "anyOf": [
                { "type": "string", "pattern": "^[0-9]+ ?([KMGTPE]i?)?B?$" },
                { "type": "integer", "minimum": 0 }
            ]
        })
    }
}

/// A duration in Go's syntax, e.g. `"500ms"` or `"1m30s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoDuration(pub Duration);

impl GoDuration {
    /// Parses sequences of `<integer><unit>` with units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let err = || format!("invalid duration {text:?}: expected e.g. \"500ms\" or \"1m30s\"");
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(err());
        }
        let mut total = Duration::ZERO;
        while !rest.is_empty() {
            let digits_end = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
            let number: u64 = rest[..digits_end].parse().map_err(|_| err())?;
            rest = &rest[digits_end..];
            let units: [(&str, Duration); 7] = [
                ("ns", Duration::from_nanos(1)),
                ("us", Duration::from_micros(1)),
                ("µs", Duration::from_micros(1)),
                ("ms", Duration::from_millis(1)),
                ("s", Duration::from_secs(1)),
                ("m", Duration::from_secs(60)),
                ("h", Duration::from_secs(3600)),
            ];
            let (unit, scale) = units
                .iter()
                .find(|(unit, _)| rest.starts_with(unit))
                .ok_or_else(err)?;
            rest = &rest[unit.len()..];
            let part = u32::try_from(number)
                .ok()
                .and_then(|n| scale.checked_mul(n))
                .ok_or_else(err)?;
            total = total.checked_add(part).ok_or_else(err)?;
        }
        Ok(GoDuration(total))
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        match nanos {
            0 => f.write_str("0s"),
            n if n.is_multiple_of(1_000_000_000) => write!(f, "{}s", n / 1_000_000_000),
            n if n.is_multiple_of(1_000_000) => write!(f, "{}ms", n / 1_000_000),
            n if n.is_multiple_of(1_000) => write!(f, "{}us", n / 1_000),
            n => write!(f, "{n}ns"),
        }
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        GoDuration::parse(&text).map_err(de::Error::custom)
    }
}

impl JsonSchema for GoDuration {
    fn schema_name() -> Cow<'static, str> {
        "GoDuration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration such as \"500ms\" or \"1m30s\".",
            "type": "string",
            "pattern": "^([0-9]+(ns|us|µs|ms|s|m|h))+$"
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn defaults_from_empty_document() {
        let cfg: HashersConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg.algorithm, Algorithm::Argon2);
        assert_eq!(cfg.argon2.memory, ByteSize(19 * 1024 * 1024));
        assert_eq!(cfg.argon2.iterations, 2);
        assert_eq!(cfg.argon2.parallelism, 1);
        assert_eq!(cfg.argon2.salt_length, 16);
        assert_eq!(cfg.argon2.key_length, 32);
        assert_eq!(cfg.bcrypt.cost, 12);
        cfg.validate().unwrap();
    }

    #[test]
    fn kratos_keys_and_sizes() {
        let cfg: HashersConfig = serde_json::from_value(serde_json::json!({
            "algorithm": "bcrypt",
            "argon2": { "memory": "128MB", "iterations": 1, "parallelism": 4,
                        "expected_duration": "1s", "expected_deviation": "500ms",
                        "dedicated_memory": "1GB" },
            "bcrypt": { "cost": 10 },
            "some_future_key": true
        }))
        .unwrap();
        assert_eq!(cfg.algorithm, Algorithm::Bcrypt);
        assert_eq!(cfg.argon2.memory.0, 128 << 20);
        assert_eq!(cfg.argon2.memory_kib(), 128 * 1024);
        assert_eq!(cfg.argon2.expected_duration.0, Duration::from_secs(1));
        assert_eq!(cfg.argon2.dedicated_memory.0, 1 << 30);
        assert_eq!(cfg.argon2.salt_length, 16);
        assert_eq!(cfg.bcrypt.cost, 10);
        cfg.validate().unwrap();
    }

    #[test]
    fn byte_size_forms() {
        assert_eq!(ByteSize::parse("19MiB").unwrap().0, 19 << 20);
        assert_eq!(ByteSize::parse("19MB").unwrap().0, 19 << 20);
        assert_eq!(ByteSize::parse("64KB").unwrap().0, 64 << 10);
        assert_eq!(ByteSize::parse("1024").unwrap().0, 1024);
        assert_eq!(ByteSize::parse("7B").unwrap().0, 7);
        assert!(ByteSize::parse("MB").is_err());
        assert!(ByteSize::parse("12XB").is_err());
        let n: ByteSize = serde_json::from_str("20971520").unwrap();
        assert_eq!(n.0, 20 << 20);
        assert_eq!(
            serde_json::to_string(&ByteSize(19 << 20)).unwrap(),
            "\"19MB\""
        );
        assert!(serde_json::from_str::<ByteSize>("-1").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(
            GoDuration::parse("1m30s").unwrap().0,
            Duration::from_secs(90)
        );
        assert_eq!(
            GoDuration::parse("250ms").unwrap().0,
            Duration::from_millis(250)
        );
        assert!(GoDuration::parse("1.5s").is_err());
        assert!(GoDuration::parse("").is_err());
        assert!(GoDuration::parse("10").is_err());
        assert_eq!(GoDuration(Duration::from_millis(500)).to_string(), "500ms");
    }

    #[test]
    fn validation_names_the_key() {
        let mut cfg = HashersConfig::default();
        cfg.bcrypt.cost = 3;
        assert_eq!(
            cfg.validate().unwrap_err().to_string(),
            "hashers.bcrypt.cost: must be between 4 and 31"
        );
        cfg.bcrypt.cost = 20;
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .starts_with("hashers.bcrypt.cost:")
        );
        let mut cfg = HashersConfig::default();
        cfg.argon2.iterations = 0;
        assert_eq!(cfg.validate().unwrap_err().key, "hashers.argon2.iterations");
        let mut cfg = HashersConfig::default();
        cfg.argon2.memory = ByteSize(4096);
        assert_eq!(cfg.validate().unwrap_err().key, "hashers.argon2.memory");
        let mut cfg = HashersConfig::default();
        cfg.argon2.salt_length = 8;
        assert_eq!(
            cfg.validate().unwrap_err().key,
            "hashers.argon2.salt_length"
        );
    }

    #[test]
    fn schema_generates() {
        let schema = schemars::schema_for!(HashersConfig);
        let text = serde_json::to_string(&schema).unwrap();
        assert!(text.contains("\"salt_length\""));
        assert!(text.contains("\"argon2\""));
    }
}
