//! Support for the code `#[rpc_service]` generates. Not a public API: it may
//! change in any release.

pub use futures_util::Stream;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::wire::decode::{MAX_PARAMS, ParamList, decode};
pub use schemars;

use crate::engine::service::Call;
pub use crate::peer::subscription::RpcItem;
use crate::peer::subscription::Subscription;
use crate::wire::error::RpcError;
use crate::wire::response::{MethodResult, SerializedResult};

/// Types a method may take as a JSON parameter.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC parameter",
    label = "parameters must implement `serde::Deserialize` and `schemars::JsonSchema`",
    note = "derive both: `#[derive(serde::Deserialize, schemars::JsonSchema)]`"
)]
pub trait RpcParam: DeserializeOwned + schemars::JsonSchema {}
impl<T: DeserializeOwned + schemars::JsonSchema> RpcParam for T {}

/// Types a method may return (inside `Result` or not).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC result",
    label = "results must implement `serde::Serialize` and `schemars::JsonSchema`",
    note = "derive both: `#[derive(serde::Serialize, schemars::JsonSchema)]`"
)]
pub trait RpcResult: Serialize + schemars::JsonSchema {}
impl<T: Serialize + schemars::JsonSchema + ?Sized> RpcResult for T {}

/// Fails to compile, at the parameter's type, unless it can be a parameter.
pub const fn assert_param<T: RpcParam>() {}

/// Fails to compile, at the return type, unless it can be a result.
pub const fn assert_result<T: RpcResult + ?Sized>() {}

/// Return types that are a `Result` (or an alias of one).
pub trait ReturnsResult {
    /// The success type.
    type Ok;
    /// The error type.
    type Err;
    /// The value as a `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> ReturnsResult for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Self {
        self
    }
}

/// Serializes a method's plain return value.
pub fn respond<T: Serialize>(value: T) -> MethodResult {
    SerializedResult::new(&value)
}

/// Serializes a method's `Result`, converting its error.
pub fn respond_result<R>(result: R) -> MethodResult
where
    R: ReturnsResult,
    R::Ok: Serialize,
    R::Err: Into<RpcError>,
{
    match result.into_result() {
        Ok(value) => SerializedResult::new(&value),
        Err(err) => Err(err.into()),
    }
}

/// A notification method's answer when called with an id: `null`.
pub fn respond_null() -> MethodResult {
    SerializedResult::new(&())
}

/// A notification method's `Result`: `null` or its error.
pub fn respond_null_result<R>(result: R) -> MethodResult
where
    R: ReturnsResult,
    R::Err: Into<RpcError>,
{
    match result.into_result() {
        Ok(_) => respond_null(),
        Err(err) => Err(err.into()),
    }
}

/// A subscribe call, checked before the method runs: it has an id to
/// answer with, comes alone (not in a batch), over a connection that can
/// take notifications.
#[derive(Debug)]
pub struct Opening<'a> {
    call_id: crate::wire::id::Id<'a>,
    peer: crate::peer::Peer,
    notification: &'static str,
}

impl<'a> Opening<'a> {
    /// Checks `call`, a call of the subscription method whose notifications
    /// are `notification`.
    pub fn new(call: &Call<'a>, notification: &'static str) -> Result<Self, RpcError> {
        let Some(call_id) = call.id else {
            return Err(RpcError::invalid_request(
                "a subscription is opened by a call with an id (the reply carries the subscription's)",
            ));
        };
        if call.version != crate::wire::request::Version::V2 {
            return Err(RpcError::invalid_request(
                "subscriptions are JSON-RPC 2.0 only",
            ));
        }
        if call.in_batch {
            return Err(RpcError::invalid_request(
                "a subscription cannot be opened in a batch: send its call alone",
            ));
        }
        let Some(peer) = call.connection.peer().cloned() else {
            return Err(RpcError::method_not_found());
        };
        Ok(Self {
            call_id,
            peer,
            notification,
        })
    }

    /// Opens the subscription over `items`, what the method returned.
    pub fn open<S>(self, items: S) -> MethodResult
    where
        S: Stream + Send + 'static,
        S::Item: RpcItem,
    {
        let subscription = Subscription::new(self.notification, self.call_id, items)?;
        let id = subscription.id().to_owned();
        self.peer.link().open_subscription(subscription)?;
        SerializedResult::sent(&id)
    }

    /// Opens the subscription over the stream of a method's `Ok`, or
    /// answers with its error.
    pub fn open_result<R>(self, result: R) -> MethodResult
    where
        R: ReturnsResult,
        R::Ok: Stream + Send + 'static,
        <R::Ok as Stream>::Item: RpcItem,
        R::Err: Into<RpcError>,
    {
        match result.into_result() {
            Ok(items) => self.open(items),
            Err(err) => Err(err.into()),
        }
    }
}

/// Runs an unsubscribe method: closes the caller's own subscription whose
/// id is the one parameter (`subscription` by name), if it sends
/// `notification` notifications; answers whether it did.
pub fn unsubscribe(call: &Call<'_>, notification: &'static str) -> MethodResult {
    let (id,): (String,) = decode(call.params, &["subscription"])?;
    let closed = call
        .connection
        .peer()
        .is_some_and(|peer| peer.link().close_subscription(notification, &id));
    SerializedResult::new(&closed)
}

/// The schema of a subscription's item.
pub fn item_schema<T: RpcItem>(
    generator: &mut schemars::generate::SchemaGenerator,
) -> schemars::Schema {
    T::item_schema(generator)
}
