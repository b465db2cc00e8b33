//! An in-memory [`Queues`] with SQS's visibility semantics (minus the clock: a hidden message
//! stays hidden until deleted or shown again), for the commands' unit tests.

use crate::error::Error;
use crate::queue_url::{QueueArn, QueueRef, QueueUrl};
use crate::queues::{EntryResult, Message, Outgoing, QueueStats, Queues, Redrive};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

#[derive(Debug, Clone)]
struct Stored {
    id: String,
    body: String,
    message_attributes: BTreeMap<String, crate::queues::AttributeValue>,
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
pub struct FakeQueues {
    state: Mutex<State>,
}

pub fn queue_ref(role: crate::queue_url::Role, name: &str) -> QueueRef {
    QueueRef {
        role,
        url: format!("http://fake/000000000000/{name}").parse().unwrap(),
    }
}

impl FakeQueues {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn put(&self, queue: &QueueRef, body: &str) {
        let mut state = self.lock();
        state.next += 1;
        let id = format!("m{}", state.next);
        state
            .queues
            .entry(queue.url.to_string())
            .or_default()
            .push(Stored {
                id,
                body: body.to_owned(),
                message_attributes: BTreeMap::new(),
                handle: None,
                receives: 0,
            });
    }

    pub fn set_redrive(&self, from: &QueueRef, to: &QueueRef) {
        self.lock().redrive.insert(
            from.url.to_string(),
            format!("arn:aws:sqs:r:000000000000:{}", to.url.name()),
        );
    }

    /// Every body in the queue, hidden or not, in order.
    pub fn bodies(&self, queue: &QueueRef) -> Vec<String> {
        self.lock()
            .queues
            .get(queue.url.as_str())
            .map(|q| q.iter().map(|m| m.body.clone()).collect())
            .unwrap_or_default()
    }

    pub fn hidden(&self, queue: &QueueRef) -> usize {
        self.lock()
            .queues
            .get(queue.url.as_str())
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

#[async_trait::async_trait]
impl Queues for FakeQueues {
    async fn stats(&self, queue: &QueueRef) -> Result<QueueStats, Error> {
        let state = self.lock();
        let messages = state.queues.get(queue.url.as_str());
        let hidden = messages.map_or(0, |q| q.iter().filter(|m| m.handle.is_some()).count());
        let total = messages.map_or(0, Vec::len);
        Ok(QueueStats {
            arn: Some(format!("arn:aws:sqs:r:000000000000:{}", queue.url.name())),
            visible: (total - hidden) as u64,
            in_flight: hidden as u64,
            delayed: 0,
            redrive: state.redrive.get(queue.url.as_str()).map(|arn| Redrive {
                target_arn: arn.clone(),
                max_receive_count: Some(5),
            }),
        })
    }

    async fn url_of(&self, arn: &QueueArn, _asked_by: &QueueRef) -> Result<QueueUrl, Error> {
        Ok(format!("http://fake/{}/{}", arn.account, arn.name)
            .parse()
            .unwrap())
    }

    async fn receive(
        &self,
        queue: &QueueRef,
        max: usize,
        _hold_seconds: i32,
        _wait_seconds: i32,
    ) -> Result<Vec<Message>, Error> {
        let mut state = self.lock();
        let start = state.next;
        let messages = state.queues.entry(queue.url.to_string()).or_default();
        let mut out = Vec::new();
        for (n, m) in messages
            .iter_mut()
            .filter(|m| m.handle.is_none())
            .take(max)
            .enumerate()
        {
            let handle = format!("h{}-{n}", start + 1);
            m.handle = Some(handle.clone());
            m.receives += 1;
            out.push(Message {
                id: m.id.clone(),
                receipt_handle: handle,
                body: m.body.clone(),
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
        queue: &QueueRef,
        messages: &[Outgoing],
    ) -> Result<Vec<EntryResult>, Error> {
        assert!(messages.len() <= 10, "a batch takes at most 10 entries");
        let mut results = Vec::new();
        for m in messages {
            let refused = self.lock().refuse_sends.contains(&m.body);
            if refused {
                results.push(Err("InternalError: injected".to_owned()));
                continue;
            }
            self.put(queue, &m.body);
            let mut state = self.lock();
            if let Some(last) = state
                .queues
                .get_mut(queue.url.as_str())
                .and_then(|q| q.last_mut())
            {
                last.message_attributes = m.message_attributes.clone();
            }
            state.log.push(format!("send {}", m.body));
            results.push(Ok(()));
        }
        Ok(results)
    }

    async fn delete(
        &self,
        queue: &QueueRef,
        handles: &[String],
    ) -> Result<Vec<EntryResult>, Error> {
        assert!(handles.len() <= 10, "a batch takes at most 10 entries");
        let mut state = self.lock();
        let mut results = Vec::new();
        for handle in handles {
            let messages = state.queues.entry(queue.url.to_string()).or_default();
            match messages
                .iter()
                .position(|m| m.handle.as_deref() == Some(handle.as_str()))
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
        queue: &QueueRef,
        handles: &[String],
        seconds: i32,
    ) -> Result<Vec<EntryResult>, Error> {
        assert!(handles.len() <= 10, "a batch takes at most 10 entries");
        let mut state = self.lock();
        let messages = state.queues.entry(queue.url.to_string()).or_default();
        Ok(handles
            .iter()
            .map(|handle| {
                match messages
                    .iter_mut()
                    .find(|m| m.handle.as_deref() == Some(handle.as_str()))
                {
                    Some(m) => {
                        if seconds == 0 {
                            m.handle = None;
                        }
                        Ok(())
                    }
                    None => Err("ReceiptHandleIsInvalid".to_owned()),
                }
            })
            .collect())
    }
}
