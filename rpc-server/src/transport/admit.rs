//! Whether a connection is served, decided when it is accepted, and the
//! answers of those that are not: each closes its connection.

use http::{Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Bytes;

use crate::addresses::Refusal;
use crate::transport::response::{closing, plain};

/// Whether a TCP connection's requests are served, as decided when it was
/// accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    Yes,
    /// The server is at `max_connections`: 503.
    ServerFull,
    /// The client's address is over a per-address limit: 429.
    AddressRefused(Refusal),
}

impl Admit {
    /// The answer to each request of a refused connection (which then
    /// closes); `None` when it is served.
    pub(crate) fn refusal(self) -> Option<Response<Full<Bytes>>> {
        let response = match self {
            Self::Yes => return None,
            Self::ServerFull => plain(StatusCode::SERVICE_UNAVAILABLE, "too many connections"),
            Self::AddressRefused(refusal) => too_many_from_address(refusal),
        };
        Some(closing(response))
    }
}

/// 429 for an address over its limits, with `Retry-After` when it is the
/// handshake rate.
pub(crate) fn too_many_from_address(refusal: Refusal) -> Response<Full<Bytes>> {
    let mut response = plain(StatusCode::TOO_MANY_REQUESTS, &refusal.to_string());
    if let Refusal::Handshakes(wait) = refusal {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.max(1).into());
    }
    closing(response)
}
