//! Which web pages may open a WebSocket to the server: the `Origin` check
//! that stops cross-site WebSocket hijacking (a page on another site
//! opening a socket with the user's cookies).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The origins whose pages may open a WebSocket
/// ([`ServerConfig::allowed_origins`](crate::ServerConfig::allowed_origins)).
///
/// A handshake without an `Origin` header (not a browser) is always
/// allowed, and so is a same-origin one (the `Origin`'s host and port are
/// the `Host` header's). Any other origin must match an entry: an exact
/// origin (`https://app.example.com`, `http://localhost:3000`) or a
/// subdomain pattern (`https://*.example.com` matches
/// `https://a.example.com` and `https://a.b.example.com`, not
/// `https://example.com`). `*` allows every origin.
///
/// ```
/// use rpc_server::config::AllowedOrigins;
///
/// let allowed: AllowedOrigins = "https://app.example.com, https://*.example.org".parse().unwrap();
/// assert!(allowed.allows(Some("https://app.example.com"), Some("api.example.com")));
/// assert!(allowed.allows(Some("https://eu.example.org"), Some("api.example.com")));
/// assert!(!allowed.allows(Some("https://evil.example"), Some("api.example.com")));
/// // Not a browser, and same-origin: allowed whatever the list says.
/// assert!(allowed.allows(None, Some("api.example.com")));
/// assert!(allowed.allows(Some("https://api.example.com"), Some("api.example.com")));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    any: bool,
    patterns: Vec<Pattern>,
}

#[derive(Clone, PartialEq, Eq)]
struct Pattern {
    scheme: String,
    /// The host, or for `*.example.com` the suffix `.example.com`.
    host: String,
    subdomains: bool,
    port: Option<u16>,
}

/// An origin as a browser sends it: `scheme://host[:port]`.
struct Origin<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
}

impl<'a> Origin<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let (scheme, authority) = text.split_once("://")?;
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return None;
        }
        let (host, port) = split_port(authority)?;
        Some(Self { scheme, host, port })
    }

    /// The port, explicit or the scheme's default.
    fn effective_port(&self) -> Option<u16> {
        self.port.or(match self.scheme {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        })
    }
}

/// `host[:port]` (with `[v6]` hosts) into its parts.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let port_at = match authority.rfind(':') {
        Some(at) if !authority[at..].contains(']') => Some(at),
        _ => None,
    };
    match port_at {
        Some(at) => Some((&authority[..at], Some(authority[at + 1..].parse().ok()?))),
        None => Some((authority, None)),
    }
}

/// A request's `Origin`, as text for a log line (`none` without one).
pub(crate) fn origin_of(headers: &http::HeaderMap) -> Cow<'_, str> {
    match headers.get(http::header::ORIGIN) {
        Some(origin) => String::from_utf8_lossy(origin.as_bytes()),
        None => Cow::Borrowed("none"),
    }
}

impl AllowedOrigins {
    /// Same-origin only (the default).
    pub fn same_origin() -> Self {
        Self::default()
    }

    /// Every origin: any web page may open a socket with its visitors'
    /// cookies. For development, or a server that authenticates with
    /// tokens only.
    pub fn any() -> Self {
        Self {
            any: true,
            patterns: Vec::new(),
        }
    }

    /// Whether every origin is allowed.
    pub fn allows_any(&self) -> bool {
        self.any
    }

    /// Whether a handshake with this `Origin` and `Host` may go on.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        if self.any {
            return true;
        }
        let origin = origin.trim();
        let Some(parsed) = Origin::parse(origin) else {
            // "null" (a sandboxed page, a file) and anything malformed.
            return false;
        };
        if host.is_some_and(|host| same_origin(&parsed, host)) {
            return true;
        }
        self.patterns.iter().any(|pattern| pattern.matches(&parsed))
    }

    /// [`allows`](Self::allows) with a request's `Origin` and `Host`
    /// headers; an `Origin` that is not text counts as a foreign one.
    pub(crate) fn allows_request(&self, headers: &http::HeaderMap) -> bool {
        let text = |name| {
            headers
                .get(name)
                .map(|value: &http::HeaderValue| value.to_str().unwrap_or("null"))
        };
        self.allows(text(http::header::ORIGIN), text(http::header::HOST))
    }
}

fn same_origin(origin: &Origin<'_>, host: &str) -> bool {
    let Some((host, port)) = split_port(host.trim()) else {
        return false;
    };
    // A `Host` without a port names the default port of the origin's scheme.
    origin.host.eq_ignore_ascii_case(host)
        && origin.effective_port() == port.or_else(|| origin_default(origin.scheme))
}

impl Pattern {
    fn matches(&self, origin: &Origin<'_>) -> bool {
        if !self.scheme.eq_ignore_ascii_case(origin.scheme)
            || self.port.or_else(|| origin_default(&self.scheme)) != origin.effective_port()
        {
            return false;
        }
        let host = origin.host.to_ascii_lowercase();
        if self.subdomains {
            host.len() > self.host.len() && host.ends_with(&self.host)
        } else {
            host == self.host
        }
    }
}

fn origin_default(scheme: &str) -> Option<u16> {
    Origin {
        scheme,
        host: "",
        port: None,
    }
    .effective_port()
}

impl FromStr for Pattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            format!(
                "{text:?} is not an origin (scheme://host[:port]) or a pattern (scheme://*.domain)"
            )
        };
        let origin = Origin::parse(text).ok_or_else(invalid)?;
        let (subdomains, host) = match origin.host.strip_prefix("*.") {
            Some(domain) if !domain.is_empty() && !domain.contains('*') => {
                (true, format!(".{}", domain.to_ascii_lowercase()))
            }
            _ if origin.host.contains('*') => return Err(invalid()),
            _ => (false, origin.host.to_ascii_lowercase()),
        };
        Ok(Self {
            scheme: origin.scheme.to_ascii_lowercase(),
            host,
            subdomains,
            port: origin.port,
        })
    }
}

impl FromStr for AllowedOrigins {
    type Err = String;

    /// A comma-separated list of origins and patterns, or `*` for any.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let entries: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect();
        if entries == ["*"] {
            return Ok(Self::any());
        }
        Ok(Self {
            any: false,
            patterns: entries
                .into_iter()
                .map(str::parse)
                .collect::<Result<_, _>>()?,
        })
    }
}

impl<S: AsRef<str>> FromIterator<S> for AllowedOrigins {
    /// Panics on an entry that is not an origin or a pattern: these come
    /// from the program's own text. Parse user input with `str::parse`.
    fn from_iter<I: IntoIterator<Item = S>>(entries: I) -> Self {
        let list: Vec<String> = entries.into_iter().map(|e| e.as_ref().to_owned()).collect();
        list.join(",")
            .parse()
            .unwrap_or_else(|err: String| panic!("{err}"))
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let star = if self.subdomains { "*" } else { "" };
        write!(f, "{}://{star}{}", self.scheme, self.host)?;
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for AllowedOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.any {
            return f.write_str("AllowedOrigins(*)");
        }
        let patterns: Vec<String> = self.patterns.iter().map(ToString::to_string).collect();
        write!(f, "AllowedOrigins(same origin, {patterns:?})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> AllowedOrigins {
        text.parse().unwrap()
    }

    #[test]
    fn no_origin_and_same_origin_are_allowed_by_default() {
        let default = AllowedOrigins::default();
        assert!(default.allows(None, Some("api.example.com")));
        assert!(default.allows(None, None));
        assert!(default.allows(Some("https://api.example.com"), Some("api.example.com")));
        assert!(default.allows(Some("http://127.0.0.1:9000"), Some("127.0.0.1:9000")));
        assert!(default.allows(Some("https://API.example.com:443"), Some("api.example.com")));
        assert!(default.allows(Some("http://[::1]:9000"), Some("[::1]:9000")));
        for (origin, host) in [
            ("https://evil.example", "api.example.com"),
            ("http://127.0.0.1:9001", "127.0.0.1:9000"),
            ("http://api.example.com:8080", "api.example.com"),
            ("null", "api.example.com"),
            ("https://api.example.com", ""),
        ] {
            assert!(
                !default.allows(Some(origin), Some(host)),
                "{origin} on {host}"
            );
        }
        assert!(!default.allows(Some("https://api.example.com"), None));
    }

    #[test]
    fn listed_origins_and_subdomain_patterns() {
        let allowed = list("https://app.example.com, http://localhost:3000, https://*.example.org");
        let host = Some("api.internal");
        for origin in [
            "https://app.example.com",
            "https://APP.example.com",
            "https://app.example.com:443",
            "http://localhost:3000",
            "https://eu.example.org",
            "https://a.b.example.org",
        ] {
            assert!(allowed.allows(Some(origin), host), "{origin}");
        }
        for origin in [
            "http://app.example.com",
            "https://app.example.com:8443",
            "http://localhost:3001",
            "https://example.org",
            "https://evil-example.org",
            "http://eu.example.org",
            "https://app.example.com.evil.net",
        ] {
            assert!(!allowed.allows(Some(origin), host), "{origin}");
        }
    }

    #[test]
    fn a_star_allows_everything_and_bad_entries_are_refused() {
        assert!(list("*").allows(Some("https://anything.example"), None));
        assert!(list("*").allows_any());
        assert!(!list("").allows_any());
        for bad in [
            "example.com",
            "https://",
            "https://a/b",
            "https://*",
            "https://a.*.com",
            "https://x:port",
        ] {
            assert!(bad.parse::<AllowedOrigins>().is_err(), "{bad}");
        }
        let from_list: AllowedOrigins = ["https://a.example"].into_iter().collect();
        assert_eq!(from_list, list("https://a.example"));
    }
}
