//! One way to reach the server whatever the URL's scheme: a WebSocket
//! connection (rpc-client) for ws:// and wss://, one POST per command for
//! http:// and https://.

mod http;
mod tls;

use serde::ser::{Serialize, SerializeStruct as _, Serializer};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::args::ConnectionOptions;
use crate::failure::Failure;

pub(crate) use self::http::HttpEndpoint;

/// A request of a batch, as read from stdin.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) params: Option<Value>,
    /// The caller's id; `None` for a notification.
    pub(crate) id: Option<Value>,
}

/// The response to a call of a batch, printed with its members in the
/// usual order (a `Value` would sort them).
#[derive(Debug)]
pub(crate) struct Response {
    /// The caller's id.
    pub(crate) id: Value,
    /// The result, or the error object.
    pub(crate) outcome: Result<Value, Value>,
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut response = serializer.serialize_struct("Response", 3)?;
        response.serialize_field("jsonrpc", "2.0")?;
        match &self.outcome {
            Ok(result) => response.serialize_field("result", result)?,
            Err(error) => response.serialize_field("error", error)?,
        }
        response.serialize_field("id", &self.id)?;
        response.end()
    }
}

/// The server, over the URL's transport.
#[derive(Debug)]
pub(crate) enum Connection {
    WebSocket(rpc_client::Client),
    Http(HttpEndpoint),
}

impl Connection {
    /// Connects (ws://, wss://) or checks the URL (http://, https://: each
    /// command is one request, made when it is sent).
    pub(crate) async fn open(url: &str, options: &ConnectionOptions) -> Result<Self, Failure> {
        match scheme(url)? {
            Scheme::WebSocket => Ok(Self::WebSocket(websocket(url, options).await?)),
            Scheme::Http => Ok(Self::Http(HttpEndpoint::new(url, options)?)),
        }
    }

    /// Calls `method`; its result.
    pub(crate) async fn call(
        &self,
        method: &str,
        params: Option<&Value>,
    ) -> Result<Value, Failure> {
        match self {
            Self::WebSocket(client) => {
                let raw = client.call_raw(method, raw_params(params)?).await?;
                Ok(serde_json::from_str(raw.get()).unwrap_or(Value::Null))
            }
            Self::Http(endpoint) => {
                let request =
                    json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
                let response = endpoint.post(&without_null_params(request)).await?;
                let Some(response) = response else {
                    return Err(Failure::Unreachable(
                        "the server answered the call with no response".to_owned(),
                    ));
                };
                outcome(response)
            }
        }
    }

    /// Sends `method` as a notification.
    pub(crate) async fn notify(&self, method: &str, params: Option<&Value>) -> Result<(), Failure> {
        match self {
            Self::WebSocket(client) => Ok(client.notify(method, params).await?),
            Self::Http(endpoint) => {
                let request = json!({"jsonrpc": "2.0", "method": method, "params": params});
                endpoint.post(&without_null_params(request)).await?;
                Ok(())
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
                    .map(|answer| match answer {
                        Ok(raw) => Ok(serde_json::from_str(raw.get()).unwrap_or(Value::Null)),
                        Err(err) => Err(Failure::from(err)),
                    })
                    .collect::<Vec<_>>()
            }
            Self::Http(endpoint) => http_batch(endpoint, requests).await?,
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

fn scheme(url: &str) -> Result<Scheme, Failure> {
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("ws" | "wss") => Ok(Scheme::WebSocket),
        Some("http" | "https") => Ok(Scheme::Http),
        _ => Err(Failure::Usage(format!(
            "{url:?}: the URL must start with ws://, wss://, http:// or https://"
        ))),
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
        .request_timeout(options.timeout)
        .tls_config(tls::client_config(options)?);
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

/// A request object without `"params": null` (which JSON-RPC forbids).
fn without_null_params(mut request: Value) -> Value {
    if let Some(object) = request.as_object_mut() {
        if object.get("params").is_some_and(Value::is_null) {
            object.remove("params");
        }
    }
    request
}

/// A response object's result, or its error as a failure.
fn outcome(mut response: Value) -> Result<Value, Failure> {
    if let Some(error) = response.get_mut("error") {
        return Err(Failure::Remote(error.take()));
    }
    match response.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(Failure::Unreachable(format!(
            "the server's answer is not a JSON-RPC response: {response}"
        ))),
    }
}

/// A batch over HTTP: the calls get the ids 0, 1, … so that the responses
/// (in any order) can be matched to them.
async fn http_batch(
    endpoint: &HttpEndpoint,
    requests: Vec<Request>,
) -> Result<Vec<Result<Value, Failure>>, Failure> {
    let mut calls = 0_u64;
    let frame: Vec<Value> = requests
        .into_iter()
        .map(|request| {
            let mut object =
                json!({"jsonrpc": "2.0", "method": request.method, "params": request.params});
            if request.id.is_some() {
                object["id"] = json!(calls);
                calls += 1;
            }
            without_null_params(object)
        })
        .collect();
    let answer = endpoint.post(&Value::Array(frame)).await?;
    let mut slots: Vec<Option<Value>> = vec![None; usize::try_from(calls).unwrap_or(0)];
    match answer {
        Some(Value::Array(responses)) => {
            for response in responses {
                let slot = response
                    .get("id")
                    .and_then(Value::as_u64)
                    .and_then(|id| usize::try_from(id).ok())
                    .and_then(|id| slots.get_mut(id));
                match slot {
                    Some(slot) => *slot = Some(response),
                    // An error for the batch as a whole (id null).
                    None => {
                        return Err(outcome(response)
                            .err()
                            .unwrap_or_else(|| unexpected("a response with an unknown id")));
                    }
                }
            }
        }
        Some(response @ Value::Object(_)) => {
            return Err(outcome(response)
                .err()
                .unwrap_or_else(|| unexpected("an object instead of an array")));
        }
        Some(other) => return Err(unexpected(&other.to_string())),
        None if calls == 0 => {}
        None => return Err(unexpected("no response")),
    }
    Ok(slots
        .into_iter()
        .map(|slot| slot.map_or_else(|| Err(unexpected("a call got no response")), outcome))
        .collect())
}

fn unexpected(what: &str) -> Failure {
    Failure::Unreachable(format!("unexpected answer to the batch: {what}"))
}
