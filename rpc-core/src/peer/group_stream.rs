//! Everything broadcast to a group, as a stream: what a handler turns into
//! a subscription that follows a room (across instances too, with a shared
//! group backend).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use serde::{Deserialize, Serialize};

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

/// The frames broadcast to a group, as a transport delivers them.
pub type GroupFrames = Pin<Box<dyn Stream<Item = String> + Send>>;

/// The messages broadcast to one group from the moment it was made
/// ([`Peer::group_stream`](crate::Peer::group_stream)), until it is
/// dropped. It counts as a member of the group while it lives.
pub struct GroupStream {
    frames: GroupFrames,
}

impl GroupStream {
    /// The stream over a transport's frames.
    pub fn new(frames: GroupFrames) -> Self {
        Self { frames }
    }
}

impl Stream for GroupStream {
    type Item = GroupMessage;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<GroupMessage>> {
        loop {
            let Some(frame) = std::task::ready!(self.frames.as_mut().poll_next(cx)) else {
                return Poll::Ready(None);
            };
            // Frames come from `notify_group`: notifications. Anything
            // else is not a group message.
            match serde_json::from_str::<GroupMessage>(&frame) {
                Ok(message) => return Poll::Ready(Some(message)),
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
