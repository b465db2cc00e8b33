//! One pass over a queue, each message seen once.
//!
//! SQS has no "list": a message is read by receiving it, which hides it for a visibility
//! timeout. A sweep keeps every message it was handed hidden (held) until it is deleted or the
//! sweep ends, so the next receive brings new ones; at the end, [`Sweep::release`] makes what
//! is left visible again at once. A sweep that is killed releases nothing: its messages come
//! back by themselves after the hold, so nothing is lost, only delayed.

use crate::error::Error;
use crate::queue_url::QueueRef;
use crate::queues::{BATCH, Message, Queues};
use std::collections::HashMap;

#[derive(Debug)]
enum Seen {
    Held(String),
    Deleted,
}

#[derive(Debug)]
pub struct Sweep<'a> {
    queues: &'a Queues,
    queue: &'a QueueRef,
    hold_seconds: i32,
    wait_seconds: i32,
    seen: HashMap<String, Seen>,
}

impl<'a> Sweep<'a> {
    /// `hold_seconds` must outlast the handling of one batch (see `Hold`); `wait_seconds` is
    /// the long poll that makes an empty answer mean an empty queue.
    pub fn new(
        queues: &'a Queues,
        queue: &'a QueueRef,
        hold_seconds: i32,
        wait_seconds: i32,
    ) -> Self {
        Self {
            queues,
            queue,
            hold_seconds,
            wait_seconds,
            seen: HashMap::new(),
        }
    }

    /// Up to `max` messages not seen before in this sweep; `None` once nothing visible is
    /// left. A held message whose hold ran out comes back: it is held again under its new
    /// handle, not handed out twice. A deleted one that SQS hands out again (standard queues
    /// deliver at least once) is deleted again.
    pub async fn next(&mut self, max: usize) -> Result<Option<Vec<Message>>, Error> {
        loop {
            let received = self
                .queues
                .receive(
                    self.queue,
                    max.clamp(1, BATCH),
                    self.hold_seconds,
                    self.wait_seconds,
                )
                .await?;
            if received.is_empty() {
                return Ok(None);
            }
            let mut fresh = Vec::new();
            let mut deleted_again = Vec::new();
            for message in received {
                match self.seen.get_mut(&message.id) {
                    None => {
                        self.seen.insert(
                            message.id.clone(),
                            Seen::Held(message.receipt_handle.clone()),
                        );
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
    }

    /// The current receipt handle of a held message (it changes when a lapsed hold is renewed).
    pub fn handle(&self, id: &str) -> Option<&str> {
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

    /// How many messages are still held.
    pub fn held(&self) -> usize {
        self.seen
            .values()
            .filter(|s| matches!(s, Seen::Held(_)))
            .count()
    }

    /// Makes every held message visible again at once. A handle SQS no longer takes belongs
    /// to a message whose hold already ran out: it is visible anyway.
    pub async fn release(&mut self) -> Result<(), Error> {
        let held: Vec<(String, String)> = self
            .seen
            .iter()
            .filter_map(|(id, seen)| match seen {
                Seen::Held(handle) => Some((id.clone(), handle.clone())),
                Seen::Deleted => None,
            })
            .collect();
        for chunk in held.chunks(BATCH) {
            let handles: Vec<String> = chunk.iter().map(|(_, h)| h.clone()).collect();
            self.queues.show(self.queue, &handles).await?;
            for (id, _) in chunk {
                self.seen.remove(id);
            }
        }
        Ok(())
    }
}
