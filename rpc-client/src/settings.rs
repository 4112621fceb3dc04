//! The settings a client's connection task runs with, as the builder set
//! them.

#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use crate::backoff::Reconnect;

/// The settings a connection task runs with.
#[derive(Clone)]
pub(crate) struct Settings {
    /// The service's URLs: several instances of it, tried in turn.
    pub(crate) urls: Vec<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_pending_requests: usize,
    pub(crate) ping_interval: Option<Duration>,
    pub(crate) max_missed_pongs: u32,
    pub(crate) reconnect: Option<Reconnect>,
    pub(crate) outgoing_queue: usize,
    /// Certificate authorities trusted for `wss://` besides the webpki
    /// roots.
    #[cfg(feature = "tls")]
    pub(crate) extra_roots: Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>>,
    /// A whole rustls configuration for `wss://`, replacing the default one
    /// (and the extra roots).
    #[cfg(feature = "tls")]
    pub(crate) tls_config: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
}
