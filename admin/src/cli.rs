//! The command line, as clap reads it. `--help` is built from these doc comments. Values are
//! read as text and checked by the policy's own parsers, so the CLI and the store accept
//! exactly the same things.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Manage otp-relay's tenants (the applications that call the API) and their API keys.
///
/// A tenant has a policy: its channels, e-mail sender, allowed browser origins and limits
/// (each within the deployment's bounds; unset, the deployment's setting applies). A key is
/// shown once, when it is created; only a keyed hash of it is stored.
#[derive(Debug, Parser)]
#[command(
    name = "otp-admin",
    version,
    after_long_help = common::cli_output::help_after("`key create` also needs the service secret the API uses: OTP_SECRET_ARN
(Secrets Manager) or OTP_SECRET. `make admin ARGS=\"...\"` points everything at the
`make dev` stack.

Exit codes: 0 done; 1 failed; 2 bad command line or a value out of bounds.")
)]
pub struct Cli {
    #[command(flatten)]
    pub global: common::cli_output::OperatorArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list, show, change, disable and enable tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Create, list and revoke a tenant's API keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (enabled).
    Create(Box<CreateArgs>),
    /// Every tenant, by id.
    List,
    /// One tenant's policy.
    Show(TenantArg),
    /// Change a tenant's policy: only the fields given change.
    Update(Box<UpdateArgs>),
    /// Refuse every key of a tenant (within the API's key cache time, 30 s). Its data stays.
    Disable(TenantArg),
    /// Accept a disabled tenant's keys again.
    Enable(TenantArg),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key and print it. It is shown this once: only its hash is stored.
    Create(KeyCreateArgs),
    /// A tenant's keys: id, kind, label, created and revoked times. Never the keys themselves.
    List(TenantArg),
    /// Revoke a key (the API refuses it within its key cache time, 30 s). Revoking twice
    /// changes nothing.
    Revoke(KeyRevokeArgs),
}

#[derive(Debug, Args)]
pub struct TenantArg {
    /// The tenant's id (lowercase letters, digits, hyphens).
    #[arg(value_name = "TENANT")]
    pub tenant: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChannelArg {
    Email,
    Sms,
}

impl From<ChannelArg> for common::domain::Channel {
    fn from(value: ChannelArg) -> Self {
        match value {
            ChannelArg::Email => common::domain::Channel::Email,
            ChannelArg::Sms => common::domain::Channel::Sms,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// For the tenant's backend: every endpoint.
    Server,
    /// For browsers and apps: send, resend and verify, from the tenant's origins.
    Publishable,
}

impl From<KindArg> for common::tenant::KeyKind {
    fn from(value: KindArg) -> Self {
        match value {
            KindArg::Server => common::tenant::KeyKind::Server,
            KindArg::Publishable => common::tenant::KeyKind::Publishable,
        }
    }
}

/// The fields of a policy, as `create` and `update` take them.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Shown in messages ("Your <brand> code is ..."). Default: the deployment's OTP_BRAND_NAME.
    #[arg(long, value_name = "TEXT")]
    pub brand: Option<String>,

    /// The channels the tenant may send on, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "CHANNELS")]
    pub channels: Option<Vec<ChannelArg>>,

    /// The From address of the tenant's e-mails, of an identity verified in SES. Default: the
    /// deployment's OTP_EMAIL_FROM.
    #[arg(long, value_name = "ADDRESS")]
    pub email_from: Option<String>,

    /// The name shown next to --email-from.
    #[arg(long, value_name = "TEXT", requires = "email_from")]
    pub email_display_name: Option<String>,

    /// A browser origin publishable keys may be used from (scheme://host[:port]); repeat for
    /// several. Replaces the list.
    #[arg(long = "origin", value_name = "ORIGIN")]
    pub origins: Vec<String>,

    /// The countries the tenant may text (ISO 3166-1 alpha-2, comma-separated, e.g. GB,US).
    /// Replaces the list. A tenant lists none until given some: it then texts nobody.
    #[arg(long, value_delimiter = ',', value_name = "COUNTRIES")]
    pub sms_countries: Option<Vec<String>>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// One flag per [`common::tenant::Limit`]; unset, the deployment's setting applies.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Digits per code.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub code_length: Option<i64>,
    /// How long a code stays verifiable.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub ttl_seconds: Option<i64>,
    /// Wrong guesses before a code locks.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_attempts: Option<i64>,
    /// Wait between two sends of one code.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub resend_cooldown_seconds: Option<i64>,
    /// Sends to one destination per hour.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub sends_per_destination_per_hour: Option<i64>,
    /// Sends for one end-user IP address per hour.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub sends_per_ip_per_hour: Option<i64>,
    /// Sends of the whole tenant per hour.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub tenant_sends_per_hour: Option<i64>,
    /// Wrong guesses at one destination's codes per hour, all its codes together.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub wrong_guesses_per_destination_per_hour: Option<i64>,
}

impl LimitArgs {
    /// The limits given, by name.
    pub fn given(&self) -> Vec<(common::tenant::Limit, i64)> {
        use common::tenant::Limit;
        [
            (Limit::CodeLength, self.code_length),
            (Limit::TtlSeconds, self.ttl_seconds),
            (Limit::MaxAttempts, self.max_attempts),
            (Limit::ResendCooldownSeconds, self.resend_cooldown_seconds),
            (
                Limit::SendsPerDestinationPerHour,
                self.sends_per_destination_per_hour,
            ),
            (Limit::SendsPerIpPerHour, self.sends_per_ip_per_hour),
            (Limit::TenantSendsPerHour, self.tenant_sends_per_hour),
            (
                Limit::WrongGuessesPerDestinationPerHour,
                self.wrong_guesses_per_destination_per_hour,
            ),
        ]
        .into_iter()
        .filter_map(|(limit, value)| Some((limit, value?)))
        .collect()
    }
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The new tenant's id: 2 to 63 lowercase letters, digits and hyphens (e.g. acme).
    #[arg(value_name = "TENANT")]
    pub tenant: String,

    /// The tenant's name, for operators.
    #[arg(long, value_name = "TEXT")]
    pub name: String,

    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[arg(value_name = "TENANT")]
    pub tenant: String,

    /// A new name.
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Back to the deployment's brand.
    #[arg(long, conflicts_with = "brand")]
    pub clear_brand: bool,

    /// Back to the deployment's e-mail sender.
    #[arg(long, conflicts_with = "email_from")]
    pub clear_email_from: bool,

    /// No browser origins (publishable keys then work from nowhere).
    #[arg(long, conflicts_with = "origins")]
    pub clear_origins: bool,

    /// No SMS countries (the tenant then texts nobody).
    #[arg(long, conflicts_with = "sms_countries")]
    pub clear_sms_countries: bool,

    /// Back to the deployment's setting for this limit (e.g. ttl-seconds); repeat for several.
    #[arg(long = "unset", value_name = "LIMIT")]
    pub unset: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    #[arg(value_name = "TENANT")]
    pub tenant: String,

    /// What the key may do.
    #[arg(long, value_enum)]
    pub kind: KindArg,

    /// A note for operators (where the key is used, who holds it).
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeyRevokeArgs {
    #[arg(value_name = "TENANT")]
    pub tenant: String,

    /// The key's id as `key list` shows it (sk_... or pk_...).
    #[arg(value_name = "KEY_ID")]
    pub key: String,
}
