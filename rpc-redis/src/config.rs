//! The Redis backend's settings, with defaults, and reading them from the
//! environment.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use rpc_server::config::{ConfigError, parse_duration};
use rpc_server::groups::{GroupHistory, HistoryRules};

/// How a [`RedisGroups`](crate::RedisGroups) reaches Redis and shares it.
///
/// | field | default | variable |
/// |---|---|---|
/// | the URL (`redis://`, `rediss://` with the `tls` feature) | none | `RPC_REDIS_URL` |
/// | [`prefix`](Self::prefix) | `rpc` | `RPC_REDIS_PREFIX` |
/// | [`heartbeat`](Self::heartbeat) | 2 s | `RPC_REDIS_HEARTBEAT` |
/// | [`expiry`](Self::expiry) | 10 s | `RPC_REDIS_EXPIRY` |
/// | [`max_outbox_bytes`](Self::max_outbox_bytes) | 16 MiB | `RPC_REDIS_MAX_OUTBOX_BYTES` |
/// | [`connect_timeout`](Self::connect_timeout) | 2 s | `RPC_REDIS_CONNECT_TIMEOUT` |
/// | [`response_timeout`](Self::response_timeout) | 2 s | `RPC_REDIS_RESPONSE_TIMEOUT` |
/// | [`max_backoff`](Self::max_backoff) | 5 s | `RPC_REDIS_MAX_BACKOFF` |
/// | [`tls_ca`](Self::tls_ca) (feature `tls`) | the system's roots | `RPC_REDIS_TLS_CA` |
/// | [`history`](Self::history) | none | `RPC_REDIS_HISTORY` (`room:*=1000/10m`, rules separated by `,`) |
///
/// The URL may hold credentials (`redis://user:secret@host:6379/0`): they
/// are never logged, and `Debug` shows the URL without them.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    pub(crate) url: String,
    /// Starts every key and channel name, so that several applications
    /// can share one Redis.
    pub prefix: String,
    /// How often an instance says it is alive and refreshes the expiry of
    /// its memberships.
    pub heartbeat: Duration,
    /// How long after its last heartbeat an instance that died without
    /// cleaning up still counts. A live instance's members never expire.
    pub expiry: Duration,
    /// Messages for other instances waiting for Redis (while it is
    /// unreachable, or slower than the broadcasts), in bytes; past it, new
    /// ones are dropped (counted, logged and reported to the hooks). A
    /// single message larger than this never goes to other instances.
    pub max_outbox_bytes: usize,
    /// How long connecting to Redis may take.
    pub connect_timeout: Duration,
    /// How long Redis may take to answer a command before the connection
    /// counts as lost.
    pub response_timeout: Duration,
    /// The longest wait between two attempts to reconnect (the wait starts
    /// at 100 ms and doubles, with jitter).
    pub max_backoff: Duration,
    /// For `rediss://` (feature `tls`): a PEM file of the certificates to
    /// trust instead of the system's roots (a private CA, or the server's
    /// own self-signed certificate).
    pub tls_ca: Option<PathBuf>,
    /// Which groups keep history in Redis (a stream per group), and how
    /// much; the others stay at most once.
    pub history: HistoryRules,
}

impl RedisConfig {
    /// The defaults, for the Redis at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: "rpc".to_owned(),
            heartbeat: Duration::from_secs(2),
            expiry: Duration::from_secs(10),
            max_outbox_bytes: 16 * 1024 * 1024,
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            max_backoff: Duration::from_secs(5),
            tls_ca: None,
            history: HistoryRules::new(),
        }
    }

    /// The same settings, with groups matching `pattern` keeping `history`
    /// (see [`HistoryRules`]).
    pub fn with_history(mut self, pattern: &str, history: GroupHistory) -> Self {
        self.history = self.history.rule(pattern, history);
        self
    }

    /// The settings from the `RPC_REDIS_*` variables (the table above);
    /// `None` when `RPC_REDIS_URL` is not set. A variable with an unusable
    /// value is an error that names it.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through
    /// `lookup`.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(url) = lookup("RPC_REDIS_URL").filter(|url| !url.trim().is_empty()) else {
            return Ok(None);
        };
        let mut config = Self::new(url.trim());
        if let Some(prefix) = lookup("RPC_REDIS_PREFIX") {
            if prefix.is_empty() || prefix.contains(char::is_whitespace) {
                return Err(ConfigError::new(
                    "RPC_REDIS_PREFIX",
                    prefix,
                    "a name without spaces",
                ));
            }
            config.prefix = prefix;
        }
        let duration = |variable: &'static str, slot: &mut Duration| match lookup(variable) {
            None => Ok(()),
            Some(value) => match parse_duration(value.trim()) {
                Some(duration) => {
                    *slot = duration;
                    Ok(())
                }
                None => Err(ConfigError::new(
                    variable,
                    value,
                    "a duration like 250ms, 30s, 5m or 1h",
                )),
            },
        };
        duration("RPC_REDIS_HEARTBEAT", &mut config.heartbeat)?;
        duration("RPC_REDIS_EXPIRY", &mut config.expiry)?;
        duration("RPC_REDIS_CONNECT_TIMEOUT", &mut config.connect_timeout)?;
        duration("RPC_REDIS_RESPONSE_TIMEOUT", &mut config.response_timeout)?;
        duration("RPC_REDIS_MAX_BACKOFF", &mut config.max_backoff)?;
        if let Some(path) = lookup("RPC_REDIS_TLS_CA").filter(|path| !path.is_empty()) {
            config.tls_ca = Some(PathBuf::from(path));
        }
        if let Some(value) = lookup("RPC_REDIS_MAX_OUTBOX_BYTES") {
            config.max_outbox_bytes = value.trim().parse().map_err(|_| {
                ConfigError::new("RPC_REDIS_MAX_OUTBOX_BYTES", value, "a number of bytes")
            })?;
        }
        if let Some(value) = lookup("RPC_REDIS_HISTORY") {
            config.history = parse_history(&value).ok_or_else(|| {
                ConfigError::new(
                    "RPC_REDIS_HISTORY",
                    value,
                    "rules like room:*=1000/10m (pattern=messages/age), separated by commas",
                )
            })?;
        }
        if config.expiry <= config.heartbeat {
            return Err(ConfigError::new(
                "RPC_REDIS_EXPIRY",
                format!("{:?}", config.expiry),
                "a duration longer than RPC_REDIS_HEARTBEAT",
            ));
        }
        Ok(Some(config))
    }

    /// Whether the settings can work together.
    pub(crate) fn check(&self) -> Result<(), String> {
        let zero = [
            ("heartbeat", self.heartbeat),
            ("connect_timeout", self.connect_timeout),
            ("response_timeout", self.response_timeout),
            ("max_backoff", self.max_backoff),
        ]
        .into_iter()
        .find(|(_, duration)| duration.is_zero());
        if let Some((name, _)) = zero {
            return Err(format!("{name} must be longer than zero"));
        }
        if self.expiry <= self.heartbeat {
            return Err(format!(
                "expiry ({:?}) must be longer than heartbeat ({:?})",
                self.expiry, self.heartbeat
            ));
        }
        Ok(())
    }

    /// The URL with any password replaced by `***`, for logs.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.redacted_url())
            .field("prefix", &self.prefix)
            .field("heartbeat", &self.heartbeat)
            .field("expiry", &self.expiry)
            .field("max_outbox_bytes", &self.max_outbox_bytes)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("max_backoff", &self.max_backoff)
            .field("tls_ca", &self.tls_ca)
            .field("history", &self.history)
            .finish()
    }
}

/// `room:*=1000/10m,news=50/1h`: a rule per pattern, its messages and age.
fn parse_history(value: &str) -> Option<HistoryRules> {
    let mut rules = HistoryRules::new();
    for rule in value
        .split(',')
        .map(str::trim)
        .filter(|rule| !rule.is_empty())
    {
        let (pattern, bounds) = rule.rsplit_once('=')?;
        let (messages, age) = bounds.split_once('/')?;
        let messages: usize = messages.trim().parse().ok().filter(|n| *n > 0)?;
        let age = parse_duration(age.trim()).filter(|age| !age.is_zero())?;
        rules = rules.rule(pattern.trim(), GroupHistory::new(messages, age));
    }
    Some(rules)
}

/// `scheme://user:secret@host/…` → `scheme://user:***@host/…`; a URL
/// without a password is kept.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Option<RedisConfig>, ConfigError> {
        RedisConfig::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn no_url_means_no_redis() {
        assert_eq!(config(&[]).unwrap(), None);
        assert_eq!(config(&[("RPC_REDIS_PREFIX", "app")]).unwrap(), None);
    }

    #[test]
    fn variables_are_read() {
        let c = config(&[
            ("RPC_REDIS_URL", "redis://127.0.0.1:6379/2"),
            ("RPC_REDIS_PREFIX", "chat"),
            ("RPC_REDIS_HEARTBEAT", "500ms"),
            ("RPC_REDIS_EXPIRY", "3s"),
            ("RPC_REDIS_MAX_OUTBOX_BYTES", "1024"),
            ("RPC_REDIS_TLS_CA", "/etc/redis/ca.pem"),
            ("RPC_REDIS_HISTORY", "room:*=1000/10m, news=5/1h"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.url, "redis://127.0.0.1:6379/2");
        assert_eq!(c.prefix, "chat");
        assert_eq!(c.heartbeat, Duration::from_millis(500));
        assert_eq!(c.expiry, Duration::from_secs(3));
        assert_eq!(c.max_outbox_bytes, 1024);
        assert_eq!(c.tls_ca, Some(PathBuf::from("/etc/redis/ca.pem")));
        assert_eq!(
            c.history.for_group("room:1"),
            Some(GroupHistory::new(1000, Duration::from_secs(600)))
        );
        assert_eq!(
            c.history.for_group("news"),
            Some(GroupHistory::new(5, Duration::from_secs(3600)))
        );
        assert_eq!(c.history.for_group("other"), None);
    }

    #[test]
    fn unusable_values_name_their_variable() {
        let url = ("RPC_REDIS_URL", "redis://localhost");
        for (variable, value) in [
            ("RPC_REDIS_HEARTBEAT", "2 s"),
            ("RPC_REDIS_MAX_OUTBOX_BYTES", "lots"),
            ("RPC_REDIS_PREFIX", "a b"),
            ("RPC_REDIS_EXPIRY", "1s"),
            ("RPC_REDIS_HISTORY", "room:*=1000"),
            ("RPC_REDIS_HISTORY", "room:*=0/1m"),
        ] {
            let err = config(&[url, (variable, value)]).unwrap_err();
            assert_eq!(err.variable(), variable);
        }
    }

    #[test]
    fn credentials_never_show() {
        let c = RedisConfig::new("redis://ada:s3cret@10.0.0.1:6379/0");
        assert_eq!(c.redacted_url(), "redis://ada:***@10.0.0.1:6379/0");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(redact("redis://:pw@host"), "redis://:***@host");
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
        assert_eq!(redact("unix:///tmp/redis.sock"), "unix:///tmp/redis.sock");
    }
}
