//! What both binaries do before they serve: read the settings, load the SDK configuration, fetch
//! the service secret. In Lambda a failure here is also reported to the Runtime API's init-error
//! endpoint, so the function's error names the setting to fix instead of a bare exit code.

use crate::aws::Budget;
use crate::config::{ConfigError, Settings};
use crate::secret::{SecretError, ServiceSecret};
use std::net::SocketAddr;

/// Why a binary could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// An `OTP_*` setting is missing or out of range.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The service secret could not be read or is malformed.
    #[error("service secret: {0}")]
    Secret(#[from] SecretError),
    /// The local HTTP server could not bind its address.
    #[error("cannot listen on {addr} ({source}); set OTP_HTTP_ADDR to a free address")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The Lambda runtime or the local server stopped with an error after start-up.
    #[error("stopped: {0}")]
    Serve(String),
}

impl StartupError {
    /// The `errorType` reported to Lambda: which part of start-up failed.
    fn error_type(&self) -> &'static str {
        match self {
            StartupError::Config(_) => "Startup.Config",
            StartupError::Secret(_) => "Startup.Secret",
            StartupError::Bind { .. } => "Startup.Bind",
            StartupError::Serve(_) => "Startup.Serve",
        }
    }
}

/// Everything a binary needs from its environment.
#[derive(Debug)]
pub struct Startup {
    pub settings: Settings,
    pub sdk: aws_config::SdkConfig,
    pub secret: ServiceSecret,
}

impl Startup {
    /// Settings first (no network needed to find a typo), then the SDK (with the timeouts of
    /// `budget`) and the secret.
    pub async fn load(budget: Budget) -> Result<Self, StartupError> {
        let settings = Settings::from_env()?;
        let sdk = crate::aws::load(budget).await;
        let secret = ServiceSecret::load(&sdk).await?;
        Ok(Self {
            settings,
            sdk,
            secret,
        })
    }
}

/// True when Lambda started this process (it then talks to the Runtime API, never listens).
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Logs `err` and, in Lambda, posts it to `/runtime/init/error` (only errors before the runtime
/// loop started belong there; Lambda then records the reason and retries the start-up).
pub async fn report(err: &StartupError) {
    tracing::error!("{err}");
    if !in_lambda() || matches!(err, StartupError::Serve(_)) {
        return;
    }
    let body = serde_json::json!({
        "errorType": err.error_type(),
        "errorMessage": err.to_string(),
    })
    .to_string();
    let request = lambda_runtime_api_client::build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.StartupError")
        .header("content-type", "application/json")
        .body(lambda_runtime_api_client::body::Body::from(body));
    let sent = match request {
        Ok(request) => lambda_runtime_api_client::PooledClient::builder()
            .build()
            .call(request)
            .await
            .map(|response| response.status()),
        Err(err) => Err(err.into()),
    };
    match sent {
        Ok(status) if status.is_success() => {}
        Ok(status) => tracing::warn!(%status, "the Runtime API refused the init error"),
        Err(error) => tracing::warn!(%error, "could not report the init error to the Runtime API"),
    }
}
