use clap::Parser;
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = dlq_replayer::cli::Cli::parse();
    ExitCode::from(dlq_replayer::run(cli).await)
}
