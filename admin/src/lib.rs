//! `otp-admin`: the operators' CLI for tenants and their API keys.
//!
//! Every rule (what a policy may hold, how a key looks and is hashed, what a store write
//! requires) lives in `common::tenant`; this crate reads flags into those types and prints the
//! outcome. The binary (`src/main.rs`) only parses the command line and calls [`run`].

pub mod cli;
pub mod commands;
pub mod error;
pub mod summary;

use cli::{Cli, Command, KeyCommand, TenantCommand};
use common::clock::{Clock, SystemClock};
use common::tenant::{DynamoTenantStore, TenantStore};
use error::Error;
use std::sync::Arc;

/// A finished command's summary (admin commands either finish or fail: no partial error).
pub type Done = common::cli_output::Done<Error>;

/// What the commands work with.
#[derive(Debug)]
pub struct Context {
    pub store: Arc<dyn TenantStore>,
    pub table: String,
    pub clock: Arc<dyn Clock>,
    /// For loading the service secret, which only `key create` needs.
    pub sdk: Option<aws_config::SdkConfig>,
}

impl Context {
    pub async fn aws(table: &str) -> Result<Self, Error> {
        let sdk = common::aws::load(common::aws::Budget::Operator).await;
        if sdk.region().is_none() {
            return Err(common::cli_output::AwsFailure::NoRegion.into());
        }
        Ok(Self {
            store: Arc::new(DynamoTenantStore::new(
                common::aws_clients::DynamoClient::new(&sdk),
                table,
            )),
            table: table.to_owned(),
            clock: Arc::new(SystemClock),
            sdk: Some(sdk),
        })
    }

    /// The service secret, from where the API reads it. Unlike the API, never a generated
    /// one: a key hashed under a secret nobody else has would be refused everywhere.
    pub async fn secret(&self) -> Result<common::secret::ServiceSecret, Error> {
        let set = |name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
        if !set("OTP_SECRET_ARN") && !set("OTP_SECRET") {
            return Err(Error::NoSecret);
        }
        let sdk = self.sdk.as_ref().ok_or(Error::NoSecret)?;
        Ok(common::secret::ServiceSecret::load(sdk).await?)
    }
}

/// Runs one command and prints its outcome; returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let command = async {
        let ctx = Context::aws(&cli.global.table).await?;
        dispatch(&ctx, &cli.command).await
    };
    let (name, json) = (command_name(&cli.command), cli.global.json);
    common::cli_output::run(name, json, command).await
}

pub fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Tenant(TenantCommand::Create(_)) => "tenant create",
        Command::Tenant(TenantCommand::List) => "tenant list",
        Command::Tenant(TenantCommand::Show(_)) => "tenant show",
        Command::Tenant(TenantCommand::Update(_)) => "tenant update",
        Command::Tenant(TenantCommand::Disable(_)) => "tenant disable",
        Command::Tenant(TenantCommand::Enable(_)) => "tenant enable",
        Command::Key(KeyCommand::Create(_)) => "key create",
        Command::Key(KeyCommand::List(_)) => "key list",
        Command::Key(KeyCommand::Revoke(_)) => "key revoke",
    }
}

pub async fn dispatch(ctx: &Context, command: &Command) -> Result<Done, Error> {
    use commands::{key, tenant};
    match command {
        Command::Tenant(TenantCommand::Create(args)) => tenant::create(ctx, args).await,
        Command::Tenant(TenantCommand::List) => tenant::list(ctx).await,
        Command::Tenant(TenantCommand::Show(args)) => tenant::show(ctx, &args.tenant).await,
        Command::Tenant(TenantCommand::Update(args)) => tenant::update(ctx, args).await,
        Command::Tenant(TenantCommand::Disable(args)) => {
            tenant::set_disabled(ctx, &args.tenant, true).await
        }
        Command::Tenant(TenantCommand::Enable(args)) => {
            tenant::set_disabled(ctx, &args.tenant, false).await
        }
        Command::Key(KeyCommand::Create(args)) => key::create(ctx, args).await,
        Command::Key(KeyCommand::List(args)) => key::list(ctx, &args.tenant).await,
        Command::Key(KeyCommand::Revoke(args)) => key::revoke(ctx, args).await,
    }
}
