//! Start-up ([`common::startup`]), then either the Lambda runtime or a local server.

use crate::app::router;
use crate::service::OtpService;
use common::aws::Budget;
use common::aws_clients::{DynamoClient, SqsClient};
use common::clock::SystemClock;
use common::config::Settings;
use common::crypto::Keys;
use common::queue::SqsQueue;
use common::startup::{Startup, StartupError, in_lambda};
use common::store::DynamoStore;
use common::tenant::{DynamoTenantStore, KeyResolver};
use std::net::SocketAddr;
use std::sync::Arc;

/// Builds the service from the environment: `OTP_*` settings and the SDK's standard config.
pub async fn service_from_env() -> Result<(OtpService, Settings), StartupError> {
    // libphonenumber's metadata is decoded on first use; a thread does it now, while start-up
    // waits on the network for the secret, so neither init nor the first SMS send waits for it.
    std::thread::spawn(common::domain::PhoneNumber::load_metadata);
    let Startup {
        settings,
        sdk,
        secret,
    } = Startup::load(Budget::RequestPath).await?;
    let tenants = DynamoTenantStore::new(DynamoClient::new(&sdk), settings.table_name.clone());
    let service = OtpService {
        rules: settings.rules.clone(),
        resolver: Arc::new(KeyResolver::new(Arc::new(tenants), &secret)),
        store: Arc::new(DynamoStore::new(
            DynamoClient::new(&sdk),
            settings.table_name.clone(),
        )),
        queue: Arc::new(SqsQueue::new(
            SqsClient::new(&sdk),
            settings.queue_url.clone(),
        )),
        keys: Arc::new(Keys::derive(&secret)),
        clock: Arc::new(SystemClock),
    };
    Ok((service, settings))
}

/// Serves through the Lambda Runtime API when Lambda started us, else on `OTP_HTTP_ADDR`.
pub async fn run() -> Result<(), StartupError> {
    let (service, settings) = service_from_env().await?;
    let app = router(Arc::new(service));
    if in_lambda() {
        return lambda_http::run(app)
            .await
            .map_err(|e| StartupError::Serve(e.to_string()));
    }
    let addr = settings.http_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })?;
    tracing::info!(%addr, "otp-relay API listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(common::shutdown::signal())
    .await
    .map_err(|e| StartupError::Serve(e.to_string()))
}
