//! Every client setting, and what the client serves to the server.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use rpc_core::{Call, MethodFuture, Params, RpcError, Service};

use crate::backoff::Reconnect;
use crate::client::Client;
use crate::error::ConnectError;
use crate::notifications::Listeners;
use crate::session;
use crate::session::ReconnectHook;
use crate::settings::Settings;
use crate::state::{ClientState, ConnectionState};

type Handler = Arc<dyn Fn(Params<'_>) + Send + Sync>;

// The client's constructors live with the builder they use.
impl Client {
    /// Connects to `url` (`ws://…`) with the default settings.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::builder(url).connect().await
    }

    /// A builder for every setting.
    pub fn builder(url: &str) -> ClientBuilder {
        ClientBuilder::new(url)
    }
}

/// Sets up a [`Client`].
///
/// | setting | default |
/// |---|---|
/// | [`request_timeout`](Self::request_timeout) | 60 s, from the call to its response (waiting for room to send included) |
/// | [`connect_timeout`](Self::connect_timeout) | 10 s, for TCP, TLS and the handshake together |
/// | [`max_pending_requests`](Self::max_pending_requests) | 1,000 (one more fails at once with `CallError::Overloaded`); also the server's calls and notifications handled at once, past which reading pauses |
/// | [`ping_interval`](Self::ping_interval) | 30 s; the connection is declared dead after [`max_missed_pongs`](Self::max_missed_pongs) (3) pings unanswered |
/// | [`reconnect`](Self::reconnect) | on: 100 ms doubling to 30 s, with jitter, no attempt limit |
/// | [`alternate_url`](Self::alternate_url) | none: the one URL given |
#[must_use]
pub struct ClientBuilder {
    settings: Settings,
    /// Run after each reconnect.
    on_reconnect: Option<ReconnectHook>,
    handlers: HashMap<String, Handler>,
    service: Option<Arc<dyn Service>>,
    /// A setting that could not be applied, reported by `connect`.
    invalid: Option<String>,
}

impl ClientBuilder {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            settings: Settings {
                urls: vec![url.to_owned()],
                headers: HeaderMap::new(),
                request_timeout: Duration::from_secs(60),
                connect_timeout: Duration::from_secs(10),
                max_pending_requests: 1_000,
                ping_interval: Some(Duration::from_secs(30)),
                max_missed_pongs: 3,
                reconnect: Some(Reconnect::default()),
                outgoing_queue: 64,
                #[cfg(feature = "tls")]
                extra_roots: Vec::new(),
                #[cfg(feature = "tls")]
                tls_config: None,
            },
            on_reconnect: None,
            handlers: HashMap::new(),
            service: None,
            invalid: None,
        }
    }

    /// Adds a header to the handshake (`Authorization`, say). An invalid
    /// name or value is reported by [`connect`](Self::connect).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.settings.headers.append(name, value);
            }
            _ => {
                self.invalid = Some(format!("invalid header {name:?}: {value:?}"));
            }
        }
        self
    }

    /// Trusts the certificate authorities in `pem` for `wss://` (a private
    /// CA, or a self-signed server certificate), besides the webpki roots.
    /// Unreadable PEM is reported by [`connect`](Self::connect).
    #[cfg(feature = "tls")]
    pub fn tls_root_certificates(mut self, pem: &[u8]) -> Self {
        use tokio_rustls::rustls::pki_types::CertificateDer;
        use tokio_rustls::rustls::pki_types::pem::PemObject as _;
        match CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>() {
            Ok(certs) if !certs.is_empty() => self.settings.extra_roots.extend(certs),
            Ok(_) => self.invalid = Some("no certificate in the PEM given as TLS roots".to_owned()),
            Err(err) => self.invalid = Some(format!("unreadable TLS root certificates: {err}")),
        }
        self
    }

    /// Uses `config` for `wss://` instead of the default (the webpki roots
    /// and those given to
    /// [`tls_root_certificates`](Self::tls_root_certificates), which it
    /// replaces): client certificates, another crypto provider, a custom
    /// certificate verifier.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: Arc<tokio_rustls::rustls::ClientConfig>) -> Self {
        self.settings.tls_config = Some(config);
        self
    }

    /// How long connecting may take (TCP, TLS and the WebSocket handshake),
    /// the first time and at each reconnect attempt.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// How long a call waits for its response.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.settings.request_timeout = timeout;
        self
    }

    /// How many calls may wait for responses at once.
    pub fn max_pending_requests(mut self, max: usize) -> Self {
        self.settings.max_pending_requests = max;
        self
    }

    /// How often to ping the server; `None` to never.
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.settings.ping_interval = interval;
        self
    }

    /// Consecutive unanswered pings after which the connection is dead.
    pub fn max_missed_pongs(mut self, missed: u32) -> Self {
        self.settings.max_missed_pongs = missed;
        self
    }

    /// Another URL of the same service (another instance of it, with no
    /// load balancer in front): the client connects to the first URL that
    /// answers, and after a drop moves on to the next, in turn. A server
    /// that drains (closes with 1001, going away, as a rolling restart
    /// does) is left at once for the next, without waiting: that is a
    /// normal event, not an error. Subscriptions reopen there (with
    /// `since`, where the server sends positions).
    pub fn alternate_url(mut self, url: &str) -> Self {
        self.settings.urls.push(url.to_owned());
        self
    }

    /// How to reconnect when the connection drops.
    pub fn reconnect(mut self, policy: Reconnect) -> Self {
        self.settings.reconnect = Some(policy);
        self
    }

    /// Never reconnect: once the connection drops the client is closed.
    pub fn no_reconnect(mut self) -> Self {
        self.settings.reconnect = None;
        self
    }

    /// Runs `hook` after each successful reconnect (to re-join groups, say).
    pub fn on_reconnect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_reconnect = Some(Arc::new(move |client| Box::pin(hook(client))));
        self
    }

    /// Answers the server's calls (and notifications) to this client with
    /// `service`, a `#[rpc_service]` impl.
    pub fn answer_server_calls(mut self, service: impl Service) -> Self {
        self.service = Some(Arc::new(service));
        self
    }

    /// Runs `handler` for each notification named `method` from the server.
    pub fn on_notification<F>(mut self, method: &str, handler: F) -> Self
    where
        F: Fn(Params<'_>) + Send + Sync + 'static,
    {
        self.handlers.insert(method.to_owned(), Arc::new(handler));
        self
    }

    /// Connects. The first connection must succeed; later drops are
    /// reconnected as configured.
    pub async fn connect(self) -> Result<Client, ConnectError> {
        if let Some(invalid) = self.invalid {
            return Err(ConnectError::invalid(invalid));
        }
        let listeners = Arc::new(Listeners::default());
        let service = Arc::new(Incoming {
            handlers: self.handlers,
            service: self.service,
            listeners: Arc::clone(&listeners),
        });
        let state = Arc::new(ClientState::new(self.settings, service, listeners));
        let (ws, at) = session::open_first(&state.settings).await?;
        let client = Client { state };
        session::start(client.clone(), ws, at, self.on_reconnect);
        // Calls may go out once the connection task has taken over.
        let mut state = client.watch_state();
        let _ = state
            .wait_for(|state| *state != ConnectionState::Connecting)
            .await;
        Ok(client)
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("urls", &self.settings.urls)
            .field("request_timeout", &self.settings.request_timeout)
            .field("max_pending_requests", &self.settings.max_pending_requests)
            .field("ping_interval", &self.settings.ping_interval)
            .field("reconnect", &self.settings.reconnect)
            .finish_non_exhaustive()
    }
}

/// What answers the server: notification handlers first, then the served
/// service; a notification neither knows goes to the `notifications()`
/// streams; anything else is an unknown method.
struct Incoming {
    handlers: HashMap<String, Handler>,
    service: Option<Arc<dyn Service>>,
    listeners: Arc<Listeners>,
}

impl Service for Incoming {
    fn call<'a>(&'a self, call: Call<'a>) -> MethodFuture<'a> {
        if let Some(handler) = self.handlers.get(call.method) {
            handler(call.params);
            return MethodFuture::ok(&());
        }
        let served = self
            .service
            .as_ref()
            .is_some_and(|service| service.method(call.method).is_some());
        if call.is_notification() && !served && self.listeners.deliver(call.method, call.params) {
            return MethodFuture::ok(&());
        }
        match &self.service {
            Some(service) => service.call(call),
            None => MethodFuture::err(RpcError::method_not_found()),
        }
    }

    fn method(&self, name: &str) -> Option<&rpc_core::MethodInfo> {
        self.service.as_ref()?.method(name)
    }

    fn openrpc(&self) -> Option<&rpc_core::OpenRpc> {
        self.service.as_ref()?.openrpc()
    }
}
