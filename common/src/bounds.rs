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
/// Wrong guesses at one destination's codes per hour, all its codes together.
pub const WRONG_GUESSES_PER_DESTINATION_PER_HOUR: RangeInclusive<i64> = 1..=1000;
/// Twice the default per-code attempts (5): a user who mistypes one code and then the next still
/// gets in, while an attacker who asks for a new code each time the last one locks gets 10 guesses
/// an hour at a 6-digit code (1 in 100,000) instead of 5 per code times 5 codes.
pub const DEFAULT_WRONG_GUESSES_PER_DESTINATION_PER_HOUR: i64 = 10;
