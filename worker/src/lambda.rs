//! The SQS-event Lambda entry point: every record handled concurrently, and only the records
//! that must come back listed as failures, so a neighbour's failure never re-delivers a success.

use crate::deliver::Deliverer;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

#[derive(Debug, thiserror::Error)]
#[error(
    "a record that must be retried has no message id; failing the whole batch so it is not lost"
)]
pub struct UnreportableFailure;

pub async fn handle_batch(
    deliverer: &Deliverer,
    event: SqsEvent,
) -> Result<SqsBatchResponse, UnreportableFailure> {
    let outcomes = futures::future::join_all(event.records.iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let outcome = deliverer
            .deliver(&id, record.body.as_deref().unwrap_or_default())
            .await;
        (id, outcome)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, outcome) in outcomes {
        if outcome.is_final() {
            continue;
        }
        if id.is_empty() {
            return Err(UnreportableFailure);
        }
        response.add_failure(id);
    }
    Ok(response)
}

#[cfg(test)]
mod tests;
