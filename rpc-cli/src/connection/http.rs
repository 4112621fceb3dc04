//! http:// and https://: each command is one `POST` of a JSON-RPC message
//! on a fresh HTTP/1.1 connection.

use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, CONTENT_TYPE, HOST};
use http::{Request, Uri};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

use super::messages;
use crate::args::ConnectionOptions;
use crate::failure::Failure;

/// The most of an answer read (a larger one is an error, not a memory
/// blow-up): the size of the largest WebSocket message rpc-client takes.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Where to `POST`, and how.
#[derive(Debug)]
pub(crate) struct HttpEndpoint {
    url: String,
    uri: Uri,
    host: String,
    port: u16,
    /// `host[:port]` as the URL gives it, without any `user@`.
    host_header: String,
    /// Set for https://.
    tls: Option<Arc<ClientConfig>>,
    headers: Vec<(String, String)>,
    timeout: Duration,
}

impl HttpEndpoint {
    pub(crate) fn new(url: &str, options: &ConnectionOptions) -> Result<Self, Failure> {
        let bad = |detail: &str| Failure::Usage(format!("{url:?}: {detail}"));
        let uri: Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        let host_header = match uri.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        // `[::1]` in the URL, `::1` to connect and to name for TLS.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = https
            .then(|| super::tls::client_config(options))
            .transpose()?;
        Ok(Self {
            url: url.to_owned(),
            uri,
            host_header,
            host,
            port,
            tls,
            headers: options.headers(),
            timeout: options.timeout,
        })
    }

    /// Posts `message`; the JSON-RPC answer, `None` for an empty one (the
    /// answer to notifications alone).
    pub(crate) async fn post(&self, message: String) -> Result<Option<String>, Failure> {
        match tokio::time::timeout(self.timeout, self.exchange(message.into_bytes())).await {
            Ok(answer) => answer,
            Err(_) => Err(Failure::Unreachable(format!(
                "{}: no answer within {:?}",
                self.url, self.timeout
            ))),
        }
    }

    async fn exchange(&self, body: Vec<u8>) -> Result<Option<String>, Failure> {
        let unreachable = |detail: String| Failure::Unreachable(format!("{}: {detail}", self.url));
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|err| unreachable(format!("could not connect: {err}")))?;
        let _ = tcp.set_nodelay(true);
        let (status, answer) = match &self.tls {
            None => self.send(tcp, body).await?,
            Some(config) => {
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|err| unreachable(format!("TLS server name: {err}")))?;
                let tls = TlsConnector::from(Arc::clone(config))
                    .connect(name, tcp)
                    .await
                    .map_err(|err| unreachable(format!("TLS: {err}")))?;
                self.send(tls, body).await?
            }
        };
        if answer.is_empty() && status.is_success() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&answer);
        // A JSON-RPC answer counts whatever the status (413 comes with one).
        if messages::is_answer(&text) {
            return Ok(Some(text.into_owned()));
        }
        let text = crate::output::truncated(text.trim());
        Err(unreachable(if status.is_success() {
            format!("the answer is not JSON-RPC: {text}")
        } else {
            format!("the server answered HTTP {status}: {text}")
        }))
    }

    async fn send<S>(&self, io: S, body: Vec<u8>) -> Result<(http::StatusCode, Bytes), Failure>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let failed = |err: hyper::Error| Failure::Unreachable(format!("{}: {err}", self.url));
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(failed)?;
        tokio::spawn(connection);
        let path = self.uri.path_and_query().map_or("/", |path| path.as_str());
        let mut request = Request::post(path)
            .header(HOST, &self.host_header)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json");
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| Failure::Usage(err.to_string()))?;
        let response = sender.send_request(request).await.map_err(failed)?;
        let status = response.status();
        let answer = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|err| {
                Failure::Unreachable(format!("{}: reading the answer: {err}", self.url))
            })?
            .to_bytes();
        Ok((status, answer))
    }
}
