//! Delivering one job: claim the record, open the sealed code, send, write the result back.
//! Both entry points (the SQS Lambda and the polling loop) call [`Deliverer::deliver`] per
//! message and act on the [`Outcome`].

use crate::message;
use crate::pacer::Pacer;
use common::clock::Clock;
use common::crypto::Keys;
use common::job::DeliveryJob;
use common::sender::{SendError, Sender};
use common::store::{Claim, DeliveryResult, LeaseHolder, OtpStore, SkipReason};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Debug, Clone)]
pub struct Deliverer {
    pub store: Arc<dyn OtpStore>,
    pub sender: Arc<dyn Sender>,
    pub keys: Arc<Keys>,
    pub clock: Arc<dyn Clock>,
    pub brand: String,
    pub pacer: Arc<Pacer>,
    /// See [`common::config::DeliveryRules::claim_seconds`].
    pub claim_seconds: i64,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Nothing to deliver (verified, locked, gone, or delivered already).
    Skipped(SkipReason),
    /// Expired before it could be delivered.
    Dropped,
    /// The provider will never take this message.
    Failed {
        reason: String,
    },
    /// Try again later (throttling, 5xx, a store error, another worker's claim). `expires_at`
    /// bounds the backoff: there is no point coming back after the code is dead.
    Retry {
        reason: String,
        expires_at: Option<i64>,
    },
    /// The account cannot send at all; retrying now only burns receive counts.
    Systemic {
        reason: String,
    },
    /// Not a job: leave it for the redrive policy to move to the DLQ.
    Poison {
        reason: String,
    },
    /// Stopped before the provider was called (shutdown, or a systemic failure elsewhere in the
    /// batch): not an attempt, so it comes back without penalty.
    Interrupted,
}

impl Outcome {
    /// Whether the message is done with and may be deleted from the queue.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Outcome::Sent | Outcome::Skipped(_) | Outcome::Dropped | Outcome::Failed { .. }
        )
    }

    pub fn label(&self) -> &'static str {
        crate::metrics::Metric::from(self).name()
    }
}

impl Deliverer {
    /// Handles one message body, in its own span; never panics, never returns an error: every
    /// way it can end is an [`Outcome`]. `halt` stops a job that has not reached the provider
    /// yet; a systemic failure trips it for the rest of the batch. `receives` is the message's
    /// `ApproximateReceiveCount`: with the id, it lets a retry take over its own kept claim.
    pub async fn deliver(
        &self,
        message_id: &str,
        receives: u32,
        body: &str,
        halt: &CancellationToken,
    ) -> Outcome {
        let span = tracing::info_span!(
            "job",
            message_id,
            otp_id = tracing::field::Empty,
            send = tracing::field::Empty
        );
        let outcome = self
            .deliver_inner(&LeaseHolder::new(message_id, receives), body, &span, halt)
            .instrument(span.clone())
            .await;
        if matches!(outcome, Outcome::Systemic { .. }) {
            halt.cancel();
        }
        span.in_scope(|| match &outcome {
            Outcome::Sent | Outcome::Skipped(_) | Outcome::Dropped | Outcome::Interrupted => {
                tracing::info!(outcome = outcome.label(), detail = ?outcome, "job done");
            }
            Outcome::Failed { reason } | Outcome::Retry { reason, .. } => {
                tracing::warn!(outcome = outcome.label(), reason, "job not delivered");
            }
            Outcome::Systemic { reason } | Outcome::Poison { reason } => {
                tracing::error!(outcome = outcome.label(), reason, "job not delivered");
            }
        });
        outcome
    }

    async fn deliver_inner(
        &self,
        holder: &LeaseHolder,
        body: &str,
        span: &tracing::Span,
        halt: &CancellationToken,
    ) -> Outcome {
        let job = match DeliveryJob::parse(body) {
            Ok(job) => job,
            Err(err) => {
                return Outcome::Poison {
                    reason: err.to_string(),
                };
            }
        };
        span.record("otp_id", tracing::field::display(job.otp_id));
        span.record("send", job.send);
        if halt.is_cancelled() {
            return Outcome::Interrupted;
        }
        let now = self.clock.now();
        let record = match self
            .store
            .claim_delivery(&job, holder, now, self.claim_seconds)
            .await
        {
            Ok(Claim::Granted(record)) => record,
            Ok(Claim::Skip(SkipReason::Expired)) => {
                return self.drop_expired(&job).await;
            }
            Ok(Claim::Skip(reason)) => return Outcome::Skipped(reason),
            Ok(Claim::Busy { until }) => {
                return Outcome::Retry {
                    reason: format!("another worker holds the claim until {until}"),
                    expires_at: Some(job.expires_at),
                };
            }
            Err(err) => {
                return Outcome::Retry {
                    reason: err.to_string(),
                    expires_at: Some(job.expires_at),
                };
            }
        };
        let (code, to) =
            match common::payload::open(&self.keys, record.id, record.channel, &record.sealed) {
                Ok(opened) => opened,
                Err(err) => {
                    // Every job will fail the same way: this worker has the wrong OTP_SECRET.
                    self.release(&job).await;
                    return Outcome::Systemic {
                        reason: format!("{err}: check that OTP_SECRET matches the API's"),
                    };
                }
            };
        let language = common::domain::Locale::parse(&record.locale)
            .unwrap_or_default()
            .language();
        let text = message::render(
            &self.brand,
            &language,
            record.expires_at - record.created_at,
            &code,
        );
        drop(code);
        tokio::select! {
            biased;
            () = halt.cancelled() => {
                self.release(&job).await;
                return Outcome::Interrupted;
            }
            () = self.pacer.acquire() => {}
        }
        // The pacing wait may have outlived the code; and no provider call, SDK retries
        // included, may run past its expiry.
        let now = self.clock.now();
        if now >= record.expires_at {
            return self.drop_expired(&job).await;
        }
        // Positive: `now < expires_at` was checked just above.
        let lifetime_left =
            std::time::Duration::from_secs(u64::try_from(record.expires_at - now).unwrap_or(0));
        let sent = tokio::time::timeout(lifetime_left, self.sender.send(&to, &text))
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Transient(
                    "the code expired during the provider call".into(),
                ))
            });
        match sent {
            Ok(()) => match self
                .store
                .finish_delivery(job.otp_id, job.send, &DeliveryResult::Sent)
                .await
            {
                Ok(()) => Outcome::Sent,
                // Delivered; only the bookkeeping failed. Acking avoids a duplicate message, and
                // the claim's expiry frees the record.
                Err(err) => {
                    tracing::warn!(error = %err, "sent, but the record could not be updated");
                    Outcome::Sent
                }
            },
            Err(SendError::Permanent { reason, detail }) => {
                tracing::warn!(%detail, "provider rejected the message permanently");
                let result = DeliveryResult::Failed {
                    reason: reason.clone(),
                };
                match self
                    .store
                    .finish_delivery(job.otp_id, job.send, &result)
                    .await
                {
                    Ok(()) => Outcome::Failed { reason },
                    Err(err) => Outcome::Retry {
                        reason: err.to_string(),
                        expires_at: Some(job.expires_at),
                    },
                }
            }
            // The claim is kept: this message's next receive takes it over (see LeaseHolder),
            // and it lapses by itself if the retry comes later than the lease.
            Err(SendError::Transient(reason)) => Outcome::Retry {
                reason,
                expires_at: Some(job.expires_at),
            },
            Err(SendError::Systemic(reason)) => {
                self.release(&job).await;
                Outcome::Systemic { reason }
            }
        }
    }

    /// Records that the job's code expired before it could be sent.
    async fn drop_expired(&self, job: &DeliveryJob) -> Outcome {
        match self
            .store
            .finish_delivery(job.otp_id, job.send, &DeliveryResult::Dropped)
            .await
        {
            Ok(()) => Outcome::Dropped,
            Err(err) => Outcome::Retry {
                reason: err.to_string(),
                expires_at: Some(job.expires_at),
            },
        }
    }

    /// Gives the claim back so the retry need not wait for it to lapse.
    async fn release(&self, job: &DeliveryJob) {
        if let Err(err) = self
            .store
            .finish_delivery(job.otp_id, job.send, &DeliveryResult::Released)
            .await
        {
            tracing::warn!(error = %err, "could not release the claim; it lapses by itself");
        }
    }
}

#[cfg(test)]
mod tests;
