//! A bare WebSocket client for driving a server over a real socket, and a
//! timeout every socket test runs under.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Runs a socket test, failing it if it hangs.
pub async fn within<F: Future>(limit: Duration, test: F) -> F::Output {
    tokio::time::timeout(limit, test)
        .await
        .expect("the test timed out")
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did next.
#[derive(Debug)]
pub enum Received {
    Text(String),
    Closed(Option<CloseFrame>),
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::connect_to(&format!("ws://{addr}")).await
    }

    /// A handshake carrying `headers` too.
    pub async fn connect_with(addr: SocketAddr, headers: &[(&'static str, &str)]) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let mut request = format!("ws://{addr}")
            .into_client_request()
            .expect("a request");
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, value.parse().expect("a header value"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        Self { ws }
    }

    pub async fn connect_to(url: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        Self { ws }
    }

    pub async fn send(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(Message::Binary(bytes.to_vec().into()))
            .await
            .expect("send");
    }

    /// The next text message or close, skipping pings and pongs.
    pub async fn receive(&mut self) -> Received {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => return Received::Text(text.to_string()),
                Some(Ok(Message::Close(frame))) => return Received::Closed(frame),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Received::Closed(None),
            }
        }
    }

    pub async fn receive_json(&mut self) -> Value {
        match self.receive().await {
            Received::Text(text) => serde_json::from_str(&text).expect("JSON reply"),
            Received::Closed(frame) => panic!("closed instead of replying: {frame:?}"),
        }
    }

    /// Sends a request with `id` and returns the reply.
    pub async fn call(&mut self, method: &str, params: Value, id: u64) -> Value {
        let request =
            serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
        self.send(&request.to_string()).await;
        self.receive_json().await
    }

    /// The close frame the server sends next (replies before it are skipped).
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        loop {
            if let Received::Closed(frame) = self.receive().await {
                return frame;
            }
        }
    }

    /// Breaks the protocol with an unmasked frame: the server ends the
    /// connection at once, without waiting for its calls. The raw socket
    /// is returned so that the connection stays open on this side.
    pub async fn break_protocol(self) -> TcpStream {
        use tokio::io::AsyncWriteExt as _;
        let mut raw = self.into_raw();
        raw.write_all(&[0x81, 0x01, b'x']).await.expect("written");
        raw
    }

    /// The TCP connection under the WebSocket, for writing frames by hand.
    pub fn into_raw(self) -> TcpStream {
        match self.ws.into_inner() {
            MaybeTlsStream::Plain(stream) => stream,
            _ => unreachable!("a plain connection"),
        }
    }
}

/// The code of the first close frame in what a raw socket received.
pub fn close_code(received: &[u8]) -> u16 {
    let close = received
        .windows(4)
        .find(|w| w[0] == 0x88)
        .unwrap_or_else(|| panic!("no close frame in {received:?}"));
    u16::from_be_bytes([close[2], close[3]])
}
