//! `GET /explorer`: the API explorer, a page compiled into the server (its
//! HTML, CSS and JavaScript below) that calls the server over a WebSocket
//! like any client. Its Content-Security-Policy lets it load nothing and
//! connect nowhere but this server.

use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Bytes;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("explorer.js");
const STYLE: &str = include_str!("explorer.css");

/// What the page may do: its own script and style, and connections to this
/// server (`'self'` covers `ws:` and `wss:` to the same host).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                      connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
                      form-action 'none'; frame-ancestors 'none'";

/// The explorer's answer to `GET path`, if the path is one of its own.
///
/// The page names its assets and its WebSocket relative to itself, so
/// that it also works where the endpoint is mounted under a prefix; it is
/// served at `/explorer` only (`/explorer/` redirects there).
pub(crate) fn asset(path: &str) -> Option<Response<Full<Bytes>>> {
    if path == "/explorer/" {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
        response
            .headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("../explorer"));
        return Some(response);
    }
    let (body, content_type) = match path {
        "/explorer" => (PAGE, "text/html; charset=utf-8"),
        "/explorer/explorer.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "/explorer/explorer.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return None,
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // A new server version's page is never mixed with an old one's script.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_assets() {
        for path in [
            "/explorer",
            "/explorer/explorer.js",
            "/explorer/explorer.css",
        ] {
            assert!(asset(path).is_some(), "{path}");
        }
        assert!(asset("/explorer/other.js").is_none());
        // Every URL the page names is one of the explorer's own, relative
        // to the page.
        let named = PAGE
            .split(['"', '\''])
            .filter(|part| part.starts_with("explorer/"));
        assert_eq!(named.clone().count(), 2);
        for url in named {
            assert!(asset(&format!("/{url}")).is_some(), "{url}");
        }
        assert!(!PAGE.contains("\"/"), "no absolute path");
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"));
        assert!(!SCRIPT.contains("http://") && !SCRIPT.contains("https://"));
    }
}
