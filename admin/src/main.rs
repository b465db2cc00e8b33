use clap::Parser;
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = admin::cli::Cli::parse();
    ExitCode::from(admin::run(cli).await)
}
