//! When a job that could not be delivered should be tried again: the rule is
//! [`common::lifecycle::backoff`]; this supplies the delivery settings and the randomness.

use common::config::DeliveryRules;

/// See [`common::lifecycle::backoff::retry_delay`].
pub fn retry_delay(rules: &DeliveryRules, receives: u32, now: i64, expires_at: Option<i64>) -> i64 {
    common::lifecycle::backoff::retry_delay(
        rules.retry_base_seconds,
        rules.retry_cap_seconds,
        receives,
        now,
        expires_at,
        common::crypto::random_u64(),
    )
}

/// SQS accepts visibility timeouts up to 12 hours.
pub const MAX_VISIBILITY_SECONDS: i64 = 43_200;

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(base: i64, cap: i64) -> DeliveryRules {
        DeliveryRules {
            retry_base_seconds: base,
            retry_cap_seconds: cap,
            ..DeliveryRules::default()
        }
    }

    #[test]
    fn delays_stay_within_the_doubling_ceiling_and_the_cap() {
        let r = rules(5, 120);
        for (receives, ceiling) in [
            (1, 5),
            (2, 10),
            (3, 20),
            (4, 40),
            (5, 80),
            (6, 120),
            (40, 120),
        ] {
            let delays: Vec<i64> = (0..400)
                .map(|_| retry_delay(&r, receives, 0, None))
                .collect();
            assert!(
                delays.iter().all(|d| (0..=ceiling).contains(d)),
                "receives {receives}: {delays:?}"
            );
            // Full jitter spreads over the whole range, not just near the ceiling.
            assert!(
                delays.iter().any(|&d| d <= ceiling / 4),
                "receives {receives}"
            );
            assert!(
                delays.iter().any(|&d| d >= ceiling * 3 / 4),
                "receives {receives}"
            );
        }
    }

    #[test]
    fn delays_never_outlive_the_code() {
        let r = rules(60, 3600);
        for _ in 0..200 {
            assert!(retry_delay(&r, 5, 1_000, Some(1_007)) <= 7);
            assert_eq!(retry_delay(&r, 5, 1_000, Some(900)), 0);
        }
    }
}
