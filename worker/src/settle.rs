//! What happens to each received message once its outcome is known, shared by both entry
//! points: finished ones are deleted, the rest are given a visibility timeout that says when to
//! try again. Two batch calls at most, whatever the batch.

use crate::backoff::{MAX_VISIBILITY_SECONDS, retry_delay};
use crate::deliver::Outcome;
use common::config::DeliveryRules;
use common::error::BackendError;
use common::queue::{BATCH, Sqs};

/// One received message and what became of it.
#[derive(Debug)]
pub struct Settled<'a> {
    pub receipt_handle: &'a str,
    /// `ApproximateReceiveCount`: 1 on the first receive.
    pub receives: u32,
    pub outcome: &'a Outcome,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub delete: Vec<String>,
    /// Receipt handle and seconds until the message is visible again.
    pub delay: Vec<(String, i64)>,
}

/// `systemic_pause`: how long the account is considered unable to send, when a systemic
/// failure was seen in this batch. Messages it stopped wait that long; with no systemic
/// failure, interrupted ones (shutdown) come back at once.
pub fn plan<'a>(
    messages: impl IntoIterator<Item = Settled<'a>>,
    rules: &DeliveryRules,
    now: i64,
    systemic_pause: Option<i64>,
) -> Plan {
    let mut plan = Plan::default();
    for message in messages {
        let handle = message.receipt_handle.to_owned();
        let delay = match message.outcome {
            outcome if outcome.is_final() => {
                plan.delete.push(handle);
                continue;
            }
            Outcome::Retry { expires_at, .. } => {
                retry_delay(rules, message.receives, now, *expires_at)
            }
            // Not a job: back off like any failure, and let the redrive policy take it to the DLQ.
            Outcome::Poison { .. } => retry_delay(rules, message.receives, now, None),
            // The job that met the failure waits two to three pauses, so the next probe (SQS
            // hands out the oldest visible message) takes another job: probing spreads over the
            // queue instead of walking one job to the DLQ.
            Outcome::Systemic { .. } => systemic_pause.map_or(0, |pause| {
                let spread = common::crypto::random_u64() % (u64::try_from(pause).unwrap_or(0) + 1);
                pause * 2 + i64::try_from(spread).unwrap_or(0)
            }),
            Outcome::Interrupted => systemic_pause.unwrap_or(0),
            _ => 0,
        };
        plan.delay
            .push((handle, delay.clamp(0, MAX_VISIBILITY_SECONDS)));
    }
    plan
}

/// Carries out a plan with one `DeleteMessageBatch` and one `ChangeMessageVisibilityBatch` per
/// 10 messages. A failure here loses nothing: an undeleted message comes back after its
/// visibility timeout and is skipped as already delivered.
pub async fn apply(sqs: &dyn Sqs, queue_url: &str, plan: &Plan) -> Result<(), BackendError> {
    for chunk in plan.delete.chunks(BATCH) {
        for failed in sqs
            .delete(queue_url, chunk)
            .await?
            .iter()
            .filter_map(|r| r.as_ref().err())
        {
            tracing::warn!(error = %failed, "could not delete a finished job");
        }
    }
    for chunk in plan.delay.chunks(BATCH) {
        let entries: Vec<(String, i32)> = chunk
            .iter()
            .map(|(handle, seconds)| (handle.clone(), i32::try_from(*seconds).unwrap_or(i32::MAX)))
            .collect();
        for failed in sqs
            .set_visibility(queue_url, &entries)
            .await?
            .iter()
            .filter_map(|r| r.as_ref().err())
        {
            // The message keeps the queue's default visibility timeout: retried later than planned.
            tracing::warn!(error = %failed, "could not delay a job");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::store::SkipReason;

    #[test]
    fn finished_messages_are_deleted_and_the_rest_delayed_by_their_class() {
        let rules = DeliveryRules {
            retry_base_seconds: 10,
            retry_cap_seconds: 10,
            ..DeliveryRules::default()
        };
        let outcomes = [
            Outcome::Sent,
            Outcome::Skipped(SkipReason::Verified),
            Outcome::Dropped,
            Outcome::Failed {
                reason: "MessageRejected".into(),
            },
            Outcome::Retry {
                reason: "throttled".into(),
                expires_at: Some(1_003),
            },
            Outcome::Poison {
                reason: "not json".into(),
            },
            Outcome::Interrupted,
        ];
        let handles: Vec<String> = (0..outcomes.len()).map(|i| format!("h{i}")).collect();
        let settled = outcomes.iter().zip(&handles).map(|(outcome, h)| Settled {
            receipt_handle: h,
            receives: 1,
            outcome,
        });
        let plan = plan(settled, &rules, 1_000, None);
        assert_eq!(plan.delete, ["h0", "h1", "h2", "h3"]);
        let delays: Vec<(&str, i64)> = plan.delay.iter().map(|(h, d)| (h.as_str(), *d)).collect();
        assert_eq!(delays.len(), 3);
        assert_eq!(delays[0].0, "h4");
        assert!(
            (0..=3).contains(&delays[0].1),
            "capped by the 3 s the code has left"
        );
        assert_eq!(delays[1].0, "h5");
        assert!((0..=10).contains(&delays[1].1));
        assert_eq!(
            delays[2],
            ("h6", 0),
            "an interrupted job comes back at once"
        );
    }

    #[test]
    fn a_systemic_failure_holds_back_the_whole_unfinished_batch() {
        let outcomes = [
            Outcome::Systemic {
                reason: "AccountSuspended".into(),
            },
            Outcome::Interrupted,
            Outcome::Sent,
        ];
        let settled = outcomes.iter().map(|outcome| Settled {
            receipt_handle: "h",
            receives: 1,
            outcome,
        });
        let plan = plan(settled, &DeliveryRules::default(), 0, Some(300));
        assert_eq!(plan.delete.len(), 1);
        let (systemic, interrupted) = (plan.delay[0].1, plan.delay[1].1);
        assert!(
            (600..=900).contains(&systemic),
            "the failing job sits out the next probe: {systemic}"
        );
        assert_eq!(interrupted, 300, "the rest come back when probing resumes");
    }
}
