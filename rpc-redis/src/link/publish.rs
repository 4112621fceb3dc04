//! Publishing the outbox: a pipeline of `PUBLISH`es, numbered per channel,
//! and for groups with history the script that stores, positions and
//! publishes in one step.

use super::{BATCH, Link, State, within};
use crate::history::Run;
use crate::shared::{Shared, lock};
use crate::wire::Envelope;

impl Link {
    /// Publishes up to `at_most` messages of the outbox, oldest first,
    /// numbering each on its channel. If more are left, the task comes back
    /// for them after its other duties.
    pub(super) async fn publish(
        &mut self,
        shared: &Shared,
        state: &mut State,
        at_most: usize,
    ) -> Result<(), String> {
        let mut left = at_most;
        while left > 0 {
            let mut batch = lock(&shared.outbox).take(BATCH.min(left));
            if batch.is_empty() {
                break;
            }
            left -= batch.len();
            let mut pipe = redis::pipe();
            // Numbered once, so that sending them again stores them once.
            for message in &mut batch {
                if message.history.is_some() {
                    message.number.get_or_insert_with(|| state.stored.next());
                }
            }
            let head = Envelope {
                origin: shared.instance,
                seq: 0,
                target: None,
                position: None,
                frame: "",
            }
            .head();
            let mut run: Option<Run<'_>> = None;
            for message in &batch {
                let group = shared.keys.group_of(&message.channel);
                if let (Some(history), Some(group), Some(number)) =
                    (&message.history, group, message.number)
                {
                    // Consecutive messages to one group with history: one
                    // call of the script, ordered by position, not by SEQ.
                    match &mut run {
                        Some(run) if run.group == group => {
                            run.messages.push((number, &message.frame))
                        }
                        _ => {
                            if let Some(done) = run.take() {
                                shared
                                    .scripts
                                    .publish_in(&mut pipe, &shared.keys, &head, &done);
                            }
                            run = Some(Run {
                                group,
                                channel: &message.channel,
                                history,
                                origin: shared.instance,
                                messages: vec![(number, &message.frame)],
                            });
                        }
                    }
                    continue;
                }
                if let Some(done) = run.take() {
                    shared
                        .scripts
                        .publish_in(&mut pipe, &shared.keys, &head, &done);
                }
                let envelope = Envelope {
                    origin: shared.instance,
                    seq: state.numbering.next(&message.channel),
                    target: message.target,
                    position: None,
                    frame: message.frame.as_str(),
                };
                pipe.publish(&message.channel, envelope.encode()).ignore();
            }
            if let Some(done) = run.take() {
                shared
                    .scripts
                    .publish_in(&mut pipe, &shared.keys, &head, &done);
            }
            let sent = within(
                shared.config.response_timeout,
                pipe.exec_async(&mut self.commands),
            )
            .await;
            if let Err(err) = sent {
                // Messages of groups with history are sent again after the
                // reconnect (stored once whatever happened to this try);
                // the others are lost (sending them again could deliver
                // them twice): receivers see the gap in their numbering and
                // report it when the sender's next message arrives.
                let (again, lost): (Vec<_>, Vec<_>) = batch
                    .into_iter()
                    .partition(|message| message.history.is_some());
                shared.settled(lost.len() as u64, false);
                lock(&shared.outbox).put_back(again);
                return Err(err);
            }
            shared.settled(batch.len() as u64, true);
        }
        if !lock(&shared.outbox).is_empty() {
            shared.wake.notify_one();
        }
        Ok(())
    }
}
