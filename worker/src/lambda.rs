//! The SQS-event Lambda entry point: every record handled concurrently, and only the records
//! that must come back listed as failures, so a neighbour's failure never re-delivers a success.

use crate::deliver::{Deliverer, Outcome};
use crate::metrics::{Counts, emf_line};
use crate::settle::{Settled, apply, plan};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use common::config::DeliveryRules;
use common::queue::{Sqs, receive_count};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(
        "a record that must be retried has no message id; failing the whole batch so it is not lost"
    )]
    Unreportable,
    /// Failing the invocation makes the event source mapping back off, instead of handing the
    /// next batch to a function that cannot send.
    #[error("systemic delivery failure, backing off: {0}")]
    Systemic(String),
}

/// Delivers every record of the batch concurrently; outcomes in record order.
pub async fn deliver_all(deliverer: &Deliverer, event: &SqsEvent) -> Vec<Outcome> {
    let halt = CancellationToken::new();
    futures::future::join_all(event.records.iter().map(|record| async {
        // SQS always sends both; without them a record is not a job we can hold a claim for (the
        // id names the claim's holder), so it is kept for the DLQ instead of delivered as "".
        let (Some(id), Some(body)) = (
            record.message_id.as_deref().filter(|id| !id.is_empty()),
            record.body.as_deref(),
        ) else {
            return Outcome::Poison {
                reason: "the SQS record has no message id or no body".into(),
            };
        };
        let receives = receive_count(
            record
                .attributes
                .get("ApproximateReceiveCount")
                .map(String::as_str),
        );
        deliverer.deliver(id, receives, body, &halt).await
    }))
    .await
}

/// The answer to Lambda: the ids of the records that must come back, or an error for the batch.
pub fn respond(event: &SqsEvent, outcomes: &[Outcome]) -> Result<SqsBatchResponse, BatchError> {
    if let Some(Outcome::Systemic { reason }) = outcomes
        .iter()
        .find(|o| matches!(o, Outcome::Systemic { .. }))
    {
        return Err(BatchError::Systemic(reason.clone()));
    }
    let mut response = SqsBatchResponse::default();
    for (record, outcome) in event.records.iter().zip(outcomes) {
        if outcome.is_final() {
            continue;
        }
        match record.message_id.as_deref() {
            Some(id) if !id.is_empty() => response.add_failure(id),
            _ => return Err(BatchError::Unreportable),
        }
    }
    Ok(response)
}

/// Delivery and the response, without touching SQS: what the unit tests drive.
pub async fn handle_batch(
    deliverer: &Deliverer,
    event: SqsEvent,
) -> Result<SqsBatchResponse, BatchError> {
    let outcomes = deliver_all(deliverer, &event).await;
    respond(&event, &outcomes)
}

/// The deployed handler: delivers, then sets each retried record's visibility (the backoff),
/// deletes the finished ones itself when the batch is failed as a whole, emits the metrics.
#[derive(Debug, Clone)]
pub struct LambdaWorker {
    pub deliverer: Deliverer,
    pub sqs: Arc<dyn Sqs>,
    pub queue_url: String,
    pub rules: DeliveryRules,
    pub metrics_namespace: String,
}

impl LambdaWorker {
    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, BatchError> {
        let outcomes = deliver_all(&self.deliverer, &event).await;
        let now = self.deliverer.clock.now();
        let systemic = outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Systemic { .. }));
        let receives = |attributes: &std::collections::HashMap<String, String>| {
            receive_count(
                attributes
                    .get("ApproximateReceiveCount")
                    .map(String::as_str),
            )
        };
        let max_receives = event
            .records
            .iter()
            .map(|r| receives(&r.attributes))
            .max()
            .unwrap_or(1);
        let pause =
            systemic.then(|| crate::backoff::retry_delay(&self.rules, max_receives, now, None));
        let settled = event
            .records
            .iter()
            .zip(&outcomes)
            .filter_map(|(record, outcome)| {
                Some(Settled {
                    receipt_handle: record.receipt_handle.as_deref()?,
                    receives: receives(&record.attributes),
                    outcome,
                })
            });
        let mut todo = plan(settled, &self.rules, now, pause);
        if !systemic {
            // Lambda deletes what the response does not list; only a failed batch needs our help.
            todo.delete.clear();
        }
        if let Err(err) = apply(self.sqs.as_ref(), &self.queue_url, &todo).await {
            // Without the delays the records come back after the queue's visibility timeout.
            tracing::warn!(error = %err, "could not settle the batch's visibility");
        }
        let counts: Counts = outcomes.iter().collect();
        let line = emf_line(&self.metrics_namespace, &counts, now.saturating_mul(1000));
        #[allow(clippy::print_stdout)] // EMF lines must be bare JSON on stdout.
        {
            println!("{line}");
        }
        respond(&event, &outcomes)
    }
}

#[cfg(test)]
mod tests;
