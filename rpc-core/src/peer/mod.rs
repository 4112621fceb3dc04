//! Talking back: notifications and calls from one side of a connection to
//! the other, and the groups a connection belongs to (here); the calls
//! waiting for their responses, a group's messages as a stream, and
//! subscriptions.

pub(crate) mod group_stream;
pub(crate) mod pending;
pub(crate) mod position;
pub(crate) mod subscription;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::connection::id::ConnectionId;
use crate::peer::group_stream::GroupStream;
use crate::peer::position::Position;
use crate::peer::subscription::Subscription;
use crate::wire::error::RpcError;
use crate::wire::id::Id;
use crate::wire::request;

/// Why a call (or notification) to the other side did not produce a result.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CallError {
    /// The connection is closed (or was never open).
    Closed,
    /// No response within the timeout.
    Timeout(Duration),
    /// Too many calls are already waiting for a response.
    Overloaded,
    /// The other side answered with an error.
    Remote(RpcError),
    /// The params could not be serialized, or the result not decoded.
    Codec(String),
    /// Refused on this side before anything was sent (past one of its
    /// limits, say which the error does); a method passes it on as it is.
    Refused(RpcError),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("connection closed"),
            Self::Timeout(after) => write!(f, "no response within {after:?}"),
            Self::Overloaded => f.write_str("too many calls waiting for a response"),
            Self::Remote(error) => write!(f, "the other side answered with an error: {error}"),
            Self::Codec(detail) => write!(f, "could not encode or decode the call: {detail}"),
            Self::Refused(error) => write!(f, "refused: {error}"),
        }
    }
}

impl std::error::Error for CallError {}

/// In a method, a failed call to the other side is an internal error
/// (sanitized), unless it was the other side's own error, which passes on.
impl From<CallError> for RpcError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Remote(error) | CallError::Refused(error) => error,
            other => RpcError::internal(other),
        }
    }
}

/// A boxed future, as [`PeerLink`] returns.
pub type PeerFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a transport provides so that a [`Peer`] can reach the other side
/// of one connection. Implemented by the server and the client; users
/// hold a [`Peer`].
pub trait PeerLink: Send + Sync + 'static {
    /// Queues one frame (a notification) for the other side.
    fn send(&self, frame: String) -> PeerFuture<'_, Result<(), CallError>>;

    /// Sends a request and waits for its response's `result`.
    fn call(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> PeerFuture<'_, Result<Box<RawValue>, CallError>>;

    /// Whether the connection is gone.
    fn is_closed(&self) -> bool;

    /// Joins a named group (see [`Peer::join`]), or says why not.
    /// Transports without groups ignore it.
    fn join(&self, group: &str) -> Result<(), RpcError> {
        let _ = group;
        Ok(())
    }

    /// Leaves a named group.
    fn leave(&self, group: &str) {
        let _ = group;
    }

    /// The groups this connection is in.
    fn groups(&self) -> Vec<String> {
        Vec::new()
    }

    /// Sends one frame to every current member of `group`; returns how many
    /// members on this instance it was queued for, or why not (a group name
    /// past the transport's cap).
    fn broadcast(&self, group: &str, frame: String) -> Result<usize, RpcError> {
        let _ = (group, frame);
        Ok(0)
    }

    /// Sends one frame to the connection `id`, on whichever instance holds
    /// it; false if it certainly did not reach it.
    fn notify_connection(&self, id: ConnectionId, frame: String) -> bool {
        let _ = (id, frame);
        false
    }

    /// Everything broadcast to `group` from now on, as a stream, and
    /// first, when `since` is given, what the group's history holds after
    /// it (see [`Peer::group_stream_since`]); transports without groups
    /// have none.
    fn group_stream(&self, group: &str, since: Option<Position>) -> Result<GroupStream, RpcError> {
        let _ = (group, since);
        Err(RpcError::method_not_found())
    }

    /// Opens a subscription: sends its reply, then its notifications, until
    /// it is closed, its items end or the connection does. Fails (the
    /// subscribe call's error) past the transport's cap on subscriptions,
    /// or on a transport that has none.
    fn open_subscription(&self, subscription: Subscription) -> Result<(), RpcError> {
        drop(subscription);
        Err(RpcError::method_not_found())
    }

    /// Closes this connection's subscription `id`, if it is open and sends
    /// `notification` notifications; whether it was.
    fn close_subscription(&self, notification: &str, id: &str) -> bool {
        let _ = (notification, id);
        false
    }
}

/// A cheap, clonable handle to the other side of one connection: send it
/// notifications, call its methods, and manage the groups the connection
/// is in. A `Peer` kept after the connection closed answers every call with
/// [`CallError::Closed`].
#[derive(Clone)]
pub struct Peer {
    link: Arc<dyn PeerLink>,
}

impl Peer {
    /// A peer over a transport's link.
    pub fn new(link: Arc<dyn PeerLink>) -> Self {
        Self { link }
    }

    /// The transport's link.
    pub(crate) fn link(&self) -> &dyn PeerLink {
        &*self.link
    }

    /// Sends a notification. `params` must serialize to an array or an
    /// object; `()` sends none.
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), CallError> {
        let frame = request_frame(method, params_json(&params)?.as_deref(), None);
        self.link.send(frame).await
    }

    /// Calls a method on the other side and decodes its result.
    pub async fn call<R: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<R, CallError> {
        let raw = self.link.call(method, params_json(&params)?).await?;
        serde_json::from_str(raw.get()).map_err(|err| CallError::Codec(err.to_string()))
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.link.is_closed()
    }

    /// Joins a named group; the connection leaves every group when it
    /// closes. Fails (REQUEST_TOO_LARGE, saying which) past the server's
    /// caps on groups per connection and on the length of a group's name.
    pub fn join(&self, group: &str) -> Result<(), RpcError> {
        self.link.join(group)
    }

    /// Leaves a named group.
    pub fn leave(&self, group: &str) {
        self.link.leave(group);
    }

    /// The groups the connection is in.
    pub fn groups(&self) -> Vec<String> {
        self.link.groups()
    }

    /// Every message broadcast to `group` from now on, until the stream is
    /// dropped: return it from a subscription method and the subscription
    /// follows the group (on every instance, with a shared group backend).
    /// The stream counts as a member of the group while it lives. Fails
    /// (REQUEST_TOO_LARGE) for a name past the server's cap.
    pub fn group_stream(&self, group: &str) -> Result<GroupStream, RpcError> {
        self.link.group_stream(group, None)
    }

    /// Like [`group_stream`](Self::group_stream), but first what the
    /// group's history holds after `since` (the last position the client
    /// saw), each message once and in order, then the live ones, with no
    /// gap and no duplicate between the two. When the history no longer
    /// covers `since` (too old, or another epoch), the stream starts with
    /// [`Positioned::NotRecovered`](crate::Positioned::NotRecovered) instead.
    /// `None` is [`group_stream`](Self::group_stream). Only a group with
    /// history (configured on the group backend) can recover; the others
    /// answer every `since` with `NotRecovered`.
    pub fn group_stream_since(
        &self,
        group: &str,
        since: Option<Position>,
    ) -> Result<GroupStream, RpcError> {
        self.link.group_stream(group, since)
    }

    /// Sends a notification to every current member of `group` (this
    /// connection included, if it is one); the payload is serialized once.
    /// Returns how many members on this instance it was queued for; with a
    /// group backend shared by several instances (`rpc-redis`), the others'
    /// members get it too, and are not in that count. A group name past the
    /// server's cap is refused (`CallError::Refused`, REQUEST_TOO_LARGE).
    pub fn notify_group(
        &self,
        group: &str,
        method: &str,
        params: impl Serialize,
    ) -> Result<usize, CallError> {
        let frame = request_frame(method, params_json(&params)?.as_deref(), None);
        self.link
            .broadcast(group, frame)
            .map_err(CallError::Refused)
    }

    /// Sends a notification to one connection, given its id
    /// ([`RpcContext::connection_id`](crate::RpcContext::connection_id)),
    /// wherever it is: on this instance or, with a shared group backend, on
    /// another (Django Channels' `send` to a `channel_name`). Returns false
    /// when it certainly did not reach it: the connection is closed, or is
    /// on another instance and no backend links them; true means queued for
    /// it here, or handed to the backend for the instance holding it.
    pub fn notify_connection(
        &self,
        id: ConnectionId,
        method: &str,
        params: impl Serialize,
    ) -> Result<bool, CallError> {
        let frame = request_frame(method, params_json(&params)?.as_deref(), None);
        Ok(self.link.notify_connection(id, frame))
    }
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Peer")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Serializes params; `()` (null) means none. Anything but an array or an
/// object is refused, as the specification requires.
pub fn params_json(params: &impl Serialize) -> Result<Option<Box<RawValue>>, CallError> {
    let raw =
        serde_json::value::to_raw_value(params).map_err(|err| CallError::Codec(err.to_string()))?;
    match raw.get().as_bytes().first() {
        Some(b'n') => Ok(None),
        Some(b'[' | b'{') => Ok(Some(raw)),
        _ => Err(CallError::Codec(
            "params must serialize to an array or an object".to_owned(),
        )),
    }
}

/// A request frame (`id` given) or a notification frame (`id` `None`).
pub fn request_frame(method: &str, params: Option<&RawValue>, id: Option<u64>) -> String {
    #[derive(Serialize)]
    struct Frame<'a> {
        jsonrpc: &'static str,
        method: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a RawValue>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    }
    let frame = Frame {
        jsonrpc: "2.0",
        method,
        params,
        id,
    };
    // Strings, raw JSON and a number always serialize.
    serde_json::to_string(&frame).unwrap_or_default()
}

/// A response received from the other side.
#[derive(Debug)]
pub struct Response<'a> {
    /// The id of the request it answers.
    pub id: Id<'a>,
    /// Its `result`, or its `error`.
    pub outcome: Result<&'a RawValue, RpcError>,
}

impl Response<'_> {
    /// The id as a number, the kind this framework's peers and clients use.
    pub fn numeric_id(&self) -> Option<u64> {
        self.id.as_u64()
    }
}

/// Reads `json` as a response object (`result` or `error`, an `id`, no
/// `method`); `None` if it is anything else (a request, a batch, garbage).
pub fn parse_response(json: &str) -> Option<Response<'_>> {
    let members = request::read_members(json).ok()??;
    if members.method.is_some() || members.duplicate {
        return None;
    }
    if !members.jsonrpc.is_some_and(request::is_version_2) {
        return None;
    }
    let id = Id::from_raw(members.id?)?;
    let outcome = match (members.result, members.error) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(serde_json::from_str::<RpcError>(error.get()).ok()?),
        _ => return None,
    };
    Some(Response { id, outcome })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_requests_or_notifications() {
        let params = params_json(&(1, "a")).unwrap();
        assert_eq!(
            request_frame("add", params.as_deref(), Some(3)),
            r#"{"jsonrpc":"2.0","method":"add","params":[1,"a"],"id":3}"#
        );
        assert_eq!(
            request_frame("tick", None, None),
            r#"{"jsonrpc":"2.0","method":"tick"}"#
        );
        assert!(params_json(&()).unwrap().is_none());
        assert!(matches!(params_json(&5), Err(CallError::Codec(_))));
    }

    #[test]
    fn responses_are_told_apart_from_requests() {
        let ok = parse_response(r#"{"jsonrpc":"2.0","result":[1],"id":4}"#).unwrap();
        assert_eq!(ok.numeric_id(), Some(4));
        assert_eq!(ok.outcome.unwrap().get(), "[1]");
        let err = parse_response(
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":5}"#,
        )
        .unwrap();
        assert_eq!(err.outcome.unwrap_err().code().code(), -32601);
        for not_a_response in [
            r#"{"jsonrpc":"2.0","method":"x","id":1}"#,
            r#"{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"x"},"id":1}"#,
            r#"{"jsonrpc":"2.0","result":1}"#,
            r#"{"result":1,"id":1}"#,
            "[]",
            "nonsense",
        ] {
            assert!(parse_response(not_a_response).is_none(), "{not_a_response}");
        }
    }
}
