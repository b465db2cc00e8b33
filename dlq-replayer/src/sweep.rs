//! One pass over a queue, each message seen once.
//!
//! SQS has no "list": a message is read by receiving it, which hides it for a visibility
//! timeout. A sweep keeps every message it was handed hidden (held) until it is deleted or the
//! sweep ends, so the next receive brings new ones; at the end, [`Sweep::finish`] makes what
//! is left visible again at once. A sweep that is killed releases nothing: its messages come
//! back by themselves after the hold, so nothing is lost, only delayed.
//!
//! Every command that reads the DLQ runs the same loop: a sweep, stopped by a signal between
//! batches, with its progress on stderr; [`Sweep::finish`] ends all three.

use crate::context::Context;
use crate::error::Error;
use crate::progress::Progress;
use crate::queue_url::QueueRef;
use crate::queues::{BATCH, Message, QueueStats, Queues};
use common::queue::Receive;
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a receive waits: an empty long poll is how SQS says "nothing visible is left".
const WAIT_SECONDS: i32 = 1;

#[derive(Debug)]
enum Seen {
    Held(String),
    Deleted,
}

#[derive(Debug)]
pub struct Sweep<'a> {
    queues: &'a Queues,
    queue: &'a QueueRef,
    stop: &'a CancellationToken,
    /// How each receive asks: the hold, and a short long poll.
    ask: Receive,
    seen: HashMap<String, Seen>,
    progress: Progress,
}

impl<'a> Sweep<'a> {
    /// `hold` must outlast the handling of one batch; `label` and `total` (the expected
    /// count, if known) are for the progress line.
    pub fn new(
        ctx: &'a Context,
        queue: &'a QueueRef,
        hold: Duration,
        label: &'static str,
        total: Option<u64>,
    ) -> Self {
        Self {
            queues: &ctx.queues,
            queue,
            stop: &ctx.stop,
            ask: Receive {
                max: BATCH,
                wait_seconds: WAIT_SECONDS,
                hold_seconds: Some(i32::try_from(hold.as_secs()).unwrap_or(i32::MAX)),
            },
            seen: HashMap::new(),
            progress: Progress::new(label, total),
        }
    }

    /// Up to `max` messages not seen before in this sweep; `None` once nothing visible is
    /// left, or once the run was told to stop. A held message whose hold ran out comes back:
    /// it is held again under its new handle, not handed out twice. A deleted one that SQS
    /// hands out again (standard queues deliver at least once) is deleted again.
    pub async fn next(&mut self, max: usize) -> Result<Option<Vec<Message>>, Error> {
        while !self.stop.is_cancelled() {
            let max = max.clamp(1, BATCH);
            let ask = Receive { max, ..self.ask };
            let received = self.queues.receive(self.queue, ask).await?;
            if received.is_empty() {
                return Ok(None);
            }
            let (mut fresh, mut deleted_again) = (Vec::new(), Vec::new());
            for message in received {
                match self.seen.get_mut(&message.id) {
                    None => {
                        let held = Seen::Held(message.receipt_handle.clone());
                        self.seen.insert(message.id.clone(), held);
                        fresh.push(message);
                    }
                    Some(Seen::Held(handle)) => *handle = message.receipt_handle,
                    Some(Seen::Deleted) => deleted_again.push(message.receipt_handle),
                }
            }
            if !deleted_again.is_empty() {
                self.queues.delete(self.queue, &deleted_again).await?;
            }
            if !fresh.is_empty() {
                return Ok(Some(fresh));
            }
        }
        Ok(None)
    }

    /// Reports `done` items and a short status on the progress line.
    pub fn progress(&mut self, done: u64, status: &str) {
        self.progress.update(done, status);
    }

    /// Ends the sweep whatever its `outcome`: clears the progress line and makes what is
    /// still held visible again now, not after the hold.
    pub async fn finish(&mut self, outcome: Result<(), Error>) -> Result<(), Error> {
        self.progress.finish();
        let released = self.release().await;
        outcome.and(released)
    }

    /// Ends the sweep ([`Sweep::finish`]) and says why the run fell short, if it did: an
    /// error, a signal, or a DLQ with nothing to `verb` (`examined` none of its `stats`).
    pub async fn end(
        &mut self,
        outcome: Result<(), Error>,
        examined: u64,
        stats: &QueueStats,
        verb: &'static str,
    ) -> Option<Error> {
        match self.finish(outcome).await {
            Err(err) => Some(err),
            Ok(()) if self.stop.is_cancelled() => Some(Error::Interrupted),
            Ok(()) if examined == 0 => Some(Context::empty(self.queue, stats, verb)),
            Ok(()) => None,
        }
    }

    /// The current receipt handle of a held message (it changes when a lapsed hold is renewed).
    fn handle(&self, id: &str) -> Option<&str> {
        match self.seen.get(id) {
            Some(Seen::Held(handle)) => Some(handle),
            _ => None,
        }
    }

    /// Deletes held messages by id; returns, per id, whether SQS confirmed the delete.
    pub async fn delete(&mut self, ids: &[&str]) -> Result<Vec<Result<(), String>>, Error> {
        let mut results = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let handles: Vec<String> = chunk
                .iter()
                .map(|id| self.handle(id).unwrap_or_default().to_owned())
                .collect();
            let answers = self.queues.delete(self.queue, &handles).await?;
            for (id, answer) in chunk.iter().zip(answers) {
                if answer.is_ok() {
                    self.seen.insert((*id).to_owned(), Seen::Deleted);
                }
                results.push(answer);
            }
        }
        Ok(results)
    }

    /// Makes every held message visible again at once. A handle SQS no longer takes belongs
    /// to a message whose hold already ran out: it is visible anyway.
    async fn release(&mut self) -> Result<(), Error> {
        let held = self.seen.iter().filter_map(|(id, seen)| match seen {
            Seen::Held(handle) => Some((id.clone(), handle.clone())),
            Seen::Deleted => None,
        });
        for chunk in held.collect::<Vec<_>>().chunks(BATCH) {
            let handles: Vec<String> = chunk.iter().map(|(_, h)| h.clone()).collect();
            self.queues.show(self.queue, &handles).await?;
            chunk.iter().for_each(|(id, _)| drop(self.seen.remove(id)));
        }
        Ok(())
    }
}
