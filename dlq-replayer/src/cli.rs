//! The command line, as clap reads it. `--help` is built from these doc comments.

use crate::classify::Selection;
use crate::queue_url::QueueUrl;
use crate::rate::Rate;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Inspect and replay otp-relay's dead-letter queue (DLQ) of delivery jobs.
///
/// Jobs land in the DLQ when delivery failed too often (an SES or SNS outage, say). This tool
/// knows what a job is: it shows them without consuming them, and puts back only the ones that
/// can still get a usable code to someone, skipping expired, already verified and otherwise
/// pointless jobs. Commands that change a queue do nothing without --execute.
#[derive(Debug, Parser)]
#[command(
    name = "dlq-replayer",
    version,
    after_long_help = common::cli_output::help_after("`make dlq` points everything at the `make dev` stack.

Exit codes: 0 everything asked was done; 1 failed or done in part (the summary says what
was done); 2 bad command line; 3 the DLQ is empty (nothing to do); 130 interrupted.")
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The delivery job queue: where replay puts jobs back, and whose redrive policy names
    /// the DLQ when --dlq-url is not given.
    #[arg(long, env = "OTP_QUEUE_URL", value_name = "URL", global = true)]
    pub queue_url: Option<QueueUrl>,

    /// The dead-letter queue. Default: the one the job queue's redrive policy names.
    #[arg(long, env = "OTP_DLQ_URL", value_name = "URL", global = true)]
    pub dlq_url: Option<QueueUrl>,

    /// `--table` (the OTP records, read to tell live jobs from pointless ones) and `--json`.
    #[command(flatten)]
    pub shared: common::cli_output::OperatorArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Depth, in-flight count and age of the oldest job of the job queue and the DLQ, and the
    /// state of the CloudWatch alarms on them.
    Status,

    /// List DLQ jobs without consuming them: each is hidden only while the listing is read,
    /// then made visible again at once. Shows no code (a job holds none).
    Peek(PeekArgs),

    /// Put live jobs back on the job queue. Dry run unless --execute.
    ///
    /// Each job is sent to the job queue first and deleted from the DLQ only after the send
    /// succeeded: a crash can leave a job in both queues (the worker sends its code once
    /// anyway), never in neither. Jobs whose code expired, was verified or locked, whose
    /// record is gone or whose delivery happened since are skipped (reported, and removed from
    /// the DLQ with --execute unless --keep-skipped). Bodies that are not jobs stay in the DLQ.
    Replay(ReplayArgs),

    /// Write every DLQ job to a JSONL file (bodies byte for byte, with their attributes).
    /// The DLQ is left as it was.
    Export(ExportArgs),

    /// Put the jobs of an export file back into the DLQ. Dry run unless --execute.
    Import(ImportArgs),

    /// Remove expired jobs (--expired-only), or every job (--all), from the DLQ. Dry run
    /// unless --execute.
    Purge(PurgeArgs),
}

/// How long a command keeps the messages it has read hidden from everyone else.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct HoldArgs {
    /// Seconds the DLQ messages this run has read stay hidden while it works. Messages of a
    /// run that is killed reappear after this long; nothing is lost.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=43_200))]
    pub visibility_timeout: u32,
}

impl HoldArgs {
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.visibility_timeout.into())
    }
}

#[derive(Debug, Args)]
pub struct PeekArgs {
    /// How many jobs to list.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    #[command(flatten)]
    pub hold: HoldArgs,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ReplayArgs {
    /// Put back at most N jobs (exactly N if the DLQ holds that many live ones).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Put back at most this many jobs per second (e.g. 50, or 0.5). Default: as fast as SQS
    /// takes them; the worker paces its own sends to the provider either way.
    #[arg(long, value_name = "PER_SEC")]
    pub rate: Option<Rate>,

    #[command(flatten)]
    pub selection: Selection,

    /// Put back expired jobs too (the worker then marks them dropped instead of sending).
    #[arg(long)]
    pub include_expired: bool,

    /// With --execute, leave skipped jobs in the DLQ instead of removing them.
    #[arg(long)]
    pub keep_skipped: bool,

    /// Do it. Without this flag nothing changes: the summary says what would happen.
    #[arg(long)]
    pub execute: bool,

    #[command(flatten)]
    pub hold: HoldArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The JSONL file to write (one message per line).
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: PathBuf,

    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub hold: HoldArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A file written by `export`.
    #[arg(long = "in", value_name = "FILE.jsonl")]
    pub input: PathBuf,

    /// Do it. Without this flag nothing changes: the file is checked and counted.
    #[arg(long)]
    pub execute: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["expired_only", "all"]))]
pub struct PurgeArgs {
    /// Remove only jobs whose code has expired.
    #[arg(long)]
    pub expired_only: bool,

    /// Remove every message, jobs and malformed bodies alike (export first).
    #[arg(long)]
    pub all: bool,

    /// Do it. Without this flag nothing changes: the summary says what would be removed.
    #[arg(long)]
    pub execute: bool,

    #[command(flatten)]
    pub hold: HoldArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn replay_is_a_dry_run_unless_told_otherwise() {
        let cli = Cli::try_parse_from(["dlq-replayer", "replay", "--limit", "5"]).unwrap();
        let Command::Replay(args) = cli.command else {
            panic!("not replay")
        };
        assert!(!args.execute);
        assert_eq!(args.limit, Some(5));
    }

    #[test]
    fn purge_needs_to_be_told_what() {
        assert!(Cli::try_parse_from(["dlq-replayer", "purge", "--execute"]).is_err());
        assert!(Cli::try_parse_from(["dlq-replayer", "purge", "--all", "--expired-only"]).is_err());
        assert!(Cli::try_parse_from(["dlq-replayer", "purge", "--expired-only"]).is_ok());
    }

    #[test]
    fn bad_values_are_refused_on_the_command_line() {
        for args in [
            vec!["dlq-replayer", "replay", "--rate", "0"],
            vec!["dlq-replayer", "replay", "--older-than", "30"],
            vec!["dlq-replayer", "replay", "--channel", "fax"],
            vec!["dlq-replayer", "replay", "--limit", "0"],
            vec!["dlq-replayer", "peek", "--dlq-url", "not-a-url"],
        ] {
            assert!(Cli::try_parse_from(&args).is_err(), "{args:?}");
        }
        let cli = Cli::try_parse_from([
            "dlq-replayer",
            "replay",
            "--json",
            "--older-than",
            "1h30m",
            "--channel",
            "sms",
        ])
        .unwrap();
        assert!(cli.global.shared.json);
    }
}
