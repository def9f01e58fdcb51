//! Units written as text in the configuration: byte sizes (`"128MB"`) and Go
//! durations (`"500ms"`, `"1m30s"`).
//!
//! Byte sizes follow Kratos: `"128MB"` means 128 MiB (binary units), `"19MiB"`
//! is accepted too, and a plain integer is a number of bytes.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

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
}
