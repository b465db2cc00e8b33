//! A local stack in moto: the SDK configuration the tests and benchmarks use, and the table,
//! queues, secret and alarms made from `infra/template.yaml` by [`infra::provision`], the same
//! way `make dev` makes them.

use aws_sdk_dynamodb::config::{Credentials, Region};
use std::collections::BTreeMap;
use tokio::sync::OnceCell;

pub const EMAIL_FROM: &str = "no-reply@otp-relay.test";

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

/// A local stack made from `infra/template.yaml`, the same path `make dev` takes: table,
/// job queue, DLQ with the redrive policy, secret, alarm topic and queue alarms, named from
/// `name`. The sender is [`EMAIL_FROM`]; `overrides` set other template parameters.
pub async fn local_stack_with(
    sdk: &aws_config::SdkConfig,
    name: &str,
    overrides: &[(&str, &str)],
) -> infra::LocalStack {
    let template = infra::Template::bundled().expect("infra/template.yaml parses");
    let mut parameters: BTreeMap<String, String> =
        BTreeMap::from([("EmailFrom".to_owned(), EMAIL_FROM.to_owned())]);
    for (key, value) in overrides {
        parameters.insert((*key).to_owned(), (*value).to_owned());
    }
    infra::provision(sdk, &template, name, &parameters)
        .await
        .unwrap_or_else(|e| panic!("local stack {name}: {e}"))
}

pub async fn local_stack(sdk: &aws_config::SdkConfig, name: &str) -> infra::LocalStack {
    local_stack_with(sdk, name, &[]).await
}

/// What the tests use of a local stack: the table, the job queue and the DLQ.
#[derive(Debug, Clone)]
pub struct StackNames {
    pub table: String,
    pub queue_url: String,
    pub dlq_url: String,
}

impl StackNames {
    pub fn of(stack: &infra::LocalStack) -> Self {
        Self {
            table: stack.environment["OTP_TABLE_NAME"].clone(),
            queue_url: stack.environment["OTP_QUEUE_URL"].clone(),
            dlq_url: stack.outputs["DeadLetterQueueUrl"].clone(),
        }
    }
}

/// Jobs on a queue, visible or in flight; `u64::MAX` when the emulator did not answer in time
/// (callers that wait for a drain simply ask again).
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName::{
        ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible,
    };
    let Ok(answer) = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(ApproximateNumberOfMessages)
        .attribute_names(ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
    else {
        return u64::MAX;
    };
    let attributes = answer.attributes.unwrap_or_default();
    [
        ApproximateNumberOfMessages,
        ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|name| attributes.get(name)?.parse::<u64>().ok())
    .sum()
}

/// What a benchmark runs against: a fresh local stack and the API service over it.
#[derive(Debug)]
pub struct BenchStack {
    pub names: StackNames,
    pub store: std::sync::Arc<common::store::DynamoStore>,
    pub keys: std::sync::Arc<common::crypto::Keys>,
    pub service: api::OtpService,
    /// A server key of the service's one tenant, and who it acts for.
    pub api_key: String,
    pub caller: common::tenant::Caller,
}

/// A stack named `<prefix>-<random>`, made through `stack_sdk`, and a service with `rules` whose
/// calls go through `app_sdk` (the same SDK, or one pointed at a proxy).
pub async fn bench_stack(
    stack_sdk: &aws_config::SdkConfig,
    app_sdk: &aws_config::SdkConfig,
    prefix: &str,
    rules: common::config::Rules,
) -> BenchStack {
    use std::sync::Arc;
    ensure_ses_identity(stack_sdk).await;
    let name = format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let names = StackNames::of(&local_stack(stack_sdk, &name).await);
    let secret = common::secret::ServiceSecret::generate();
    let keys = Arc::new(common::crypto::Keys::derive(&secret));
    let (tenants, api_key) = crate::tenants::Tenants::with_server_key(&secret, "bench").await;
    let store = Arc::new(common::store::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(app_sdk),
        names.table.clone(),
    ));
    let service = api::OtpService {
        rules,
        resolver: tenants.resolver.clone(),
        store: store.clone(),
        queue: Arc::new(common::queue::SqsQueue::new(
            aws_sdk_sqs::Client::new(app_sdk),
            names.queue_url.clone(),
        )),
        keys: keys.clone(),
        clock: Arc::new(common::clock::SystemClock),
    };
    BenchStack {
        names,
        store,
        keys,
        service,
        caller: tenants.caller(&api_key).await,
        api_key: api_key.expose().to_owned(),
    }
}
