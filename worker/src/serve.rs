//! Start-up ([`common::startup`]), then the Lambda runtime or the polling loop.

use crate::deliver::Deliverer;
use crate::lambda::LambdaWorker;
use crate::pacer::Pacer;
use crate::poller::Poller;
use aws_lambda_events::event::sqs::SqsEvent;
use common::aws::Budget;
use common::clock::SystemClock;
use common::crypto::Keys;
use common::sender::AwsSender;
use common::startup::{Startup, StartupError, in_lambda};
use common::store::DynamoStore;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

pub async fn run() -> Result<(), StartupError> {
    let Startup {
        settings,
        sdk,
        secret,
    } = Startup::load(Budget::Background).await?;
    if settings.email_from.is_none() {
        tracing::warn!(
            "OTP_EMAIL_FROM is not set: e-mail jobs will fail until it names a verified SES identity"
        );
    }
    let deliverer = Deliverer {
        store: Arc::new(DynamoStore::new(
            common::aws_clients::DynamoClient::new(&sdk),
            settings.table_name.clone(),
        )),
        sender: Arc::new(AwsSender::new(&sdk, settings.email_from.clone())),
        keys: Arc::new(Keys::derive(&secret)),
        clock: Arc::new(SystemClock),
        brand: settings.brand_name.clone(),
        pacer: Arc::new(Pacer::new(settings.delivery.max_send_rate)),
        claim_seconds: settings.delivery.claim_seconds,
    };
    if in_lambda() {
        let worker = LambdaWorker {
            deliverer,
            sqs: Arc::new(common::queue::AwsSqs::new(&sdk)),
            queue_url: settings.queue_url,
            rules: settings.delivery,
            metrics_namespace: settings.metrics_namespace,
        };
        let worker = &worker;
        return lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
            worker
                .handle(event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }))
        .await
        .map_err(|e| StartupError::Serve(e.to_string()));
    }
    let wait_seconds = 20;
    let poller = Poller {
        client: Poller::sqs_client(&sdk, wait_seconds),
        queue_url: settings.queue_url,
        deliverer,
        rules: settings.delivery,
        wait_seconds,
        batches_in_flight: settings.batches_in_flight,
    };
    tracing::info!(
        queue = %poller.queue_url,
        batches_in_flight = poller.batches_in_flight,
        "otp-relay worker polling"
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        common::shutdown::signal().await;
        on_signal.cancel();
    });
    poller.run(stop).await;
    Ok(())
}
