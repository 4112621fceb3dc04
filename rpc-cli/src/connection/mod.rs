//! One way to reach the server whatever the URL's scheme: a WebSocket
//! connection (rpc-client) for ws:// and wss://, one POST per command for
//! http:// and https://.

mod http;
mod messages;
mod tls;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::args::ConnectionOptions;
use crate::failure::Failure;

pub(crate) use self::http::HttpEndpoint;
pub(crate) use self::messages::{Request, Response};

/// The server, over the URL's transport.
#[derive(Debug)]
pub(crate) enum Connection {
    WebSocket(rpc_client::Client),
    Http(Box<HttpEndpoint>),
}

impl Connection {
    /// Connects (ws://, wss://) or checks the URL (http://, https://: each
    /// command is one request, made when it is sent).
    pub(crate) async fn open(url: &str, options: &ConnectionOptions) -> Result<Self, Failure> {
        match scheme(url)? {
            Scheme::WebSocket => Ok(Self::WebSocket(websocket(url, options).await?)),
            Scheme::Http => Ok(Self::Http(Box::new(HttpEndpoint::new(url, options)?))),
        }
    }

    /// Calls `method`; its result, as the server wrote it.
    pub(crate) async fn call(
        &self,
        method: &str,
        params: Option<&Value>,
    ) -> Result<Box<RawValue>, Failure> {
        match self {
            Self::WebSocket(client) => Ok(client.call_raw(method, raw_params(params)?).await?),
            Self::Http(endpoint) => {
                let answer = endpoint
                    .post(messages::request(method, params, Some(0)))
                    .await?;
                let answer = answer.ok_or_else(|| {
                    Failure::Unreachable("the server answered the call with no response".to_owned())
                })?;
                messages::outcome(&answer)
            }
        }
    }

    /// Sends `method` as a notification.
    pub(crate) async fn notify(&self, method: &str, params: Option<&Value>) -> Result<(), Failure> {
        match self {
            Self::WebSocket(client) => Ok(client.notify(method, params).await?),
            Self::Http(endpoint) => {
                // Nothing comes back, unless the server refused the message
                // (too large, say).
                match endpoint
                    .post(messages::request(method, params, None))
                    .await?
                {
                    Some(answer) => messages::outcome(&answer).map(drop),
                    None => Ok(()),
                }
            }
        }
    }

    /// Sends `requests` as one batch; the responses to its calls in their
    /// order, each with the caller's id.
    pub(crate) async fn batch(&self, requests: Vec<Request>) -> Result<Vec<Response>, Failure> {
        let ids: Vec<Value> = requests.iter().filter_map(|r| r.id.clone()).collect();
        let outcomes = match self {
            Self::WebSocket(client) => {
                let mut batch = rpc_client::Batch::new();
                for request in &requests {
                    batch = match request.id {
                        Some(_) => batch.call(&request.method, &request.params),
                        None => batch.notify(&request.method, &request.params),
                    }
                    .map_err(|err| Failure::Usage(err.to_string()))?;
                }
                let answers = client.batch(batch).await?;
                answers
                    .into_iter()
                    .map(|answer| answer.map_err(Failure::from))
                    .collect()
            }
            Self::Http(endpoint) => {
                // The calls get the ids 0, 1, … so that the responses (in
                // any order) can be matched to them.
                let mut ids = 0_u64..;
                let frames: Vec<String> = requests
                    .iter()
                    .map(|request| {
                        let id = request.id.as_ref().and_then(|_| ids.next());
                        messages::request(&request.method, request.params.as_ref(), id)
                    })
                    .collect();
                let calls = requests
                    .iter()
                    .filter(|request| request.id.is_some())
                    .count();
                let answer = endpoint.post(format!("[{}]", frames.join(","))).await?;
                messages::batch_outcomes(answer.as_deref(), calls)?
            }
        };
        outcomes
            .into_iter()
            .zip(ids)
            .map(|(outcome, id)| match outcome {
                Ok(result) => Ok(Response {
                    id,
                    outcome: Ok(result),
                }),
                Err(Failure::Remote(error)) => Ok(Response {
                    id,
                    outcome: Err(error),
                }),
                Err(other) => Err(other),
            })
            .collect()
    }

    /// Closes a WebSocket connection with a closing handshake.
    pub(crate) async fn close(self) {
        if let Self::WebSocket(client) = self {
            client.close().await;
        }
    }
}

enum Scheme {
    WebSocket,
    Http,
}

/// The URL's transport; a URL that is not one of ours, or not a URL, is a
/// usage error.
fn scheme(url: &str) -> Result<Scheme, Failure> {
    let bad = |why: &str| Failure::Usage(format!("{url:?}: {why}"));
    let uri: ::http::Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("the URL has no host"));
    }
    let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
    match scheme.as_deref() {
        Some("ws" | "wss") => Ok(Scheme::WebSocket),
        Some("http" | "https") => Ok(Scheme::Http),
        _ => Err(bad(
            "the URL must start with ws://, wss://, http:// or https://",
        )),
    }
}

/// Whether `url` is a WebSocket URL (checked, so that a bad one is a usage
/// error).
pub(crate) fn is_websocket(url: &str) -> Result<bool, Failure> {
    Ok(matches!(scheme(url)?, Scheme::WebSocket))
}

/// A WebSocket client for one command: no reconnect, the timeout for
/// connecting and for each answer.
pub(crate) async fn websocket(
    url: &str,
    options: &ConnectionOptions,
) -> Result<rpc_client::Client, Failure> {
    let mut builder = rpc_client::Client::builder(url)
        .no_reconnect()
        .connect_timeout(options.timeout)
        .request_timeout(options.timeout);
    if url
        .get(..6)
        .is_some_and(|start| start.eq_ignore_ascii_case("wss://"))
    {
        builder = builder.tls_config(tls::client_config(options)?);
    }
    for (name, value) in options.headers() {
        builder = builder.header(&name, &value);
    }
    builder.connect().await.map_err(|err| match err.status() {
        Some(status) => Failure::Unreachable(format!(
            "{url}: the server refused the WebSocket handshake with HTTP {status}{}",
            reason(status)
        )),
        None => Failure::Unreachable(format!("{url}: {err}")),
    })
}

/// ` Unauthorized` for 401, and so on.
pub(crate) fn reason(status: u16) -> String {
    ::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .map(|reason| format!(" {reason}"))
        .unwrap_or_default()
}

fn raw_params(params: Option<&Value>) -> Result<Option<Box<RawValue>>, Failure> {
    params
        .map(serde_json::value::to_raw_value)
        .transpose()
        .map_err(|err| Failure::Usage(err.to_string()))
}
