//! A local stack in moto: the SDK configuration the tests and benchmarks use, the table, and
//! the job queue with its DLQ, made the same way `scripts/provision.py` makes them for `make dev`.

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;
use tokio::sync::OnceCell;

pub const EMAIL_FROM: &str = "no-reply@otp-relay.test";
pub const MAX_RECEIVE_COUNT: i32 = 5;

/// The SDK as the services configure it (standard retries, 3 attempts), pointed at `endpoint`;
/// the first retry backoff is shorter, so tests of throttling do not sleep for seconds, and the
/// timeouts longer, sized for the emulator.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    common::aws::loader(common::aws::Budget::Background)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(20)),
        )
        // moto serialises DynamoDB and runs on a loaded CI machine: far slower than DynamoDB.
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(2))
                .operation_attempt_timeout(std::time::Duration::from_secs(5))
                .operation_timeout(std::time::Duration::from_secs(15))
                .build(),
        )
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// The SES sender identity, created once per test process.
pub async fn ensure_ses_identity(sdk: &aws_config::SdkConfig) {
    static DONE: OnceCell<()> = OnceCell::const_new();
    DONE.get_or_init(|| async {
        let ses = aws_sdk_sesv2::Client::new(sdk);
        // Already existing is fine: another test process made it.
        let _ = ses
            .create_email_identity()
            .email_identity(EMAIL_FROM)
            .send()
            .await;
    })
    .await;
}

pub async fn create_table(dynamo: &aws_sdk_dynamodb::Client, table: &str) {
    dynamo
        .create_table()
        .table_name(table)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table in moto");
}

/// A job queue with a DLQ behind it (redrive after [`MAX_RECEIVE_COUNT`] receives).
pub async fn create_queues(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let redrive =
        json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT }).to_string();
    let queue_url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (queue_url, dlq_url)
}
