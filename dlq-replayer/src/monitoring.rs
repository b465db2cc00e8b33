//! CloudWatch, for `status`: the alarms that watch the two queues, and the age of each
//! queue's oldest message (an SQS metric: SQS exposes no attribute for it).

use crate::error::Error;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricAlarm, Statistic};
use common::cli_output::AwsFailure;
use common::error::BackendError;
use serde::Serialize;
use std::time::Duration;

/// One alarm on one of the queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alarm {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub metric: String,
    pub queue: String,
    /// Unix seconds of the last state change.
    pub since: Option<i64>,
    pub reason: Option<String>,
}

#[async_trait::async_trait]
pub trait Monitoring: Send + Sync + std::fmt::Debug {
    /// Metric alarms (plain or metric math) on `AWS/SQS` metrics of any of `queue_names`.
    async fn alarms_on(&self, queue_names: &[&str]) -> Result<Vec<Alarm>, Error>;

    /// The latest `ApproximateAgeOfOldestMessage` of a queue, in seconds, if CloudWatch has
    /// one from the last 15 minutes (SQS publishes it every minute while the queue is active).
    async fn oldest_age(&self, queue_name: &str) -> Result<Option<Duration>, Error>;
}

#[derive(Debug, Clone)]
pub struct CloudWatch {
    client: Client,
}

impl CloudWatch {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

const NAMESPACE: &str = "AWS/SQS";

/// The queue an `AWS/SQS` metric alarm watches, if it is one of `names`: from the alarm's own
/// metric, or from a metric of its math expression.
pub fn watched_queue(alarm: &MetricAlarm, names: &[&str]) -> Option<(String, String)> {
    let queue_of = |namespace: Option<&str>, dimensions: &[Dimension]| {
        if namespace != Some(NAMESPACE) {
            return None;
        }
        dimensions
            .iter()
            .find(|d| d.name() == Some("QueueName"))
            .and_then(|d| d.value())
            .filter(|v| names.contains(v))
            .map(str::to_owned)
    };
    if let Some(queue) = queue_of(alarm.namespace(), alarm.dimensions()) {
        return Some((alarm.metric_name().unwrap_or_default().to_owned(), queue));
    }
    alarm.metrics().iter().find_map(|query| {
        let metric = query.metric_stat()?.metric()?;
        let queue = queue_of(metric.namespace(), metric.dimensions())?;
        Some((metric.metric_name().unwrap_or_default().to_owned(), queue))
    })
}

fn failed<E, R>(operation: &'static str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let err = BackendError::sdk("cloudwatch", operation, err);
    let not_found = ("not_found", "AWS_REGION / AWS_PROFILE");
    AwsFailure::of(&err, "CloudWatch alarms".to_owned(), not_found).into()
}

#[async_trait::async_trait]
impl Monitoring for CloudWatch {
    async fn alarms_on(&self, queue_names: &[&str]) -> Result<Vec<Alarm>, Error> {
        let mut alarms = Vec::new();
        let mut pages = (self.client.describe_alarms().max_records(100))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed("DescribeAlarms", e))?;
            for alarm in page.metric_alarms() {
                if let Some((metric, queue)) = watched_queue(alarm, queue_names) {
                    alarms.push(Alarm {
                        name: alarm.alarm_name().unwrap_or_default().to_owned(),
                        state: alarm
                            .state_value()
                            .map_or("UNKNOWN", |s| s.as_str())
                            .to_owned(),
                        metric,
                        queue,
                        since: alarm.state_updated_timestamp().map(DateTime::secs),
                        reason: alarm.state_reason().map(str::to_owned),
                    });
                }
            }
        }
        alarms.sort_by(|a, b| (&a.queue, &a.name).cmp(&(&b.queue, &b.name)));
        Ok(alarms)
    }

    async fn oldest_age(&self, queue_name: &str) -> Result<Option<Duration>, Error> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let out = self
            .client
            .get_metric_statistics()
            .namespace(NAMESPACE)
            .metric_name("ApproximateAgeOfOldestMessage")
            .dimensions(
                Dimension::builder()
                    .name("QueueName")
                    .value(queue_name)
                    .build(),
            )
            .start_time(DateTime::from_secs(now - 15 * 60))
            .end_time(DateTime::from_secs(now))
            .period(60)
            .statistics(Statistic::Maximum)
            .send()
            .await
            .map_err(|e| failed("GetMetricStatistics", e))?;
        Ok(out
            .datapoints()
            .iter()
            .filter_map(|p| Some((p.timestamp()?.secs(), p.maximum()?)))
            .max_by_key(|(at, _)| *at)
            .and_then(|(_, age)| Duration::try_from_secs_f64(age.round()).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat};

    fn dim(name: &str, value: &str) -> Dimension {
        Dimension::builder().name(name).value(value).build()
    }

    #[test]
    fn alarms_are_matched_by_the_queue_name_dimension() {
        let names = ["jobs", "jobs-dlq"];
        let plain = MetricAlarm::builder()
            .alarm_name("dlq-not-empty")
            .namespace("AWS/SQS")
            .metric_name("ApproximateNumberOfMessagesVisible")
            .dimensions(dim("QueueName", "jobs-dlq"))
            .build();
        assert_eq!(
            watched_queue(&plain, &names),
            Some((
                "ApproximateNumberOfMessagesVisible".to_owned(),
                "jobs-dlq".to_owned()
            ))
        );
        let other_queue = MetricAlarm::builder()
            .namespace("AWS/SQS")
            .metric_name("ApproximateNumberOfMessagesVisible")
            .dimensions(dim("QueueName", "someone-elses"))
            .build();
        assert_eq!(watched_queue(&other_queue, &names), None);
        let other_namespace = MetricAlarm::builder()
            .namespace("OtpRelay")
            .metric_name("sent")
            .dimensions(dim("QueueName", "jobs"))
            .build();
        assert_eq!(watched_queue(&other_namespace, &names), None);
        let math = MetricAlarm::builder()
            .metrics(
                MetricDataQuery::builder()
                    .id("m1")
                    .metric_stat(
                        MetricStat::builder()
                            .metric(
                                Metric::builder()
                                    .namespace("AWS/SQS")
                                    .metric_name("ApproximateAgeOfOldestMessage")
                                    .dimensions(dim("QueueName", "jobs"))
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(
            watched_queue(&math, &names).map(|(_, q)| q),
            Some("jobs".to_owned())
        );
    }
}
