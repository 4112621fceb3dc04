//! What the subscriptions bring: messages from other instances (and, in
//! groups with history, from any instance) delivered to the members here;
//! in groups with history, in offset order, once, with what was missed
//! read from the history first.

use std::sync::atomic::Ordering;

use redis::Msg;
use rpc_server::groups::{Frame, GroupBackend as _, Position, Step};
use tokio::time::timeout;

use super::{HISTORY_PAGE, Link, State};
use crate::shared::Shared;
use crate::wire::{Envelope, is_notification};

impl Link {
    /// Delivers a message from another instance (or, in a group with
    /// history, from any instance) to the members here.
    pub(super) async fn receive(
        &mut self,
        shared: &Shared,
        state: &mut State,
        message: &Msg,
    ) -> Result<(), String> {
        let channel = message.get_channel_name();
        let group = shared.keys.group_of(channel);
        if group.is_some() && !self.subscribed.contains(channel) {
            // Still in flight when we unsubscribed: no member here wants it.
            return Ok(());
        }
        let Some(envelope) = Envelope::decode(message.get_payload_bytes()) else {
            tracing::debug!(%channel, "ignored a message that is not ours");
            return Ok(());
        };
        if let (Some((epoch, offset)), Some(group)) = (envelope.position, group) {
            let position = Position::new(epoch, offset);
            let frame = Frame::from(envelope.frame.to_owned());
            return self
                .receive_at(shared, state, group, &frame, position)
                .await;
        }
        if envelope.origin == shared.instance {
            // Ours: delivered here when it was sent.
            return Ok(());
        }
        shared.counters.received.fetch_add(1, Ordering::Relaxed);
        let lost = state.gaps.record(channel, envelope.origin, envelope.seq);
        if lost > 0 {
            shared.report_lost(lost, channel);
        }
        let frame = Frame::from(envelope.frame.to_owned());
        match group {
            Some(group) => {
                shared.local.broadcast(group, &frame);
            }
            None => {
                if let Some(id) = envelope.connection(shared.instance) {
                    shared.local.notify_connection(id, &frame);
                }
            }
        }
        Ok(())
    }

    /// Delivers a message of a group with history at `position`: once, in
    /// order, after what was missed before it (read from the history).
    async fn receive_at(
        &mut self,
        shared: &Shared,
        state: &mut State,
        group: &str,
        frame: &Frame,
        position: Position,
    ) -> Result<(), String> {
        if position.epoch.len() > 64 {
            tracing::debug!(%group, "ignored a message with an unusable position");
            return Ok(());
        }
        shared.counters.received.fetch_add(1, Ordering::Relaxed);
        if shared.config.history.for_group(group).is_none() {
            // Another instance keeps history for it and this one does not
            // (a rolling change of settings): deliver it as it comes.
            shared.local.broadcast_at(group, frame, &position);
            return Ok(());
        }
        let cursor = state.cursors.entry(group.to_owned()).or_default();
        match cursor.step(&position) {
            Step::Duplicate => return Ok(()),
            Step::Next => {}
            Step::Gap | Step::NewEpoch => {
                if cursor.step(&position) == Step::NewEpoch {
                    // The history started over: from its first message.
                    cursor.advance(Position::new(position.epoch.clone(), 0));
                }
                self.catch_up(shared, state, group).await?;
                let cursor = state.cursors.entry(group.to_owned()).or_default();
                if cursor.step(&position) != Step::Next {
                    // The history held it too.
                    return Ok(());
                }
            }
        }
        shared.local.broadcast_at(group, frame, &position);
        state
            .cursors
            .entry(group.to_owned())
            .or_default()
            .advance(position);
        Ok(())
    }

    /// Delivers what `group`'s history holds after the last position
    /// delivered here (messages said while the link was down, or lost in
    /// transit), in order. What the history no longer holds is counted as
    /// lost (and group streams, seeing the gap, tell their clients they
    /// could not recover); what it still holds after that is delivered.
    pub(super) async fn catch_up(
        &mut self,
        shared: &Shared,
        state: &mut State,
        group: &str,
    ) -> Result<(), String> {
        let Some(history) = shared.config.history.for_group(group) else {
            return Ok(());
        };
        loop {
            let Some(last) = state
                .cursors
                .get(group)
                .and_then(|cursor| cursor.last().cloned())
            else {
                return Ok(());
            };
            let limit = shared.config.response_timeout;
            let read = shared.scripts.read(
                &mut self.commands,
                &shared.keys,
                group,
                &history,
                last.offset,
                HISTORY_PAGE,
            );
            let page = match timeout(limit, read).await {
                Ok(page) => page?,
                Err(_) => return Err(format!("no answer within {limit:?}")),
            };
            let cursor = state.cursors.entry(group.to_owned()).or_default();
            if page.epoch != last.epoch {
                // Another history (Redis lost its data): all of it is new.
                tracing::warn!(%group, from = %last, epoch = %page.epoch, "a group's history started over; messages before it are lost");
                cursor.advance(Position::new(page.epoch.clone(), 0));
                continue;
            }
            if last.offset > page.top {
                // Behind what this instance delivered (a replica that
                // lagged took over): nothing to read; live goes on.
                return Ok(());
            }
            if !page.covers(&last) {
                let lost = page.first.saturating_sub(last.offset + 1);
                tracing::warn!(%group, from = %last, lost, "group messages missed here are no longer in the history");
                shared.report_lost(lost, group);
                // What it still holds follows.
                cursor.advance(Position::new(page.epoch.clone(), page.first - 1));
                continue;
            }
            let before = cursor.last().map_or(0, |last| last.offset);
            let full = page.messages.len() >= HISTORY_PAGE;
            for (offset, frame) in &page.messages {
                let position = Position::new(page.epoch.clone(), *offset);
                if cursor.step(&position) == Step::Next {
                    // Only what an instance would have published.
                    if is_notification(frame.as_str()) {
                        shared.local.broadcast_at(group, frame, &position);
                    }
                    cursor.advance(position);
                }
            }
            let after = cursor.last().map_or(0, |last| last.offset);
            if !full || after >= page.top || after == before {
                return Ok(());
            }
        }
    }
}
