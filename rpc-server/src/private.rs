//! Support for the code `#[rpc_service]` generates. Not a public API: it may
//! change in any release.

pub use rpc_core::__private::*;
pub use rpc_core::{
    Call, MethodFuture, MethodInfo, MethodResult, OpenRpc, OpenRpcInfo, ParamInfo, Rate, RpcError,
    Service, Transport, schema_for,
};

/// Fails to compile unless a service with `blocking` methods is `Clone`.
#[diagnostic::on_unimplemented(
    message = "a service with `#[rpc(blocking)]` methods must be `Clone`",
    label = "a clone of the service runs on the blocking thread pool",
    note = "derive `Clone`; keep state state in an `Arc` so the clone is cheap"
)]
pub trait CloneForBlocking: Clone {}
impl<T: Clone> CloneForBlocking for T {}

/// The clone of the service that a `blocking` method runs on.
pub fn clone_for_blocking<T: CloneForBlocking>(service: &T) -> T {
    service.clone()
}

/// Runs a `blocking` method on tokio's blocking thread pool, or inline when
/// there is no tokio runtime (a test that drives the protocol by hand).
pub async fn run_blocking<F>(method: F) -> MethodResult
where
    F: FnOnce() -> MethodResult + Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return method();
    };
    match runtime.spawn_blocking(method).await {
        Ok(result) => result,
        Err(err) if err.is_panic() => {
            let panic = err.into_panic();
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(a panic payload that is not a string)");
            Err(RpcError::internal(format_args!(
                "blocking method panicked: {message}"
            )))
        }
        Err(err) => Err(RpcError::internal(format_args!(
            "blocking method did not finish: {err}"
        ))),
    }
}

/// Feeds `input` to one connection of a server for `service`, as if a
/// client had sent it and then closed its side, and returns what the server
/// wrote back. For the HTTP fuzz target; drives the real HTTP/WebSocket
/// handling over an in-memory stream.
pub async fn serve_bytes<S: Service>(service: S, input: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let config = crate::ServerConfig {
        handshake_timeout: std::time::Duration::from_millis(200),
        ..crate::ServerConfig::default()
    };
    let state = std::sync::Arc::new(crate::state::State::new(
        service,
        config,
        crate::state::Extras::default(),
    ));
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let (_stop, signal) = crate::shutdown::channel();
    let remote = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
    let serving =
        crate::transport::serve_io(server, remote, crate::transport::Admit::Yes, state, signal);
    let talking = async move {
        let _ = client.write_all(input).await;
        let _ = client.shutdown().await;
        let mut output = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            client.read_to_end(&mut output),
        )
        .await;
        output
    };
    let (_, output) = tokio::join!(serving, talking);
    output
}
