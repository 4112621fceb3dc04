//! An in-memory test harness: call a service through the same pipeline the
//! server runs, without a socket.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rpc_core::{ConnectionInfo, RpcError, Service};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::ServerConfig;
use crate::state::{Extras, State};

/// Calls a service in memory through the server's protocol pipeline
/// (limits, timeouts, error sanitizing, panics), from a test. Timeouts run
/// on tokio's clock, so use it inside a tokio runtime (`#[tokio::test]`).
///
/// ```
/// use rpc_server::{rpc_service, RpcError};
/// use rpc_server::testing::TestClient;
///
/// struct Calc;
///
/// #[rpc_service]
/// impl Calc {
///     async fn divide(&self, a: f64, b: f64) -> Result<f64, RpcError> {
///         if b == 0.0 { Err(RpcError::new(4000, "division by zero")) } else { Ok(a / b) }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let client = TestClient::new(Calc);
/// let half: f64 = client.call("divide", (1, 2)).await.unwrap();
/// assert_eq!(half, 0.5);
/// let err = client.call::<f64>("divide", serde_json::json!({"a": 1, "b": 0})).await.unwrap_err();
/// assert_eq!(err.code().code(), 4000);
/// # }
/// ```
pub struct TestClient<S> {
    state: State<S>,
    connection: Arc<ConnectionInfo>,
    next_id: AtomicU64,
}

impl<S: Service> TestClient<S> {
    /// A client for `service` with the default server configuration.
    pub fn new(service: S) -> Self {
        Self::with_config(service, ServerConfig::default())
    }

    /// A client for `service` with `config`'s limits, timeouts and error
    /// settings. For middleware and hooks too, use
    /// [`ServerBuilder::test_client`](crate::ServerBuilder::test_client).
    pub fn with_config(service: S, config: ServerConfig) -> Self {
        Self::from_state(State::new(service, config, Extras::default()))
    }

    pub(crate) fn from_state(state: State<S>) -> Self {
        Self {
            state,
            connection: ConnectionInfo::detached(),
            next_id: AtomicU64::new(1),
        }
    }

    /// Calls as if over `connection`: its permissions, extensions and
    /// handshake details reach the methods (to test what `on_connect`
    /// grants).
    #[must_use]
    pub fn with_connection(mut self, connection: ConnectionInfo) -> Self {
        self.connection = Arc::new(connection);
        self
    }

    /// The service under test.
    pub fn service(&self) -> &S {
        &self.state.service
    }

    /// Calls `method` and decodes its result. `params` must serialize to an
    /// array (by position) or an object (by name); `()` sends none.
    pub async fn call<R: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<R, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = request(method, &params, Some(id))?;
        let reply = self
            .request(&frame)
            .await
            .ok_or_else(|| RpcError::internal("a call got no reply"))?;
        let reply: Response<R> = serde_json::from_str(&reply)
            .map_err(|err| RpcError::internal(format_args!("unreadable reply {reply}: {err}")))?;
        match (reply.result, reply.error) {
            (_, Some(error)) => Err(error),
            (Some(result), None) => Ok(result),
            (None, None) => Err(RpcError::internal("a reply with neither result nor error")),
        }
    }

    /// Sends `method` as a notification.
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), RpcError> {
        let frame = request(method, &params, None)?;
        match self.request(&frame).await {
            None => Ok(()),
            Some(reply) => Err(RpcError::internal(format_args!(
                "a notification was answered: {reply}"
            ))),
        }
    }

    /// Sends one raw frame and returns the raw reply, if any.
    pub async fn request(&self, frame: &str) -> Option<String> {
        let state = &self.state;
        let reply = state
            .protocol
            .handle(&state.service, frame, &self.connection)
            .await?;
        Some(reply.into_string())
    }
}

impl<S> fmt::Debug for TestClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient")
            .field("config", &self.state.config)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct Response<R> {
    result: Option<R>,
    error: Option<RpcError>,
}

fn request(method: &str, params: &impl Serialize, id: Option<u64>) -> Result<String, RpcError> {
    #[derive(Serialize)]
    struct Request<'a> {
        jsonrpc: &'static str,
        method: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<serde_json::Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    }
    let params = serde_json::to_value(params).map_err(RpcError::internal)?;
    let request = Request {
        jsonrpc: "2.0",
        method,
        params: (!params.is_null()).then_some(params),
        id,
    };
    serde_json::to_string(&request).map_err(RpcError::internal)
}
