//! `status`: both queues at a glance, and the alarms that watch them. Read-only: it receives
//! nothing (a receive from the job queue would count toward sending a job to the DLQ).

use crate::Done;
use crate::context::Context;
use crate::error::Error;
use crate::monitoring::Alarm;
use crate::queue_url::{QueueRef, Role};
use crate::queues::QueueStats;
use crate::span::short;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    pub role: &'static str,
    pub name: String,
    pub url: String,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
    /// From CloudWatch's `ApproximateAgeOfOldestMessage`; null when it has no recent data.
    pub oldest_age_seconds: Option<u64>,
}

/// One queue's depths, and its oldest message's age if CloudWatch can say: CloudWatch is
/// extra, so what it cannot say goes to `problems` and the rest is still shown.
async fn queue_status(
    ctx: &Context,
    queue: &QueueRef,
    problems: &mut Vec<Error>,
) -> Result<(QueueStatus, QueueStats), Error> {
    let stats = ctx.queues.stats(queue).await?;
    let oldest = (ctx.monitoring.oldest_age(queue.url.name()).await).unwrap_or_else(|err| {
        problems.push(err);
        None
    });
    let status = QueueStatus {
        role: match queue.role {
            Role::JobQueue => "job_queue",
            Role::Dlq => "dlq",
        },
        name: queue.url.name().to_owned(),
        url: queue.url.to_string(),
        visible: stats.visible,
        in_flight: stats.in_flight,
        delayed: stats.delayed,
        oldest_age_seconds: oldest.map(|age| age.as_secs()),
    };
    Ok((status, stats))
}

pub async fn run(ctx: &Context) -> Result<Done, Error> {
    let (job_queue, dlq) = (ctx.job_queue()?, ctx.dlq().await?);
    let mut problems = Vec::new();
    let (jobs, job_stats) = queue_status(ctx, &job_queue, &mut problems).await?;
    let (dead, _) = queue_status(ctx, &dlq, &mut problems).await?;
    let names = [job_queue.url.name(), dlq.url.name()];
    let alarms = (ctx.monitoring.alarms_on(&names).await)
        .map_err(|err| problems.push(err))
        .ok();
    let summary = Summary {
        queues: vec![jobs, dead],
        max_receive_count: job_stats.redrive.as_ref().and_then(|r| r.max_receive_count),
        alarms,
        cloudwatch_failed: !problems.is_empty(),
    };
    Ok(Done::of(&summary, problems.into_iter().next()))
}

/// Both queues and their alarms.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub queues: Vec<QueueStatus>,
    pub max_receive_count: Option<u32>,
    /// `None`: CloudWatch could not say (the error says why).
    pub alarms: Option<Vec<Alarm>>,
    #[serde(skip)]
    pub cloudwatch_failed: bool,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, t: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name_width = self
            .queues
            .iter()
            .map(|q| q.name.len() + q.role.len() + 3)
            .max()
            .unwrap_or(0)
            .max(5);
        writeln!(
            t,
            "{:<name_width$}  {:>7}  {:>9}  {:>7}  OLDEST",
            "QUEUE", "VISIBLE", "IN FLIGHT", "DELAYED"
        )?;
        for q in &self.queues {
            let role = if q.role == "dlq" { "DLQ" } else { "jobs" };
            let label = format!("{} ({role})", q.name);
            let oldest = q.oldest_age_seconds.map_or("-".to_owned(), short);
            writeln!(
                t,
                "{label:<name_width$}  {:>7}  {:>9}  {:>7}  {oldest}",
                q.visible, q.in_flight, q.delayed
            )?;
        }
        if let Some(n) = self.max_receive_count {
            writeln!(t, "a job moves to the DLQ after {n} receives")?;
        }
        if !self.cloudwatch_failed && self.queues.iter().all(|q| q.oldest_age_seconds.is_none()) {
            writeln!(
                t,
                "oldest: no CloudWatch data for the last 15 minutes (SQS publishes it every minute in AWS; a local stack has none)"
            )?;
        }
        match self.alarms.as_deref() {
            None => writeln!(t, "alarms: unknown (see the error below)"),
            Some([]) => writeln!(t, "alarms: none on these queues"),
            Some(alarms) => {
                writeln!(t, "alarms:")?;
                for a in alarms {
                    let since = a
                        .since
                        .map(|s| format!(", since {}", common::clock::rfc3339(s)))
                        .unwrap_or_default();
                    writeln!(
                        t,
                        "  {:<17}  {}  ({} of {}{since})",
                        a.state, a.name, a.metric, a.queue
                    )?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(
        queues: &[QueueStatus],
        max_receive_count: Option<u32>,
        alarms: Option<&[Alarm]>,
        cloudwatch_failed: bool,
    ) -> String {
        Summary {
            queues: queues.to_vec(),
            max_receive_count,
            alarms: alarms.map(<[Alarm]>::to_vec),
            cloudwatch_failed,
        }
        .to_string()
    }

    fn status(role: &'static str, name: &str, visible: u64, oldest: Option<u64>) -> QueueStatus {
        QueueStatus {
            role,
            name: name.into(),
            url: format!("http://q/1/{name}"),
            visible,
            in_flight: 0,
            delayed: 0,
            oldest_age_seconds: oldest,
        }
    }

    #[test]
    fn shows_depths_alarms_and_what_it_does_not_know() {
        let queues = [
            status("job_queue", "jobs", 0, None),
            status("dlq", "jobs-dlq", 12, None),
        ];
        let t = text(&queues, Some(5), Some(&[]), false);
        assert!(t.contains("jobs-dlq (DLQ)"), "{t}");
        assert!(t.contains("after 5 receives"), "{t}");
        assert!(t.contains("no CloudWatch data"), "{t}");
        assert!(t.contains("alarms: none"), "{t}");

        let alarm = Alarm {
            name: "dlq-not-empty".into(),
            state: "ALARM".into(),
            metric: "ApproximateNumberOfMessagesVisible".into(),
            queue: "jobs-dlq".into(),
            since: Some(0),
            reason: None,
        };
        let queues = [
            status("job_queue", "jobs", 0, Some(30)),
            status("dlq", "jobs-dlq", 12, Some(7_200)),
        ];
        let t = text(&queues, None, Some(&[alarm]), false);
        assert!(t.contains("ALARM") && t.contains("dlq-not-empty"), "{t}");
        assert!(t.contains("2h"), "{t}");
        assert!(!t.contains("no CloudWatch data"), "{t}");
        assert!(text(&queues, None, None, true).contains("alarms: unknown"));
    }
}
