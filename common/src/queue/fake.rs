//! [`Sqs`] in memory with SQS's visibility rules, minus the clock: a received message stays
//! hidden until it is deleted or its visibility is set to 0. Queues are named by URL; a queue's
//! ARN is `arn:aws:sqs:r:<account>:<last segment of the URL>`.

use super::Sqs;
use super::messages::{
    AttributeValue, EntryResult, Outgoing, QueueStats, Receive, Received, Redrive,
};
use crate::error::BackendError;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Clone)]
struct Stored {
    id: String,
    body: String,
    message_attributes: BTreeMap<String, AttributeValue>,
    handle: Option<String>,
    receives: u32,
}

#[derive(Debug, Default)]
struct State {
    queues: BTreeMap<String, Vec<Stored>>,
    redrive: BTreeMap<String, String>,
    next: u64,
    /// `send <body>` / `delete <body>`, in call order.
    log: Vec<String>,
    refuse_sends: HashSet<String>,
}

#[derive(Debug, Default)]
pub struct FakeSqs {
    state: Mutex<State>,
}

fn arn_of(url: &str) -> String {
    format!(
        "arn:aws:sqs:r:000000000000:{}",
        url.rsplit('/').next().unwrap_or_default()
    )
}

impl FakeSqs {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts a message on a queue, as a producer would.
    pub fn put(&self, queue_url: &str, body: &str) {
        self.put_with(queue_url, body, BTreeMap::new());
    }

    fn put_with(&self, queue_url: &str, body: &str, attributes: BTreeMap<String, AttributeValue>) {
        let mut state = self.lock();
        state.next += 1;
        let id = format!("m{}", state.next);
        state
            .queues
            .entry(queue_url.to_owned())
            .or_default()
            .push(Stored {
                id,
                body: body.to_owned(),
                message_attributes: attributes,
                handle: None,
                receives: 0,
            });
    }

    /// Gives `from` a redrive policy naming `to` (maxReceiveCount 5).
    pub fn set_redrive(&self, from: &str, to: &str) {
        self.lock().redrive.insert(from.to_owned(), arn_of(to));
    }

    /// Every body in the queue, hidden or not, in order.
    pub fn bodies(&self, queue_url: &str) -> Vec<String> {
        self.lock()
            .queues
            .get(queue_url)
            .map(|q| q.iter().map(|m| m.body.clone()).collect())
            .unwrap_or_default()
    }

    /// How many messages of the queue are hidden (received, neither deleted nor shown again).
    pub fn hidden(&self, queue_url: &str) -> usize {
        self.lock()
            .queues
            .get(queue_url)
            .map_or(0, |q| q.iter().filter(|m| m.handle.is_some()).count())
    }

    /// Makes every send of `body` fail, as SQS fails one entry of a batch.
    pub fn refuse_send_of(&self, body: &str) {
        self.lock().refuse_sends.insert(body.to_owned());
    }

    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }
}

fn batch(n: usize) {
    assert!(n <= super::BATCH, "a batch takes at most 10 entries");
}

#[async_trait::async_trait]
impl Sqs for FakeSqs {
    async fn receive(&self, queue_url: &str, ask: Receive) -> Result<Vec<Received>, BackendError> {
        let mut state = self.lock();
        let start = state.next;
        let messages = state.queues.entry(queue_url.to_owned()).or_default();
        let mut out = Vec::new();
        let visible = messages.iter_mut().filter(|m| m.handle.is_none());
        for (n, m) in visible.take(ask.max).enumerate() {
            let handle = format!("h{}-{n}", start + 1);
            m.handle = Some(handle.clone());
            m.receives += 1;
            out.push(Received {
                id: m.id.clone(),
                receipt_handle: handle,
                body: m.body.clone(),
                receive_count: m.receives,
                attributes: BTreeMap::from([(
                    "ApproximateReceiveCount".to_owned(),
                    m.receives.to_string(),
                )]),
                message_attributes: m.message_attributes.clone(),
            });
        }
        state.next += 1;
        Ok(out)
    }

    async fn send(
        &self,
        queue_url: &str,
        messages: &[Outgoing],
    ) -> Result<Vec<EntryResult>, BackendError> {
        batch(messages.len());
        let mut results = Vec::new();
        for m in messages {
            if self.lock().refuse_sends.contains(&m.body) {
                results.push(Err("InternalError: injected".to_owned()));
                continue;
            }
            self.put_with(queue_url, &m.body, m.message_attributes.clone());
            self.lock().log.push(format!("send {}", m.body));
            results.push(Ok(()));
        }
        Ok(results)
    }

    async fn delete(
        &self,
        queue_url: &str,
        handles: &[String],
    ) -> Result<Vec<EntryResult>, BackendError> {
        batch(handles.len());
        let mut state = self.lock();
        let mut results = Vec::new();
        for handle in handles {
            let messages = state.queues.entry(queue_url.to_owned()).or_default();
            match messages
                .iter()
                .position(|m| m.handle.as_ref() == Some(handle))
            {
                Some(i) => {
                    let gone = messages.remove(i);
                    state.log.push(format!("delete {}", gone.body));
                    results.push(Ok(()));
                }
                None => results.push(Err("ReceiptHandleIsInvalid".to_owned())),
            }
        }
        Ok(results)
    }

    async fn set_visibility(
        &self,
        queue_url: &str,
        entries: &[(String, i32)],
    ) -> Result<Vec<EntryResult>, BackendError> {
        batch(entries.len());
        let mut state = self.lock();
        let messages = state.queues.entry(queue_url.to_owned()).or_default();
        Ok(entries
            .iter()
            .map(|(handle, seconds)| {
                let m = messages
                    .iter_mut()
                    .find(|m| m.handle.as_ref() == Some(handle))
                    .ok_or_else(|| "ReceiptHandleIsInvalid".to_owned())?;
                if *seconds == 0 {
                    m.handle = None;
                }
                Ok(())
            })
            .collect())
    }

    async fn stats(&self, queue_url: &str) -> Result<QueueStats, BackendError> {
        let state = self.lock();
        let messages = state.queues.get(queue_url);
        let hidden = messages.map_or(0, |q| q.iter().filter(|m| m.handle.is_some()).count());
        let total = messages.map_or(0, Vec::len);
        Ok(QueueStats {
            arn: Some(arn_of(queue_url)),
            visible: (total - hidden) as u64,
            in_flight: hidden as u64,
            delayed: 0,
            redrive: state.redrive.get(queue_url).map(|arn| Redrive {
                target_arn: arn.clone(),
                max_receive_count: Some(5),
            }),
        })
    }

    async fn url_of(&self, name: &str, account: &str) -> Result<String, BackendError> {
        Ok(format!("http://fake/{account}/{name}"))
    }
}
