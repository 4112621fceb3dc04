//! The WebSocket handshake: subprotocols, the connection limit, the
//! tungstenite configuration.

use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::config::ServerConfig;

/// The JSON-RPC subprotocol names clients in other ecosystems offer.
pub(crate) const SUBPROTOCOLS: [&str; 2] = ["jsonrpc2.0", "jsonrpc-2.0"];

pub(crate) fn websocket_config(config: &ServerConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(config.write_buffer_size)
        .max_message_size(Some(config.max_frame_size))
        .max_frame_size(Some(config.max_frame_size))
}

/// What the handshake settled.
#[derive(Debug, Default)]
pub(crate) struct Handshake {
    /// The subprotocol agreed on, as the client spelled it, if it offered
    /// one we speak.
    pub(crate) subprotocol: Option<String>,
}

/// Runs the server side of the handshake. With `admit` false the client is
/// refused with HTTP 503 (too many connections).
pub(crate) async fn accept(
    stream: TcpStream,
    admit: bool,
    config: &ServerConfig,
) -> Result<(WebSocketStream<TcpStream>, Handshake), tokio_tungstenite::tungstenite::Error> {
    let mut handshake = Handshake::default();
    // tungstenite's callback type fixes the (large) error type.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, mut response: Response| {
        if !admit {
            let mut refusal = ErrorResponse::new(Some("too many connections".to_owned()));
            *refusal.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return Err(refusal);
        }
        if let Some(offered) = choose_subprotocol(request) {
            // Echoed as offered: clients compare it byte for byte.
            if let Ok(value) = HeaderValue::from_str(offered) {
                response
                    .headers_mut()
                    .insert(header::SEC_WEBSOCKET_PROTOCOL, value);
                handshake.subprotocol = Some(offered.to_owned());
            }
        }
        Ok(response)
    };
    let stream = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        callback,
        Some(websocket_config(config)),
    )
    .await?;
    Ok((stream, handshake))
}

/// The first subprotocol the client offers that we speak.
fn choose_subprotocol(request: &Request) -> Option<&str> {
    request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find(|offered| {
            SUBPROTOCOLS
                .iter()
                .any(|ours| ours.eq_ignore_ascii_case(offered))
        })
}
