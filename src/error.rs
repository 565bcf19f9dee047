//! Typed library errors.

use std::fmt;

/// An invalid setting, naming the command-line flag it came from and how to fix it.
///
/// Displays as `--radius must be > 0 (got -1)`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    /// The flag, e.g. `--radius`.
    pub flag: String,
    /// What is wrong and what to do, phrased to follow the flag name.
    pub message: String,
}

impl ConfigError {
    pub fn new(flag: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            flag: flag.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.flag, self.message)
    }
}

/// Checks shared by many numeric flags.
pub(crate) mod check {
    use super::ConfigError;

    pub fn finite(flag: &'static str, x: f64) -> Result<f64, ConfigError> {
        if x.is_finite() {
            Ok(x)
        } else {
            Err(ConfigError::new(
                flag,
                format!("must be a finite number (got {x})"),
            ))
        }
    }

    pub fn positive(flag: &'static str, x: f64) -> Result<f64, ConfigError> {
        if finite(flag, x)? > 0.0 {
            Ok(x)
        } else {
            Err(ConfigError::new(flag, format!("must be > 0 (got {x})")))
        }
    }

    pub fn non_negative(flag: &'static str, x: f64) -> Result<f64, ConfigError> {
        if finite(flag, x)? >= 0.0 {
            Ok(x)
        } else {
            Err(ConfigError::new(flag, format!("must be ≥ 0 (got {x})")))
        }
    }
}
