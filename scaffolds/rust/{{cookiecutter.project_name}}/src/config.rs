//! The service's settings, read from environment variables.

use std::fmt;
use std::time::Duration;

use tracing::level_filters::LevelFilter;

/// The port the service listens on when `PORT` is not set.
pub const DEFAULT_PORT: u16 = {{ cookiecutter.port }};

/// How long in-flight requests may finish after SIGTERM. It stays below Docker's default stop
/// grace period (10 s), so the process exits before it would be killed.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Every setting of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// TCP port of the HTTP server, on every interface.
    pub port: u16,
    /// Minimum level of the JSON logs written to standard output.
    pub log_level: LevelFilter,
    /// Bound on the drain of in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            port: DEFAULT_PORT,
            log_level: LevelFilter::INFO,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// A setting whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    value: String,
    expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?}: want {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the settings through `getenv` (`std::env::var` in production, a map in tests):
    ///
    /// | variable           | meaning                                   | default |
    /// |--------------------|-------------------------------------------|---------|
    /// | `PORT`             | TCP port, 1-65535                         | {{ cookiecutter.port }}    |
    /// | `LOG_LEVEL`        | `trace`, `debug`, `info`, `warn`, `error` | `info`  |
    /// | `SHUTDOWN_TIMEOUT` | drain bound: `5s`, `500ms` or seconds     | `5s`    |
    pub fn from_env(getenv: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if let Some(value) = non_empty(getenv("PORT")) {
            config.port = match value.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(invalid("PORT", value, "a number from 1 to 65535")),
            };
        }
        if let Some(value) = non_empty(getenv("LOG_LEVEL")) {
            config.log_level = parse_level(&value)
                .ok_or_else(|| invalid("LOG_LEVEL", value, "trace, debug, info, warn or error"))?;
        }
        if let Some(value) = non_empty(getenv("SHUTDOWN_TIMEOUT")) {
            let expected = "a positive duration such as 5s or 500ms";
            config.shutdown_timeout = parse_duration(&value)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| invalid("SHUTDOWN_TIMEOUT", value, expected))?;
        }
        Ok(config)
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn invalid(variable: &'static str, value: String, expected: &'static str) -> ConfigError {
    ConfigError {
        variable,
        value,
        expected,
    }
}

/// A level name, case-insensitive (`warning` is accepted for `warn`).
pub fn parse_level(name: &str) -> Option<LevelFilter> {
    match name.trim().to_ascii_lowercase().as_str() {
        "trace" => Some(LevelFilter::TRACE),
        "debug" => Some(LevelFilter::DEBUG),
        "info" => Some(LevelFilter::INFO),
        "warn" | "warning" => Some(LevelFilter::WARN),
        "error" => Some(LevelFilter::ERROR),
        _ => None,
    }
}

/// `5s`, `500ms` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Some(millis) = text.strip_suffix("ms") {
        return millis.parse().ok().map(Duration::from_millis);
    }
    let seconds = text.strip_suffix('s').unwrap_or(text);
    seconds.parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_env(|key| env.get(key).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        assert_eq!(from(&[]).unwrap(), Config::default());
        assert_eq!(Config::default().port, {{ cookiecutter.port }});
    }

    #[test]
    fn reads_every_variable() {
        let config = from(&[
            ("PORT", "9090"),
            ("LOG_LEVEL", "Warning"),
            ("SHUTDOWN_TIMEOUT", "250ms"),
        ])
        .unwrap();
        assert_eq!(config.port, 9090);
        assert_eq!(config.log_level, LevelFilter::WARN);
        assert_eq!(config.shutdown_timeout, Duration::from_millis(250));
    }

    #[test]
    fn blank_values_mean_the_default() {
        assert_eq!(
            from(&[("PORT", " "), ("LOG_LEVEL", "")]).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn rejects_bad_values() {
        for (variable, value) in [
            ("PORT", "0"),
            ("PORT", "65536"),
            ("PORT", "http"),
            ("LOG_LEVEL", "loud"),
            ("SHUTDOWN_TIMEOUT", "0s"),
            ("SHUTDOWN_TIMEOUT", "soon"),
        ] {
            let error = from(&[(variable, value)]).unwrap_err();
            assert!(
                error.to_string().starts_with(variable),
                "{variable}={value}: {error}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_duration("10ms"), Some(Duration::from_millis(10)));
        assert_eq!(parse_duration("-1s"), None);
    }
}
