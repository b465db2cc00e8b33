use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    common::telemetry::init();
    match api::serve::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            common::startup::report(&err).await;
            ExitCode::FAILURE
        }
    }
}
