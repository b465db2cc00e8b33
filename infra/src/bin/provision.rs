//! `provision [STACK_NAME]`: creates the template's local stack (default `otp-relay`) in the AWS
//! the standard environment points at, and prints it as shell assignments: the functions'
//! environment (`export OTP_...=`) and the outputs (`export STACK_<Output>=`). `OTP_*`
//! variables already set override the template's parameters. `make dev` runs it against moto.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    common::telemetry::init();
    let stack = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "otp-relay".to_owned());
    match run(&stack).await {
        Ok(lines) => {
            #[allow(clippy::print_stdout)] // The output is the product: shell assignments.
            {
                println!("{lines}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(stack: &str) -> Result<String, infra::InfraError> {
    let template = infra::Template::bundled()?;
    let overrides = infra::local::overrides_from_env(&template, |v| std::env::var(v).ok());
    let sdk = common::aws::load(common::aws::Budget::Background).await;
    let local = infra::provision(&sdk, &template, stack, &overrides).await?;
    if let Some(sender) = local
        .environment
        .get("OTP_EMAIL_FROM")
        .filter(|s| !s.is_empty())
    {
        infra::local::verify_sender(&sdk, sender).await?;
    }
    let mut lines = Vec::new();
    for (name, value) in &local.environment {
        lines.push(format!("export {name}={}", quote(value)));
    }
    for (name, value) in &local.outputs {
        lines.push(format!("export STACK_{name}={}", quote(value)));
    }
    Ok(lines.join("\n"))
}

/// Single-quoted for the shell.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}
