//! What every command works with: the AWS clients behind their seams, the clock, the stop
//! signal, and the two queues, resolved from the flags or the job queue's redrive policy.

use crate::cli::Global;
use crate::error::Error;
use crate::monitoring::{CloudWatch, Monitoring};
use crate::queue_url::{QueueArn, QueueRef, QueueUrl, Role};
use crate::queues::{QueueStats, Queues};
use common::cli_output::AwsFailure;
use common::clock::{Clock, SystemClock};
use common::store::{DynamoStore, OtpStore};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct Context {
    pub queues: Queues,
    pub monitoring: Arc<dyn Monitoring>,
    pub store: Arc<dyn OtpStore>,
    pub clock: Arc<dyn Clock>,
    pub table: String,
    pub queue_url: Option<QueueUrl>,
    pub dlq_url: Option<QueueUrl>,
    /// Cancelled on SIGINT / SIGTERM: commands finish the batch under way and stop.
    pub stop: CancellationToken,
}

/// Both queues of a replay, checked to be two different queues the right way round.
#[derive(Debug, Clone)]
pub struct Pair {
    pub dlq: QueueRef,
    pub job_queue: QueueRef,
    pub dlq_stats: QueueStats,
    /// Worth knowing, not worth refusing: e.g. the job queue redrives elsewhere.
    pub notes: Vec<String>,
}

impl Context {
    pub async fn aws(global: &Global, stop: CancellationToken) -> Result<Self, Error> {
        let sdk = common::aws::load(common::aws::Budget::Operator).await;
        if sdk.region().is_none() {
            return Err(AwsFailure::NoRegion.into());
        }
        let table = global.shared.table.clone();
        let dynamodb = common::aws_clients::DynamoClient::new(&sdk);
        Ok(Self {
            queues: Queues(Arc::new(common::queue::AwsSqs::new(&sdk))),
            monitoring: Arc::new(CloudWatch::new(aws_sdk_cloudwatch::Client::new(&sdk))),
            store: Arc::new(DynamoStore::new(dynamodb, table.clone())),
            clock: Arc::new(SystemClock),
            table,
            queue_url: global.queue_url.clone(),
            dlq_url: global.dlq_url.clone(),
            stop,
        })
    }

    pub fn job_queue(&self) -> Result<QueueRef, Error> {
        let url = self.queue_url.clone().ok_or_else(no_job_queue)?;
        Ok(QueueRef::new(Role::JobQueue, url))
    }

    /// `--dlq-url` / `OTP_DLQ_URL`, else the queue the job queue's redrive policy names.
    pub async fn dlq(&self) -> Result<QueueRef, Error> {
        if let Some(url) = &self.dlq_url {
            return Ok(QueueRef::new(Role::Dlq, url.clone()));
        }
        let job_queue = self.job_queue().map_err(|_| queues(
            "no_queues",
            "no DLQ given: pass --dlq-url or set OTP_DLQ_URL, or give the job queue (--queue-url / OTP_QUEUE_URL) whose redrive policy names it".to_owned(),
        ))?;
        let stats = self.queues.stats(&job_queue).await?;
        let redrive = stats.redrive.ok_or_else(|| queues(
            "no_dead_letter_queue",
            format!("no DLQ given, and the job queue {} has no redrive policy naming one: pass --dlq-url or set OTP_DLQ_URL", job_queue.url),
        ))?;
        let arn = QueueArn::parse(&redrive.target_arn).ok_or_else(|| queues(
            "bad_redrive_policy",
            format!("the redrive policy of {} names {:?}, which is not an SQS queue ARN: pass --dlq-url or set OTP_DLQ_URL", job_queue.url, redrive.target_arn),
        ))?;
        // A missing DLQ is the one the policy names, not the job queue: say so.
        let named = format!(
            "the DLQ {} named by the redrive policy of {job_queue}",
            arn.name
        );
        let not_found = ("queue_not_found", Role::Dlq.flag());
        let url = (self.queues.0.url_of(&arn.name, &arn.account).await)
            .map_err(|e| Error::from(AwsFailure::of(&e, named, not_found)))?;
        let url = url.parse().map_err(|e| queues("bad_redrive_policy", e))?;
        Ok(QueueRef::new(Role::Dlq, url))
    }

    /// The DLQ and the job queue of a replay: never the same queue, never swapped.
    pub async fn pair(&self) -> Result<Pair, Error> {
        let (job_queue, dlq) = (self.job_queue()?, self.dlq().await?);
        // Replay would read from and write to the same queue: every job would go round forever.
        let same = || {
            queues(
                "same_queue",
                format!(
                    "refusing to replay {} into itself: --dlq-url / OTP_DLQ_URL and --queue-url / OTP_QUEUE_URL name the same queue",
                    dlq.url
                ),
            )
        };
        if dlq.url == job_queue.url {
            return Err(same());
        }
        let dlq_stats = self.queues.stats(&dlq).await?;
        let job_stats = self.queues.stats(&job_queue).await?;
        if dlq_stats.arn.is_some() && dlq_stats.arn == job_stats.arn {
            return Err(same());
        }
        if let (Some(redrive), Some(job_arn)) = (&dlq_stats.redrive, &job_stats.arn)
            && &redrive.target_arn == job_arn
        {
            return Err(queues(
                "queues_swapped",
                format!(
                    "{} redrives into {}, so the two look swapped: --queue-url / OTP_QUEUE_URL takes the job queue, --dlq-url / OTP_DLQ_URL its dead-letter queue",
                    dlq.url, job_queue.url
                ),
            ));
        }
        let notes = match (&job_stats.redrive, &dlq_stats.arn) {
            (Some(redrive), Some(dlq_arn)) if &redrive.target_arn != dlq_arn => vec![format!(
                "the job queue's redrive policy sends failures to {}, not to this DLQ",
                redrive.target_arn
            )],
            (None, _) => vec![
                "the job queue has no redrive policy: jobs that fail again will not come back to a DLQ"
                    .to_owned(),
            ],
            _ => Vec::new(),
        };
        Ok(Pair {
            dlq,
            job_queue,
            dlq_stats,
            notes,
        })
    }

    /// The error for a DLQ with nothing to work on, with what is in flight there.
    pub fn empty(dlq: &QueueRef, stats: &QueueStats, verb: &'static str) -> Error {
        let hint = if stats.in_flight > 0 {
            format!(
                "; {} more are in flight (read by another run, or hidden by one that was killed: they reappear after its --visibility-timeout)",
                stats.in_flight
            )
        } else {
            ". If jobs should be there, check --dlq-url / OTP_DLQ_URL".to_owned()
        };
        let url = dlq.url.to_string();
        Error::DlqEmpty { url, verb, hint }
    }
}

fn queues(kind: &'static str, message: String) -> Error {
    Error::Queues { kind, message }
}

/// The command needs the job queue and none was given.
pub fn no_job_queue() -> Error {
    queues(
        "no_job_queue",
        "no job queue given: pass --queue-url or set OTP_QUEUE_URL (the variable the service itself uses)".to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{TestQueues, context, queue_ref};
    use common::cli_output::CliError;

    #[tokio::test]
    async fn the_dlq_defaults_to_the_redrive_target() {
        let queues = TestQueues::default();
        queues.set_redrive(
            &queue_ref(Role::JobQueue, "jobs"),
            &queue_ref(Role::Dlq, "jobs-dlq"),
        );
        let mut ctx = context(&queues, Arc::default(), Arc::default());
        ctx.dlq_url = None;
        assert_eq!(ctx.dlq().await.unwrap().url.name(), "jobs-dlq");
    }

    #[tokio::test]
    async fn without_a_redrive_policy_the_dlq_must_be_given() {
        let mut ctx = context(&TestQueues::default(), Arc::default(), Arc::default());
        ctx.dlq_url = None;
        let err = ctx.dlq().await.unwrap_err();
        assert!(err.to_string().contains("--dlq-url"), "{err}");
    }

    #[tokio::test]
    async fn replay_refuses_one_queue_as_both_and_swapped_queues() {
        let mut ctx = context(&TestQueues::default(), Arc::default(), Arc::default());
        ctx.dlq_url = ctx.queue_url.clone();
        assert_eq!(ctx.pair().await.unwrap_err().kind(), "same_queue");

        let queues = TestQueues::default();
        // Given the other way round: the "DLQ" redrives into the "job queue".
        queues.set_redrive(
            &queue_ref(Role::Dlq, "jobs-dlq"),
            &queue_ref(Role::JobQueue, "jobs"),
        );
        let ctx = context(&queues, Arc::default(), Arc::default());
        assert_eq!(ctx.pair().await.unwrap_err().kind(), "queues_swapped");
    }
}
