//! `provision [STACK_NAME]`: creates the template's local stack (default `otp-relay`) in the AWS
//! the standard environment points at, and prints it as shell assignments: the functions'
//! environment (`export OTP_...=`) and the outputs (`export STACK_<Output>=`). `OTP_*`
//! variables already set override the template's parameters. `make dev` runs it against moto.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    common::telemetry::init();
    let stack = std::env::args().nth(1);
    match run(stack.as_deref().unwrap_or("otp-relay")).await {
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
    let sender = local.environment.get("OTP_EMAIL_FROM");
    if let Some(sender) = sender.filter(|s| !s.is_empty()) {
        infra::local::verify_sender(&sdk, sender).await?;
    }
    // The value single-quoted for the shell.
    let export =
        |name: &str, value: &String| format!("export {name}='{}'", value.replace('\'', r"'\''"));
    let environment = (local.environment.iter()).map(|(name, value)| export(name, value));
    let outputs =
        (local.outputs.iter()).map(|(name, value)| export(&format!("STACK_{name}"), value));
    Ok(environment.chain(outputs).collect::<Vec<_>>().join("\n"))
}
