//! Every knob of the server ([`ServerConfig`]), with defaults, reading them
//! from the environment, and the types of its settings.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

pub use rpc_core::{Limits, Rate};

pub use crate::addresses::{ParseProxiesError, TrustedProxies};
use crate::groups::SlowMemberPolicy;
pub use crate::origin::AllowedOrigins;
#[cfg(feature = "tls")]
pub use crate::tls::TlsConfig;

/// The server's configuration. Every field has a default ([`ServerConfig::default`])
/// and a setter on [`ServerBuilder`](crate::ServerBuilder); each can also be
/// read from an environment variable ([`ServerConfig::from_env`]).
///
/// | field | default | variable |
/// |---|---|---|
/// | `limits.max_message_size` | 10 MiB | `RPC_MAX_MESSAGE_SIZE` |
/// | `limits.max_array_items` | 10,000 | `RPC_MAX_ARRAY_ITEMS` |
/// | `limits.max_string_length` | 1 MiB | `RPC_MAX_STRING_LENGTH` |
/// | `limits.max_depth` | 20 | `RPC_MAX_DEPTH` |
/// | `limits.max_method_name_length` | 256 | `RPC_MAX_METHOD_NAME_LENGTH` |
/// | `limits.max_batch_size` | 100 | `RPC_MAX_BATCH_SIZE` |
/// | [`max_frame_size`](Self::max_frame_size) | 64 MiB | `RPC_MAX_FRAME_SIZE` |
/// | [`max_connections`](Self::max_connections) | 10,000 | `RPC_MAX_CONNECTIONS` |
/// | [`max_connections_per_ip`](Self::max_connections_per_ip) | off | `RPC_MAX_CONNECTIONS_PER_IP` |
/// | [`handshake_rate_per_ip`](Self::handshake_rate_per_ip) | off | `RPC_HANDSHAKE_RATE_PER_IP` (`20/s`, `100/m, burst 10`, or `off`) |
/// | [`trusted_proxies`](Self::trusted_proxies) | none | `RPC_TRUSTED_PROXIES` (comma-separated addresses and networks) |
/// | [`max_incoming_bytes`](Self::max_incoming_bytes) | 256 MiB | `RPC_MAX_INCOMING_BYTES` |
/// | [`max_pending_requests`](Self::max_pending_requests) | 1,000 | `RPC_MAX_PENDING_REQUESTS` |
/// | [`outgoing_queue`](Self::outgoing_queue) | 64 | `RPC_OUTGOING_QUEUE` |
/// | [`max_queued_bytes`](Self::max_queued_bytes) | 4 MiB | `RPC_MAX_QUEUED_BYTES` |
/// | [`max_outgoing_bytes`](Self::max_outgoing_bytes) | 512 MiB | `RPC_MAX_OUTGOING_BYTES` |
/// | [`max_subscriptions_per_connection`](Self::max_subscriptions_per_connection) | 1,024 | `RPC_MAX_SUBSCRIPTIONS_PER_CONNECTION` |
/// | [`request_timeout`](Self::request_timeout) | 60 s | `RPC_REQUEST_TIMEOUT` |
/// | [`handshake_timeout`](Self::handshake_timeout) | 10 s | `RPC_HANDSHAKE_TIMEOUT` |
/// | [`keep_alive_timeout`](Self::keep_alive_timeout) | 30 s | `RPC_KEEP_ALIVE_TIMEOUT` |
/// | [`message_timeout`](Self::message_timeout) | 30 s | `RPC_MESSAGE_TIMEOUT` |
/// | [`max_header_bytes`](Self::max_header_bytes) | 32 KiB | `RPC_MAX_HEADER_BYTES` |
/// | [`peer_call_timeout`](Self::peer_call_timeout) | 60 s | `RPC_PEER_CALL_TIMEOUT` |
/// | [`max_groups_per_connection`](Self::max_groups_per_connection) | 1,000 | `RPC_MAX_GROUPS_PER_CONNECTION` |
/// | [`max_group_name_length`](Self::max_group_name_length) | 256 bytes | `RPC_MAX_GROUP_NAME_LENGTH` |
/// | [`slow_member_policy`](Self::slow_member_policy) | `disconnect` | `RPC_SLOW_MEMBER_POLICY` (`disconnect` or `drop-message`) |
/// | [`ping_interval`](Self::ping_interval) | 30 s | `RPC_PING_INTERVAL` |
/// | [`max_missed_pongs`](Self::max_missed_pongs) | 3 | `RPC_MAX_MISSED_PONGS` |
/// | [`idle_timeout`](Self::idle_timeout) | off | `RPC_IDLE_TIMEOUT` |
/// | [`max_connection_age`](Self::max_connection_age) | off | `RPC_MAX_CONNECTION_AGE` |
/// | [`drain_timeout`](Self::drain_timeout) | 30 s | `RPC_DRAIN_TIMEOUT` |
/// | [`read_buffer_size`](Self::read_buffer_size) | 64 KiB | `RPC_READ_BUFFER_SIZE` |
/// | [`write_buffer_size`](Self::write_buffer_size) | 8 KiB | `RPC_WRITE_BUFFER_SIZE` |
/// | [`expose_internal_errors`](Self::expose_internal_errors) | false | `RPC_EXPOSE_INTERNAL_ERRORS` |
/// | [`log_params`](Self::log_params) | false | `RPC_LOG_PARAMS` |
/// | [`allowed_origins`](Self::allowed_origins) | same origin only | `RPC_ALLOWED_ORIGINS` (comma-separated origins and `https://*.domain` patterns, or `*`) |
/// | [`rate_limit`](Self::rate_limit) | off | `RPC_RATE_LIMIT` (`100/s`, `600/m, burst 50`, or `off`) |
/// | [`cors_credentials`](Self::cors_credentials) | false | `RPC_CORS_CREDENTIALS` |
/// | [`jsonrpc1`](Self::jsonrpc1) | false | `RPC_JSONRPC1` |
/// | [`explorer`](Self::explorer) | true | `RPC_EXPLORER` |
/// | [`metrics`](Self::metrics) | false | `RPC_METRICS` |
/// | [`metrics_addr`](Self::metrics_addr) | none (the server's port) | `RPC_METRICS_ADDR` |
/// | `tls` (feature `tls`) | off | `RPC_TLS_CERT` and `RPC_TLS_KEY` (PEM file paths, both or neither) |
///
/// Durations are written `250ms`, `30s`, `5m` or `1h`; an optional one can
/// also be `off`. Sizes are a number of bytes. Booleans are `true` or
/// `false`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The protocol limits (message size, params shape, batch size).
    pub limits: Limits,
    /// The hard cap on one WebSocket message or frame. A message between
    /// `limits.max_message_size` and this is answered with REQUEST_TOO_LARGE
    /// and the connection carries on; one beyond it closes the connection
    /// with 1009 (it is never buffered whole).
    pub max_frame_size: usize,
    /// Open connections at most; one more is refused at the handshake with
    /// HTTP 503.
    pub max_connections: usize,
    /// Connections one client address may hold at once; one more is
    /// refused at the handshake with HTTP 429 (and closed). `None` for no
    /// limit (clients behind one NAT share an address: size it for them).
    pub max_connections_per_ip: Option<usize>,
    /// New connections one client address may open: past this rate one is
    /// refused with HTTP 429 and `Retry-After`. `None` for no limit.
    pub handshake_rate_per_ip: Option<Rate>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers name
    /// the client: behind them the per-address limits, the HTTP rate limit
    /// and [`ConnectionInfo::client_ip`](rpc_core::ConnectionInfo::client_ip)
    /// use the forwarded address. From any other peer the headers are
    /// ignored (a client could write anything there).
    pub trusted_proxies: TrustedProxies,
    /// Bytes of unfinished incoming messages the whole server may hold:
    /// WebSocket messages whose frames have started to arrive, and HTTP
    /// bodies. A frame's size is reserved when its header arrives, before
    /// its payload is read; a connection whose frame finds no room is not
    /// read until another message completes or its connection closes
    /// (bounded by [`message_timeout`](Self::message_timeout)), while the
    /// others are served. An HTTP request that finds no room within the
    /// message timeout is answered 503. Keep it above `max_frame_size`: a
    /// larger frame takes the whole budget.
    pub max_incoming_bytes: usize,
    /// Calls running at once on one WebSocket connection, each call of a
    /// batch counting; one more is answered with SERVER_OVERLOADED
    /// (-32003), and a batch's calls past it too.
    pub max_pending_requests: usize,
    /// Replies answered at once but not yet written, on one connection.
    /// Past this many (or past `max_queued_bytes` of them) the server stops
    /// reading from that client until it takes what is written.
    pub outgoing_queue: usize,
    /// Bytes waiting in one connection's queue at most: replies of calls
    /// that ran on their own tasks, notifications, group broadcasts and
    /// calls to the client. Replies answered at once and not yet written
    /// have a budget of this size too, past which the connection is not
    /// read. A reply waits for room; a push that finds no
    /// room finds a client that is not draining what it is sent, and
    /// [`slow_member_policy`](Self::slow_member_policy) applies. A message
    /// larger than the whole budget still goes through an empty queue.
    pub max_queued_bytes: usize,
    /// Bytes waiting to be written to WebSocket clients, server-wide:
    /// queued, held for a write, or written to a socket and not yet
    /// flushed. Past it, the connections holding the most are closed as
    /// too slow ([`DisconnectReason::TooSlow`](rpc_core::DisconnectReason::TooSlow),
    /// close code 1008) until what the others hold fits; their memory goes
    /// as they close (within a second). A connection holding up to 64 KiB
    /// is not counted, so a server under ordinary load never gets here.
    pub max_outgoing_bytes: usize,
    /// Subscriptions one connection may have open at once; one more is
    /// refused with REQUEST_TOO_LARGE naming the limit.
    pub max_subscriptions_per_connection: usize,
    /// How long a method may run unless it declares `#[rpc(timeout)]`;
    /// `None` for no limit.
    pub request_timeout: Option<Duration>,
    /// How long a client has to send its first request (the WebSocket
    /// handshake, or an HTTP request), headers and all; also how long
    /// `on_connect` may take to answer (503 past it).
    pub handshake_timeout: Duration,
    /// How long an HTTP keep-alive connection may sit idle between
    /// requests (the next request's headers included).
    pub keep_alive_timeout: Duration,
    /// The most bytes a request's head (request line and headers) may
    /// carry; past it the request is answered 431 and the connection
    /// closes. A WebSocket connection keeps its handshake's headers (for
    /// `RpcContext::headers`), so this also bounds what each one holds.
    pub max_header_bytes: usize,
    /// How long a message may take to arrive once it has started: an HTTP
    /// request's body once its headers are in (past it: 408, and the
    /// connection closes), a WebSocket message once its first frame header
    /// is in (past it: the connection closes with 1008). A slow sender
    /// cannot hold a connection, and the message's memory, for as long as
    /// it likes. `None` for no limit.
    pub message_timeout: Option<Duration>,
    /// How long a call from the server to a client (`Peer::call`) waits
    /// for the client's response, and how long a notification or call to
    /// a client waits for room in its queue (a client that does not read):
    /// past it, `CallError::Timeout`.
    pub peer_call_timeout: Duration,
    /// Groups one connection may be in at once; one more `join` fails with
    /// REQUEST_TOO_LARGE.
    pub max_groups_per_connection: usize,
    /// The longest group name `join` takes, in bytes; a longer one fails
    /// with REQUEST_TOO_LARGE.
    pub max_group_name_length: usize,
    /// What a push (group broadcast, `notify_connection`) does to a
    /// connection whose queue is at `max_queued_bytes`.
    pub slow_member_policy: SlowMemberPolicy,
    /// How often to ping a client; `None` to never ping.
    pub ping_interval: Option<Duration>,
    /// Pings left unanswered before the connection is closed.
    pub max_missed_pongs: u32,
    /// Close a connection that sends no message (text or binary frame) for
    /// this long; `None` to never. Pings and pongs do not count: a client
    /// that only answers the server's pings is idle.
    pub idle_timeout: Option<Duration>,
    /// Close a connection this long after it opened, once its in-flight
    /// requests are answered; `None` to never.
    pub max_connection_age: Option<Duration>,
    /// How long a graceful shutdown waits for in-flight requests before
    /// closing connections regardless.
    pub drain_timeout: Duration,
    /// The most a WebSocket connection reads from its socket at once, in
    /// bytes. A buffer this large exists only while data is arriving: an
    /// idle connection holds none.
    pub read_buffer_size: usize,
    /// How much outgoing data is gathered before a write, in bytes.
    pub write_buffer_size: usize,
    /// A development switch: send the detail of sanitized errors (and
    /// panics) to the client. Never in production: errors are sanitized by
    /// default.
    pub expose_internal_errors: bool,
    /// Log each call's params at `debug` level (off by default: they may
    /// hold personal data).
    pub log_params: bool,
    /// The web pages that may open a WebSocket: besides handshakes without
    /// an `Origin` (not a browser) and same-origin ones, only those listed.
    /// Any other is refused with 403 before `on_connect` runs.
    ///
    /// The same list answers CORS for the HTTP transport: a page on an
    /// allowed origin may `POST /` and `GET /openrpc.json` (preflights
    /// allow `Content-Type` and `Authorization`); a request from any other
    /// page is refused with 403.
    pub allowed_origins: AllowedOrigins,
    /// How many calls one client may make: each WebSocket connection, and
    /// the HTTP requests of each client address together, get a token
    /// bucket of this rate (a batch takes a token per call). A call past it
    /// is answered RATE_LIMITED (-32004) with `data.retry_after_ms`, and the
    /// connection carries on. Methods can have a rate of their own
    /// (`#[rpc(rate = "10/s")]`), checked as well. `None` for no limit.
    pub rate_limit: Option<Rate>,
    /// Let allowed pages make HTTP calls with the user's cookies
    /// (`Access-Control-Allow-Credentials: true`). Off: browsers then send
    /// cross-origin calls without cookies, and a page authenticates with a
    /// token in `Authorization`.
    pub cors_credentials: bool,
    /// Also speak JSON-RPC 1.0: a request without a `jsonrpc` member is
    /// read as 1.0 (params an array, `"id": null` for a notification) and
    /// answered in 1.0's shape (`result` and `error` both present, one of
    /// them null, no `jsonrpc`). JSON-RPC 2.0 requests are unchanged, and
    /// batches are 2.0 only. Off: such a request is an Invalid Request.
    pub jsonrpc1: bool,
    /// Serve the API explorer at `GET /explorer`: a page (compiled into
    /// the server, loading nothing from elsewhere) that lists the methods a
    /// connection may call, with a form for each, and shows the results
    /// and the server's notifications. It calls over a WebSocket like any
    /// client, so `on_connect`, the origin check and every limit apply to it.
    pub explorer: bool,
    /// Serve Prometheus metrics at `GET /metrics` (the OpenMetrics text
    /// format): connections open and accepted, handshakes and requests
    /// refused by reason, calls by method and outcome (`ok`, or the error
    /// code), call durations by method, calls in flight. Method labels are
    /// only the service's own methods (`unknown` for any other name), so
    /// clients cannot grow the label set. Off by default: on the server's
    /// own port the page is as public as the port, so put the port behind
    /// something that keeps `/metrics` internal. With metrics off nothing
    /// is counted and the call path is unchanged.
    pub metrics: bool,
    /// Serve `GET /metrics` on this address instead of the server's own
    /// port (which then answers 404 there), so that they stay internal:
    /// `127.0.0.1:9100`, say. Setting it turns [`metrics`](Self::metrics)
    /// on. It is bound with the server, so a port in use is an error of
    /// `serve`; a mounted [`Endpoint`](crate::Endpoint) has no listener of
    /// its own and does not serve it.
    pub metrics_addr: Option<SocketAddr>,
    /// Terminate TLS with this certificate and key: `wss://` and
    /// `https://` on the same port.
    #[cfg(feature = "tls")]
    pub tls: Option<TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            max_frame_size: 64 * 1024 * 1024,
            max_connections: 10_000,
            max_connections_per_ip: None,
            handshake_rate_per_ip: None,
            trusted_proxies: TrustedProxies::none(),
            max_incoming_bytes: 256 * 1024 * 1024,
            max_pending_requests: 1_000,
            outgoing_queue: 64,
            max_queued_bytes: 4 * 1024 * 1024,
            max_outgoing_bytes: 512 * 1024 * 1024,
            max_subscriptions_per_connection: 1_024,
            request_timeout: Some(Duration::from_secs(60)),
            handshake_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(30),
            message_timeout: Some(Duration::from_secs(30)),
            max_header_bytes: 32 * 1024,
            peer_call_timeout: Duration::from_secs(60),
            max_groups_per_connection: 1_000,
            max_group_name_length: 256,
            slow_member_policy: SlowMemberPolicy::Disconnect,
            ping_interval: Some(Duration::from_secs(30)),
            max_missed_pongs: 3,
            idle_timeout: None,
            max_connection_age: None,
            drain_timeout: Duration::from_secs(30),
            read_buffer_size: 64 * 1024,
            write_buffer_size: 8 * 1024,
            expose_internal_errors: false,
            log_params: false,
            allowed_origins: AllowedOrigins::same_origin(),
            rate_limit: None,
            cors_credentials: false,
            jsonrpc1: false,
            explorer: true,
            metrics: false,
            metrics_addr: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// An environment variable with a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    value: String,
    expected: &'static str,
}

impl ConfigError {
    /// `variable` holds `value`, which is not what was `expected` (for
    /// settings of other crates read the same way).
    pub fn new(variable: &'static str, value: impl Into<String>, expected: &'static str) -> Self {
        Self {
            variable,
            value: value.into(),
            expected,
        }
    }

    /// The variable's name.
    pub fn variable(&self) -> &str {
        self.variable
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value {:?} for {}: expected {}",
            self.value, self.variable, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

impl ServerConfig {
    /// The defaults, overridden by every `RPC_*` variable that is set (see
    /// the table above). A variable with an unusable value is an error that
    /// names it.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through
    /// `lookup` (for tests, or another source of settings).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let mut config = Self::default();
        let limits = &mut config.limits;
        env.size("RPC_MAX_MESSAGE_SIZE", &mut limits.max_message_size)?;
        env.size("RPC_MAX_ARRAY_ITEMS", &mut limits.max_array_items)?;
        env.size("RPC_MAX_STRING_LENGTH", &mut limits.max_string_length)?;
        env.size("RPC_MAX_DEPTH", &mut limits.max_depth)?;
        limits.max_depth = limits.max_depth.min(Limits::DEPTH_CEILING);
        env.size(
            "RPC_MAX_METHOD_NAME_LENGTH",
            &mut limits.max_method_name_length,
        )?;
        env.size("RPC_MAX_BATCH_SIZE", &mut limits.max_batch_size)?;
        env.size("RPC_MAX_FRAME_SIZE", &mut config.max_frame_size)?;
        env.size("RPC_MAX_CONNECTIONS", &mut config.max_connections)?;
        let mut per_ip = config.max_connections_per_ip.unwrap_or(0);
        env.size("RPC_MAX_CONNECTIONS_PER_IP", &mut per_ip)?;
        config.max_connections_per_ip = (per_ip > 0).then_some(per_ip);
        env.rate(
            "RPC_HANDSHAKE_RATE_PER_IP",
            &mut config.handshake_rate_per_ip,
        )?;
        env.read(
            "RPC_TRUSTED_PROXIES",
            "comma-separated IP addresses (10.0.0.7) and networks (10.0.0.0/8)",
            |v| v.parse().ok(),
            &mut config.trusted_proxies,
        )?;
        env.size("RPC_MAX_INCOMING_BYTES", &mut config.max_incoming_bytes)?;
        env.size("RPC_MAX_PENDING_REQUESTS", &mut config.max_pending_requests)?;
        env.size("RPC_OUTGOING_QUEUE", &mut config.outgoing_queue)?;
        env.size("RPC_MAX_QUEUED_BYTES", &mut config.max_queued_bytes)?;
        env.size("RPC_MAX_OUTGOING_BYTES", &mut config.max_outgoing_bytes)?;
        env.size(
            "RPC_MAX_SUBSCRIPTIONS_PER_CONNECTION",
            &mut config.max_subscriptions_per_connection,
        )?;
        env.optional_duration("RPC_REQUEST_TIMEOUT", &mut config.request_timeout)?;
        env.duration("RPC_HANDSHAKE_TIMEOUT", &mut config.handshake_timeout)?;
        env.duration("RPC_KEEP_ALIVE_TIMEOUT", &mut config.keep_alive_timeout)?;
        env.optional_duration("RPC_MESSAGE_TIMEOUT", &mut config.message_timeout)?;
        env.size("RPC_MAX_HEADER_BYTES", &mut config.max_header_bytes)?;
        env.duration("RPC_PEER_CALL_TIMEOUT", &mut config.peer_call_timeout)?;
        env.size(
            "RPC_MAX_GROUPS_PER_CONNECTION",
            &mut config.max_groups_per_connection,
        )?;
        env.size(
            "RPC_MAX_GROUP_NAME_LENGTH",
            &mut config.max_group_name_length,
        )?;
        let policy = |v: &str| match v {
            "disconnect" => Some(SlowMemberPolicy::Disconnect),
            "drop-message" => Some(SlowMemberPolicy::DropMessage),
            _ => None,
        };
        env.read(
            "RPC_SLOW_MEMBER_POLICY",
            "disconnect or drop-message",
            policy,
            &mut config.slow_member_policy,
        )?;
        env.optional_duration("RPC_PING_INTERVAL", &mut config.ping_interval)?;
        let mut missed = config.max_missed_pongs as usize;
        env.size("RPC_MAX_MISSED_PONGS", &mut missed)?;
        config.max_missed_pongs = u32::try_from(missed).unwrap_or(u32::MAX);
        env.optional_duration("RPC_IDLE_TIMEOUT", &mut config.idle_timeout)?;
        env.optional_duration("RPC_MAX_CONNECTION_AGE", &mut config.max_connection_age)?;
        env.duration("RPC_DRAIN_TIMEOUT", &mut config.drain_timeout)?;
        env.size("RPC_READ_BUFFER_SIZE", &mut config.read_buffer_size)?;
        env.size("RPC_WRITE_BUFFER_SIZE", &mut config.write_buffer_size)?;
        env.flag(
            "RPC_EXPOSE_INTERNAL_ERRORS",
            &mut config.expose_internal_errors,
        )?;
        env.flag("RPC_LOG_PARAMS", &mut config.log_params)?;
        env.read(
            "RPC_ALLOWED_ORIGINS",
            "comma-separated origins (https://app.example.com) or patterns (https://*.example.com), or *",
            |v| v.parse().ok(),
            &mut config.allowed_origins,
        )?;
        env.rate("RPC_RATE_LIMIT", &mut config.rate_limit)?;
        env.flag("RPC_CORS_CREDENTIALS", &mut config.cors_credentials)?;
        env.flag("RPC_JSONRPC1", &mut config.jsonrpc1)?;
        env.flag("RPC_EXPLORER", &mut config.explorer)?;
        env.flag("RPC_METRICS", &mut config.metrics)?;
        env.read(
            "RPC_METRICS_ADDR",
            "an address to serve /metrics on (127.0.0.1:9100)",
            |v| v.parse().ok().map(Some),
            &mut config.metrics_addr,
        )?;
        #[cfg(feature = "tls")]
        {
            config.tls = env.tls()?;
        }
        config.check()?;
        Ok(config)
    }

    /// Whether the settings can go together: any origin (`*`) with CORS
    /// credentials would let every web page call the server with its
    /// visitors' cookies, so that pair is refused (by `serve`, by the
    /// mounted endpoint, and by [`from_env`](Self::from_env)).
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.cors_credentials && self.allowed_origins.allows_any() {
            return Err(ConfigError::new(
                "RPC_ALLOWED_ORIGINS",
                "*",
                "a list of origins, not `*`, while RPC_CORS_CREDENTIALS (cors_credentials) is true: any page could call the server with its visitors' cookies",
            ));
        }
        Ok(())
    }
}

struct Env<'l>(&'l dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn read<T>(
        &self,
        variable: &'static str,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
        slot: &mut T,
    ) -> Result<(), ConfigError> {
        let Some(value) = (self.0)(variable) else {
            return Ok(());
        };
        *slot = parse(value.trim()).ok_or(ConfigError {
            variable,
            value,
            expected,
        })?;
        Ok(())
    }

    fn size(&self, variable: &'static str, slot: &mut usize) -> Result<(), ConfigError> {
        self.read(
            variable,
            "a positive whole number",
            |v| v.parse().ok().filter(|&n| n > 0),
            slot,
        )
    }

    fn rate(&self, variable: &'static str, slot: &mut Option<Rate>) -> Result<(), ConfigError> {
        let parse = |v: &str| match v {
            "off" | "none" => Some(None),
            _ => v.parse().ok().map(Some),
        };
        self.read(
            variable,
            "a rate per second, minute or hour (100/s, 600/m, 100/h), optionally \", burst N\", or off",
            parse,
            slot,
        )
    }

    fn duration(&self, variable: &'static str, slot: &mut Duration) -> Result<(), ConfigError> {
        self.read(
            variable,
            "a duration like 250ms, 30s, 5m or 1h",
            parse_duration,
            slot,
        )
    }

    fn optional_duration(
        &self,
        variable: &'static str,
        slot: &mut Option<Duration>,
    ) -> Result<(), ConfigError> {
        let parse = |v: &str| match v {
            "off" | "none" => Some(None),
            _ => parse_duration(v).map(Some),
        };
        self.read(
            variable,
            "a duration like 250ms, 30s, 5m or 1h, or off",
            parse,
            slot,
        )
    }

    #[cfg(feature = "tls")]
    fn tls(&self) -> Result<Option<TlsConfig>, ConfigError> {
        match ((self.0)("RPC_TLS_CERT"), (self.0)("RPC_TLS_KEY")) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(TlsConfig::new(cert, key))),
            (Some(_), None) => Err(ConfigError {
                variable: "RPC_TLS_KEY",
                value: String::new(),
                expected: "a private key file, since RPC_TLS_CERT is set",
            }),
            (None, Some(_)) => Err(ConfigError {
                variable: "RPC_TLS_CERT",
                value: String::new(),
                expected: "a certificate chain file, since RPC_TLS_KEY is set",
            }),
        }
    }

    fn flag(&self, variable: &'static str, slot: &mut bool) -> Result<(), ConfigError> {
        let parse = |v: &str| match v {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        };
        self.read(variable, "true or false", parse, slot)
    }
}

/// Reads a duration as the `RPC_*` variables write them: `250ms`, `30s`,
/// `5m`, `1h`; zero and anything else is `None`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(rpc_server::config::parse_duration("250ms"), Some(Duration::from_millis(250)));
/// assert_eq!(rpc_server::config::parse_duration("2 s"), None);
/// ```
pub fn parse_duration(text: &str) -> Option<Duration> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits_end);
    let number: u64 = number.parse().ok()?;
    let millis = match unit {
        "ms" => Some(number),
        "s" => number.checked_mul(1_000),
        "m" => number.checked_mul(60_000),
        "h" => number.checked_mul(3_600_000),
        _ => None,
    }?;
    (millis > 0).then(|| Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<ServerConfig, ConfigError> {
        ServerConfig::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn no_variables_means_defaults() {
        assert_eq!(config(&[]).unwrap(), ServerConfig::default());
    }

    #[test]
    fn every_kind_of_variable_is_read() {
        let c = config(&[
            ("RPC_MAX_CONNECTIONS", "5"),
            ("RPC_MAX_MESSAGE_SIZE", "1024"),
            ("RPC_REQUEST_TIMEOUT", "250ms"),
            ("RPC_PING_INTERVAL", "off"),
            ("RPC_IDLE_TIMEOUT", "5m"),
            ("RPC_EXPOSE_INTERNAL_ERRORS", "true"),
            ("RPC_JSONRPC1", "true"),
            ("RPC_EXPLORER", "false"),
            ("RPC_METRICS", "true"),
            ("RPC_METRICS_ADDR", "127.0.0.1:9100"),
            ("RPC_MAX_OUTGOING_BYTES", "67108864"),
            ("RPC_MAX_SUBSCRIPTIONS_PER_CONNECTION", "10"),
            ("RPC_RATE_LIMIT", "600/m, burst 20"),
            ("RPC_MAX_CONNECTIONS_PER_IP", "50"),
            ("RPC_HANDSHAKE_RATE_PER_IP", "20/s"),
            ("RPC_TRUSTED_PROXIES", "10.0.0.0/8, ::1"),
            (
                "RPC_ALLOWED_ORIGINS",
                "https://a.example, https://*.b.example",
            ),
        ])
        .unwrap();
        assert!(c.allowed_origins.allows(Some("https://x.b.example"), None));
        assert_eq!(c.max_connections, 5);
        assert_eq!(c.limits.max_message_size, 1024);
        assert_eq!(c.request_timeout, Some(Duration::from_millis(250)));
        assert_eq!(c.ping_interval, None);
        assert_eq!(c.idle_timeout, Some(Duration::from_secs(300)));
        assert!(c.expose_internal_errors);
        assert!(c.jsonrpc1);
        assert!(!c.explorer);
        assert!(c.metrics);
        assert_eq!(c.metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(c.max_outgoing_bytes, 64 << 20);
        assert_eq!(c.max_subscriptions_per_connection, 10);
        assert_eq!(c.max_connections_per_ip, Some(50));
        assert_eq!(c.handshake_rate_per_ip, Some(Rate::per_second(20)));
        assert!(c.trusted_proxies.contains("::1".parse().unwrap()));
        assert_eq!(
            c.rate_limit,
            Some(Rate::new(600, Duration::from_secs(60)).with_burst(20))
        );
    }

    #[test]
    fn an_invalid_value_names_the_variable() {
        let err = config(&[("RPC_MAX_PENDING_REQUESTS", "lots")]).unwrap_err();
        assert_eq!(err.variable(), "RPC_MAX_PENDING_REQUESTS");
        assert_eq!(
            err.to_string(),
            r#"invalid value "lots" for RPC_MAX_PENDING_REQUESTS: expected a positive whole number"#
        );
        for (var, value) in [
            ("RPC_HANDSHAKE_TIMEOUT", "off"),
            ("RPC_DRAIN_TIMEOUT", "10 s"),
            ("RPC_LOG_PARAMS", "yes"),
            ("RPC_RATE_LIMIT", "10 per second"),
            ("RPC_TRUSTED_PROXIES", "10.0.0.0/40"),
            ("RPC_ALLOWED_ORIGINS", "a.example"),
            ("RPC_MAX_CONNECTIONS", "0"),
            ("RPC_MAX_CONNECTIONS", "-1"),
            ("RPC_METRICS", "on"),
            ("RPC_METRICS_ADDR", "9100"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable(), var);
        }
    }
}
