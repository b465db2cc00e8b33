//! The range each limit must fall in, whoever sets it: the deployment (an `OTP_*` variable,
//! read in [`crate::config`]) or a tenant's policy ([`crate::tenant::Limit`]). One table, so a
//! tenant can never be given a value the deployment itself would refuse.

use crate::domain::OtpCodeLength;
use std::ops::RangeInclusive;

/// Digits of a code: [`OtpCodeLength`]'s own range.
pub const CODE_LENGTH: RangeInclusive<i64> =
    (OtpCodeLength::MIN as i64)..=(OtpCodeLength::MAX as i64);
/// How long a code stays verifiable.
pub const TTL_SECONDS: RangeInclusive<i64> = 10..=3600;
/// Wrong guesses before a code locks.
pub const MAX_ATTEMPTS: RangeInclusive<i64> = 1..=100;
/// Wait between two sends of one code.
pub const RESEND_COOLDOWN_SECONDS: RangeInclusive<i64> = 0..=3600;
/// Sends to one destination per hour.
pub const SENDS_PER_DESTINATION_PER_HOUR: RangeInclusive<i64> = 1..=1000;
/// Sends of one code (the first one and its resends).
pub const SENDS_PER_OTP: RangeInclusive<i64> = 1..=100;
/// Sends for one end-user IP address (an IPv6 /64) per hour.
pub const SENDS_PER_IP_PER_HOUR: RangeInclusive<i64> = 1..=100_000;
/// Sends of one tenant per hour, all destinations and addresses together.
pub const TENANT_SENDS_PER_HOUR: RangeInclusive<i64> = 1..=10_000_000;
/// A tenant's hourly budget when its policy names none.
pub const DEFAULT_TENANT_SENDS_PER_HOUR: i64 = 10_000;
