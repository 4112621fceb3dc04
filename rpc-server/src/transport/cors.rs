//! The CORS rules of the HTTP transport: pages on the allowed origins may
//! `POST` calls and read `/openrpc.json`; preflights are answered per the
//! same allow-list as WebSocket handshakes. (`http::with_cors` applies
//! them.)
//!
//! tower-http's layer writes the headers (preflight answers, `Vary`, the
//! credentials rule) per the Fetch standard; which origins it admits is
//! [`AllowedOrigins`]'s decision. Requests without an `Origin` (not from a
//! browser) skip it entirely.

use std::time::Duration;

use ::http::{HeaderName, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::ServerConfig;

/// How long a browser may reuse a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The request headers a page may send with a call.
const ALLOWED_HEADERS: [HeaderName; 2] = [header::CONTENT_TYPE, header::AUTHORIZATION];

/// The CORS rules of a server with `config`.
pub(crate) fn layer(config: &ServerConfig) -> CorsLayer {
    let origins = config.allowed_origins.clone();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |_, request| {
            origins.allows_request(&request.headers)
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(ALLOWED_HEADERS.to_vec())
        .allow_credentials(config.cors_credentials)
        .max_age(PREFLIGHT_MAX_AGE)
}
