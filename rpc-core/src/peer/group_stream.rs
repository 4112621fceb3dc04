//! Everything broadcast to a group, as a stream: what a handler turns into
//! a subscription that follows a room (across instances too, with a shared
//! group backend).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt as _};
use serde::{Deserialize, Serialize};

use crate::peer::position::Positioned;

/// One message broadcast to a group (`notify_group`): its method and
/// params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMessage {
    /// The notification's method.
    pub method: String,
    /// Its params; absent when it had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Value>,
}

impl schemars::JsonSchema for GroupMessage {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GroupMessage".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "One message broadcast to a group: its method and params.",
            "type": "object",
            "properties": {
                "method": {"type": "string"},
                "params": {"description": "The notification's params, as sent."}
            },
            "required": ["method"]
        })
    }
}

/// The frames broadcast to a group, as a transport delivers them: each
/// with its position when the group keeps history.
pub type GroupFrames = Pin<Box<dyn Stream<Item = Positioned<String>> + Send>>;

/// The messages broadcast to one group from the moment it was made
/// ([`Peer::group_stream`](crate::Peer::group_stream)), or from a position
/// ([`Peer::group_stream_since`](crate::Peer::group_stream_since)), until
/// it is dropped. It counts as a member of the group while it lives.
///
/// Each message comes with its position when the group keeps history;
/// returned from a subscription method, the stream sends it beside the
/// item (`"position"`), and the notice that a `since` could not be
/// recovered as `"recovered": false`.
pub struct GroupStream {
    frames: GroupFrames,
}

impl GroupStream {
    /// The stream over a transport's frames.
    pub fn new(frames: GroupFrames) -> Self {
        Self { frames }
    }

    /// Only the messages sent as `method` notifications, as their params
    /// (`null` for none), keeping their positions: what a subscription
    /// that follows a room sends as its items.
    pub fn params_of(
        self,
        method: &'static str,
    ) -> impl Stream<Item = Positioned<serde_json::Value>> + Send + 'static {
        self.filter_map(move |event| {
            std::future::ready(match event {
                Positioned::Item { item, position } if item.method == method => {
                    Some(Positioned::Item {
                        item: item.params.unwrap_or(serde_json::Value::Null),
                        position,
                    })
                }
                Positioned::Item { .. } => None,
                Positioned::NotRecovered { position } => {
                    Some(Positioned::NotRecovered { position })
                }
            })
        })
    }
}

impl Stream for GroupStream {
    type Item = Positioned<GroupMessage>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Positioned<GroupMessage>>> {
        loop {
            let Some(event) = std::task::ready!(self.frames.as_mut().poll_next(cx)) else {
                return Poll::Ready(None);
            };
            let (frame, position) = match event {
                Positioned::Item { item, position } => (item, position),
                Positioned::NotRecovered { position } => {
                    return Poll::Ready(Some(Positioned::NotRecovered { position }));
                }
            };
            // Frames come from `notify_group`: notifications. Anything
            // else is not a group message.
            match serde_json::from_str::<GroupMessage>(&frame) {
                Ok(item) => return Poll::Ready(Some(Positioned::Item { item, position })),
                Err(err) => {
                    tracing::debug!(error = %err, "a group frame that is not a notification was skipped")
                }
            }
        }
    }
}

impl fmt::Debug for GroupStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupStream").finish_non_exhaustive()
    }
}
