//! How long a job that could not be delivered waits before its next attempt.

/// Seconds to keep a message invisible after its `receives`-th receive failed: full jitter,
/// `roll mod (min(cap, base * 2^(receives-1)) + 1)`, and never past the OTP's expiry (a retry
/// after it would only be dropped, so it should come back in time to be dropped promptly).
///
/// `roll` is a uniformly random number supplied by the caller, so the rule stays pure.
pub fn retry_delay(
    base_seconds: i64,
    cap_seconds: i64,
    receives: u32,
    now: i64,
    expires_at: Option<i64>,
    roll: u64,
) -> i64 {
    let ceiling = retry_ceiling(base_seconds, cap_seconds, receives);
    let delay = i64::try_from(roll % (ceiling.unsigned_abs() + 1)).unwrap_or(ceiling);
    match expires_at {
        Some(expires_at) => delay.min((expires_at - now).max(0)),
        None => delay,
    }
}

/// The longest wait after the `receives`-th receive: `base` doubling per receive, at most `cap`.
pub fn retry_ceiling(base_seconds: i64, cap_seconds: i64, receives: u32) -> i64 {
    let exponent = receives.saturating_sub(1).min(30);
    base_seconds
        .saturating_mul(1i64 << exponent)
        .min(cap_seconds)
        .max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_per_receive_up_to_the_cap() {
        for (receives, ceiling) in [
            (0, 5),
            (1, 5),
            (2, 10),
            (3, 20),
            (4, 40),
            (5, 80),
            (6, 120),
            (40, 120),
        ] {
            assert_eq!(
                retry_ceiling(5, 120, receives),
                ceiling,
                "receives {receives}"
            );
        }
    }

    #[test]
    fn the_roll_spreads_over_the_whole_range() {
        // Full jitter: from 0 to the ceiling itself.
        assert_eq!(retry_delay(5, 120, 3, 0, None, 0), 0);
        assert_eq!(retry_delay(5, 120, 3, 0, None, 20), 20);
        assert_eq!(retry_delay(5, 120, 3, 0, None, 21), 0);
        assert_eq!(
            retry_delay(5, 120, 3, 0, None, u64::MAX),
            i64::try_from(u64::MAX % 21).unwrap()
        );
    }

    #[test]
    fn delays_never_outlive_the_code() {
        for roll in [0, 7, 8, 1_000, u64::MAX] {
            assert!(retry_delay(60, 3600, 5, 1_000, Some(1_007), roll) <= 7);
            assert_eq!(retry_delay(60, 3600, 5, 1_000, Some(900), roll), 0);
        }
    }
}
