//! What can go wrong while loading a configuration, and what is only worth a
//! warning. Every problem with a value names its key, in the form
//! `serve.public.trusted_proxies[2]` (list elements in brackets).

use std::fmt;
use std::path::PathBuf;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read or parsed.
    #[error("config file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A key has a value of the wrong kind or an invalid value.
    #[error("config key {key}: {reason}")]
    Invalid {
        /// The key, e.g. `serve.public.port`.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// An environment variable could not be applied.
    #[error("environment variable {variable} (config key {key}): {reason}")]
    Environment {
        /// The variable, e.g. `SERVE_PUBLIC_PORT`.
        variable: String,
        /// The key it sets, e.g. `serve.public.port`.
        key: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// Several problems at once, in the order they were found.
    #[error("{}", Lines(.0))]
    Several(Vec<ConfigError>),
}

struct Lines<'a>(&'a [ConfigError]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, error) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl ConfigError {
    /// An invalid value at `key`.
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// The key this problem is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } | ConfigError::Environment { key, .. } => Some(key),
            ConfigError::Read { .. } | ConfigError::Several(_) => None,
        }
    }

    /// Every single problem (a [`ConfigError::Several`] opened up).
    pub fn into_list(self) -> Vec<ConfigError> {
        match self {
            ConfigError::Several(list) => list.into_iter().flat_map(Self::into_list).collect(),
            single => vec![single],
        }
    }

    /// `Ok` for no problem, the problem itself for one, [`ConfigError::Several`] for more.
    pub fn from_list(mut list: Vec<ConfigError>) -> Result<(), ConfigError> {
        match list.len() {
            0 => Ok(()),
            1 => Err(list.remove(0)),
            _ => Err(ConfigError::Several(list)),
        }
    }
}

/// Something in the configuration that does not stop the server but that its
/// author should know: today, a key this version does not support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The key, e.g. `selfservice.methods.totp`.
    pub key: String,
    /// What is the matter with it.
    pub reason: String,
}

impl Warning {
    /// A key this version does not support, ignored.
    pub fn unsupported(key: impl Into<String>) -> Self {
        Warning {
            key: key.into(),
            reason: "is not supported by this version and is ignored".into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config key {} {}", self.key, self.reason)
    }
}

/// Building keys: `field("serve.public", "port")` is `serve.public.port`,
/// `index("secrets.cookie", 0)` is `secrets.cookie[0]`.
pub mod key {
    /// The key of a field below `parent` (the field alone at the top).
    pub fn field(parent: &str, name: &str) -> String {
        if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}.{name}")
        }
    }

    /// The key of a list element.
    pub fn index(parent: &str, n: usize) -> String {
        format!("{parent}[{n}]")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn several_problems_are_shown_one_a_line_and_open_up() {
        let one = ConfigError::invalid("a", "bad");
        let two = ConfigError::invalid(key::index("b", 2), "worse");
        assert_eq!(ConfigError::from_list(vec![]), Ok(()));
        assert_eq!(ConfigError::from_list(vec![one.clone()]), Err(one.clone()));
        let both = ConfigError::from_list(vec![one.clone(), two.clone()]).unwrap_err();
        assert_eq!(
            both.to_string(),
            "config key a: bad\nconfig key b[2]: worse"
        );
        assert_eq!(both.into_list(), vec![one, two]);
        assert_eq!(
            Warning::unsupported("courier").to_string(),
            "config key courier is not supported by this version and is ignored"
        );
    }
}
