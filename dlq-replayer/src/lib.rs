//! `dlq-replayer`: the operators' CLI for otp-relay's dead-letter queue.
//!
//! Generic DLQ movers put everything back blindly. This one reads each job with the worker's
//! own parser and its OTP record with the service's own rules, so it puts back only jobs that
//! can still get a usable code to someone, and says why it left the others. Every command
//! that changes a queue is a dry run unless `--execute`; a replay sends before it deletes.
//!
//! The binary (`src/main.rs`) only parses the command line and calls [`run`].

pub mod classify;
pub mod cli;
pub mod context;
pub mod error;
pub mod inspect;
pub mod monitoring;
pub mod peek;
pub mod progress;
pub mod purge;
pub mod queue_url;
pub mod queues;
pub mod rate;
pub mod replay;
pub mod span;
pub mod status;
pub mod sweep;
pub mod transfer;

use cli::{Cli, Command};
use context::Context;
use error::Error;
use tokio_util::sync::CancellationToken;

/// A finished command's summary and, if not everything asked was done, why.
pub type Done = common::cli_output::Done<Error>;

/// How a summary starts when nothing was changed.
pub const DRY_RUN: &str = "dry run (nothing changed; add --execute to do it)";

/// A queue's name, from its URL: what the text summaries show.
pub fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// Runs one command and prints its outcome; returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let stop = CancellationToken::new();
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            common::shutdown::signal().await;
            // The first signal finishes the batch under way; a second one does not wait.
            stop.cancel();
            eprintln!("stopping after the batch under way (again to stop at once)");
            common::shutdown::signal().await;
            std::process::exit(130);
        });
    }
    let command = async {
        let ctx = Context::aws(&cli.global, stop).await?;
        dispatch(&ctx, &cli.command).await
    };
    let (name, json) = (command_name(&cli.command), cli.global.shared.json);
    common::cli_output::run(name, json, command).await
}

pub fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Status => "status",
        Command::Peek(_) => "peek",
        Command::Replay(_) => "replay",
        Command::Export(_) => "export",
        Command::Import(_) => "import",
        Command::Purge(_) => "purge",
    }
}

pub async fn dispatch(ctx: &Context, command: &Command) -> Result<Done, Error> {
    match command {
        Command::Status => status::run(ctx).await,
        Command::Peek(args) => peek::run(ctx, args.limit, args.hold.duration()).await,
        Command::Replay(args) => replay::run(ctx, args).await,
        Command::Export(args) => {
            transfer::export(ctx, &args.out, args.force, args.hold.duration()).await
        }
        Command::Import(args) => transfer::import(ctx, &args.input, args.execute).await,
        Command::Purge(args) => {
            purge::run(ctx, args.expired_only, args.execute, args.hold.duration()).await
        }
    }
}

#[cfg(test)]
mod testkit;
