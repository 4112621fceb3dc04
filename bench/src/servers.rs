//! The reference servers: a raw tokio-tungstenite echo (the limit of the
//! WebSocket stack underneath), a bare hyper server (the limit of HTTP),
//! and jsonrpsee with the same methods as the `bench_server` example
//! (`add(a, b)`, `echo(s)`).

use std::net::SocketAddr;

use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The echo server's read buffer: tungstenite's default (128 KiB, zeroed
/// before each read) costs memory per connection and throughput; 4 KiB was
/// the best measured (see `BENCHMARKS.md`).
pub const ECHO_READ_BUFFER: usize = 4 * 1024;

/// Serves a raw WebSocket echo on `listener` until the task is dropped:
/// every text or binary message comes back as it was, the replies to what
/// already arrived gathered into one write.
pub async fn echo(listener: TcpListener, read_buffer: usize) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(echo_connection(stream, read_buffer));
    }
}

async fn echo_connection(stream: TcpStream, read_buffer: usize) {
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default().read_buffer_size(read_buffer);
    let Ok(mut socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await
    else {
        return;
    };
    let mut next = socket.next().await;
    while let Some(Ok(message)) = next {
        if message.is_text() || message.is_binary() {
            if socket.feed(message).await.is_err() {
                return;
            }
        } else if message.is_close() {
            return;
        }
        next = match socket.next().now_or_never() {
            Some(more) => more,
            None => {
                if socket.flush().await.is_err() {
                    return;
                }
                socket.next().await
            }
        };
    }
}

/// Starts a jsonrpsee server on `addr` with `add` and `echo`, configured as
/// shipped except for the connection limit (100 by default, too few for the
/// idle-connection measurement). Returns its address and its handle (the
/// server stops when the handle is dropped).
pub async fn jsonrpsee(
    addr: &str,
) -> std::io::Result<(SocketAddr, jsonrpsee::server::ServerHandle)> {
    use jsonrpsee::server::{RpcModule, Server, ServerConfig};
    use jsonrpsee::types::ErrorObjectOwned;

    let config = ServerConfig::builder().max_connections(100_000).build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let mut module = RpcModule::new(());
    module
        .register_method("add", |params, _, _| {
            let (a, b): (u64, u64) = params.parse()?;
            Ok::<_, ErrorObjectOwned>(a + b)
        })
        .map_err(std::io::Error::other)?;
    module
        .register_method("echo", |params, _, _| {
            let (s,): (String,) = params.parse()?;
            Ok::<_, ErrorObjectOwned>(s)
        })
        .map_err(std::io::Error::other)?;
    let local = server.local_addr()?;
    Ok((local, server.start(module)))
}

/// What the bare hyper server answers to every request: `add(1, 2)`'s reply.
pub const HYPER_ANSWER: &str = r#"{"jsonrpc":"2.0","result":3,"id":1}"#;

/// Serves HTTP/1.1 with hyper alone on `listener` until the task is
/// dropped: each request's body is read in full and answered with
/// [`HYPER_ANSWER`], connections kept alive. The limit an HTTP JSON-RPC
/// server on hyper can approach.
pub async fn bare_hyper(listener: TcpListener) {
    use http_body_util::{BodyExt as _, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper::{Request, Response, header};

    async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
        request.into_body().collect().await?;
        let mut response = Response::new(Full::new(Bytes::from_static(HYPER_ANSWER.as_bytes())));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        Ok(response)
    }

    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
            hyper_util::rt::TokioIo::new(stream),
            hyper::service::service_fn(answer),
        ));
    }
}
