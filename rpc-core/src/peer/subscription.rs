//! Subscriptions: a call that answers with an id, then a stream of
//! notifications tagged with it, in the format jsonrpsee and Ethereum
//! clients speak:
//!
//! ```text
//! → {"jsonrpc":"2.0","method":"subscribe_counter","params":[1,100],"id":1}
//! ← {"jsonrpc":"2.0","result":"5d41402abc4b2a76b9719d911017c592","id":1}
//! ← {"jsonrpc":"2.0","method":"counter","params":{"subscription":"5d41402abc4b2a76b9719d911017c592","result":1}}
//! ← {"jsonrpc":"2.0","method":"counter","params":{"subscription":"5d41402abc4b2a76b9719d911017c592","result":2}}
//! → {"jsonrpc":"2.0","method":"unsubscribe_counter","params":["5d41402abc4b2a76b9719d911017c592"],"id":2}
//! ← {"jsonrpc":"2.0","result":true,"id":2}
//! ```
//!
//! This module builds what a transport needs to run one ([`Subscription`]:
//! its id, the reply that opens it, its items already framed); the
//! transport's [`PeerLink`](crate::calls::PeerLink) sends the reply and then the
//! items through the connection's queue, so that no item overtakes the
//! reply.

use std::fmt;
use std::pin::Pin;

use futures_util::{Stream, StreamExt as _};

use serde::Serialize;

use crate::peer::position::{Positioned, write_position};
use crate::wire::error::RpcError;
use crate::wire::id::Id;
use crate::wire::plain_str;
use crate::wire::response;
use crate::wire::response::SerializedResult;

/// Types a subscription may send as items: any type with both derives,
/// or a [`Positioned`] one (its position goes beside the item).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a subscription's item",
    label = "items must implement `serde::Serialize` and `schemars::JsonSchema`",
    note = "derive both: `#[derive(serde::Serialize, schemars::JsonSchema)]`"
)]
pub trait RpcItem: Send {
    /// Writes the notification's params members after `"subscription"`:
    /// `,"result":…` and whatever goes with it; false if it cannot be
    /// serialized.
    fn write_members(&self, out: &mut Vec<u8>) -> bool;

    /// The schema of what `result` carries.
    fn item_schema(generator: &mut schemars::generate::SchemaGenerator) -> schemars::Schema;
}

impl<T: Serialize + schemars::JsonSchema + Send> RpcItem for T {
    fn write_members(&self, out: &mut Vec<u8>) -> bool {
        out.extend_from_slice(br#","result":"#);
        plain_str::write_if_str(self, out) || serde_json::to_writer(&mut *out, self).is_ok()
    }

    fn item_schema(generator: &mut schemars::generate::SchemaGenerator) -> schemars::Schema {
        crate::describe::metadata::schema_for::<T>(generator)
    }
}

// `Positioned` is not `Serialize`, so this does not overlap the impl above.
impl<T: Serialize + schemars::JsonSchema + Send> RpcItem for Positioned<T> {
    fn write_members(&self, out: &mut Vec<u8>) -> bool {
        match self {
            Positioned::Item { item, position } => {
                if !item.write_members(out) {
                    return false;
                }
                if let Some(position) = position {
                    write_position(out, position);
                }
            }
            Positioned::NotRecovered { position } => {
                out.extend_from_slice(br#","recovered":false"#);
                write_position(out, position);
            }
        }
        true
    }

    fn item_schema(generator: &mut schemars::generate::SchemaGenerator) -> schemars::Schema {
        T::item_schema(generator)
    }
}

/// The stream of a subscription's notification frames.
pub type Frames = Pin<Box<dyn Stream<Item = String> + Send>>;

/// One subscription, ready to run: what a [`PeerLink`](crate::calls::PeerLink)
/// receives to open it.
pub struct Subscription {
    id: String,
    notification: &'static str,
    reply: String,
    frames: Frames,
}

impl Subscription {
    /// A subscription answering the call `call_id` and sending each item
    /// of `items` as a `notification` notification. Items are any type
    /// that is `Serialize` and `JsonSchema`, or a
    /// [`Positioned`](crate::Positioned) one.
    pub fn new<S>(notification: &'static str, call_id: Id<'_>, items: S) -> Result<Self, RpcError>
    where
        S: Stream + Send + 'static,
        S::Item: RpcItem,
    {
        let id = fresh_id()?;
        let reply = String::from_utf8(response::success(
            SerializedResult::new(&id)?,
            call_id,
            crate::wire::request::Version::V2,
        ))
        .map_err(RpcError::internal)?;
        let prefix = frame_prefix(notification, &id);
        let frames = items.filter_map(move |item| {
            let frame = item_frame(&prefix, &item);
            if frame.is_none() {
                tracing::error!(
                    notification,
                    "a subscription item could not be serialized: skipped"
                );
            }
            std::future::ready(frame)
        });
        Ok(Self {
            id,
            notification,
            reply,
            frames: Box::pin(frames),
        })
    }

    /// The subscription's id: 128 random bits as 32 hex digits, so that
    /// nobody can guess another connection's.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The method name of its notifications (what its unsubscribe method
    /// goes with).
    pub fn notification(&self) -> &'static str {
        self.notification
    }

    /// Its parts: the id, the reply to the subscribe call (to send first),
    /// and the notification frames.
    pub fn into_parts(self) -> (String, String, Frames) {
        (self.id, self.reply, self.frames)
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("notification", &self.notification)
            .finish_non_exhaustive()
    }
}

/// A notification, up to where the item goes:
/// `{"jsonrpc":"2.0","method":"counter","params":{"subscription":"…"`.
fn frame_prefix(notification: &str, id: &str) -> Vec<u8> {
    let mut prefix = br#"{"jsonrpc":"2.0","method":"#.to_vec();
    // A string always serializes.
    let _ = serde_json::to_writer(&mut prefix, notification);
    prefix.extend_from_slice(br#","params":{"subscription":""#);
    prefix.extend_from_slice(id.as_bytes());
    prefix.push(b'"');
    prefix
}

fn item_frame(prefix: &[u8], item: &impl RpcItem) -> Option<String> {
    let mut frame = Vec::with_capacity(prefix.len() + 48);
    frame.extend_from_slice(prefix);
    if !item.write_members(&mut frame) {
        return None;
    }
    frame.extend_from_slice(b"}}");
    String::from_utf8(frame).ok()
}

/// The notice sent in place of items dropped for a subscriber that reads
/// too slowly (under `SlowMemberPolicy::DropMessage`):
/// `{"jsonrpc":"2.0","method":"counter","params":{"subscription":"…","dropped":3}}`.
pub fn dropped_frame(notification: &str, id: &str, dropped: u64) -> String {
    let mut frame = br#"{"jsonrpc":"2.0","method":"#.to_vec();
    let _ = serde_json::to_writer(&mut frame, notification);
    frame.extend_from_slice(br#","params":{"subscription":""#);
    frame.extend_from_slice(id.as_bytes());
    frame.extend_from_slice(format!(r#"","dropped":{dropped}}}}}"#).as_bytes());
    String::from_utf8(frame).unwrap_or_default()
}

/// 128 bits from the operating system's random source, as hex.
fn fresh_id() -> Result<String, RpcError> {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).map_err(RpcError::internal)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_and_the_items_are_framed_for_jsonrpsee_and_ethereum_clients() {
        let items = futures_util::stream::iter([1, 2]);
        let subscription = Subscription::new("counter", Id::parse("7").unwrap(), items).unwrap();
        let id = subscription.id().to_owned();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        let (_, reply, frames) = subscription.into_parts();
        assert_eq!(
            reply,
            format!(r#"{{"jsonrpc":"2.0","result":"{id}","id":7}}"#)
        );
        let frames: Vec<String> = futures_executor::block_on(frames.collect());
        assert_eq!(
            frames,
            [1, 2].map(|n| format!(
                r#"{{"jsonrpc":"2.0","method":"counter","params":{{"subscription":"{id}","result":{n}}}}}"#
            ))
        );
        assert_eq!(
            dropped_frame("counter", &id, 3),
            format!(
                r#"{{"jsonrpc":"2.0","method":"counter","params":{{"subscription":"{id}","dropped":3}}}}"#
            )
        );
    }

    #[test]
    fn ids_do_not_repeat() {
        let a = fresh_id().unwrap();
        let b = fresh_id().unwrap();
        assert_ne!(a, b);
    }
}
